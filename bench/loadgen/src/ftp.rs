//! A minimal raw FTP client: control replies, login, passive data connections, RETR/STOR
//! into and out of caller-owned reused buffers.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// Where and as whom to connect.
#[derive(Clone, Debug)]
pub struct Target {
    /// Control address.
    pub addr: SocketAddr,
    /// Account name.
    pub user: String,
    /// Password.
    pub pass: String,
}

/// One FTP reply (multi-line replies are joined with `\n`).
#[derive(Debug)]
pub struct Reply {
    /// The three-digit code.
    pub code: u16,
    /// The text of every line.
    pub text: String,
}

impl Reply {
    fn is(&self, class: u16) -> bool {
        self.code / 100 == class
    }
}

/// A control connection over any byte stream (plain TCP or TLS).
pub struct Control<S> {
    io: BufReader<S>,
    line: Vec<u8>,
    /// The server's control address (data connections go to the same host).
    pub peer: SocketAddr,
}

impl Control<TcpStream> {
    /// Connects and reads the greeting (expects 220).
    pub async fn connect(addr: SocketAddr, buffer: usize) -> Result<Self> {
        Self::connect_from(addr, None, buffer).await
    }

    /// Like [`Control::connect`], from a chosen local address (loopback has 127.0.0.0/8:
    /// spreading many sessions over several source addresses multiplies the ephemeral
    /// ports available).
    pub async fn connect_from(
        addr: SocketAddr,
        source: Option<std::net::IpAddr>,
        buffer: usize,
    ) -> Result<Self> {
        let tcp = match source {
            None => TcpStream::connect(addr).await,
            Some(ip) => {
                let sock = if ip.is_ipv4() {
                    tokio::net::TcpSocket::new_v4()?
                } else {
                    tokio::net::TcpSocket::new_v6()?
                };
                sock.bind(SocketAddr::new(ip, 0))?;
                sock.connect(addr).await
            }
        }
        .with_context(|| format!("connect {addr}"))?;
        tcp.set_nodelay(true)?;
        let mut c = Control {
            io: BufReader::with_capacity(buffer, tcp),
            line: Vec::with_capacity(256),
            peer: addr,
        };
        let greeting = c.read_reply().await?;
        if greeting.code != 220 {
            bail!("greeting {} {}", greeting.code, greeting.text);
        }
        Ok(c)
    }

