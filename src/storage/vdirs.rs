//! A site's virtual tree: virtual directories and user isolation mapped onto back-ends.

use std::sync::Arc;

use wharf_proto::VirtualPath;
use wharf_proto::listing::EntryKind;

use super::journal::UploadJournal;
use super::local::LocalStorage;
use super::{Storage, StorageError, StorageErrorKind};
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
        SiteTree::with_journal(vdirs, None)
    }

    /// [`SiteTree::new`] recording uploads in progress in `journal`.
    pub fn with_journal(
        vdirs: &[VirtualDirectory],
        journal: Option<Arc<UploadJournal>>,
    ) -> SiteTree {
        SiteTree::from_mounts(
            vdirs
                .iter()
                .map(|vdir| Mount {
                    path: vdir.path.clone(),
                    storage: Arc::new(
                        LocalStorage::new(vdir.physical_path.clone()).with_journal(journal.clone()),
                    ),
                })
                .collect(),
        )
    }

    /// Builds the tree from ready mounts (any back-end). When two mounts share a path the
    /// first one wins.
    pub fn from_mounts(mounts: Vec<Mount>) -> SiteTree {
        let mut kept: Vec<Mount> = Vec::with_capacity(mounts.len());
        for mount in mounts {
            if !kept.iter().any(|k| k.path == mount.path) {
                kept.push(mount);
            }
        }
        SiteTree { mounts: kept }
    }

    /// The back-end and back-end-relative path for a site path (longest mount prefix).
    pub fn resolve(&self, site_path: &VirtualPath) -> Option<(Arc<dyn Storage>, VirtualPath)> {
        let mount = self.mount_of(site_path)?;
        let rel = site_path.strip_prefix(&mount.path)?;
        Some((Arc::clone(&mount.storage), rel))
    }

    /// The mount serving a site path (longest mount prefix).
    fn mount_of(&self, site_path: &VirtualPath) -> Option<&Mount> {
        self.mounts
            .iter()
            .filter(|m| site_path.starts_with(&m.path))
            .max_by_key(|m| m.path.segments().len())
    }

    /// Names of virtual directories mounted directly under `dir`.
    pub fn child_mounts(&self, dir: &VirtualPath) -> Vec<String> {
        self.mounts
            .iter()
            .filter(|m| !m.path.is_root() && m.path.parent() == *dir)
            .filter_map(|m| m.path.file_name().map(str::to_string))
            .collect()
    }

    /// The back-end of the site root (`/`), if configured.
    fn root_storage(&self) -> Option<Arc<dyn Storage>> {
        self.mounts
            .iter()
            .find(|m| m.path.is_root())
            .map(|m| Arc::clone(&m.storage))
    }

    /// True when `path` resolves to an existing directory.
    async fn is_dir(&self, path: &VirtualPath) -> bool {
        match self.resolve(path) {
            Some((storage, rel)) => is_dir_in(storage.as_ref(), &rel).await,
            None => false,
        }
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
///
/// Client paths are normalised [`VirtualPath`]s, so `..` is already clamped at the client
/// root and a jailed client can never name anything above its home.
#[derive(Debug, Clone)]
pub struct UserView {
    tree: Arc<SiteTree>,
    jail: Jail,
}

/// How client paths map onto site paths.
#[derive(Debug, Clone)]
enum Jail {
    /// `None` and `StartInUsersDirectory`: a client path is a site path.
    Open,
    /// `IsolateRootDirectoryOnly`: `/` is `home`, a physical folder of the root back-end
    /// (so `home` is both its site path and its path in that back-end), served by that
    /// back-end jailed to it; global virtual directories overlay the client root.
    PhysicalHome {
        home: VirtualPath,
        jailed: Arc<dyn Storage>,
    },
    /// `IsolateAllDirectories`: client path `p` is site path `home + p`. Paths the home's
    /// own mount serves go to that back-end jailed to the home (`home_depth` is the mount's
    /// depth); virtual directories beneath the home are their own confinement roots.
    Home {
        home: VirtualPath,
        home_depth: usize,
        jailed: Arc<dyn Storage>,
    },
}

/// The container of isolated homes.
const HOMES: &str = "LocalUser";
/// The home segment of anonymous sessions in isolating modes.
const ANONYMOUS_HOME: &str = "Public";

impl UserView {
    /// Builds the view for `identity` under `mode` and returns it with the start directory
    /// (a client path). Isolating modes need the home (`/LocalUser/<name>`, anonymous
    /// `/LocalUser/Public`) to exist as a directory; `StartInUsersDirectory` starts in
    /// `/<name>` when that directory exists, else `/`.
    ///
    /// Details:
    /// - `<name>` is the account name as configured (`Identity::name`), so on a
    ///   case-sensitive file system the folder must be spelled the same way.
    /// - `StartInUsersDirectory` uses the identity's name for anonymous sessions too, i.e.
    ///   `/anonymous`.
    /// - `IsolateRootDirectoryOnly` looks for the home in the root virtual directory's
    ///   physical folder only (a virtual directory at `/LocalUser/<name>` does not count).
    /// - A name that cannot be a path segment (`.`, `..`, containing `/` or a control
    ///   character) has no home: isolating modes refuse it with `expected = /LocalUser`,
    ///   `StartInUsersDirectory` starts it at `/`.
    pub async fn for_user(
        tree: Arc<SiteTree>,
        mode: IsolationMode,
        identity: &Identity,
    ) -> Result<(UserView, VirtualPath), HomeDirectoryMissing> {
        let jail = match mode {
            IsolationMode::None => Jail::Open,
            IsolationMode::StartInUsersDirectory => {
                let start = match VirtualPath::root().child(&identity.name) {
                    Some(dir) if tree.is_dir(&dir).await => dir,
                    _ => VirtualPath::root(),
                };
                return Ok((
                    UserView {
                        tree,
                        jail: Jail::Open,
                    },
                    start,
                ));
            }
            IsolationMode::IsolateRootDirectoryOnly => {
                let home = home_path(identity)?;
                match tree.root_storage() {
                    Some(root) if is_dir_in(root.as_ref(), &home).await => Jail::PhysicalHome {
                        jailed: root.jailed(&home),
                        home,
                    },
                    _ => return Err(HomeDirectoryMissing { expected: home }),
                }
            }
            IsolationMode::IsolateAllDirectories => {
                let home = home_path(identity)?;
                if !tree.is_dir(&home).await {
                    return Err(HomeDirectoryMissing { expected: home });
                }
                let Some(mount) = tree.mount_of(&home) else {
                    return Err(HomeDirectoryMissing { expected: home });
                };
                let in_mount = home.strip_prefix(&mount.path).ok_or(HomeDirectoryMissing {
                    expected: home.clone(),
                })?;
                Jail::Home {
                    home_depth: mount.path.segments().len(),
                    jailed: mount.storage.jailed(&in_mount),
                    home,
                }
            }
        };
        Ok((UserView { tree, jail }, VirtualPath::root()))
    }

    /// Resolves a client path (already normalised) to its back-end.
    pub fn resolve(&self, client_path: &VirtualPath) -> Result<Resolved, StorageError> {
        let site_path = match &self.jail {
            Jail::Open => client_path.clone(),
            Jail::PhysicalHome { home, jailed } => {
                if self.is_global(client_path) {
                    client_path.clone()
                } else {
                    return Ok(Resolved {
                        storage: Arc::clone(jailed),
                        rel: client_path.clone(),
                        site_path: home.concat(client_path),
                    });
                }
            }
            Jail::Home {
                home,
                home_depth,
                jailed,
            } => {
                let site_path = home.concat(client_path);
                let served_by_home = self
                    .tree
                    .mount_of(&site_path)
                    .is_some_and(|m| m.path.segments().len() <= *home_depth);
                if served_by_home {
                    return Ok(Resolved {
                        storage: Arc::clone(jailed),
                        rel: client_path.clone(),
                        site_path,
                    });
                }
                site_path
            }
        };
        let (storage, rel) = self
            .tree
            .resolve(&site_path)
            .ok_or(StorageError::new(StorageErrorKind::NotFound))?;
        Ok(Resolved {
            storage,
            rel,
            site_path,
        })
    }

    /// Virtual directories to show in a listing of `client_dir` (names), per isolation mode.
    pub fn child_mounts(&self, client_dir: &VirtualPath) -> Vec<String> {
        match &self.jail {
            Jail::Open => self.tree.child_mounts(client_dir),
            Jail::PhysicalHome { .. } => {
                if client_dir.is_root() {
                    self.global_names()
                } else if self.is_global(client_dir) {
                    self.tree.child_mounts(client_dir)
                } else {
                    Vec::new()
                }
            }
            Jail::Home { home, .. } => self.tree.child_mounts(&home.concat(client_dir)),
        }
    }

    /// Global virtual directories (`IsolateRootDirectoryOnly`): mounts one level below the
    /// site root. A mount named `LocalUser` is never one: it would show every user's home.
    fn global_names(&self) -> Vec<String> {
        self.tree
            .child_mounts(&VirtualPath::root())
            .into_iter()
            .filter(|name| !name.eq_ignore_ascii_case(HOMES))
            .collect()
    }

    /// True when `client_path` lies in a global virtual directory.
    fn is_global(&self, client_path: &VirtualPath) -> bool {
        client_path
            .segments()
            .first()
            .is_some_and(|first| self.global_names().iter().any(|g| g == first))
    }
}

/// `/LocalUser/<name>` or, for anonymous sessions, `/LocalUser/Public`.
fn home_path(identity: &Identity) -> Result<VirtualPath, HomeDirectoryMissing> {
    let name = if identity.anonymous {
        ANONYMOUS_HOME
    } else {
        identity.name.as_str()
    };
    let homes = VirtualPath::root()
        .child(HOMES)
        .unwrap_or_else(VirtualPath::root);
    homes
        .child(name)
        .ok_or(HomeDirectoryMissing { expected: homes })
}

/// True when `rel` is an existing directory of `storage`.
async fn is_dir_in(storage: &dyn Storage, rel: &VirtualPath) -> bool {
    storage
        .metadata(rel)
        .await
        .is_ok_and(|entry| entry.kind == EntryKind::Dir)
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::Path;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::storage::WriteMode;

    fn vp(path: &str) -> VirtualPath {
        VirtualPath::from_segments(path.split('/').filter(|s| !s.is_empty())).unwrap()
    }

    fn user(name: &str) -> Identity {
        Identity {
            name: name.to_string(),
            anonymous: false,
            roles: Vec::new(),
        }
    }

    fn write(path: &Path, contents: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }

    /// `site` (mounted at `/`) with homes, start folders and a `shared` folder shadowed by
    /// the `/shared` virtual directory; `bobhome` only as the vdir `/LocalUser/bob`; `extra`
    /// as `/LocalUser/alice/extra`; `deep` as `/shared/deep`.
    struct Site {
        tmp: tempfile::TempDir,
        tree: Arc<SiteTree>,
    }

    fn site() -> Site {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path();
        write(&t.join("site/top.txt"), "top");
        write(&t.join("site/LocalUser/alice/a.txt"), "alice home");
        write(&t.join("site/LocalUser/Public/p.txt"), "public home");
        write(&t.join("site/LocalUser/zoe"), "a file, not a home");
        write(&t.join("site/alice/start.txt"), "alice start");
        write(&t.join("site/anonymous/start.txt"), "anonymous start");
        write(&t.join("site/shared/s.txt"), "physical, hidden by the vdir");
        write(&t.join("shared/s.txt"), "shared");
        write(&t.join("bobhome/b.txt"), "bob home");
        write(&t.join("extra/e.txt"), "extra");
        write(&t.join("deep/d.txt"), "deep");
        let vdir = |path: &str, dir: &str| VirtualDirectory {
            path: vp(path),
            physical_path: t.join(dir),
        };
        let tree = SiteTree::new(&[
            vdir("/", "site"),
            vdir("/shared", "shared"),
            vdir("/LocalUser/bob", "bobhome"),
            vdir("/LocalUser/alice/extra", "extra"),
            vdir("/shared/deep", "deep"),
        ]);
        Site {
            tmp,
            tree: Arc::new(tree),
        }
    }

    async fn read(storage: &Arc<dyn Storage>, rel: &VirtualPath) -> String {
        let mut handle = storage.open_read(rel, 0).await.unwrap();
        let mut text = String::new();
        handle.reader.read_to_string(&mut text).await.unwrap();
        text
    }

    async fn read_client(view: &UserView, client: &str) -> String {
        let resolved = view.resolve(&vp(client)).unwrap();
        read(&resolved.storage, &resolved.rel).await
    }

    async fn view(site: &Site, mode: IsolationMode, identity: &Identity) -> (UserView, String) {
        let (view, start) = UserView::for_user(Arc::clone(&site.tree), mode, identity)
            .await
            .unwrap();
        (view, start.to_string())
    }

    async fn missing(site: &Site, mode: IsolationMode, identity: &Identity) -> String {
        match UserView::for_user(Arc::clone(&site.tree), mode, identity).await {
            Ok(_) => panic!("{} should have no home", identity.name),
            Err(e) => e.expected.to_string(),
        }
    }

    #[tokio::test]
    async fn tree_resolves_by_longest_mount_prefix() {
        let site = site();
        let tree = &site.tree;
        let (storage, rel) = tree.resolve(&vp("/shared/s.txt")).unwrap();
        assert_eq!(
            (rel.to_string(), read(&storage, &rel).await),
            ("/s.txt".into(), "shared".into())
        );
        let (storage, rel) = tree.resolve(&vp("/shared/deep/d.txt")).unwrap();
        assert_eq!(
            (rel.to_string(), read(&storage, &rel).await),
            ("/d.txt".into(), "deep".into())
        );
        let (storage, rel) = tree.resolve(&vp("/LocalUser/alice/a.txt")).unwrap();
        assert_eq!(rel.to_string(), "/LocalUser/alice/a.txt");
        assert_eq!(read(&storage, &rel).await, "alice home");
        let (_, rel) = tree.resolve(&vp("/LocalUser/bob")).unwrap();
        assert!(rel.is_root());
        // Prefixes are whole segments.
        let (storage, rel) = tree.resolve(&vp("/sharedX")).unwrap();
        assert_eq!(rel.to_string(), "/sharedX");
        assert!(storage.metadata(&rel).await.is_err());
    }

    #[tokio::test]
    async fn tree_without_a_root_mount_resolves_only_its_mounts() {
        let tmp = tempfile::tempdir().unwrap();
        let tree = SiteTree::new(&[VirtualDirectory {
            path: vp("/only"),
            physical_path: tmp.path().to_path_buf(),
        }]);
        assert!(tree.resolve(&VirtualPath::root()).is_none());
        assert!(tree.resolve(&vp("/other")).is_none());
        assert!(tree.resolve(&vp("/only/x")).is_some());
    }

    #[tokio::test]
    async fn tree_child_mounts_are_direct_children_only() {
        let site = site();
        let tree = &site.tree;
        assert_eq!(tree.child_mounts(&VirtualPath::root()), ["shared"]);
        assert_eq!(tree.child_mounts(&vp("/LocalUser")), ["bob"]);
        assert_eq!(tree.child_mounts(&vp("/LocalUser/alice")), ["extra"]);
        assert_eq!(tree.child_mounts(&vp("/shared")), ["deep"]);
        assert!(tree.child_mounts(&vp("/shared/deep")).is_empty());
    }

    #[test]
    fn first_mount_of_a_path_wins() {
        let tmp = tempfile::tempdir().unwrap();
        let mount = |dir: &str| Mount {
            path: VirtualPath::root(),
            storage: Arc::new(LocalStorage::new(tmp.path().join(dir))),
        };
        let tree = SiteTree::from_mounts(vec![mount("first"), mount("second")]);
        let (storage, _) = tree.resolve(&VirtualPath::root()).unwrap();
        assert!(format!("{storage:?}").contains("first"));
    }

    #[tokio::test]
    async fn no_isolation_sees_the_whole_tree_from_the_root() {
        let site = site();
        let (view, start) = view(&site, IsolationMode::None, &user("alice")).await;
        assert_eq!(start, "/");
        assert_eq!(read_client(&view, "/top.txt").await, "top");
        assert_eq!(read_client(&view, "/shared/s.txt").await, "shared");
        assert_eq!(read_client(&view, "/LocalUser/bob/b.txt").await, "bob home");
        let resolved = view.resolve(&vp("/LocalUser/alice/a.txt")).unwrap();
        assert_eq!(resolved.site_path.to_string(), "/LocalUser/alice/a.txt");
        assert_eq!(view.child_mounts(&VirtualPath::root()), ["shared"]);
        assert_eq!(view.child_mounts(&vp("/LocalUser")), ["bob"]);
    }

    #[tokio::test]
    async fn start_in_users_directory_starts_there_but_does_not_jail() {
        let site = site();
        let mode = IsolationMode::StartInUsersDirectory;
        let (alice, start) = view(&site, mode, &user("alice")).await;
        assert_eq!(start, "/alice");
        assert_eq!(read_client(&alice, "/alice/start.txt").await, "alice start");
        assert_eq!(read_client(&alice, "/top.txt").await, "top");
        assert_eq!(read_client(&alice, "/shared/s.txt").await, "shared");
        assert_eq!(alice.child_mounts(&VirtualPath::root()), ["shared"]);
        // No such directory (or only a file of that name): start at the root.
        assert_eq!(view(&site, mode, &user("dave")).await.1, "/");
        assert_eq!(view(&site, mode, &user("top.txt")).await.1, "/");
        assert_eq!(view(&site, mode, &user("..")).await.1, "/");
        // A virtual directory counts as the user's directory.
        assert_eq!(view(&site, mode, &user("shared")).await.1, "/shared");
        // Anonymous sessions use the name `anonymous`.
        let anonymous = Identity::anonymous();
        assert_eq!(view(&site, mode, &anonymous).await.1, "/anonymous");
    }

    #[tokio::test]
    async fn isolate_root_only_jails_to_the_physical_home_with_global_vdirs() {
        let site = site();
        let mode = IsolationMode::IsolateRootDirectoryOnly;
        let (view, start) = view(&site, mode, &user("alice")).await;
        assert_eq!(start, "/");
        // The root back-end jailed to the home serves it: client paths are its paths.
        let root = view.resolve(&VirtualPath::root()).unwrap();
        assert!(root.rel.is_root());
        assert_eq!(root.site_path.to_string(), "/LocalUser/alice");
        let file = view.resolve(&vp("/a.txt")).unwrap();
        assert_eq!(file.site_path.to_string(), "/LocalUser/alice/a.txt");
        assert_eq!(read_client(&view, "/a.txt").await, "alice home");
        // Global virtual directories overlay the client root (and win over folders).
        assert_eq!(read_client(&view, "/shared/s.txt").await, "shared");
        assert_eq!(read_client(&view, "/shared/deep/d.txt").await, "deep");
        let shared = view.resolve(&vp("/shared/s.txt")).unwrap();
        assert_eq!(shared.site_path.to_string(), "/shared/s.txt");
        assert_eq!(view.child_mounts(&VirtualPath::root()), ["shared"]);
        assert_eq!(view.child_mounts(&vp("/shared")), ["deep"]);
        // Vdirs beneath the home are not part of this mode: the physical folder serves.
        assert!(view.child_mounts(&vp("/extra")).is_empty());
        let extra = view.resolve(&vp("/extra/e.txt")).unwrap();
        assert_eq!(extra.rel.to_string(), "/extra/e.txt");
        assert!(extra.storage.metadata(&extra.rel).await.is_err());
        // Nothing above the home: the site root's files are out of reach.
        let top = view.resolve(&vp("/top.txt")).unwrap();
        assert_eq!(top.site_path.to_string(), "/LocalUser/alice/top.txt");
        assert!(top.storage.metadata(&top.rel).await.is_err());
        // Writes land in the home.
        let new = view.resolve(&vp("/new.txt")).unwrap();
        let mut w = new
            .storage
            .open_write(&new.rel, WriteMode::Truncate)
            .await
            .unwrap();
        w.write_all(b"new").await.unwrap();
        w.finish().await.unwrap();
        let on_disk = site.tmp.path().join("site/LocalUser/alice/new.txt");
        assert_eq!(fs::read(on_disk).unwrap(), b"new");
    }

    #[tokio::test]
    async fn isolate_root_only_needs_a_physical_home() {
        let site = site();
        let mode = IsolationMode::IsolateRootDirectoryOnly;
        // bob's home exists only as a virtual directory.
        assert_eq!(missing(&site, mode, &user("bob")).await, "/LocalUser/bob");
        assert_eq!(missing(&site, mode, &user("dave")).await, "/LocalUser/dave");
        assert_eq!(missing(&site, mode, &user("zoe")).await, "/LocalUser/zoe");
        assert_eq!(missing(&site, mode, &user("..")).await, "/LocalUser");
        let (view, _) = view(&site, mode, &Identity::anonymous()).await;
        assert_eq!(read_client(&view, "/p.txt").await, "public home");
    }

    #[tokio::test]
    async fn isolate_root_only_never_shows_a_localuser_vdir() {
        let site = site();
        let t = site.tmp.path();
        let tree = Arc::new(SiteTree::new(&[
            VirtualDirectory {
                path: VirtualPath::root(),
                physical_path: t.join("site"),
            },
            VirtualDirectory {
                path: vp("/LocalUser"),
                physical_path: t.join("site/LocalUser"),
            },
        ]));
        let mode = IsolationMode::IsolateRootDirectoryOnly;
        let (view, _) = UserView::for_user(tree, mode, &user("alice"))
            .await
            .unwrap();
        assert!(view.child_mounts(&VirtualPath::root()).is_empty());
        let resolved = view.resolve(&vp("/LocalUser/bob")).unwrap();
        assert_eq!(
            resolved.site_path.to_string(),
            "/LocalUser/alice/LocalUser/bob"
        );
    }

    #[tokio::test]
    async fn isolate_all_jails_to_a_physical_or_virtual_home() {
        let site = site();
        let mode = IsolationMode::IsolateAllDirectories;
        let (alice, start) = view(&site, mode, &user("alice")).await;
        assert_eq!(start, "/");
        assert_eq!(read_client(&alice, "/a.txt").await, "alice home");
        let resolved = alice.resolve(&vp("/a.txt")).unwrap();
        assert_eq!(resolved.site_path.to_string(), "/LocalUser/alice/a.txt");
        // Vdirs beneath the home are visible and serve their folders.
        assert_eq!(alice.child_mounts(&VirtualPath::root()), ["extra"]);
        assert_eq!(read_client(&alice, "/extra/e.txt").await, "extra");
        assert!(alice.child_mounts(&vp("/extra")).is_empty());
        // Global vdirs are invisible: `/shared` is just a (missing) folder in the home.
        let shared = alice.resolve(&vp("/shared/s.txt")).unwrap();
        assert_eq!(
            shared.site_path.to_string(),
            "/LocalUser/alice/shared/s.txt"
        );
        assert!(shared.storage.metadata(&shared.rel).await.is_err());

        // A home that is only a virtual directory.
        let (bob, _) = view(&site, mode, &user("bob")).await;
        let root = bob.resolve(&VirtualPath::root()).unwrap();
        assert!(root.rel.is_root());
        assert_eq!(root.site_path.to_string(), "/LocalUser/bob");
        assert_eq!(read_client(&bob, "/b.txt").await, "bob home");
        assert!(bob.child_mounts(&VirtualPath::root()).is_empty());

        let (anonymous, _) = view(&site, mode, &Identity::anonymous()).await;
        assert_eq!(read_client(&anonymous, "/p.txt").await, "public home");
    }

    #[tokio::test]
    async fn isolate_all_refuses_missing_homes() {
        let site = site();
        let mode = IsolationMode::IsolateAllDirectories;
        assert_eq!(missing(&site, mode, &user("dave")).await, "/LocalUser/dave");
        assert_eq!(missing(&site, mode, &user("zoe")).await, "/LocalUser/zoe");
        assert_eq!(missing(&site, mode, &user("a/b")).await, "/LocalUser");
        fs::remove_dir_all(site.tmp.path().join("site/LocalUser/Public")).unwrap();
        assert_eq!(
            missing(&site, mode, &Identity::anonymous()).await,
            "/LocalUser/Public"
        );
    }
}
