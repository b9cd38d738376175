//! A small HTTP/1.1 client for the admin API (design.md §4), used by `wharf sites` and
//! `wharf sessions`.
//!
//! The admin listener speaks HTTP/1.1, plain on loopback or HTTPS with the configured
//! certificate (trusted by pinning it, see [`super::admin_tls`]); requests are tiny, so a
//! hand-written client over a tokio `TcpStream` is enough: one connection per request
//! (`Connection: close`), bodies framed by `Content-Length`, `chunked` or end of stream.
//! [`EventStream`] reads the Server-Sent Events of `GET /api/v1/events` incrementally.
//!
//! The endpoint and token come from the same configuration as `wharf serve`
//! (`system.ftpServer/administration`): `bindingInformation`, and `tokenFile` or
//! `<state dir>/admin.token`. `--admin-url` (or `WHARF_ADMIN_URL`) overrides the address,
//! for a server whose binding says port 0.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use rustls::pki_types::ServerName;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::config::{self, Config, Severity};

/// How long to wait for the TCP connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a whole non-streaming request may take (terminate waits up to 2 s server-side).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest response header block accepted.
const MAX_HEADER_BYTES: usize = 64 * 1024;
/// Largest non-streaming response body accepted.
const MAX_BODY_BYTES: usize = 256 * 1024 * 1024;

/// Why an admin command failed; decides the exit code.
#[derive(Debug)]
pub enum CliError {
    /// Exit 1: cannot connect, 401, bad configuration, protocol errors…
    Failed(String),
    /// Exit 2: unknown session or site.
    NotFound(String),
}

impl CliError {
    /// Exit 1 with `message`.
    pub fn failed(message: impl Into<String>) -> CliError {
        CliError::Failed(message.into())
    }

    /// The process exit code: 1 for failures, 2 for "not found".
    pub fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Failed(_) => ExitCode::from(1),
            CliError::NotFound(_) => ExitCode::from(2),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Failed(m) | CliError::NotFound(m) => f.write_str(m),
        }
    }
}

/// Runs an admin command on a small single-threaded runtime and maps its outcome to an
/// exit code (printing the error).
pub fn run_command<F>(future: F) -> ExitCode
where
    F: std::future::Future<Output = Result<(), CliError>>,
{
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("wharf: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(future) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wharf: {e}");
            e.exit_code()
        }
    }
}

/// Where the admin API is and how to authenticate.
#[derive(Debug, Clone)]
pub struct AdminClient {
    addr: SocketAddr,
    authority: String,
    token: String,
    /// HTTPS: the client configuration and the name for SNI.
    tls: Option<(Arc<ClientConfig>, ServerName<'static>)>,
}

/// A connection to the admin API, clear or TLS.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}
type Stream = Box<dyn Io>;

/// A buffered HTTP response.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// `Content-Type` (lower-cased, parameters kept), empty when absent.
    pub content_type: String,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// The body as (lossy) UTF-8.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> Result<Value, CliError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| CliError::failed(format!("the admin API sent invalid JSON: {e}")))
    }

    /// Whether the server answered XML.
    pub fn is_xml(&self) -> bool {
        self.content_type.contains("xml")
    }

    /// The `error` member of a JSON error body, else the raw body.
    fn error_message(&self) -> String {
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(v) => match v.get("error").and_then(Value::as_str) {
                Some(e) => e.to_string(),
                None => self.text(),
            },
            Err(_) => self.text().trim().to_string(),
        }
    }
}

/// The `Accept` value for JSON.
pub const JSON: &str = "application/json";
/// The `Accept` value for XML.
pub const XML: &str = "application/xml";

