//! A one-request HTTP/1.1 GET over a fresh loopback connection (`Connection: close`), for
//! polling the Wharf admin API without pulling an HTTP stack into the load generator.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What one GET returned.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Whole response size (head and body).
    pub bytes: usize,
    /// How many `"sessionId"` keys the body holds (0 unless counted).
    pub sessions: usize,
    /// Connect to the last byte.
    pub elapsed: Duration,
}

/// GET `route` with a bearer token; reads to end of stream.
/// `count_sessions` scans the body for `"sessionId"` (costs client CPU; do it once).
pub async fn get(
    addr: SocketAddr,
    route: &str,
    token: &str,
    buf: &mut Vec<u8>,
    count_sessions: bool,
) -> Result<Response> {
    let start = Instant::now();
    let mut s = TcpStream::connect(addr)
        .await
        .with_context(|| format!("connect {addr}"))?;
    s.set_nodelay(true)?;
    let mut req = format!(
        "GET {route} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\nConnection: close\r\n"
    );
    if !token.is_empty() {
        req.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await?;
    buf.clear();
    s.read_to_end(buf).await?;
    let elapsed = start.elapsed();
    let head_end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(buf.len());
    let head = String::from_utf8_lossy(&buf[..head_end]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    if status == 0 {
        bail!("not an HTTP response ({} bytes)", buf.len());
    }
    let needle = b"\"sessionId\"";
    let sessions = if count_sessions {
        buf.windows(needle.len()).filter(|w| w == needle).count()
    } else {
        0
    };
    Ok(Response {
        status,
        bytes: buf.len(),
        sessions,
        elapsed,
    })
}

/// Serves `response` (a whole HTTP response, head and body) to every request on a loopback
/// port, one connection at a time, from a thread that runs until the process exits: the
/// admin floor, a list endpoint that does no work but send the bytes.
pub fn serve_static(response: Vec<u8>) -> Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let _ = conn.set_nodelay(true);
            let mut reader = BufReader::new(&conn);
            let mut line = String::new();
            // The request head ends with an empty line.
            while matches!(reader.read_line(&mut line), Ok(n) if n > 0) && line != "\r\n" {
                line.clear();
            }
            let _ = (&conn).write_all(&response);
        }
    });
    Ok(addr)
}
