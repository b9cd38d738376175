//! The clients' own machinery: the standard test server (a `wharf serve` child process with
//! alice added through `wharf user add`), deterministic payloads, trees compared by SHA-256.
//! The process guard, tool runs and the FTP client are shared: [`crate::common`].

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::common::config::{ConfigXml, SiteXml, xml_escape};
use crate::common::ftp::RawFtp;
use crate::common::process::{ServerProcess, add_user};
use crate::common::sha256;

/// The basic-auth account every standard test server has (role `staff`: read and write).
pub const ALICE: &str = "alice";
/// Alice's password.
pub const ALICE_PW: &str = "alice-Secret-1";

/// The site name of [`standard_config`].
pub const SITE: &str = "Wharf Test";

/// One site on `127.0.0.1` with an ephemeral port, serving `root`: anonymous may read,
/// role `staff` may read and write, TLS allowed but not required (no TLS in this build),
/// no admin listener. `ftp_server_extra` is inserted inside the site's `<ftpServer>`.
pub fn standard_config(root: &Path, ftp_server_extra: &str) -> String {
    let site = SiteXml::new(SITE)
        .id(7)
        .root(&xml_escape(&root.display().to_string()))
        .ftp(ftp_server_extra)
        .rules(
            r#"<add accessType="Allow" users="?" permissions="Read" />
          <add accessType="Allow" roles="staff" permissions="Read, Write" />"#,
        );
    ConfigXml::new(vec![site]).xml()
}

/// A temporary directory with a site root, a configuration and a running server.
pub struct TestServer {
    /// Holds everything; removed on drop (after the server stops: fields drop in order).
    pub server: ServerProcess,
    /// The site's root folder.
    pub root: PathBuf,
    /// A scratch folder for the client side.
    pub local: PathBuf,
    /// The temporary directory (last, so it outlives the server).
    pub dir: tempfile::TempDir,
}

impl TestServer {
    /// [`standard_config`] with alice (role `staff`) added through `wharf user add`.
    #[track_caller]
    pub fn start() -> TestServer {
        TestServer::start_with("")
    }

    /// Like [`TestServer::start`] with extra `<ftpServer>` children.
    #[track_caller]
    pub fn start_with(ftp_server_extra: &str) -> TestServer {
        let dir = tempfile::Builder::new()
            .prefix("wharf-clients-")
            .tempdir()
            .expect("tempdir");
        let root = dir.path().join("root");
        let local = dir.path().join("local");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&local).unwrap();
        let config = dir.path().join("wharf.config");
        std::fs::write(&config, standard_config(&root, ftp_server_extra)).unwrap();
        add_user(&config, ALICE, "staff", ALICE_PW);
        let server = ServerProcess::serve(&config, dir.path(), 1);
        TestServer {
            server,
            root,
            local,
            dir,
        }
    }

    /// The port the site listens on.
    pub fn port(&self) -> u16 {
        self.server.addr_of(SITE).port()
    }

    /// `ftp://127.0.0.1:PORT/` followed by `path` (already URL-encoded by the caller).
    pub fn url(&self, path: &str) -> String {
        format!(
            "ftp://127.0.0.1:{}/{}",
            self.port(),
            path.trim_start_matches('/')
        )
    }
}

/// Deterministic pseudo-random bytes (xorshift64*), different per seed.
pub fn pseudo_random(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Every entry under `dir`, by relative path (`/`-separated): `"dir"` for folders, the
/// SHA-256 and size for files.
pub fn tree_digest(dir: &Path) -> BTreeMap<String, String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display()))
            .map(|e| e.unwrap())
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let rel = path
                .strip_prefix(base)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if entry.file_type().unwrap().is_dir() {
                out.insert(rel, "dir".to_string());
                walk(base, &path, out);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                out.insert(rel, format!("{} {}", bytes.len(), sha256(&bytes)));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Asserts two trees hold the same folders and files with the same contents.
#[track_caller]
pub fn assert_same_tree(expected: &Path, actual: &Path) {
    let want = tree_digest(expected);
    let got = tree_digest(actual);
    if want != got {
        let mut report = String::new();
        for (path, digest) in &want {
            match got.get(path) {
                None => report.push_str(&format!("  missing: {path}\n")),
                Some(d) if d != digest => {
                    report.push_str(&format!("  differs: {path} (want {digest}, got {d})\n"))
                }
                Some(_) => {}
            }
        }
        for path in got.keys().filter(|p| !want.contains_key(*p)) {
            report.push_str(&format!("  unexpected: {path}\n"));
        }
        panic!(
            "{} and {} differ:\n{report}",
            expected.display(),
            actual.display()
        );
    }
}

/// Connects and logs in: the reply code of the login.
#[track_caller]
pub fn login_code(addr: SocketAddr, user: &str, password: &str) -> u16 {
    RawFtp::connect(addr).login(user, password)
}
