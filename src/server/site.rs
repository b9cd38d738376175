//! `SiteRuntime`: one site's configuration and virtual tree at run time.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use wharf_proto::VirtualPath;

use super::metrics::SiteMetrics;
use crate::config::model::SiteConfig;
use crate::registry::lock;
use crate::storage::journal::UploadJournal;
use crate::storage::vdirs::SiteTree;
use crate::tls::SiteTls;

/// A site at run time.
#[derive(Debug)]
pub struct SiteRuntime {
    /// Site name (shared with session handles).
    pub name: Arc<str>,
    /// Effective configuration.
    pub config: Arc<SiteConfig>,
    /// The virtual tree.
    pub tree: Arc<SiteTree>,
    /// Command, reply and login counters (`/metrics`).
    pub metrics: SiteMetrics,
    /// TLS (FTPS) when the site has a certificate.
    pub tls: Option<Arc<SiteTls>>,
    /// Site paths of uploads in progress (for `allowReadUploadsInProgress`).
    uploads: Mutex<HashSet<VirtualPath>>,
}

impl SiteRuntime {
    /// Builds the runtime of one site.
    pub fn new(config: Arc<SiteConfig>) -> SiteRuntime {
        SiteRuntime::with_tls(config, None, None)
    }

    /// Builds the runtime of one site with its TLS, recording uploads in progress in
    /// `journal`.
    pub fn with_tls(
        config: Arc<SiteConfig>,
        tls: Option<Arc<SiteTls>>,
        journal: Option<Arc<UploadJournal>>,
    ) -> SiteRuntime {
        SiteRuntime {
            name: Arc::from(config.name.as_str()),
            tree: Arc::new(SiteTree::with_journal(&config.virtual_directories, journal)),
            metrics: SiteMetrics::default(),
            config,
            tls,
            uploads: Mutex::new(HashSet::new()),
        }
    }

    /// Marks an upload as running; the guard unmarks it when dropped.
    pub fn begin_upload(self: &Arc<Self>, path: VirtualPath) -> UploadGuard {
        lock(&self.uploads).insert(path.clone());
        UploadGuard {
            site: self.clone(),
            path,
        }
    }

    /// True while an upload to `path` runs.
    pub fn is_uploading(&self, path: &VirtualPath) -> bool {
        lock(&self.uploads).contains(path)
    }
}

/// Unmarks an upload when dropped.
#[derive(Debug)]
pub struct UploadGuard {
    site: Arc<SiteRuntime>,
    path: VirtualPath,
}

impl Drop for UploadGuard {
    fn drop(&mut self) {
        lock(&self.site.uploads).remove(&self.path);
    }
}
