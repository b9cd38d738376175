//! Test support: a test PKI (CA, server and client certificates made with rcgen), in-process
//! servers from configuration text, a small FTP client on rustls, and real-client helpers.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use wharf::server::RunningServer;

use crate::common::client::parse_epsv;
use crate::common::config::{ConfigXml, SiteXml};
pub use crate::common::process::require_tool;
pub use crate::common::sha256;

/// Generous limit for every network step of a test.
pub const STEP: Duration = Duration::from_secs(20);

/// A CA, a server certificate it signed (localhost, 127.0.0.1) and a client certificate.
pub struct Pki {
    _dir: tempfile::TempDir,
    pub ca_pem: PathBuf,
    pub ca_der: CertificateDer<'static>,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub server_der: CertificateDer<'static>,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    pub client_der: CertificateDer<'static>,
    client_key_der: Vec<u8>,
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Pki {
    pub fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Wharf Test CA");
        let issuer = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let ca_pem = dir.path().join("ca.pem");
        std::fs::write(&ca_pem, issuer.pem()).unwrap();
        let ca_der = issuer.der().clone();
        let mut pki = Pki {
            ca_pem,
            ca_der,
            server_cert: dir.path().join("server.crt"),
            server_key: dir.path().join("server.key"),
            server_der: CertificateDer::from(Vec::new()),
            client_cert: dir.path().join("client.crt"),
            client_key: dir.path().join("client.key"),
            client_der: CertificateDer::from(Vec::new()),
            client_key_der: Vec::new(),
            issuer,
            _dir: dir,
        };
        pki.server_der = pki.issue_server(&pki.server_cert.clone(), &pki.server_key.clone());
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["wharf-test-client".to_string()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "wharf-test-client");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params.signed_by(&key, &pki.issuer).unwrap();
        std::fs::write(&pki.client_cert, cert.pem()).unwrap();
        std::fs::write(&pki.client_key, key.serialize_pem()).unwrap();
        pki.client_der = cert.der().clone();
        pki.client_key_der = key.serialize_der();
        pki
    }

    /// Issues a new server certificate (localhost, 127.0.0.1) into the given files.
    pub fn issue_server(&self, cert_path: &Path, key_path: &Path) -> CertificateDer<'static> {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        std::fs::write(cert_path, cert.pem()).unwrap();
        std::fs::write(key_path, key.serialize_pem()).unwrap();
        cert.der().clone()
    }

    /// A rustls client configuration trusting the test CA.
    pub fn client_config(&self, with_client_cert: bool, resumption: bool) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        roots.add(self.ca_der.clone()).unwrap();
        let builder =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots);
        let mut config = if with_client_cert {
            builder
                .with_client_auth_cert(
                    vec![self.client_der.clone()],
                    PrivateKeyDer::try_from(self.client_key_der.clone()).unwrap(),
                )
                .unwrap()
        } else {
            builder.with_no_client_auth()
        };
        if !resumption {
            config.resumption = rustls::client::Resumption::disabled();
        }
        Arc::new(config)
    }
}

/// A site description for [`start`].
pub struct Site<'a> {
    /// Attributes of `<binding>` besides protocol and bindingInformation.
    pub binding: &'a str,
    /// Attributes of `<ssl>`.
    pub ssl: &'a str,
    /// More children of `<security>`.
    pub security: &'a str,
}

/// The `<ssl>` attributes for the test PKI's server certificate.
pub fn cert_attrs(pki: &Pki) -> String {
    format!(
        r#"certificateFile="{}" privateKeyFile="{}""#,
        pki.server_cert.display(),
        pki.server_key.display()
    )
}

/// A running in-process server with one site "ftps" on 127.0.0.1 (any port), anonymous
/// read-write, serving a fresh folder.
pub struct Server {
    pub running: RunningServer,
    pub addr: SocketAddr,
    pub root: tempfile::TempDir,
    _conf: tempfile::TempDir,
}

