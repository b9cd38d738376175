//! `SessionHandle`: the live, shared part of one session.
//!
//! Identity is immutable; hot counters are atomics bumped per chunk; the per-command fields
//! sit in a small mutex touched once per command and never held across an `.await`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use compact_str::CompactString;
use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::ended::{EndedSession, TerminateRequest};
use super::events::{EventBus, UPDATE_MIN_INTERVAL};
use super::lock;
use super::record::{RecordView, SessionRecord, TlsRecord, TransferView};

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
    host_name: CompactString,
    user_name: CompactString,
    current_command: CompactString,
    previous_command: CompactString,
    command_start_time: Option<OffsetDateTime>,
    last_command_at: Instant,
    current_directory: CompactString,
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
    /// Bumped whenever a field behind `info` changes (for the event sampler).
    info_generation: AtomicU64,
    /// [`SessionHandle::signature`] as of the last `session.updated` (or `started`).
    published_signature: AtomicU64,
    /// [`EventBus::now_ms`] of the last `session.updated`; 0 = never.
    last_update_ms: AtomicU64,
    events: Arc<EventBus>,
    ended: OnceLock<Arc<EndedSession>>,
    ended_notify: Notify,
}

impl SessionHandle {
    /// A new session on `site_name`, cancelled by `cancel` (a child of the site's token),
    /// reporting its changes on `events` (the registry's bus, [`super::Registry::events`]).
    pub fn new(
        site_name: Arc<str>,
        client: SocketAddr,
        server: SocketAddr,
        cancel: CancellationToken,
        events: Arc<EventBus>,
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
                host_name: CompactString::const_new(""),
                user_name: CompactString::const_new(""),
                current_command: CompactString::const_new(""),
                previous_command: CompactString::const_new(""),
                command_start_time: None,
                last_command_at: Instant::now(),
                current_directory: CompactString::const_new("/"),
                data_mode: "",
                transfer: None,
                tls: None,
            }),
            cancel,
            terminate: OnceLock::new(),
            info_generation: AtomicU64::new(0),
            published_signature: AtomicU64::new(0),
            last_update_ms: AtomicU64::new(0),
            events,
            ended: OnceLock::new(),
            ended_notify: Notify::new(),
        }
    }

    /// The site the session currently belongs to (changes with HOST / `host|user`).
    pub fn site_name(&self) -> Arc<str> {
        lock(&self.info).site_name.clone()
    }

    /// Moves the session to another site (virtual host chosen).
    pub fn set_site(&self, site_name: Arc<str>, host_name: &str) {
        self.edit_info(|info| {
            info.site_name = site_name;
            info.host_name = CompactString::new(host_name);
        });
        self.updated();
    }

    /// Records a received command line (already redacted): current → previous.
    pub fn command_started(&self, line: String) {
        self.edit_info(|info| {
            // Short lines go inline; a long one keeps its buffer.
            let line = CompactString::from(line);
            info.previous_command = std::mem::replace(&mut info.current_command, line);
            info.command_start_time = Some(OffsetDateTime::now_utc());
            info.last_command_at = Instant::now();
        });
        self.updated();
    }

    /// Sets `userName` (empty after REIN).
    pub fn set_user(&self, user_name: &str) {
        self.edit_info(|info| info.user_name = CompactString::new(user_name));
        self.updated();
    }

    /// Sets `currentDirectory`.
    pub fn set_directory(&self, dir: String) {
        self.edit_info(|info| info.current_directory = CompactString::from(dir));
    }

    /// Sets `dataMode`.
    pub fn set_data_mode(&self, mode: &'static str) {
        self.edit_info(|info| info.data_mode = mode);
    }

    /// Sets the `tls` extension (`None` after CCC drops back to clear text… or never set).
    pub fn set_tls(&self, tls: Option<TlsRecord>) {
        self.edit_info(|info| info.tls = tls);
    }

    /// Changes a per-command field; the lock is released before anything else happens.
    fn edit_info(&self, edit: impl FnOnce(&mut CommandInfo)) {
        edit(&mut lock(&self.info));
        self.info_generation.fetch_add(1, Ordering::Relaxed);
    }

    /// A command-level change: publish `session.updated` now unless this session published
    /// one less than [`UPDATE_MIN_INTERVAL`] ago (then the sampler carries it) or nobody
    /// listens.
    fn updated(&self) {
        if !self.events.has_subscribers() {
            return;
        }
        let last = self.last_update_ms.load(Ordering::Relaxed);
        let min = UPDATE_MIN_INTERVAL.as_millis() as u64;
        if last != 0 && self.events.now_ms() < last.saturating_add(min) {
            return;
        }
        self.publish_update();
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

    /// `(bytesSent, bytesReceived)` now.
    pub fn counters(&self) -> (u64, u64) {
        (
            self.bytes_sent.load(Ordering::Relaxed),
            self.bytes_received.load(Ordering::Relaxed),
        )
    }

    /// True when this handle publishes on `bus`.
    pub fn publishes_on(&self, bus: &Arc<EventBus>) -> bool {
        Arc::ptr_eq(&self.events, bus)
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
        self.edit_info(|info| {
            info.transfer = Some(TransferInfo {
                direction,
                path,
                size,
                start_time: OffsetDateTime::now_utc(),
                started: Instant::now(),
            })
        });
        self.set_state(SessionState::Transferring);
    }

    /// Marks the transfer as finished.
    pub fn transfer_finished(&self) {
        self.edit_info(|info| info.transfer = None);
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

    /// The ended record once the session has been moved to the history.
    pub fn ended_record(&self) -> Option<&Arc<EndedSession>> {
        self.ended.get()
    }

    /// Waits up to `limit` for the session to end; its ended record, or `None` on timeout.
    pub async fn wait_ended(&self, limit: Duration) -> Option<Arc<EndedSession>> {
        let wait = async {
            loop {
                // Created before the check, so a `notify_waiters` in between is not lost.
                let notified = self.ended_notify.notified();
                if let Some(ended) = self.ended.get() {
                    return ended.clone();
                }
                notified.await;
            }
        };
        tokio::time::timeout(limit, wait).await.ok()
    }

    /// Sets the ended record (once) and wakes the waiters; false if it was already set.
    pub(super) fn set_ended(&self, ended: Arc<EndedSession>) -> bool {
        let first = self.ended.set(ended).is_ok();
        self.ended_notify.notify_waiters();
        first
    }

    /// A cheap fingerprint of everything a `session.updated` shows (counters, state, last
    /// reply, and the generation of the per-command fields). Reads only atomics.
    pub fn signature(&self) -> u64 {
        const K: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut x = self.bytes_sent.load(Ordering::Relaxed);
        for v in [
            self.bytes_received.load(Ordering::Relaxed),
            u64::from(self.last_reply.load(Ordering::Relaxed)),
            u64::from(self.state.load(Ordering::Relaxed)),
            self.info_generation.load(Ordering::Relaxed),
        ] {
            x = (x.rotate_left(23) ^ v).wrapping_mul(K);
        }
        x
    }

    /// True when the session changed since its last `session.updated`/`started` event.
    pub fn changed_since_last_event(&self) -> bool {
        self.ended.get().is_none()
            && self.signature() != self.published_signature.load(Ordering::Relaxed)
    }

    /// Publishes `session.updated` with the current record (unless the session ended).
    pub fn publish_update(&self) {
        let signature = self.signature();
        let record = self.record();
        self.published_signature.store(signature, Ordering::Relaxed);
        self.last_update_ms
            .store(self.events.now_ms(), Ordering::Relaxed);
        self.events.publish_updated(self, record);
    }

    /// Publishes `session.started` (the registry calls this once, on insert).
    pub(super) fn publish_started(&self) {
        let signature = self.signature();
        let record = self.record();
        self.published_signature.store(signature, Ordering::Relaxed);
        self.events.publish_started(self, record);
    }

    /// A snapshot, without stopping the session.
    pub fn record(&self) -> SessionRecord {
        self.view(Instant::now(), |view| view.to_record())
    }

    /// Runs `f` on the session's current values, borrowed under its lock (nothing copied):
    /// the admin list renders 10,000 of these, and copying each record's strings first was
    /// a fifth of its time. `f` must be quick: the session's own updates wait for it.
    /// `now` is when the view is taken (one clock read serves a whole list).
    pub fn view<R>(&self, now: Instant, f: impl FnOnce(&RecordView<'_>) -> R) -> R {
        let state = self.state();
        let info = lock(&self.info);
        let transfer = info.transfer.as_ref().map(|t| {
            let bytes = self.transfer_bytes.load(Ordering::Relaxed);
            let elapsed = now.saturating_duration_since(t.started).as_secs_f64();
            TransferView {
                direction: t.direction,
                path: &t.path,
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
            _ => now
                .saturating_duration_since(info.last_command_at)
                .as_secs(),
        };
        f(&RecordView {
            session_id: self.id,
            session_start_time: self.start_time,
            user_name: &info.user_name,
            client_ip: self.client.ip().to_canonical(),
            current_command: &info.current_command,
            previous_command: &info.previous_command,
            command_start_time: info.command_start_time,
            bytes_sent: self.bytes_sent.load(Ordering::Relaxed),
            bytes_received: self.bytes_received.load(Ordering::Relaxed),
            last_error_status: self.last_reply.load(Ordering::Relaxed),
            site_name: &info.site_name,
            host_name: &info.host_name,
            client_port: self.client.port(),
            server_ip: self.server.ip().to_canonical(),
            server_port: self.server.port(),
            state,
            current_directory: &info.current_directory,
            idle_seconds,
            data_mode: info.data_mode,
            transfer,
            tls: info.tls.as_ref(),
        })
    }
}
