//! Test harness: an in-process Wharf server on ephemeral ports and a raw FTP client.
//!
//! - [`TestServer`]: a fresh temporary root per test, a configuration template with
//!   `{ROOT}` and `{HASH:password}` placeholders, the running server and its registry.
//! - [`Client`]: a line-level FTP client over a tokio `TcpStream` that exposes every reply
//!   (multi-line ones included), for exact assertions, pipelining and ABOR tests (shared:
//!   `tests/common/client.rs`).
//! - [`config`]: ready-made configuration templates.

#![allow(dead_code)]

pub mod config;

#[allow(unused_imports)]
pub use crate::common::client::{self, Client, DataConn, DataMode, Reply};

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tempfile::TempDir;
use uuid::Uuid;
use wharf::registry::{EndedSession, Registry, SessionRecord};
use wharf::server::RunningServer;

use crate::common::IO_TIMEOUT;
use crate::common::config::expand_template;

/// A server running in this process, serving a fresh temporary directory.
pub struct TestServer {
    server: Option<RunningServer>,
    registry: Arc<Registry>,
    dir: TempDir,
    root: PathBuf,
}

impl TestServer {
    /// Starts a server from `xml_template` (see [`TestServer::start_with`]).
    pub async fn start(xml_template: &str) -> TestServer {
        TestServer::start_with(xml_template, |_| {}).await
    }

    /// Creates a temporary root (with a `site` folder in it), lets `setup` fill it, replaces
    /// `{ROOT}` with its path and each `{HASH:password}` with an argon2id PHC hash of the
    /// password, writes the XML as `{ROOT}/applicationHost.config`, loads it (panicking on
    /// any error diagnostic) and starts the server.
    pub async fn start_with(xml_template: &str, setup: impl FnOnce(&Path)) -> TestServer {
        init_tracing();
        let (dir, root) = crate::common::temp_root("wharf-itest-");
        setup(&root);
        let origin = root.join("applicationHost.config");
        std::fs::write(&origin, expand_template(xml_template, &root)).expect("write config");
        let server = crate::common::start_in_process(&origin).await;
        let registry = server.registry().clone();
        TestServer {
            server: Some(server),
            registry,
            dir,
            root,
        }
    }

    fn running(&self) -> &RunningServer {
        self.server.as_ref().expect("server already shut down")
    }

    /// The first listening address.
    pub fn addr(&self) -> SocketAddr {
        self.running().endpoints[0].addr
    }

    /// The first address serving `site`.
    pub fn addr_of(&self, site: &str) -> SocketAddr {
        self.running()
            .addr_of(site)
            .unwrap_or_else(|| panic!("no endpoint serves site {site}"))
    }

    /// Every listening endpoint.
    pub fn endpoints(&self) -> Vec<wharf::server::BoundEndpoint> {
        self.running().endpoints.clone()
    }

    /// The temporary root (`{ROOT}`).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `{ROOT}/site`, the folder the standard templates serve as `/`.
    pub fn site_dir(&self) -> PathBuf {
        self.root.join("site")
    }

    /// The sessions registry (still usable after shutdown).
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// Graceful shutdown with `grace` for running transfers.
    pub async fn shutdown(&mut self, grace: Duration) {
        if let Some(server) = self.server.take() {
            server.shutdown(grace).await;
        }
    }

    /// Takes the server out (to shut it down from another task).
    pub fn take_server(&mut self) -> RunningServer {
        self.server.take().expect("server already taken")
    }

    /// Keeps the temporary directory alive (for debugging a failing test).
    pub fn dir(&self) -> &TempDir {
        &self.dir
    }

    /// Snapshots of the live sessions (all sites).
    pub fn sessions(&self) -> Vec<SessionRecord> {
        self.registry.sessions(None)
    }

    /// The live record of one session.
    pub fn session(&self, id: Uuid) -> SessionRecord {
        self.registry
            .sessions(None)
            .into_iter()
            .find(|r| r.session_id == id)
            .unwrap_or_else(|| panic!("session {id} is not live"))
    }

    /// The single live session (panics if there is not exactly one).
    pub fn only_session(&self) -> SessionRecord {
        let mut all = self.registry.sessions(None);
        assert_eq!(all.len(), 1, "expected exactly one live session: {all:#?}");
        all.remove(0)
    }

    /// Waits until `id` is in the ended history and returns it.
    pub async fn wait_ended(&self, id: Uuid) -> EndedSession {
        let registry = self.registry.clone();
        wait_for("session to end", move || registry.ended_session(id)).await
    }

    /// Waits until the registry holds exactly `n` live sessions.
    pub async fn wait_live(&self, n: usize) -> Vec<SessionRecord> {
        let registry = self.registry.clone();
        wait_for(&format!("{n} live session(s)"), move || {
            let all = registry.sessions(None);
            (all.len() == n).then_some(all)
        })
        .await
    }
}

/// Server logs for debugging a test: set `WHARF_LOG` (e.g. `WHARF_LOG=debug`) and run with
/// `--nocapture`.
fn init_tracing() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_env("WHARF_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_test_writer()
                .try_init();
        }
    });
}

/// Polls `probe` every 10 ms until it returns `Some`, for up to [`IO_TIMEOUT`].
pub async fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(start.elapsed() < IO_TIMEOUT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A file of `len` pseudo-random (but reproducible) bytes.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Writes `bytes` to `root/rel`, creating parent folders.
pub fn write_file(root: &Path, rel: &str, bytes: &[u8]) {
    let path = root.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, bytes).unwrap();
}

/// True when an RFC 3339 UTC time with exactly three fraction digits, e.g.
/// `2026-11-24T09:41:12.345Z`.
pub fn is_contract_time(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 24
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            23 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// Starts the standard configuration and logs `alice` in.
pub async fn standard_login() -> (TestServer, Client) {
    let server = TestServer::start(&config::standard()).await;
    let mut c = Client::connect(server.addr()).await;
    c.login("alice", "alice-pw").await;
    (server, c)
}

/// Sets a file's modification time (Unix seconds).
pub fn set_mtime(path: &Path, unix_seconds: i64) {
    let t = std::time::UNIX_EPOCH + Duration::from_secs(unix_seconds as u64);
    std::fs::File::options()
        .write(true)
        .open(path)
        .or_else(|_| std::fs::File::open(path))
        .unwrap()
        .set_modified(t)
        .unwrap();
}

/// Modification time of a file (Unix seconds).
pub fn mtime(path: &Path) -> i64 {
    std::fs::metadata(path)
        .unwrap()
        .modified()
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