pub async fn start(site: Site<'_>) -> Server {
    let root = tempfile::tempdir().unwrap();
    let conf = tempfile::tempdir().unwrap();
    let text = ConfigXml::new(vec![ftps_site(
        "ftps",
        &root.path().display().to_string(),
        site,
    )])
    .rules(r#"<add accessType="Allow" users="*" permissions="Read, Write" />"#)
    .xml();
    let path = conf.path().join("applicationHost.config");
    std::fs::write(&path, &text).unwrap();
    let running = crate::common::start_in_process(&path).await;
    let addr = running.addr_of("ftps").unwrap();
    Server {
        running,
        addr,
        root,
        _conf: conf,
    }
}

/// A `<site>` NAME (id 1) on 127.0.0.1 (any port) serving `root`, anonymous logins only,
/// with `site`'s binding attributes, `<ssl>` attributes and security children.
pub fn ftps_site(name: &str, root: &str, site: Site<'_>) -> SiteXml {
    SiteXml::new(name)
        .root(root)
        .binding_attrs(site.binding)
        .ssl(&format!("<ssl {} />", site.ssl))
        .security(site.security)
        .basic(false)
        .no_rules()
}

/// The session records of the server.
pub fn records(server: &Server) -> Vec<wharf::registry::SessionRecord> {
    server.running.registry().sessions(None)
}

// ---------------------------------------------------------------------------------------
// A small FTP client

pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A control connection, clear or TLS.
pub struct Ftp {
    io: Option<BufReader<Box<dyn Io>>>,
    pub addr: SocketAddr,
    pub tls: Arc<ClientConfig>,
    /// The server's certificate seen by the control connection's handshake.
    pub server_cert: Option<CertificateDer<'static>>,
}

/// A reply: code and full text.
pub type Answer = (u16, String);

impl Ftp {
    /// Connects in clear text and reads the banner.
    pub async fn connect(addr: SocketAddr, tls: Arc<ClientConfig>) -> Ftp {
        let tcp = TcpStream::connect(addr).await.unwrap();
        let mut ftp = Ftp {
            io: Some(BufReader::new(Box::new(tcp))),
            addr,
            tls,
            server_cert: None,
        };
        let (code, text) = ftp.reply().await;
        assert_eq!(code, 220, "{text}");
        ftp
    }

    /// Connects with implicit TLS and reads the banner.
    pub async fn connect_implicit(addr: SocketAddr, tls: Arc<ClientConfig>) -> Ftp {
        let tcp = TcpStream::connect(addr).await.unwrap();
        let stream = tls_connect(&tls, tcp).await.unwrap();
        let server_cert = peer_cert(&stream);
        let mut ftp = Ftp {
            io: Some(BufReader::new(Box::new(stream))),
            addr,
            tls,
            server_cert,
        };
        let (code, text) = ftp.reply().await;
        assert_eq!(code, 220, "{text}");
        ftp
    }

    /// Reads one (possibly multi-line) reply.
    pub async fn reply(&mut self) -> Answer {
        let io = self.io.as_mut().unwrap();
        let mut text = String::new();
        let mut first = String::new();
        tokio::time::timeout(STEP, io.read_line(&mut first))
            .await
            .expect("reply timed out")
            .unwrap();
        assert!(first.len() >= 4, "short reply {first:?}");
        let code: u16 = first[..3].parse().unwrap();
        text.push_str(&first);
        if first.as_bytes()[3] == b'-' {
            let end = format!("{code} ");
            loop {
                let mut line = String::new();
                let n = tokio::time::timeout(STEP, io.read_line(&mut line))
                    .await
                    .expect("reply timed out")
                    .unwrap();
                assert!(n > 0, "connection closed inside a reply");
                text.push_str(&line);
                if line.starts_with(&end) {
                    break;
                }
            }
        }
        (code, text)
    }

    /// Sends a command and reads its reply.
    pub async fn cmd(&mut self, line: &str) -> Answer {
        self.send(line).await;
        self.reply().await
    }

    /// Sends a command line.
    pub async fn send(&mut self, line: &str) {
        let io = self.io.as_mut().unwrap().get_mut();
        io.write_all(format!("{line}\r\n").as_bytes())
            .await
            .unwrap();
        io.flush().await.unwrap();
    }

    /// AUTH TLS and the handshake.
    pub async fn auth_tls(&mut self) {
        self.try_auth_tls().await.unwrap();
    }

    /// AUTH TLS, the handshake, then NOOP: an error when the server refused the TLS
    /// session (during the handshake or, in TLS 1.3, right after it).
    pub async fn try_auth_tls(&mut self) -> Result<(), String> {
        let (code, text) = self.cmd("AUTH TLS").await;
        assert_eq!(code, 234, "{text}");
        let io = self.io.take().unwrap();
        assert!(io.buffer().is_empty());
        let stream = tls_connect(&self.tls, io.into_inner())
            .await
            .map_err(|e| e.to_string())?;
        self.server_cert = peer_cert(&stream);
        let mut io = BufReader::new(Box::new(stream) as Box<dyn Io>);
        io.get_mut()
            .write_all(b"NOOP\r\n")
            .await
            .map_err(|e| e.to_string())?;
        io.get_mut().flush().await.map_err(|e| e.to_string())?;
        let mut line = String::new();
        match tokio::time::timeout(STEP, io.read_line(&mut line)).await {
            Ok(Ok(n)) if n > 0 && line.starts_with("200") => {
                self.io = Some(io);
                Ok(())
            }
            Ok(Ok(_)) => Err(format!("no NOOP reply: {line:?}")),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("timed out".into()),
        }
    }

    /// Anonymous login.
    pub async fn login(&mut self) {
        let (code, text) = self.cmd("USER anonymous").await;
        assert_eq!(code, 331, "{text}");
        let (code, text) = self.cmd("PASS test@example").await;
        assert_eq!(code, 230, "{text}");
    }

    /// EPSV: the data address.
    pub async fn epsv(&mut self) -> SocketAddr {
        let (code, text) = self.cmd("EPSV").await;
        assert_eq!(code, 229, "{text}");
        let port = parse_epsv(&text).unwrap_or_else(|| panic!("bad 229 reply {text:?}"));
        SocketAddr::new(self.addr.ip(), port)
    }

    /// A data transfer command over EPSV; `protected` wraps the data connection in TLS with
    /// `data_tls` (default: the control connection's configuration, which resumes). Returns
    /// the 150 reply, the received bytes (or the TLS error) and the final reply.
    pub async fn transfer(
        &mut self,
        command: &str,
        protected: bool,
        upload: Option<&[u8]>,
        data_tls: Option<Arc<ClientConfig>>,
    ) -> (Answer, Result<Vec<u8>, String>, Answer) {
        let data_addr = self.epsv().await;
        let tcp = TcpStream::connect(data_addr).await.unwrap();
        self.send(command).await;
        let first = self.reply().await;
        if first.0 != 150 && first.0 != 125 {
            return (first.clone(), Err("refused".into()), first);
        }
        let moved = async {
            let mut stream: Box<dyn Io> = if protected {
                let config = data_tls.unwrap_or_else(|| self.tls.clone());
                Box::new(tls_connect(&config, tcp).await.map_err(|e| e.to_string())?)
            } else {
                Box::new(tcp)
            };
            let mut data = Vec::new();
            match upload {
                Some(bytes) => {
                    stream.write_all(bytes).await.map_err(|e| e.to_string())?;
                    stream.shutdown().await.map_err(|e| e.to_string())?;
                }
                None => {
                    tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut data)
                        .await
                        .map_err(|e| e.to_string())?;
                }
            }
            Ok::<Vec<u8>, String>(data)
        };
        let moved = tokio::time::timeout(STEP, moved)
            .await
            .expect("data timed out");
        let last = self.reply().await;
        (first, moved, last)
    }
}

fn peer_cert<S>(stream: &tokio_rustls::client::TlsStream<S>) -> Option<CertificateDer<'static>> {
    stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first().cloned())
}

async fn tls_connect<S: AsyncRead + AsyncWrite + Unpin>(
    config: &Arc<ClientConfig>,
    tcp: S,
) -> std::io::Result<tokio_rustls::client::TlsStream<S>> {
    let name = ServerName::try_from("localhost").unwrap().to_owned();
    tokio::time::timeout(STEP, TlsConnector::from(config.clone()).connect(name, tcp))
        .await
        .map_err(|_| std::io::Error::other("TLS handshake timed out"))?
}

// ---------------------------------------------------------------------------------------
// Real clients

/// Runs a command with a time limit; returns (status ok, stdout, stderr).
pub async fn run(program: &str, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .stdin(if stdin.is_some() {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        })
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(input.as_bytes()).await.unwrap();
        drop(pipe);
    }
    let output = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{program} timed out"))
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Pseudo-random bytes (deterministic).
pub fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}
