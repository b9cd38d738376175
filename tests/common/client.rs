//! A raw FTP client: every reply is visible, nothing is hidden behind retries.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

use super::IO_TIMEOUT;

/// One reply: its code and raw lines (without CRLF).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit code.
    pub code: u16,
    /// Every line as received, code prefix included.
    pub lines: Vec<String>,
}

impl Reply {
    /// All text with the `ddd-`/`ddd ` prefixes of first and last line removed, lines joined
    /// with `\n`.
    pub fn text(&self) -> String {
        let n = self.lines.len();
        self.lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                if i == 0 || i == n - 1 {
                    l.get(4..).unwrap_or("").to_string()
                } else {
                    l.clone()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// True when the text contains `needle` (case-sensitive).
    pub fn contains(&self, needle: &str) -> bool {
        self.text().contains(needle)
    }
}

/// How the next data connection is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataMode {
    /// PASV
    Pasv,
    /// EPSV
    Epsv,
    /// PORT (the test listens)
    Port,
    /// EPRT (the test listens)
    Eprt,
}

/// A prepared data connection: connected (passive) or listening (active).
pub enum DataConn {
    /// Passive: already connected to the server's port.
    Connected(TcpStream),
    /// Active: waiting for the server to connect.
    Listening(TcpListener),
}

impl DataConn {
    /// The connected stream (accepting the server's connection for active modes).
    pub async fn stream(self) -> TcpStream {
        match self {
            DataConn::Connected(s) => s,
            DataConn::Listening(l) => {
                let (s, _) = tokio::time::timeout(IO_TIMEOUT, l.accept())
                    .await
                    .expect("server did not connect to the active data port")
                    .expect("accept active data connection");
                s
            }
        }
    }
}

/// A control connection.
pub struct Client {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    /// The 220 greeting.
    pub banner: Reply,
    /// The server's address.
    pub peer: SocketAddr,
    /// Our address.
    pub local: SocketAddr,
}

impl Client {
    /// Connects and reads the banner, which must be 220.
    pub async fn connect(addr: SocketAddr) -> Client {
        let client = Client::connect_any(addr).await;
        assert_eq!(
            client.banner.code, 220,
            "unexpected greeting: {:?}",
            client.banner
        );
        client
    }

    /// Connects and reads the first reply whatever its code (it is kept in `banner`).
    pub async fn connect_any(addr: SocketAddr) -> Client {
        let stream = tokio::time::timeout(IO_TIMEOUT, TcpStream::connect(addr))
            .await
            .expect("connect timed out")
            .unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
        Client::from_stream(stream).await
    }

    /// Connects from a given local IP (e.g. 127.0.0.2) and reads the banner (must be 220).
    pub async fn connect_from(local_ip: IpAddr, addr: SocketAddr) -> Client {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()
        } else {
            TcpSocket::new_v6()
        }
        .unwrap();
        socket.bind(SocketAddr::new(local_ip, 0)).unwrap();
        let stream = tokio::time::timeout(IO_TIMEOUT, socket.connect(addr))
            .await
            .expect("connect timed out")
            .unwrap();
        let client = Client::from_stream(stream).await;
        assert_eq!(client.banner.code, 220, "{:?}", client.banner);
        client
    }

    async fn from_stream(stream: TcpStream) -> Client {
        stream.set_nodelay(true).unwrap();
        let peer = stream.peer_addr().unwrap();
        let local = stream.local_addr().unwrap();
        let (r, w) = stream.into_split();
        let mut client = Client {
            reader: BufReader::new(r),
            writer: w,
            banner: Reply {
                code: 0,
                lines: Vec::new(),
            },
            peer,
            local,
        };
        client.banner = client.read_reply().await;
        client
    }

    /// Sends one command line (CRLF appended).
    pub async fn send_line(&mut self, line: &str) {
        self.send_raw(format!("{line}\r\n").as_bytes()).await;
    }

