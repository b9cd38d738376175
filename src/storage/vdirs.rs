//! A site's virtual tree: virtual directories and user isolation mapped onto back-ends.

use std::sync::Arc;

use wharf_proto::VirtualPath;

use super::{Storage, StorageError};
use crate::auth::Identity;
use crate::config::model::{IsolationMode, VirtualDirectory};

/// One virtual directory: a virtual path mounted on a back-end.
#[derive(Debug, Clone)]
pub struct Mount {
    /// Full virtual path in the site.
    pub path: VirtualPath,
    /// The back-end serving it.
    pub storage: Arc<dyn Storage>,
}

/// The site's virtual tree (all its virtual directories).
#[derive(Debug)]
pub struct SiteTree {
    mounts: Vec<Mount>,
}

impl SiteTree {
    /// Builds the tree, one confined local back-end per virtual directory.
    pub fn new(vdirs: &[VirtualDirectory]) -> SiteTree {
        let _ = vdirs;
        todo!()
    }

    /// The back-end and back-end-relative path for a site path (longest mount prefix).
    pub fn resolve(&self, site_path: &VirtualPath) -> Option<(Arc<dyn Storage>, VirtualPath)> {
        let _ = site_path;
        todo!()
    }

    /// Names of virtual directories mounted directly under `dir`.
    pub fn child_mounts(&self, dir: &VirtualPath) -> Vec<String> {
        let _ = dir;
        todo!()
    }
}

/// A path resolved for one user.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The back-end.
    pub storage: Arc<dyn Storage>,
    /// Path inside the back-end.
    pub rel: VirtualPath,
    /// Path in the site's tree (for authorization rules and logs).
    pub site_path: VirtualPath,
}

/// Why a user's view could not be built (login refused with 530, substatus 33).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HomeDirectoryMissing {
    /// The site path that was looked for.
    pub expected: VirtualPath,
}

/// What one logged-in user sees: the site tree, possibly jailed to a home (user isolation).
#[derive(Debug, Clone)]
pub struct UserView {
    tree: Arc<SiteTree>,
}

impl UserView {
    /// Builds the view for `identity` under `mode` and returns it with the start directory
    /// (a client path). Isolating modes need the home (`/LocalUser/<name>`, anonymous
    /// `/LocalUser/Public`) to exist as a directory; `StartInUsersDirectory` starts in
    /// `/<name>` when that directory exists, else `/`.
    pub async fn for_user(
        tree: Arc<SiteTree>,
        mode: IsolationMode,
        identity: &Identity,
    ) -> Result<(UserView, VirtualPath), HomeDirectoryMissing> {
        let _ = (tree, mode, identity);
        todo!()
    }

    /// Resolves a client path (already normalised) to its back-end.
    pub fn resolve(&self, client_path: &VirtualPath) -> Result<Resolved, StorageError> {
        let _ = client_path;
        todo!()
    }

    /// Virtual directories to show in a listing of `client_dir` (names), per isolation mode.
    pub fn child_mounts(&self, client_dir: &VirtualPath) -> Vec<String> {
        let _ = client_dir;
        todo!()
    }
}
