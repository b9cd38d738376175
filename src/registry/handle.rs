//! `SessionHandle`: the live, shared part of one session.
//!
//! Identity is immutable; hot counters are atomics bumped per chunk; the per-command fields
//! sit in a small mutex touched once per command and never held across an `.await`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::ended::TerminateRequest;
use super::lock;
use super::record::{SessionRecord, TlsRecord, TransferRecord};

/// `state` extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// Connected, not logged in.
    Authenticating,
    /// Logged in, waiting for a command.
    Idle,
    /// Running a command.
    Executing,
    /// A data transfer is running.
    Transferring,
    /// Ending.
    Closing,
}

impl SessionState {
    /// The contract spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Authenticating => "authenticating",
            SessionState::Idle => "idle",
            SessionState::Executing => "executing",
            SessionState::Transferring => "transferring",
            SessionState::Closing => "closing",
        }
    }

    fn from_u8(v: u8) -> SessionState {
        match v {
            1 => SessionState::Idle,
            2 => SessionState::Executing,
            3 => SessionState::Transferring,
            4 => SessionState::Closing,
            _ => SessionState::Authenticating,
        }
    }
}

/// Direction of a transfer, from the server's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferDirection {
    /// Server → client (RETR, LIST, NLST, MLSD).
    Download,
    /// Client → server (STOR, APPE, STOU).
    Upload,
}

impl TransferDirection {
    /// `download` / `upload`.
    pub fn as_str(self) -> &'static str {
        match self {
            TransferDirection::Download => "download",
            TransferDirection::Upload => "upload",
        }
    }
}

#[derive(Debug)]
struct TransferInfo {
    direction: TransferDirection,
    path: String,
    size: Option<u64>,
    start_time: OffsetDateTime,
    started: Instant,
}

#[derive(Debug)]
struct CommandInfo {
    site_name: Arc<str>,
    host_name: String,
    user_name: String,
    current_command: String,
    previous_command: String,
    command_start_time: Option<OffsetDateTime>,
    last_command_at: Instant,
    current_directory: String,
    data_mode: &'static str,
    transfer: Option<TransferInfo>,
    tls: Option<TlsRecord>,
}

/// The shared part of one live session.
#[derive(Debug)]
pub struct SessionHandle {
    /// `sessionId`
    pub id: Uuid,
    /// `sessionStartTime`
    pub start_time: OffsetDateTime,
    /// Client address.
    pub client: SocketAddr,
    /// Local address the client reached.
    pub server: SocketAddr,
    bytes_sent: AtomicU64,
    bytes_received: AtomicU64,
    transfer_bytes: AtomicU64,
    last_reply: AtomicU16,
    state: AtomicU8,
    info: Mutex<CommandInfo>,
    cancel: CancellationToken,
    terminate: OnceLock<TerminateRequest>,
}

impl SessionHandle {
    /// A new session on `site_name`, cancelled by `cancel` (a child of the site's token).
    pub fn new(
        site_name: Arc<str>,
        client: SocketAddr,
        server: SocketAddr,
        cancel: CancellationToken,
    ) -> SessionHandle {
        SessionHandle {
            id: Uuid::new_v4(),
            start_time: OffsetDateTime::now_utc(),
            client,
            server,
            bytes_sent: AtomicU64::new(0),
            bytes_received: AtomicU64::new(0),
            transfer_bytes: AtomicU64::new(0),
            last_reply: AtomicU16::new(0),
            state: AtomicU8::new(0),
            info: Mutex::new(CommandInfo {
                site_name,
                host_name: String::new(),
                user_name: String::new(),
                current_command: String::new(),
                previous_command: String::new(),
                command_start_time: None,
                last_command_at: Instant::now(),
                current_directory: "/".to_string(),
                data_mode: "",
                transfer: None,
                tls: None,
            }),
            cancel,
            terminate: OnceLock::new(),
        }
    }

    /// The site the session currently belongs to (changes with HOST / `host|user`).
    pub fn site_name(&self) -> Arc<str> {
        lock(&self.info).site_name.clone()
    }

    /// Moves the session to another site (virtual host chosen).
    pub fn set_site(&self, site_name: Arc<str>, host_name: &str) {
        let mut info = lock(&self.info);
        info.site_name = site_name;
        info.host_name = host_name.to_string();
    }

    /// Records a received command line (already redacted): current → previous.
    pub fn command_started(&self, line: String) {
        let mut info = lock(&self.info);
        info.previous_command = std::mem::replace(&mut info.current_command, line);
        info.command_start_time = Some(OffsetDateTime::now_utc());
        info.last_command_at = Instant::now();
    }