    /// Sends raw bytes on the control connection.
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        tokio::time::timeout(IO_TIMEOUT, self.writer.write_all(bytes))
            .await
            .expect("control write timed out")
            .expect("control write failed");
    }

    /// Sends `bytes` as TCP urgent data (`send(MSG_OOB)`): the kernel marks the last byte
    /// urgent, as BSD-derived clients do with the Telnet Synch of an ABOR (RFC 959 §4.1.3).
    pub async fn send_urgent(&mut self, bytes: &[u8]) {
        let sent = rustix::net::send(self.writer.as_ref(), bytes, rustix::net::SendFlags::OOB)
            .expect("urgent send failed");
        assert_eq!(sent, bytes.len(), "short urgent send");
    }

    /// Resets the control connection (zero linger, then close: the server reads an RST).
    pub fn reset(self) {
        reset(self.writer.as_ref());
    }

    /// Sends raw bytes; false when the connection is gone.
    pub async fn try_send_raw(&mut self, bytes: &[u8]) -> bool {
        matches!(
            tokio::time::timeout(IO_TIMEOUT, self.writer.write_all(bytes)).await,
            Ok(Ok(()))
        )
    }

    async fn read_line(&mut self, limit: Duration) -> Result<Option<String>, ()> {
        let mut buf = Vec::new();
        match tokio::time::timeout(limit, self.reader.read_until(b'\n', &mut buf)).await {
            Err(_) => Err(()),
            Ok(Err(_)) => Ok(None),
            Ok(Ok(0)) => Ok(None),
            Ok(Ok(_)) => {
                while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                    buf.pop();
                }
                Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
            }
        }
    }

    /// Reads one reply; `Ok(None)` when the server closed the connection first, `Err` on
    /// timeout.
    pub async fn try_read_reply(&mut self, limit: Duration) -> Result<Option<Reply>, String> {
        let first = match self.read_line(limit).await {
            Err(()) => return Err("timed out waiting for a reply".to_string()),
            Ok(None) => return Ok(None),
            Ok(Some(l)) => l,
        };
        let code: u16 = first
            .get(..3)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| format!("malformed reply line: {first:?}"))?;
        let mut lines = vec![first.clone()];
        if first.as_bytes().get(3) == Some(&b'-') {
            let end = format!("{code} ");
            loop {
                match self.read_line(limit).await {
                    Err(()) => return Err(format!("timed out inside multi-line reply {lines:?}")),
                    Ok(None) => return Err(format!("connection closed inside {lines:?}")),
                    Ok(Some(l)) => {
                        let done = l.starts_with(&end) || l == code.to_string();
                        lines.push(l);
                        if done {
                            break;
                        }
                    }
                }
            }
        }
        Ok(Some(Reply { code, lines }))
    }

    /// Reads one reply (panics on timeout or close).
    pub async fn read_reply(&mut self) -> Reply {
        match self.try_read_reply(IO_TIMEOUT).await {
            Ok(Some(r)) => r,
            Ok(None) => panic!("connection closed while waiting for a reply"),
            Err(e) => panic!("{e}"),
        }
    }

    /// Reads one reply; `None` when the server closed the connection first (panics on
    /// timeout).
    pub async fn next_reply(&mut self) -> Option<Reply> {
        self.try_read_reply(IO_TIMEOUT)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Reads one reply and checks its code.
    pub async fn expect_reply(&mut self, code: u16) -> Reply {
        let r = self.read_reply().await;
        assert_eq!(r.code, code, "expected {code}, got {r:?}");
        r
    }

    /// Sends a command and reads its reply.
    pub async fn cmd(&mut self, line: &str) -> Reply {
        self.send_line(line).await;
        self.read_reply().await
    }

    /// Sends a command and checks the reply code.
    pub async fn expect(&mut self, line: &str, code: u16) -> Reply {
        let r = self.cmd(line).await;
        assert_eq!(r.code, code, "{line} → expected {code}, got {r:?}");
        r
    }

    /// USER + PASS, expecting 331 then 230.
    pub async fn login(&mut self, user: &str, pass: &str) -> Reply {
        self.expect(&format!("USER {user}"), 331).await;
        self.expect(&format!("PASS {pass}"), 230).await
    }

    /// Waits for the server to close the connection, returning the replies received meanwhile.
    pub async fn read_until_closed(&mut self) -> Vec<Reply> {
        let mut replies = Vec::new();
        loop {
            match self.try_read_reply(IO_TIMEOUT).await {
                Ok(Some(r)) => replies.push(r),
                Ok(None) => return replies,
                Err(e) => panic!("server did not close the connection: {e}; got {replies:?}"),
            }
        }
    }

    /// True when nothing arrives within `limit` (the connection is still open and quiet).
    pub async fn is_quiet(&mut self, limit: Duration) -> bool {
        let mut byte = [0u8; 1];
        tokio::time::timeout(limit, self.reader.read(&mut byte))
            .await
            .is_err()
    }

    /// PASV → the advertised address.
    pub async fn pasv(&mut self) -> SocketAddr {
        let r = self.expect("PASV", 227).await;
        parse_pasv(&r.text()).unwrap_or_else(|| panic!("bad 227 reply {r:?}"))
    }

    /// EPSV → the server's IP (from the control connection) and the advertised port.
    pub async fn epsv(&mut self) -> SocketAddr {
        let r = self.expect("EPSV", 229).await;
        let port = parse_epsv(&r.text()).unwrap_or_else(|| panic!("bad 229 reply {r:?}"));
        SocketAddr::new(self.peer.ip(), port)
    }

    /// Sets up a data connection in `mode`.
    pub async fn prepare_data(&mut self, mode: DataMode) -> DataConn {
        match mode {
            DataMode::Pasv => {
                let addr = self.pasv().await;
                DataConn::Connected(connect(addr).await)
            }
            DataMode::Epsv => {
                let addr = self.epsv().await;
                DataConn::Connected(connect(addr).await)
            }
            DataMode::Port => {
                let listener = TcpListener::bind(SocketAddr::new(self.local.ip(), 0))
                    .await
                    .unwrap();
                let addr = listener.local_addr().unwrap();
                let IpAddr::V4(ip) = addr.ip() else {
                    panic!("PORT needs IPv4")
                };
                let o = ip.octets();
                let line = format!(
                    "PORT {},{},{},{},{},{}",
                    o[0],
                    o[1],
                    o[2],
                    o[3],
                    addr.port() >> 8,
                    addr.port() & 0xff
                );
                self.expect(&line, 200).await;
                DataConn::Listening(listener)
            }
            DataMode::Eprt => {
                let listener = TcpListener::bind(SocketAddr::new(self.local.ip(), 0))
                    .await
                    .unwrap();
                let addr = listener.local_addr().unwrap();
                let line = format!("EPRT {}", eprt_arg(addr));
                self.expect(&line, 200).await;
                DataConn::Listening(listener)
            }
        }
    }

    /// Runs a download-type command (`RETR x`, `LIST`, `NLST`, `MLSD`…) over a fresh data
    /// connection in `mode`: expects 150/125, reads to end, expects 226.
    pub async fn download_with(&mut self, mode: DataMode, line: &str) -> Vec<u8> {
        self.download_from(mode, None, line).await
    }

    /// Like [`Client::download_with`], with `REST offset` sent right before the command
    /// (after PASV/PORT, as RFC 959 orders it).
    pub async fn download_from(
        &mut self,
        mode: DataMode,
        rest: Option<u64>,
        line: &str,
    ) -> Vec<u8> {
        let (mut stream, _) = self.start_transfer(mode, rest, line).await;
        let mut bytes = Vec::new();
        tokio::time::timeout(IO_TIMEOUT, stream.read_to_end(&mut bytes))
            .await
            .expect("data read timed out")
            .expect("data read failed");
        let done = self.read_reply().await;
        assert_eq!(done.code, 226, "{line} → expected 226, got {done:?}");
        bytes
    }

    /// Runs an upload-type command (`STOR x`, `APPE x`, `STOU`) in `mode`; returns the 150
    /// reply and the final reply (asserted 226).
    pub async fn upload_with(&mut self, mode: DataMode, line: &str, bytes: &[u8]) -> Reply {
        self.upload_from(mode, None, line, bytes).await
    }

    /// Like [`Client::upload_with`], with `REST offset` sent right before the command.
    pub async fn upload_from(
        &mut self,
        mode: DataMode,
        rest: Option<u64>,
        line: &str,
        bytes: &[u8],
    ) -> Reply {
        let (mut stream, first) = self.start_transfer(mode, rest, line).await;
        tokio::time::timeout(IO_TIMEOUT, stream.write_all(bytes))
            .await
            .expect("data write timed out")
            .expect("data write failed");
        stream.shutdown().await.unwrap();
        drop(stream);
        let done = self.read_reply().await;
        assert_eq!(done.code, 226, "{line} → expected 226, got {done:?}");
        first
    }

    /// Prepares a data connection in `mode`, sends `REST offset` (when given) and `line`,
    /// expects 150/125 and returns the connected data stream with that reply.
    async fn start_transfer(
        &mut self,
        mode: DataMode,
        rest: Option<u64>,
        line: &str,
    ) -> (TcpStream, Reply) {
        let data = self.prepare_data(mode).await;
        if let Some(offset) = rest {
            self.expect(&format!("REST {offset}"), 350).await;
        }
        self.send_line(line).await;
        let first = self.read_reply().await;
        assert!(
            first.code == 150 || first.code == 125,
            "{line} → expected 150, got {first:?}"
        );
        (data.stream().await, first)
    }

    /// RETR over PASV.
    pub async fn retr(&mut self, path: &str) -> Vec<u8> {
        self.download_with(DataMode::Pasv, &format!("RETR {path}"))
            .await
    }

    /// STOR over PASV.
    pub async fn stor(&mut self, path: &str, bytes: &[u8]) {
        self.upload_with(DataMode::Pasv, &format!("STOR {path}"), bytes)
            .await;
    }

    /// `LIST [args]` over PASV, as text.
    pub async fn list(&mut self, args: &str) -> String {
        self.listing("LIST", args).await
    }

    /// `NLST [args]` over PASV, as text.
    pub async fn nlst(&mut self, args: &str) -> String {
        self.listing("NLST", args).await
    }

    /// `MLSD [args]` over PASV, as text.
    pub async fn mlsd(&mut self, args: &str) -> String {
        self.listing("MLSD", args).await
    }

    async fn listing(&mut self, verb: &str, args: &str) -> String {
        let line = if args.is_empty() {
            verb.to_string()
        } else {
            format!("{verb} {args}")
        };
        let bytes = self.download_with(DataMode::Pasv, &line).await;
        String::from_utf8(bytes).expect("listing is UTF-8")
    }

    /// Sends a data command whose refusal is expected: PASV first, then the command, and
    /// returns its (single) reply.
    pub async fn refused_data_cmd(&mut self, line: &str) -> Reply {
        let addr = self.pasv().await;
        let _conn = connect(addr).await;
        let r = self.cmd(line).await;
        assert!(r.code >= 400, "{line} was expected to be refused: {r:?}");
        r
    }
}

