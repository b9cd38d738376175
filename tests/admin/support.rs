//! An in-process Wharf server with the admin API on ephemeral ports (the FTP client is the
//! shared [`crate::common::client::Client`]).

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tempfile::TempDir;
use wharf::registry::Registry;
use wharf::server::RunningServer;

use crate::common::config::{ConfigXml, SiteXml};

/// The standard configuration: one anonymous site on port 0, the admin API on port 0.
pub fn config_xml(root: &Path, admin_binding: &str) -> String {
    config_xml_admin(root, &format!(r#"bindingInformation="{admin_binding}""#))
}

/// [`config_xml`] with `attributes` on `<administration>` (a `bindingInformation` among them).
pub fn config_xml_admin(root: &Path, attributes: &str) -> String {
    let site = SiteXml::new("Default FTP Site")
        .root(&format!("{}/site", root.display()))
        .basic(false)
        .no_rules();
    ConfigXml::new(vec![site])
        .rules(r#"<add accessType="Allow" users="*" permissions="Read, Write" />"#)
        .global(&format!(
            r#"<administration enabled="true" {attributes} />"#
        ))
        .xml()
}

/// A running server in a fresh temporary directory.
pub struct TestServer {
    pub server: Option<RunningServer>,
    pub registry: Arc<Registry>,
    pub dir: TempDir,
    pub root: PathBuf,
    pub ftp: SocketAddr,
    pub admin: SocketAddr,
    pub token: String,
    pub token_file: PathBuf,
}

impl TestServer {
    /// Starts the standard configuration; `setup` fills `{root}/site` first.
    pub async fn start(setup: impl FnOnce(&Path)) -> TestServer {
        let (dir, root) = crate::common::temp_root("wharf-admin-");
        setup(&root.join("site"));
        TestServer::start_in(dir, root).await
    }

    /// Starts the standard configuration with `attributes` on `<administration>`.
    pub async fn start_admin(attributes: &str) -> TestServer {
        let (dir, root) = crate::common::temp_root("wharf-admin-");
        let config = config_xml_admin(&root, attributes);
        std::fs::write(root.join("applicationHost.config"), config).unwrap();
        TestServer::start_in(dir, root).await
    }

    /// Starts (again) from `{root}/applicationHost.config`, writing it when missing.
    pub async fn start_in(dir: TempDir, root: PathBuf) -> TestServer {
        let origin = root.join("applicationHost.config");
        if !origin.exists() {
            std::fs::write(&origin, config_xml(&root, "127.0.0.1:0")).unwrap();
        }
        let server = crate::common::start_in_process(&origin).await;
        let admin = server
            .admin
            .clone()
            .unwrap_or_else(|| panic!("admin API not started: {:?}", server.admin_error));
        TestServer {
            registry: server.registry().clone(),
            ftp: server.endpoints[0].addr,
            admin: admin.addr,
            token: admin.token.expose().to_string(),
            token_file: admin.token_file.clone(),
            server: Some(server),
            dir,
            root,
        }
    }

    /// Graceful shutdown.
    pub async fn shutdown(&mut self, grace: Duration) {
        if let Some(s) = self.server.take() {
            s.shutdown(grace).await;
        }
    }

    /// Waits until the registry shows `n` live sessions.
    pub async fn wait_sessions(&self, n: usize) {
        for _ in 0..1000 {
            if self.registry.handles().len() == n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "expected {n} live sessions, have {}",
            self.registry.handles().len()
        );
    }
}

/// Writes a file of `size` bytes (a repeating pattern).
pub fn big_file(path: &Path, size: usize) {
    let block: Vec<u8> = (0..1024 * 1024).map(|i| (i % 251) as u8).collect();
    let mut f = std::fs::File::create(path).unwrap();
    let mut left = size;
    while left > 0 {
        let n = left.min(block.len());
        std::io::Write::write_all(&mut f, &block[..n]).unwrap();
        left -= n;
    }
}