    /// Sets `userName` (empty after REIN).
    pub fn set_user(&self, user_name: &str) {
        lock(&self.info).user_name = user_name.to_string();
    }

    /// Sets `currentDirectory`.
    pub fn set_directory(&self, dir: String) {
        lock(&self.info).current_directory = dir;
    }

    /// Sets `dataMode`.
    pub fn set_data_mode(&self, mode: &'static str) {
        lock(&self.info).data_mode = mode;
    }

    /// Sets the `tls` extension (`None` after CCC drops back to clear text… or never set).
    pub fn set_tls(&self, tls: Option<TlsRecord>) {
        lock(&self.info).tls = tls;
    }

    /// Sets `state`.
    pub fn set_state(&self, state: SessionState) {
        self.state.store(state as u8, Ordering::Relaxed);
    }

    /// Current `state`.
    pub fn state(&self) -> SessionState {
        SessionState::from_u8(self.state.load(Ordering::Relaxed))
    }

    /// Records a reply code sent (`lastErrorStatus`).
    pub fn reply_sent(&self, code: u16) {
        self.last_reply.store(code, Ordering::Relaxed);
    }

    /// Adds to `bytesSent` (control or data payload).
    pub fn add_sent(&self, n: u64) {
        self.bytes_sent.fetch_add(n, Ordering::Relaxed);
    }

    /// Adds to `bytesReceived`.
    pub fn add_received(&self, n: u64) {
        self.bytes_received.fetch_add(n, Ordering::Relaxed);
    }

    /// Adds data-channel payload of the running transfer (also counted as sent/received).
    pub fn add_transfer(&self, direction: TransferDirection, n: u64) {
        self.transfer_bytes.fetch_add(n, Ordering::Relaxed);
        match direction {
            TransferDirection::Download => self.add_sent(n),
            TransferDirection::Upload => self.add_received(n),
        }
    }

    /// Marks a transfer as running.
    pub fn transfer_started(&self, direction: TransferDirection, path: String, size: Option<u64>) {
        self.transfer_bytes.store(0, Ordering::Relaxed);
        lock(&self.info).transfer = Some(TransferInfo {
            direction,
            path,
            size,
            start_time: OffsetDateTime::now_utc(),
            started: Instant::now(),
        });
        self.set_state(SessionState::Transferring);
    }

    /// Marks the transfer as finished.
    pub fn transfer_finished(&self) {
        lock(&self.info).transfer = None;
    }

    /// The token cancelled on terminate or shutdown.
    pub fn cancel_token(&self) -> &CancellationToken {
        &self.cancel
    }

    /// Sets the terminate request (first one wins) and cancels the session.
    pub fn request_terminate(&self, request: TerminateRequest) {
        let _ = self.terminate.set(request);
        self.cancel.cancel();
    }

    /// The terminate request, if one was made.
    pub fn terminate_request(&self) -> Option<&TerminateRequest> {
        self.terminate.get()
    }

    /// A snapshot, without stopping the session.
    pub fn record(&self, now: OffsetDateTime) -> SessionRecord {
        let state = self.state();
        let info = lock(&self.info);
        let transfer = info.transfer.as_ref().map(|t| {
            let bytes = self.transfer_bytes.load(Ordering::Relaxed);
            let elapsed = t.started.elapsed().as_secs_f64();
            TransferRecord {
                direction: t.direction,
                path: t.path.clone(),
                bytes,
                size: t.size,
                start_time: t.start_time,
                bytes_per_second: if elapsed > 0.0 {
                    (bytes as f64 / elapsed) as u64
                } else {
                    0
                },
            }
        });
        let idle_seconds = match state {
            SessionState::Executing | SessionState::Transferring => 0,
            _ => info.last_command_at.elapsed().as_secs(),
        };
        let _ = now;
        SessionRecord {
            session_id: self.id,
            session_start_time: self.start_time,
            user_name: info.user_name.clone(),
            client_ip: self.client.ip().to_canonical(),
            current_command: info.current_command.clone(),
            previous_command: info.previous_command.clone(),
            command_start_time: info.command_start_time,
            bytes_sent: self.bytes_sent.load(Ordering::Relaxed),
            bytes_received: self.bytes_received.load(Ordering::Relaxed),
            last_error_status: self.last_reply.load(Ordering::Relaxed),
            site_name: info.site_name.to_string(),
            host_name: info.host_name.clone(),
            client_port: self.client.port(),
            server_ip: self.server.ip().to_canonical(),
            server_port: self.server.port(),
            state,
            current_directory: info.current_directory.clone(),
            idle_seconds,
            data_mode: info.data_mode.to_string(),
            transfer,
            tls: info.tls.clone(),
        }
    }
}