/// Makes the close of `stream` abortive: the peer reads a connection reset.
pub fn reset(stream: &TcpStream) {
    rustix::net::sockopt::set_socket_linger(stream, Some(Duration::ZERO)).expect("SO_LINGER");
}

/// Connects a data socket (with a timeout).
pub async fn connect(addr: SocketAddr) -> TcpStream {
    let s = tokio::time::timeout(IO_TIMEOUT, TcpStream::connect(addr))
        .await
        .expect("data connect timed out")
        .unwrap_or_else(|e| panic!("data connect to {addr}: {e}"));
    s.set_nodelay(true).unwrap();
    s
}

/// Parses `... (h1,h2,h3,h4,p1,p2)...`.
pub fn parse_pasv(text: &str) -> Option<SocketAddr> {
    let open = text.find('(')?;
    let close = text[open..].find(')')? + open;
    let nums: Vec<u16> = text[open + 1..close]
        .split(',')
        .map(|n| n.trim().parse().ok())
        .collect::<Option<_>>()?;
    if nums.len() != 6 || nums.iter().any(|n| *n > 255) {
        return None;
    }
    let ip = std::net::Ipv4Addr::new(nums[0] as u8, nums[1] as u8, nums[2] as u8, nums[3] as u8);
    Some(SocketAddr::new(ip.into(), nums[4] * 256 + nums[5]))
}