impl AdminClient {
    /// Builds a client from `--config`/`--admin-url` (or `WHARF_ADMIN_URL`).
    pub fn from_args(config: Option<&Path>, admin_url: Option<&str>) -> Result<Self, CliError> {
        let config = load_config(config)?;
        if !config.administration.enabled {
            return Err(CliError::failed(
                "the admin API is disabled in this configuration (system.ftpServer/administration enabled=\"false\")",
            ));
        }
        let env_url = std::env::var("WHARF_ADMIN_URL")
            .ok()
            .filter(|s| !s.is_empty());
        let (addr, authority, https) = match admin_url.map(str::to_string).or(env_url) {
            Some(url) => parse_url(&url)?,
            None => {
                let binding = config.administration.binding;
                if binding.port() == 0 {
                    return Err(CliError::failed(
                        "the administration bindingInformation uses port 0 (chosen at start-up); \
                         pass --admin-url with the address `wharf serve` printed",
                    ));
                }
                let ip = match binding.ip() {
                    IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
                    IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
                    ip => ip,
                };
                let addr = SocketAddr::new(ip, binding.port());
                (addr, addr.to_string(), config.administration.tls.is_some())
            }
        };
        let tls = if https {
            let Some(admin_tls) = &config.administration.tls else {
                return Err(CliError::failed(
                    "an https:// admin URL, but the configuration sets no administration \
                     certificateFile to trust",
                ));
            };
            let client = super::admin_tls::pinned_client_config(&admin_tls.certificate_file)
                .map_err(|e| CliError::failed(format!("admin API certificate: {e}")))?;
            let host = authority
                .rsplit_once(':')
                .map_or(authority.as_str(), |(host, _)| host)
                .trim_start_matches('[')
                .trim_end_matches(']');
            let name = ServerName::try_from(host.to_string())
                .map_err(|_| CliError::failed(format!("invalid admin host name {host:?}")))?;
            Some((client, name))
        } else {
            None
        };
        let token_path = token_file(&config);
        let token = config::files::read_to_string(&token_path, config::files::TOKEN_FILE_MAX)
            .map_err(|e| {
            CliError::failed(format!(
                "cannot read the admin token from {}: {e} (is `wharf serve` running with this configuration?)",
                token_path.display()
            ))
        })?;
        let token = token.trim().to_string();
        if token.is_empty() {
            return Err(CliError::failed(format!(
                "the admin token file {} is empty",
                token_path.display()
            )));
        }
        Ok(AdminClient {
            addr,
            authority,
            token,
            tls,
        })
    }

    /// The base URL, for messages.
    pub fn base_url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}/", self.authority)
    }

    /// Sends one request and reads the whole response (any status).
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        accept: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Response, CliError> {
        let exchange = async {
            let mut stream = self.open(method, path, accept, headers, body).await?;
            let head = read_head(&mut stream.reader).await?;
            let mut body_reader = BodyReader::new(stream.reader, &head)?;
            let mut body = Vec::new();
            while let Some(chunk) = body_reader.next_chunk().await? {
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(CliError::failed("the admin API response is too large"));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Response {
                status: head.status,
                content_type: head.header("content-type").unwrap_or_default(),
                body,
            })
        };
        match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
            Ok(result) => result,
            Err(_) => Err(CliError::failed(format!(
                "the admin API at {} did not answer within {} s",
                self.base_url(),
                REQUEST_TIMEOUT.as_secs()
            ))),
        }
    }

    /// GET with `accept`; non-2xx statuses become errors (404 → [`CliError::NotFound`]).
    pub async fn get(&self, path: &str, accept: &str) -> Result<Response, CliError> {
        let response = self.request("GET", path, accept, &[], None).await?;
        check(response)
    }

    /// GET as JSON, parsed.
    pub async fn get_json(&self, path: &str) -> Result<Value, CliError> {
        self.get(path, JSON).await?.json()
    }

    /// Opens the Server-Sent Events stream, resuming after `last_event_id` when given.
    pub async fn events(&self, last_event_id: Option<&str>) -> Result<EventStream, CliError> {
        let mut headers = vec![("Cache-Control", "no-cache")];
        if let Some(id) = last_event_id {
            headers.push(("Last-Event-ID", id));
        }
        let open = async {
            let mut stream = self
                .open("GET", "/api/v1/events", "text/event-stream", &headers, None)
                .await?;
            let head = read_head(&mut stream.reader).await?;
            Ok::<_, CliError>((stream, head))
        };
        let (stream, head) = tokio::time::timeout(REQUEST_TIMEOUT, open)
            .await
            .map_err(|_| CliError::failed("the admin API did not answer the events request"))??;
        if !(200..300).contains(&head.status) {
            let mut body_reader = BodyReader::new(stream.reader, &head)?;
            let mut body = Vec::new();
            while let Ok(Some(chunk)) =
                tokio::time::timeout(Duration::from_secs(2), body_reader.next_chunk())
                    .await
                    .unwrap_or(Ok(None))
            {
                body.extend_from_slice(&chunk);
            }
            check(Response {
                status: head.status,
                content_type: head.header("content-type").unwrap_or_default(),
                body,
            })?;
            return Err(CliError::failed("unexpected answer to the events request"));
        }
        Ok(EventStream {
            body: BodyReader::new(stream.reader, &head)?,
            buffer: Vec::new(),
            pending: PendingEvent::default(),
        })
    }

    async fn open(
        &self,
        method: &str,
        path: &str,
        accept: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Connection, CliError> {
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(self.addr))
            .await
            .map_err(|_| {
                CliError::failed(format!(
                    "cannot connect to the admin API at {}: timed out",
                    self.base_url()
                ))
            })?
            .map_err(|e| {
                CliError::failed(format!(
                    "cannot connect to the admin API at {}: {e} (is `wharf serve` running?)",
                    self.base_url()
                ))
            })?;
        let _ = stream.set_nodelay(true);
        let stream: Stream = match &self.tls {
            None => Box::new(stream),
            Some((config, name)) => {
                let connector = tokio_rustls::TlsConnector::from(config.clone());
                let handshake = connector.connect(name.clone(), stream);
                let tls = tokio::time::timeout(CONNECT_TIMEOUT, handshake)
                    .await
                    .map_err(|_| {
                        CliError::failed(format!(
                            "TLS with the admin API at {}: timed out",
                            self.base_url()
                        ))
                    })?
                    .map_err(|e| {
                        CliError::failed(format!(
                            "TLS with the admin API at {}: {e}",
                            self.base_url()
                        ))
                    })?;
                Box::new(tls)
            }
        };
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nAccept: {accept}\r\nUser-Agent: wharf-cli/{}\r\nConnection: close\r\n",
            self.authority,
            self.token,
            env!("CARGO_PKG_VERSION")
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {}\r\n", sanitize_header(value)));
        }
        if let Some(body) = body {
            request.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            ));
        } else if method != "GET" {
            request.push_str("Content-Length: 0\r\n");
        }
        request.push_str("\r\n");
        let mut reader = BufReader::new(stream);
        let write = async {
            reader.get_mut().write_all(request.as_bytes()).await?;
            if let Some(body) = body {
                reader.get_mut().write_all(body).await?;
            }
            reader.get_mut().flush().await
        };
        write
            .await
            .map_err(|e| CliError::failed(format!("cannot send the request: {e}")))?;
        Ok(Connection { reader })
    }
}

