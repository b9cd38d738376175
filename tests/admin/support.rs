//! An in-process Wharf server with the admin API on ephemeral ports, and a raw FTP client.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use wharf::config::Severity;
use wharf::registry::Registry;
use wharf::server::RunningServer;

/// Longest a test waits for one FTP reply.
pub const FTP_TIMEOUT: Duration = Duration::from_secs(20);

/// The standard configuration: one anonymous site on port 0, the admin API on port 0.
pub fn config_xml(root: &Path, admin_binding: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<configuration>
  <system.applicationHost>
    <sites>
      <site name="Default FTP Site" id="1">
        <application path="/">
          <virtualDirectory path="/" physicalPath="{root}/site" />
        </application>
        <bindings>
          <binding protocol="ftp" bindingInformation="127.0.0.1:0:" />
        </bindings>
        <ftpServer>
          <security>
            <ssl controlChannelPolicy="SslAllow" dataChannelPolicy="SslAllow" />
            <authentication><anonymousAuthentication enabled="true" /></authentication>
          </security>
        </ftpServer>
      </site>
    </sites>
  </system.applicationHost>
  <system.ftpServer>
    <security>
      <authorization><add accessType="Allow" users="*" permissions="Read, Write" /></authorization>
    </security>
    <administration enabled="true" bindingInformation="{admin_binding}" />
  </system.ftpServer>
</configuration>
"#,
        root = root.display()
    )
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
        let dir = tempfile::Builder::new()
            .prefix("wharf-admin-")
            .tempdir()
            .unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("site")).unwrap();
        setup(&root.join("site"));
        TestServer::start_in(dir, root).await
    }

    /// Starts (again) from `{root}/applicationHost.config`, writing it when missing.
    pub async fn start_in(dir: TempDir, root: PathBuf) -> TestServer {
        let origin = root.join("applicationHost.config");
        if !origin.exists() {
            std::fs::write(&origin, config_xml(&root, "127.0.0.1:0")).unwrap();
        }
        let loaded = wharf::config::load_file(&origin);
        let errors: Vec<String> = loaded
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| d.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        let server = wharf::server::start(loaded.config.unwrap()).await.unwrap();
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

/// A raw FTP control connection.
pub struct Ftp {
    pub reader: BufReader<OwnedReadHalf>,
    pub writer: OwnedWriteHalf,
}

/// One reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    /// Every line, CRLF removed.
    pub lines: Vec<String>,
}

impl Reply {
    /// The text after the code on the last line.
    pub fn text(&self) -> &str {
        self.lines.last().map_or("", |l| l.get(4..).unwrap_or(""))
    }
}

impl Ftp {
    /// Connects and reads the banner.
    pub async fn connect(addr: SocketAddr) -> Ftp {
        let (r, w) = TcpStream::connect(addr).await.unwrap().into_split();
        let mut ftp = Ftp {
            reader: BufReader::new(r),
            writer: w,
        };
        assert_eq!(ftp.reply().await.unwrap().code, 220);
        ftp
    }

    /// Reads one reply; `None` at EOF.
    pub async fn reply(&mut self) -> Option<Reply> {
        tokio::time::timeout(FTP_TIMEOUT, self.read_reply())
            .await
            .expect("FTP reply in time")
    }

    async fn read_reply(&mut self) -> Option<Reply> {
        let mut line = String::new();
        if self.reader.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let code: u16 = line.get(..3)?.parse().ok()?;
        let multi = line.as_bytes().get(3) == Some(&b'-');
        let mut lines = vec![line.trim_end().to_string()];
        if multi {
            loop {
                let mut next = String::new();
                if self.reader.read_line(&mut next).await.ok()? == 0 {
                    break;
                }
                let done = next.starts_with(&format!("{code} "));
                lines.push(next.trim_end().to_string());
                if done {
                    break;
                }
            }
        }
        Some(Reply { code, lines })
    }

    /// Sends a command line without reading.
    pub async fn send(&mut self, line: &str) {
        self.writer
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .unwrap();
    }

    /// Sends a command and reads its reply.
    pub async fn cmd(&mut self, line: &str) -> Reply {
        self.send(line).await;
        self.reply().await.expect("a reply")
    }

    /// USER anonymous / PASS.
    pub async fn login(&mut self) {
        assert_eq!(self.cmd("USER anonymous").await.code, 331);
        assert_eq!(self.cmd("PASS guest@").await.code, 230);
    }

    /// PASV: the data address.
    pub async fn pasv(&mut self) -> SocketAddr {
        let r = self.cmd("PASV").await;
        assert_eq!(r.code, 227, "{r:?}");
        let text = r.text();
        let inner = &text[text.find('(').unwrap() + 1..text.find(')').unwrap()];
        let n: Vec<u16> = inner.split(',').map(|x| x.parse().unwrap()).collect();
        SocketAddr::from((
            [n[0] as u8, n[1] as u8, n[2] as u8, n[3] as u8],
            n[4] * 256 + n[5],
        ))
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