/// Parses `... (|||port|)`.
pub fn parse_epsv(text: &str) -> Option<u16> {
    let open = text.find("(|||")?;
    let rest = &text[open + 4..];
    let end = rest.find("|)")?;
    rest[..end].parse().ok()
}

/// `|1|127.0.0.1|port|` or `|2|::1|port|`.
pub fn eprt_arg(addr: SocketAddr) -> String {
    let proto = if addr.is_ipv4() { 1 } else { 2 };
    format!("|{proto}|{}|{}|", addr.ip(), addr.port())
}

/// A passive data connection with a small receive buffer, read at the test's pace (so a
/// download stays in progress as long as the test wants).
pub struct SlowReader {
    /// The data connection.
    pub stream: TcpStream,
    /// Bytes read so far.
    pub received: Vec<u8>,
}

impl SlowReader {
    /// Connects to a passive address with an 8 KiB receive buffer.
    pub async fn connect(addr: SocketAddr) -> SlowReader {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()
        } else {
            TcpSocket::new_v6()
        }
        .unwrap();
        socket.set_recv_buffer_size(8192).unwrap();
        let stream = tokio::time::timeout(IO_TIMEOUT, socket.connect(addr))
            .await
            .expect("data connect timed out")
            .unwrap();
        SlowReader {
            stream,
            received: Vec::new(),
        }
    }

    /// Reads at least `n` more bytes (fewer only at end of data).
    pub async fn read_at_least(&mut self, n: usize) {
        let target = self.received.len() + n;
        let mut buf = vec![0u8; 64 * 1024];
        while self.received.len() < target {
            let got = tokio::time::timeout(IO_TIMEOUT, self.stream.read(&mut buf))
                .await
                .expect("data read timed out")
                .expect("data read failed");
            if got == 0 {
                return;
            }
            self.received.extend_from_slice(&buf[..got]);
        }
    }

    /// Reads to the end of the data.
    pub async fn read_rest(&mut self) {
        tokio::time::timeout(IO_TIMEOUT, self.stream.read_to_end(&mut self.received))
            .await
            .expect("data read timed out")
            .expect("data read failed");
    }

    /// Reads to the end, tolerating a reset; returns whether the data ended cleanly.
    pub async fn drain(&mut self) -> bool {
        matches!(
            tokio::time::timeout(IO_TIMEOUT, self.stream.read_to_end(&mut self.received)).await,
            Ok(Ok(_))
        )
    }
}