/// Maps a non-2xx response to an error.
pub fn check(response: Response) -> Result<Response, CliError> {
    match response.status {
        200..=299 => Ok(response),
        401 => Err(CliError::failed(format!(
            "the admin API refused the token (401: {}); is this the configuration the server runs with?",
            response.error_message()
        ))),
        404 => Err(CliError::NotFound(response.error_message())),
        status => Err(CliError::failed(format!(
            "the admin API answered {status}: {}",
            response.error_message()
        ))),
    }
}

/// Loads `--config FILE`, else the embedded default, printing its errors.
pub fn load_config(path: Option<&Path>) -> Result<Config, CliError> {
    let loaded = match path {
        Some(path) => config::load_file(path),
        None => config::defaults::load_default(),
    };
    let errors: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(ToString::to_string)
        .collect();
    match loaded.config {
        Some(config) if errors.is_empty() => Ok(config),
        _ => Err(CliError::failed(format!(
            "the configuration has errors:\n{}",
            errors.join("\n")
        ))),
    }
}

/// `administration@tokenFile`, else `<state dir>/admin.token`.
pub fn token_file(config: &Config) -> PathBuf {
    config
        .administration
        .token_file
        .clone()
        .unwrap_or_else(|| crate::state::state_dir(config).join("admin.token"))
}

/// Parses `http[s]://host:port[/…]` or `host:port` into an address, the `Host` value and
/// whether it is HTTPS.
fn parse_url(url: &str) -> Result<(SocketAddr, String, bool), CliError> {
    let bad = || {
        CliError::failed(format!(
            "invalid admin URL {url:?}: expected http://HOST:PORT/ or https://HOST:PORT/"
        ))
    };
    let (rest, https) = match url.strip_prefix("https://") {
        Some(rest) => (rest, true),
        None => (url.strip_prefix("http://").unwrap_or(url), false),
    };
    let default_port = if https { 443 } else { 80 };
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() {
        return Err(bad());
    }
    let with_port = if authority.ends_with(']') || !authority.contains(':') {
        format!("{authority}:{default_port}")
    } else {
        authority.to_string()
    };
    use std::net::ToSocketAddrs;
    let addr = with_port
        .to_socket_addrs()
        .map_err(|_| bad())?
        .next()
        .ok_or_else(bad)?;
    Ok((addr, authority.to_string(), https))
}

