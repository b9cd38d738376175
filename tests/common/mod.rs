//! Test support shared by every test binary (`tests/integration`, `tests/clients`,
//! `tests/ftps`, `tests/admin`, `tests/page`). Each includes it with
//! `#[path = "../common/mod.rs"] mod common;`; what only one binary needs stays in that
//! binary's own support module.
//!
//! - [`client`]: an async line-level FTP client that exposes every reply.
//! - [`ftp`]: a blocking FTP control connection, for tests that run no async runtime.
//! - [`config`]: configuration XML built from parts, placeholders, loading without errors.
//! - [`process`]: the `wharf` binary as a child process (server guard, CLI runs), tools.

// Not every binary uses every helper.
#![allow(dead_code)]

pub mod client;
pub mod config;
pub mod ftp;
pub mod process;

use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tempfile::TempDir;
use wharf::server::RunningServer;

/// Longest a test waits for any single network event before failing.
pub const IO_TIMEOUT: Duration = Duration::from_secs(20);

/// A fresh temporary directory named `PREFIX…`, its canonical path, and an empty `site`
/// folder in it.
pub fn temp_root(prefix: &str) -> (TempDir, PathBuf) {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("create temporary directory");
    let root = dir.path().canonicalize().expect("canonical temp dir");
    std::fs::create_dir_all(root.join("site")).expect("create site folder");
    (dir, root)
}

/// Starts a server in this process from the configuration file `path` (see
/// [`config::load_checked`]).
pub async fn start_in_process(path: &Path) -> RunningServer {
    let config = config::load_checked(path);
    wharf::server::start(config)
        .await
        .unwrap_or_else(|e| panic!("server did not start: {e:#}"))
}

/// A port that is free now, taken from below the kernel's ephemeral range (32768 and up on
/// Linux) so that no `port 0` listener of the server under test can be handed the same port
/// between this check and its use.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let spread = (std::process::id() % 500) as u16 * 20;
    for _ in 0..12_000 {
        let step = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = 20_000 + (spread + step) % 12_000;
        if port_is_free(port) {
            return port;
        }
    }
    panic!("no free port between 20000 and 32000");
}

/// Whether `127.0.0.1:port` can be bound right now.
pub fn port_is_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// Hex SHA-256 of bytes.
pub fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