    /// AUTH TLS then the TLS handshake; `Ok(None)` when the server refuses AUTH TLS.
    pub async fn auth_tls(
        mut self,
        tls: &TlsConnector,
    ) -> Result<Option<Control<TlsStream<TcpStream>>>> {
        let r = self.cmd("AUTH TLS").await?;
        if r.code != 234 {
            return Ok(None);
        }
        let peer = self.peer;
        let tcp = self.io.into_inner();
        let name = rustls::pki_types::ServerName::IpAddress(peer.ip().into());
        let stream = tls
            .connect(name, tcp)
            .await
            .context("TLS handshake (control)")?;
        Ok(Some(Control {
            io: BufReader::with_capacity(4096, stream),
            line: Vec::with_capacity(256),
            peer,
        }))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Control<S> {
    /// Reads one (possibly multi-line) reply.
    pub async fn read_reply(&mut self) -> Result<Reply> {
        let first = self.read_line().await?;
        let code = parse_code(&first)?;
        let mut text = first.clone();
        if first.as_bytes().get(3) == Some(&b'-') {
            let end = format!("{code} ");
            loop {
                let line = self.read_line().await?;
                text.push('\n');
                text.push_str(&line);
                if line.starts_with(&end) || line == format!("{code}") {
                    break;
                }
            }
        }
        Ok(Reply { code, text })
    }

    async fn read_line(&mut self) -> Result<String> {
        self.line.clear();
        let n = self.io.read_until(b'\n', &mut self.line).await?;
        if n == 0 {
            bail!("control connection closed by the server");
        }
        let s = String::from_utf8_lossy(&self.line);
        Ok(s.trim_end_matches(['\r', '\n']).to_string())
    }

    /// Reads and discards until the server closes the connection.
    pub async fn wait_close(&mut self) {
        loop {
            self.line.clear();
            match self.io.read_until(b'\n', &mut self.line).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    }

    /// Sends a command line.
    pub async fn send(&mut self, line: &str) -> Result<()> {
        let w = self.io.get_mut();
        w.write_all(line.as_bytes()).await?;
        w.write_all(b"\r\n").await?;
        w.flush().await?;
        Ok(())
    }

    /// Sends a command and reads its reply.
    pub async fn cmd(&mut self, line: &str) -> Result<Reply> {
        self.send(line).await?;
        self.read_reply().await
    }

    /// Sends a command and fails unless the reply is in class `class` (2 = 2xx, …).
    pub async fn expect(&mut self, line: &str, class: u16) -> Result<Reply> {
        let r = self.cmd(line).await?;
        if !r.is(class) {
            let shown = if line.starts_with("PASS ") {
                "PASS ***"
            } else {
                line
            };
            bail!("{shown}: {}", r.text);
        }
        Ok(r)
    }

    /// USER/PASS (230 expected).
    pub async fn login(&mut self, user: &str, pass: &str) -> Result<()> {
        let r = self.cmd(&format!("USER {user}")).await?;
        match r.code {
            230 => return Ok(()),
            331 | 332 => {}
            _ => bail!("USER: {}", r.text),
        }
        self.expect(&format!("PASS {pass}"), 2).await?;
        Ok(())
    }

    /// Asks for a passive data port (EPSV, else PASV) and connects to it.
    pub async fn open_data(&mut self) -> Result<TcpStream> {
        let r = self.cmd("EPSV").await?;
        let port = if r.code == 229 {
            parse_epsv(&r.text)?
        } else {
            let r = self.expect("PASV", 2).await?;
            parse_pasv(&r.text)?
        };
        let addr = SocketAddr::new(self.peer.ip(), port);
        let s = TcpStream::connect(addr)
            .await
            .with_context(|| format!("data connect {addr}"))?;
        Ok(s)
    }

    /// Expects the preliminary reply of a transfer (1xx).
    pub async fn expect_preliminary(&mut self, what: &str) -> Result<()> {
        let r = self.read_reply().await?;
        if !r.is(1) {
            bail!("{what}: {}", r.text);
        }
        Ok(())
    }

    /// Expects the final reply of a transfer (2xx).
    pub async fn expect_complete(&mut self, what: &str) -> Result<()> {
        let r = self.read_reply().await?;
        if !r.is(2) {
            bail!("{what} (final): {}", r.text);
        }
        Ok(())
    }

    /// RETR into `buf` (reused, discarded); returns the byte count.
    pub async fn retr(&mut self, path: &str, buf: &mut [u8]) -> Result<u64> {
        let mut data = self.open_data().await?;
        self.send(&format!("RETR {path}")).await?;
        self.expect_preliminary("RETR").await?;
        let n = drain(&mut data, buf).await?;
        drop(data);
        self.expect_complete("RETR").await?;
        Ok(n)
    }

    /// STOR of `size` bytes written from `buf` (reused).
    pub async fn stor(&mut self, path: &str, size: u64, buf: &[u8]) -> Result<u64> {
        let mut data = self.open_data().await?;
        self.send(&format!("STOR {path}")).await?;
        self.expect_preliminary("STOR").await?;
        let mut left = size;
        while left > 0 {
            let n = left.min(buf.len() as u64) as usize;
            data.write_all(&buf[..n]).await?;
            left -= n as u64;
        }
        data.shutdown().await?;
        drop(data);
        self.expect_complete("STOR").await?;
        Ok(size)
    }

    /// LIST (after CWD by the caller); returns (bytes, lines).
    pub async fn list(&mut self, buf: &mut [u8]) -> Result<(u64, u64)> {
        let mut data = self.open_data().await?;
        self.send("LIST").await?;
        self.expect_preliminary("LIST").await?;
        let mut bytes = 0u64;
        let mut lines = 0u64;
        loop {
            let n = data.read(buf).await?;
            if n == 0 {
                break;
            }
            bytes += n as u64;
            lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        }
        drop(data);
        self.expect_complete("LIST").await?;
        Ok((bytes, lines))
    }
}

/// Reads a stream to its end into `buf`, counting bytes. A TLS peer that closes without
/// close_notify still counts as the end.
pub async fn drain<R: AsyncRead + Unpin>(r: &mut R, buf: &mut [u8]) -> Result<u64> {
    let mut total = 0u64;
    loop {
        match r.read(buf).await {
            Ok(0) => return Ok(total),
            Ok(n) => total += n as u64,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(total),
            Err(e) => return Err(e.into()),
        }
    }
}

/// Connect, read the greeting, log in and set TYPE I.
pub async fn session(t: &Target, buffer: usize) -> Result<Control<TcpStream>> {
    let mut c = Control::connect(t.addr, buffer).await?;
    c.login(&t.user, &t.pass).await?;
    c.expect("TYPE I", 2).await?;
    Ok(c)
}

/// A TLS session (AUTH TLS, PBSZ 0, PROT P, TYPE I); `Ok(None)` when TLS is not offered.
pub async fn tls_session(
    t: &Target,
    tls: &TlsConnector,
) -> Result<Option<Control<TlsStream<TcpStream>>>> {
    let c = Control::connect(t.addr, 4096).await?;
    let Some(mut c) = c.auth_tls(tls).await? else {
        return Ok(None);
    };
    c.login(&t.user, &t.pass).await?;
    c.expect("PBSZ 0", 2).await?;
    c.expect("PROT P", 2).await?;
    c.expect("TYPE I", 2).await?;
    Ok(Some(c))
}

/// RETR over a protected data channel.
pub async fn tls_retr(
    c: &mut Control<TlsStream<TcpStream>>,
    tls: &TlsConnector,
    path: &str,
    buf: &mut [u8],
) -> Result<u64> {
    let data = c.open_data().await?;
    c.send(&format!("RETR {path}")).await?;
    let name = rustls::pki_types::ServerName::IpAddress(c.peer.ip().into());
    // Servers differ in whether 150 comes before or after the data handshake: do both at once.
    let (pre, hs) = tokio::join!(c.expect_preliminary("RETR"), tls.connect(name, data));
    pre?;
    let mut data = hs.context("TLS handshake (data)")?;
    let n = drain(&mut data, buf).await?;
    drop(data);
    c.expect_complete("RETR").await?;
    Ok(n)
}

/// A TLS connector that accepts any certificate (benchmarks run on loopback against
/// self-signed certificates) and keeps sessions for data-channel resumption.
pub fn insecure_tls() -> Result<TlsConnector> {
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::CryptoProvider;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{DigitallySignedStruct, SignatureScheme};

    #[derive(Debug)]
    struct NoVerify(Arc<CryptoProvider>);
    impl ServerCertVerifier for NoVerify {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }
        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }
        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

fn parse_code(line: &str) -> Result<u16> {
    line.get(..3)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| anyhow!("malformed reply line {line:?}"))
}

/// `229 Entering Extended Passive Mode (|||6446|)`
fn parse_epsv(text: &str) -> Result<u16> {
    let open = text
        .find('(')
        .ok_or_else(|| anyhow!("bad EPSV reply {text:?}"))?;
    let inner = &text[open + 1..];
    let close = inner
        .find(')')
        .ok_or_else(|| anyhow!("bad EPSV reply {text:?}"))?;
    let fields: Vec<&str> = inner[..close].split('|').collect();
    fields
        .get(3)
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| anyhow!("bad EPSV reply {text:?}"))
}

/// `227 Entering Passive Mode (127,0,0,1,25,10)`
fn parse_pasv(text: &str) -> Result<u16> {
    let body = text.get(4..).unwrap_or("");
    let nums: Vec<u16> = body
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect();
    if nums.len() < 6 {
        bail!("bad PASV reply {text:?}");
    }
    Ok(nums[4] * 256 + nums[5])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passive_replies() {
        assert_eq!(
            parse_epsv("229 Entering Extended Passive Mode (|||6446|)").unwrap(),
            6446
        );
        assert_eq!(
            parse_pasv("227 Entering Passive Mode (127,0,0,1,25,10).").unwrap(),
            25 * 256 + 10
        );
        assert_eq!(
            parse_pasv("227 Entering Passive Mode 127,0,0,1,4,1").unwrap(),
            1025
        );
    }
}