/// Header values come from the command line: no line breaks.
fn sanitize_header(value: &str) -> String {
    value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Percent-encodes a path segment or query value (everything but RFC 3986 unreserved).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Builds `path?name=value&…` from the filters that are set.
pub fn with_query(path: &str, params: &[(&str, Option<String>)]) -> String {
    let query: Vec<String> = params
        .iter()
        .filter_map(|(name, value)| value.as_ref().map(|v| format!("{name}={}", encode(v))))
        .collect();
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

struct Connection {
    reader: BufReader<Stream>,
}

struct Head {
    status: u16,
    headers: Vec<(String, String)>,
}

impl Head {
    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.to_ascii_lowercase())
    }
}

fn protocol_error(what: impl fmt::Display) -> CliError {
    CliError::failed(format!(
        "the admin API sent an invalid HTTP response: {what}"
    ))
}

async fn read_head(reader: &mut BufReader<Stream>) -> Result<Head, CliError> {
    let mut total = 0;
    let mut lines = Vec::new();
    loop {
        let mut line = Vec::new();
        let n = reader
            .read_until(b'\n', &mut line)
            .await
            .map_err(|e| CliError::failed(format!("cannot read the admin API response: {e}")))?;
        if n == 0 {
            return Err(protocol_error("the connection closed before the headers"));
        }
        total += n;
        if total > MAX_HEADER_BYTES {
            return Err(protocol_error("headers too large"));
        }
        let line = String::from_utf8_lossy(&line)
            .trim_end_matches(['\r', '\n'])
            .to_string();
        if line.is_empty() {
            if lines.is_empty() {
                continue;
            }
            break;
        }
        lines.push(line);
    }
    let status_line = &lines[0];
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(protocol_error(format!("status line {status_line:?}")));
    }
    let status = parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| protocol_error(format!("status line {status_line:?}")))?;
    let headers = lines[1..]
        .iter()
        .filter_map(|l| {
            l.split_once(':')
                .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    if status == 100 {
        // Not expected (no Expect header sent), but skip an interim response if one comes.
        return Box::pin(read_head(reader)).await;
    }
    Ok(Head { status, headers })
}

enum Framing {
    Length(u64),
    Chunked { remaining: u64, done: bool },
    UntilClose,
}

/// Reads a response body chunk by chunk, whatever its framing.
struct BodyReader {
    reader: BufReader<Stream>,
    framing: Framing,
}

impl BodyReader {
    fn new(reader: BufReader<Stream>, head: &Head) -> Result<BodyReader, CliError> {
        let chunked = head
            .header("transfer-encoding")
            .is_some_and(|v| v.contains("chunked"));
        let framing = if chunked {
            Framing::Chunked {
                remaining: 0,
                done: false,
            }
        } else if let Some(len) = head.header("content-length") {
            Framing::Length(
                len.parse()
                    .map_err(|_| protocol_error("bad Content-Length"))?,
            )
        } else if head.status == 204 || head.status == 304 {
            Framing::Length(0)
        } else {
            Framing::UntilClose
        };
        Ok(BodyReader { reader, framing })
    }

    /// The next piece of the body; `None` at its end.
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, CliError> {
        let io = |e: std::io::Error| CliError::failed(format!("reading from the admin API: {e}"));
        let mut buf = vec![0u8; 16 * 1024];
        match &mut self.framing {
            Framing::Length(0) => Ok(None),
            Framing::Length(remaining) => {
                let want = usize::try_from(*remaining)
                    .unwrap_or(usize::MAX)
                    .min(buf.len());
                let n = self.reader.read(&mut buf[..want]).await.map_err(io)?;
                if n == 0 {
                    return Err(protocol_error("the body ended early"));
                }
                *remaining -= n as u64;
                buf.truncate(n);
                Ok(Some(buf))
            }
            Framing::UntilClose => {
                let n = self.reader.read(&mut buf).await.map_err(io)?;
                if n == 0 {
                    return Ok(None);
                }
                buf.truncate(n);
                Ok(Some(buf))
            }
            Framing::Chunked { remaining, done } => {
                if *done {
                    return Ok(None);
                }
                if *remaining == 0 {
                    let mut line = String::new();
                    let n = self.reader.read_line(&mut line).await.map_err(io)?;
                    if n == 0 {
                        return Err(CliError::failed(
                            "the admin API closed the connection before the response ended",
                        ));
                    }
                    let size_text = line.trim().split(';').next().unwrap_or_default();
                    let size = u64::from_str_radix(size_text.trim(), 16)
                        .map_err(|_| protocol_error(format!("chunk size {size_text:?}")))?;
                    if size == 0 {
                        // Trailers, then the empty line.
                        loop {
                            let mut trailer = String::new();
                            let n = self.reader.read_line(&mut trailer).await.map_err(io)?;
                            if n == 0 || trailer.trim().is_empty() {
                                break;
                            }
                        }
                        *done = true;
                        return Ok(None);
                    }
                    *remaining = size;
                }
                let want = usize::try_from(*remaining)
                    .unwrap_or(usize::MAX)
                    .min(buf.len());
                let n = self.reader.read(&mut buf[..want]).await.map_err(io)?;
                if n == 0 {
                    return Err(protocol_error("the chunked body ended early"));
                }
                *remaining -= n as u64;
                if *remaining == 0 {
                    let mut crlf = String::new();
                    self.reader.read_line(&mut crlf).await.map_err(io)?;
                }
                buf.truncate(n);
                Ok(Some(buf))
            }
        }
    }
}

/// One Server-Sent Event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// `event:` (default `message`).
    pub event: String,
    /// `data:` lines joined with `\n`.
    pub data: String,
    /// `id:` when the event had one.
    pub id: Option<String>,
}

