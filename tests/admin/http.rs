//! A tiny HTTP/1.1 client over a tokio `TcpStream`: one request per connection
//! (`Connection: close`), `Content-Length`, chunked and close-delimited bodies, and an
//! incremental Server-Sent Events reader.

#![allow(dead_code)]

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// A complete response.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked).
    pub body: Vec<u8>,
}

impl Response {
    /// The first header named `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Longest a test waits for one HTTP exchange.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(20);

/// Sends one request and reads the whole response.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    tokio::time::timeout(HTTP_TIMEOUT, async {
        let mut conn = open(addr, method, path, headers, body).await?;
        let body = conn.read_body().await?;
        Ok::<_, io::Error>(Response {
            status: conn.status,
            headers: conn.headers,
            body,
        })
    })
    .await
    .expect("HTTP response in time")
    .expect("HTTP exchange")
}

/// GET with a bearer token.
pub async fn get(addr: SocketAddr, path: &str, token: &str) -> Response {
    let auth = format!("Bearer {token}");
    request(addr, "GET", path, &[("Authorization", &auth)], b"").await
}

/// POST JSON with a bearer token.
pub async fn post(addr: SocketAddr, path: &str, token: &str, body: &str) -> Response {
    let auth = format!("Bearer {token}");
    request(
        addr,
        "POST",
        path,
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        body.as_bytes(),
    )
    .await
}

/// A response whose body is being read.
pub struct Connection {
    reader: BufReader<TcpStream>,
    /// Status code.
    pub status: u16,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    chunked: bool,
    length: Option<usize>,
    decoded: Vec<u8>,
    done: bool,
}

/// Sends a request and reads the status line and headers.
pub async fn open(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<Connection> {
    let mut stream = TcpStream::connect(addr).await?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" || method == "PUT" || method == "PATCH" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).await?;
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other(format!("bad status line {status_line:?}")))?;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            return Err(io::Error::other("EOF in headers"));
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let length = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok());
    Ok(Connection {
        reader,
        status,
        headers,
        chunked,
        length,
        decoded: Vec::new(),
        done: false,
    })
}

impl Connection {
    /// The next piece of body, `None` at the end.
    async fn next_piece(&mut self) -> io::Result<Option<Vec<u8>>> {
        if self.done {
            return Ok(None);
        }
        if self.chunked {
            let mut line = String::new();
            if self.reader.read_line(&mut line).await? == 0 {
                self.done = true;
                return Ok(None);
            }
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| io::Error::other(format!("bad chunk size {line:?}")))?;
            if size == 0 {
                self.done = true;
                return Ok(None);
            }
            let mut data = vec![0; size];
            self.reader.read_exact(&mut data).await?;
            let mut crlf = [0u8; 2];
            self.reader.read_exact(&mut crlf).await?;
            return Ok(Some(data));
        }
        if let Some(n) = self.length {
            let mut data = vec![0; n];
            self.reader.read_exact(&mut data).await?;
            self.done = true;
            return Ok(Some(data));
        }
        let mut data = vec![0; 16 * 1024];
        let n = self.reader.read(&mut data).await?;
        if n == 0 {
            self.done = true;
            return Ok(None);
        }
        data.truncate(n);
        Ok(Some(data))
    }

    /// Reads the rest of the body.
    pub async fn read_body(&mut self) -> io::Result<Vec<u8>> {
        let mut body = std::mem::take(&mut self.decoded);
        while let Some(piece) = self.next_piece().await? {
            body.extend_from_slice(&piece);
        }
        Ok(body)
    }

    /// The next Server-Sent Event (keep-alive comments skipped); `None` when the stream
    /// ends, `Err(TimedOut)` after `limit`.
    pub async fn next_event(&mut self, limit: Duration) -> io::Result<Option<SseEvent>> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(pos) = find(&self.decoded, b"\n\n") {
                let frame: Vec<u8> = self.decoded.drain(..pos + 2).collect();
                let text = String::from_utf8_lossy(&frame);
                let mut event = SseEvent::default();
                let mut any = false;
                for line in text.lines() {
                    if line.starts_with(':') || line.is_empty() {
                        continue;
                    }
                    let (field, value) = line.split_once(':').unwrap_or((line, ""));
                    let value = value.strip_prefix(' ').unwrap_or(value);
                    any = true;
                    match field {
                        "event" => event.event = value.to_string(),
                        "id" => event.id = value.parse().ok(),
                        "data" => {
                            if !event.data.is_empty() {
                                event.data.push('\n');
                            }
                            event.data.push_str(value);
                        }
                        _ => {}
                    }
                }
                if any {
                    return Ok(Some(event));
                }
                continue;
            }
            match tokio::time::timeout_at(deadline, self.next_piece()).await {
                Err(_) => return Err(io::Error::new(io::ErrorKind::TimedOut, "no event")),
                Ok(Ok(Some(piece))) => self.decoded.extend_from_slice(&piece),
                Ok(Ok(None)) => return Ok(None),
                Ok(Err(e)) => return Err(e),
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// One Server-Sent Event.
#[derive(Debug, Default, Clone)]
pub struct SseEvent {
    /// `event:`
    pub event: String,
    /// `id:`
    pub id: Option<u64>,
    /// `data:` lines joined with `\n`.
    pub data: String,
}

impl SseEvent {
    /// The data as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.data).expect("event data is JSON")
    }
}