#[derive(Default)]
struct PendingEvent {
    event: Option<String>,
    data: Option<String>,
    id: Option<String>,
}

/// The `GET /api/v1/events` stream.
pub struct EventStream {
    body: BodyReader,
    buffer: Vec<u8>,
    pending: PendingEvent,
}

impl EventStream {
    /// The next event; `Ok(None)` when the server closed the stream.
    pub async fn next_event(&mut self) -> Result<Option<SseEvent>, CliError> {
        loop {
            while let Some(pos) = self.buffer.iter().position(|&b| b == b'\n') {
                let raw: Vec<u8> = self.buffer.drain(..=pos).collect();
                let line = String::from_utf8_lossy(&raw);
                let line = line.trim_end_matches(['\n', '\r']);
                if let Some(event) = feed_line(&mut self.pending, line) {
                    return Ok(Some(event));
                }
            }
            match self.body.next_chunk().await? {
                Some(chunk) => self.buffer.extend_from_slice(&chunk),
                None => return Ok(None),
            }
        }
    }
}

/// Feeds one SSE line; returns a complete event at a blank line.
fn feed_line(pending: &mut PendingEvent, line: &str) -> Option<SseEvent> {
    if line.is_empty() {
        let done = std::mem::take(pending);
        let data = done.data?;
        return Some(SseEvent {
            event: done.event.unwrap_or_else(|| "message".to_string()),
            data,
            id: done.id,
        });
    }
    if line.starts_with(':') {
        return None;
    }
    let (field, value) = match line.split_once(':') {
        Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
        None => (line, ""),
    };
    match field {
        "event" => pending.event = Some(value.to_string()),
        "data" => match &mut pending.data {
            Some(data) => {
                data.push('\n');
                data.push_str(value);
            }
            None => pending.data = Some(value.to_string()),
        },
        "id" => pending.id = Some(value.to_string()),
        _ => {}
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_lines_make_events() {
        let mut p = PendingEvent::default();
        assert_eq!(feed_line(&mut p, ": keep-alive"), None);
        assert_eq!(feed_line(&mut p, ""), None);
        assert_eq!(feed_line(&mut p, "event: session.started"), None);
        assert_eq!(feed_line(&mut p, "id: 7"), None);
        assert_eq!(feed_line(&mut p, "data: {\"a\":"), None);
        assert_eq!(feed_line(&mut p, "data:1}"), None);
        assert_eq!(
            feed_line(&mut p, ""),
            Some(SseEvent {
                event: "session.started".into(),
                data: "{\"a\":\n1}".into(),
                id: Some("7".into()),
            })
        );
    }

    #[test]
    fn urls_and_queries() {
        let (addr, authority, https) = parse_url("http://127.0.0.1:2180/").unwrap();
        assert_eq!(addr, "127.0.0.1:2180".parse().unwrap());
        assert_eq!(authority, "127.0.0.1:2180");
        assert!(!https);
        let (addr, _, _) = parse_url("[::1]:9000").unwrap();
        assert_eq!(addr, "[::1]:9000".parse().unwrap());
        let (addr, _, https) = parse_url("https://127.0.0.1/").unwrap();
        assert_eq!(addr, "127.0.0.1:443".parse().unwrap());
        assert!(https);
        assert!(parse_url("https:///").is_err());
        assert_eq!(encode("Default FTP Site"), "Default%20FTP%20Site");
        assert_eq!(
            with_query(
                "/api/v1/sessions",
                &[("userName", Some("<Anonymous>".into())), ("state", None)]
            ),
            "/api/v1/sessions?userName=%3CAnonymous%3E"
        );
    }
}
