//! One task per control connection (RFC 959 §5.4 sequencing).
//!
//! The task owns all protocol state (`Session`) and mutates it with `&mut`; the shared
//! [`SessionHandle`] only mirrors what the registry shows. A data transfer runs as a child
//! task so the control loop can still read ABOR, STAT and QUIT; the loop `select!`s on the
//! next control bytes, transfer completion, terminate/shutdown and the idle deadline.
//! Every reply leaves through [`Session::reply`], which records `lastErrorStatus` and the
//! byte counters.
//!
//! Command families live in `commands/` (login, navigate, fileops, transfer, list, info);
//! data connections and copy loops in [`data`]; storage error → reply mapping in [`outcome`].

pub mod ascii;
mod commands;
pub mod data;
pub mod outcome;
mod send_thread;
pub mod stream;

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use wharf_proto::command::{Command, TypeCode};
use wharf_proto::line::{LineEvent, LineReader};
use wharf_proto::listing::MlstFacts;
use wharf_proto::{ParseError, Reply, VirtualPath, parse};

use crate::auth::Identity;
use crate::registry::{EndReason, SessionHandle, SessionState};
use crate::server::Shared;
use crate::server::site::SiteRuntime;
use crate::server::vhost::Endpoint;
use crate::storage::vdirs::{Resolved, UserView};
pub use commands::list::init_local_offset;
use data::{DataSetup, RunningTransfer};
use stream::ControlStream;

/// How long a final reply may take to reach a client that is not reading (terminate,
/// shutdown, timeouts): the session closes regardless afterwards.
const FINAL_REPLY_TIMEOUT: Duration = Duration::from_secs(1);

/// Login progress.
#[derive(Debug)]
enum Login {
    /// Waiting for USER.
    AwaitingUser,
    /// USER given; waiting for PASS.
    AwaitingPass { user: String },
    /// Logged in.
    LoggedIn(Box<LoggedIn>),
}

/// What a logged-in session has.
#[derive(Debug)]
struct LoggedIn {
    identity: Identity,
    view: UserView,
}

/// What woke the control loop.
enum LoopEvent {
    Cancelled,
    Drain,
    TransferDone(data::TransferOutcome),
    Deadline,
    LoneCr,
    Read(io::Result<usize>),
}

/// How long a line ending in CR waits for its LF before it counts as complete.
const LONE_CR_WAIT: Duration = Duration::from_millis(200);

const SHUTDOWN_TEXT: &str = "Server is shutting down, closing control connection.";

/// What the control loop does after a command.
#[derive(Debug, PartialEq, Eq)]
enum Flow {
    Continue,
    End(EndReason),
}

/// FTPS state of a session (RFC 4217).
#[derive(Debug, Default)]
struct TlsState {
    /// Implicit FTPS: the handshake happens before the banner.
    implicit: bool,
    /// The server configuration of the control handshake, reused for data connections
    /// (same certificate and session cache: data connections can resume).
    config: Option<Arc<crate::tls::ChannelConfigs>>,
    /// PBSZ was given (or implicit TLS).
    pbsz: bool,
    /// PROT P in force.
    prot_private: bool,
    /// The client certificate of the control connection (data connections must match).
    client_cert: Option<rustls::pki_types::CertificateDer<'static>>,
    /// What the registry shows (`tls` extension).
    record: crate::registry::TlsRecord,
}

/// One control connection.
pub struct Session {
    control: ControlStream,
    tls: TlsState,
    handle: Arc<SessionHandle>,
    site: Arc<SiteRuntime>,
    endpoint: Arc<Endpoint>,
    shared: Arc<Shared>,
    drain: CancellationToken,
    lines: LineReader,
    pending: VecDeque<LineEvent>,
    login: Login,
    host_chosen: bool,
    cwd: VirtualPath,
    type_code: TypeCode,
    rest: u64,
    rename_from: Option<Resolved>,
    data: DataSetup,
    epsv_all: bool,
    mlst_facts: MlstFacts,
    transfer: Option<RunningTransfer>,
    connected_at: Instant,
    last_command_at: Instant,
}

impl Session {
    /// A session for an accepted connection, already registered in the registry.
    pub fn new(
        stream: TcpStream,
        handle: Arc<SessionHandle>,
        site: Arc<SiteRuntime>,
        endpoint: Arc<Endpoint>,
        shared: Arc<Shared>,
        drain: CancellationToken,
    ) -> Session {
        let max_line = site.config.ftp.max_command_line;
        // Urgent data stays in the stream: the Telnet Synch that BSD-derived clients send
        // before ABOR (IAC as the urgent byte, RFC 959 §4.1.3) then reaches the line reader
        // whole (`IAC IP IAC DM ABOR`) instead of losing its IAC and leaving a stray DM
        // byte glued to the verb.
        if let Err(e) = rustix::net::sockopt::set_socket_oobinline(&stream, true) {
            tracing::debug!(error = %e, "SO_OOBINLINE refused");
        }
        let now = Instant::now();
        Session {
            control: ControlStream::Plain(stream),
            tls: TlsState::default(),
            handle,
            site,
            endpoint,
            shared,
            drain,
            lines: LineReader::new(max_line),
            pending: VecDeque::new(),
            login: Login::AwaitingUser,
            host_chosen: false,
            cwd: VirtualPath::root(),
            type_code: TypeCode::Ascii,
            rest: 0,
            rename_from: None,
            data: DataSetup::None,
            epsv_all: false,
            mlst_facts: MlstFacts::default(),
            transfer: None,
            connected_at: now,
            last_command_at: now,
        }
    }

    /// Marks the connection as implicit FTPS (TLS handshake before the banner).
    pub fn implicit_tls(mut self, on: bool) -> Session {
        self.tls.implicit = on;
        self
    }

    /// Serves the connection to its end, then moves the record to the ended history.
    pub async fn run(self) {
        let span =
            tracing::info_span!("session", id = %self.handle.id, client = %self.handle.client);
        self.run_in_span().instrument(span).await
    }

    async fn run_in_span(mut self) {
        tracing::debug!(site = %self.site.name, "connected");
        let reason = self.serve().await;
        self.handle.set_state(SessionState::Closing);
        if let Some(transfer) = self.transfer.take() {
            transfer.cancel.cancel();
            settle_cancelled(transfer, None).await;
        }
        let _ = tokio::time::timeout(FINAL_REPLY_TIMEOUT, self.control.shutdown()).await;
        self.handle.transfer_finished();
        let ended = self.shared.registry.finish(&self.handle, reason);
        tracing::info!(reason = %ended.end_reason, user = %ended.record.user_name, "session ended");
    }

    async fn serve(&mut self) -> EndReason {
        if self.tls.implicit
            && let Err(reason) = self.start_implicit_tls().await
        {
            return reason;
        }
        let banner = self.banner();
        if self.reply(banner).await.is_err() {
            return EndReason::ClientClosed;
        }
        let mut buf = vec![0u8; 4096];
        let mut draining = false;
        // Set after a read: the connection may hold more than the read returned.
        let mut maybe_queued = false;
        loop {
            if let Some(end) = self.process_pending().await {
                return end;
            }
            if std::mem::take(&mut maybe_queued)
                && let Some(read) = self.control.read_queued(&mut buf)
            {
                match read {
                    Ok(0) => return EndReason::ClientClosed,
                    Ok(n) => {
                        self.feed_control(&buf[..n]);
                        maybe_queued = true;
                        continue;
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "control read failed");
                        return EndReason::ClientClosed;
                    }
                }
            }
            let deadline = self.deadline();
            // A line stuck at a lone CR is ended after a short pause (urgent-data ABOR).
            let lone_cr = self
                .lines
                .awaiting_lf()
                .then(|| Instant::now() + LONE_CR_WAIT);
            let event = {
                let cancel = self.handle.cancel_token();
                let transfer = &mut self.transfer;
                let reader = &mut self.control;
                tokio::select! {
                    biased;
                    _ = cancel.cancelled() => LoopEvent::Cancelled,
                    _ = self.drain.cancelled(), if !draining => LoopEvent::Drain,
                    outcome = async { transfer.as_mut().expect("guarded").wait().await }, if transfer.is_some() => LoopEvent::TransferDone(outcome),
                    _ = tokio::time::sleep_until(deadline.0), if transfer.is_none() => LoopEvent::Deadline,
                    _ = tokio::time::sleep_until(lone_cr.unwrap_or(deadline.0)), if lone_cr.is_some() => LoopEvent::LoneCr,
                    read = reader.read(&mut buf) => LoopEvent::Read(read),
                }
            };
            match event {
                LoopEvent::Cancelled => return self.on_cancelled().await,
                LoopEvent::Drain => {
                    draining = true;
                    if self.transfer.is_none() {
                        self.final_reply(Reply::new(421, SHUTDOWN_TEXT)).await;
                        return EndReason::ServerShutdown;
                    }
                }
                LoopEvent::TransferDone(outcome) => {
                    let Some(transfer) = self.transfer.take() else {
                        continue;
                    };
                    if self.transfer_finished(transfer, outcome).await.is_err() {
                        return EndReason::ClientClosed;
                    }
                    if draining {
                        self.final_reply(Reply::new(421, SHUTDOWN_TEXT)).await;
                        return EndReason::ServerShutdown;
                    }
                }
                LoopEvent::Deadline => {
                    let text = match deadline.1 {
                        EndReason::UnauthenticatedTimeout => {
                            "No login within the allowed time, closing control connection."
                        }
                        _ => "Idle timeout, closing control connection.",
                    };
                    self.final_reply(Reply::new(421, text)).await;
                    return deadline.1;
                }
                LoopEvent::LoneCr => {
                    self.lines.end_line_at_cr();
                    while let Some(event) = self.lines.next_line() {
                        self.pending.push_back(event);
                    }
                }
                LoopEvent::Read(Ok(0)) => return EndReason::ClientClosed,
                LoopEvent::Read(Ok(n)) => {
                    self.feed_control(&buf[..n]);
                    maybe_queued = n < buf.len();
                }
                LoopEvent::Read(Err(e)) => {
                    tracing::debug!(error = %e, "control read failed");
                    return EndReason::ClientClosed;
                }
            }
        }
    }

    /// Counts and frames bytes read from the control connection.
    fn feed_control(&mut self, bytes: &[u8]) {
        self.handle.add_received(bytes.len() as u64);
        self.lines.feed(bytes);
        while let Some(event) = self.lines.next_line() {
            self.pending.push_back(event);
        }
    }

    /// Runs buffered command lines. While a transfer runs only ABOR and STAT are taken out
    /// of order (RFC 959 §4.1.3); everything else waits its turn, so pipelined commands
    /// are answered in order.
    async fn process_pending(&mut self) -> Option<EndReason> {
        loop {
            if self.transfer.is_some() {
                let urgent = self.pending.iter().position(|ev| match ev {
                    LineEvent::Line(l) => is_urgent(l),
                    LineEvent::TooLong => false,
                })?;
                let event = self.pending.remove(urgent)?;
                if let Some(end) = self.handle_event(event).await {
                    return Some(end);
                }
                continue;
            }
            let event = self.pending.pop_front()?;
            if let Some(end) = self.handle_event(event).await {
                return Some(end);
            }
        }
    }

    async fn handle_event(&mut self, event: LineEvent) -> Option<EndReason> {
        self.last_command_at = Instant::now();
        let result = match event {
            LineEvent::TooLong => {
                self.handle.command_started("<line too long>".to_string());
                self.reply(Reply::new(500, "Command line too long."))
                    .await
                    .map(|_| Flow::Continue)
            }
            LineEvent::Line(line) => {
                // State first, so the `session.updated` of the command start shows it.
                if self.is_logged_in() && self.transfer.is_none() {
                    self.handle.set_state(SessionState::Executing);
                }
                self.handle.command_started(redact(&line));
                let result = match parse(&line) {
                    Ok(command) => {
                        self.site.metrics.command(command.verb());
                        self.dispatch(command).await
                    }
                    Err(e) => self
                        .reply(parse_error_reply(e))
                        .await
                        .map(|_| Flow::Continue),
                };
                if self.transfer.is_none() {
                    self.handle.set_state(if self.is_logged_in() {
                        SessionState::Idle
                    } else {
                        SessionState::Authenticating
                    });
                }
                result
            }
        };
        // Idle time counts from the end of the last command: a slow command (argon2 under
        // load, a long STAT listing) must not eat into the client's idle allowance.
        self.last_command_at = Instant::now();
        match result {
            Ok(Flow::Continue) => None,
            Ok(Flow::End(reason)) => Some(reason),
            Err(e) => {
                tracing::debug!(error = %e, "control write failed");
                Some(EndReason::ClientClosed)
            }
        }
    }

    async fn dispatch(&mut self, command: Command) -> io::Result<Flow> {
        use Command as C;
        // A REST offset waits for the next RETR/STOR (clients often send TYPE or PASV in
        // between); the transfer commands consume it, REIN and USER forget it.
        if !matches!(command, C::Rnto(_)) {
            // RNTO must immediately follow RNFR (RFC 959 §4.1.3).
            if !matches!(command, C::Rnfr(_)) {
                self.rename_from = None;
            }
        }
        if !self.is_logged_in() && !allowed_before_login(&command) {
            self.reply(Reply::new(530, "Please login with USER and PASS."))
                .await?;
            return Ok(Flow::Continue);
        }
        if let Some(refusal) = crate::tls::policy::control_refusal(
            self.site.config.ftp.ssl.control_channel_policy,
            self.control.is_tls(),
            &command,
        ) {
            tracing::info!(
                verb = command.verb(),
                "refused by controlChannelPolicy (substatus 25/26)"
            );
            self.reply(refusal).await?;
            return Ok(Flow::Continue);
        }
        match command {
            C::User(name) => self.cmd_user(name).await,
            C::Pass(password) => self.cmd_pass(password.0).await,
            C::Acct(_) => self.ok(202, "ACCT not needed.").await,
            C::Quit => self.cmd_quit().await,
            C::Rein => self.cmd_rein().await,
            C::Host(host) => self.cmd_host(host).await,
            C::Cwd(path) => self.cmd_cwd(&path).await,
            C::Cdup => self.cmd_cwd("..").await,
            C::Pwd => self.cmd_pwd().await,
            C::Mkd(path) => self.cmd_mkd(&path).await,
            C::Rmd(path) => self.cmd_rmd(&path).await,
            C::Dele(path) => self.cmd_dele(&path).await,
            C::Rnfr(path) => self.cmd_rnfr(&path).await,
            C::Rnto(path) => self.cmd_rnto(&path).await,
            C::Size(path) => self.cmd_size(&path).await,
            C::Mdtm(path) => self.cmd_mdtm(&path).await,
            C::Mfmt(time, path) => self.cmd_mfmt(time.0, &path).await,
            C::Port(addr) => self.cmd_port(std::net::SocketAddr::V4(addr), "PORT").await,
            C::Eprt(addr) => self.cmd_port(addr, "EPRT").await,
            C::Pasv => self.cmd_pasv().await,
            C::Epsv(arg) => self.cmd_epsv(arg).await,
            C::Type(code) => self.cmd_type(code).await,
            C::Stru(code) => self.cmd_stru(code).await,
            C::Mode(mode) => self.cmd_mode(mode).await,
            C::Allo => self.ok(202, "ALLO command ignored.").await,
            C::Rest(offset) => self.cmd_rest(offset).await,
            C::Retr(path) => self.cmd_retr(&path).await,
            C::Stor(path) => self.cmd_store(&path, data::UploadKind::Stor).await,
            C::Appe(path) => self.cmd_store(&path, data::UploadKind::Appe).await,
            C::Stou(name) => self.cmd_stou(name).await,
            C::Abor => self.cmd_abor().await,
            C::List(args) => self.cmd_list(args, commands::list::ListKind::List).await,
            C::Nlst(args) => self.cmd_list(args, commands::list::ListKind::Nlst).await,
            C::Mlsd(path) => self.cmd_mlsd(path).await,
            C::Mlst(path) => self.cmd_mlst(path).await,
            C::Feat => self.cmd_feat().await,
            C::Opts(opts) => self.cmd_opts(opts).await,
            C::Syst => self.ok(215, "UNIX Type: L8").await,
            C::Stat(path) => self.cmd_stat(path).await,
            C::Help(topic) => self.cmd_help(topic).await,
            C::Noop => self.ok(200, "NOOP command successful.").await,
            C::Site(site) => self.cmd_site(site).await,
            C::Clnt(_) => self.ok(200, "Noted.").await,
            C::Auth(mechanism) => self.cmd_auth(&mechanism).await,
            C::Pbsz(size) => self.cmd_pbsz(size).await,
            C::Prot(level) => self.cmd_prot(level).await,
            C::Ccc => self.cmd_ccc().await,
            C::Unknown(verb) => {
                self.ok(500, format!("'{verb}': command not understood."))
                    .await
            }
        }
    }

    /// Sends one reply through the chokepoint: wire bytes, `lastErrorStatus`, `bytesSent`.
    async fn reply(&mut self, reply: Reply) -> io::Result<()> {
        let bytes = self.account_reply(&reply);
        let timeout = self
            .site
            .config
            .ftp
            .connections
            .control_channel_timeout
            .max(Duration::from_secs(1));
        let control = &mut self.control;
        let write = async move {
            control.write_all(&bytes).await?;
            control.flush().await
        };
        match tokio::time::timeout(timeout, write).await {
            Ok(r) => r,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "client does not read its control connection",
            )),
        }
    }

    /// What every reply updates before it is written: `lastErrorStatus`, `bytesSent`, the
    /// site's reply counters. Returns the wire bytes.
    fn account_reply(&self, reply: &Reply) -> Vec<u8> {
        let bytes = reply.encode();
        self.handle.reply_sent(reply.code);
        self.handle.add_sent(bytes.len() as u64);
        self.site.metrics.reply(reply.code);
        bytes
    }

    /// Sends a reply and continues.
    async fn send(&mut self, reply: Reply) -> io::Result<Flow> {
        self.reply(reply).await?;
        Ok(Flow::Continue)
    }

    /// Replies with the mapping of a storage error and continues.
    async fn storage_failed(&mut self, error: crate::storage::StorageError) -> io::Result<Flow> {
        let reply = self.storage_error(&error);
        self.send(reply).await
    }

    /// Sends the 150 opening reply, marks the transfer in the registry and starts it.
    async fn begin_transfer(
        &mut self,
        params: data::DataParams,
        opening: String,
        (direction, size): (crate::registry::TransferDirection, Option<u64>),
        payload: data::Payload,
        context: data::TransferContext,
    ) -> io::Result<Flow> {
        self.reply(Reply::new(150, opening)).await?;
        self.handle
            .transfer_started(direction, context.path.clone(), size);
        self.transfer = Some(RunningTransfer::spawn(
            params,
            payload,
            self.handle.clone(),
            context,
        ));
        Ok(Flow::Continue)
    }

    /// A reply followed by `Flow::Continue`.
    async fn ok(&mut self, code: u16, text: impl Into<String>) -> io::Result<Flow> {
        self.reply(Reply::new(code, text)).await?;
        Ok(Flow::Continue)
    }

    /// A last reply before closing, given at most [`FINAL_REPLY_TIMEOUT`].
    async fn final_reply(&mut self, reply: Reply) {
        let bytes = self.account_reply(&reply);
        let control = &mut self.control;
        let write = async move {
            control.write_all(&bytes).await?;
            control.flush().await
        };
        let _ = tokio::time::timeout(FINAL_REPLY_TIMEOUT, write).await;
    }

    /// Terminate (administrator) or hard shutdown: abort the transfer with 426, then 421.
    async fn on_cancelled(&mut self) -> EndReason {
        if let Some(transfer) = self.transfer.take() {
            transfer.cancel.cancel();
            settle_cancelled(transfer, Some(FINAL_REPLY_TIMEOUT)).await;
            self.handle.transfer_finished();
            self.final_reply(Reply::new(426, "Connection closed; transfer aborted."))
                .await;
        }
        match self.handle.terminate_request().cloned() {
            Some(request) => {
                let reason = request
                    .reason
                    .unwrap_or_else(|| "Session terminated by the administrator.".to_string());
                tracing::info!(actor = %request.actor, %reason, "session terminated");
                self.final_reply(Reply::new(421, reason)).await;
                EndReason::Terminated
            }
            None => {
                self.final_reply(Reply::new(421, SHUTDOWN_TEXT)).await;
                EndReason::ServerShutdown
            }
        }
    }

    /// The next timeout: login deadline before login, idle deadline after.
    fn deadline(&self) -> (Instant, EndReason) {
        let c = &self.site.config.ftp.connections;
        if self.is_logged_in() {
            (
                self.last_command_at + c.control_channel_timeout,
                EndReason::ControlTimeout,
            )
        } else {
            let login = self.connected_at + c.unauthenticated_timeout;
            let idle = self.last_command_at + c.control_channel_timeout;
            if idle < login {
                (idle, EndReason::ControlTimeout)
            } else {
                (login, EndReason::UnauthenticatedTimeout)
            }
        }
    }

    fn is_logged_in(&self) -> bool {
        matches!(self.login, Login::LoggedIn(_))
    }

    fn logged_in(&self) -> Option<&LoggedIn> {
        match &self.login {
            Login::LoggedIn(l) => Some(l),
            _ => None,
        }
    }

    /// `%Variable%` expansion in messages (`messages@expandVariables`).
    fn expand(&self, text: &str) -> String {
        if !self.site.config.ftp.messages.expand_variables {
            return text.to_string();
        }
        let record = self.handle.record();
        text.replace("%BytesReceived%", &record.bytes_received.to_string())
            .replace("%BytesSent%", &record.bytes_sent.to_string())
            .replace("%SessionID%", &record.session_id.to_string())
            .replace("%SiteName%", &record.site_name)
            .replace("%UserName%", &record.user_name)
    }

    /// A message as reply lines (one per line of the configured text).
    fn message_lines(&self, text: &str) -> Vec<String> {
        self.expand(text).lines().map(str::to_string).collect()
    }

    fn banner(&self) -> Reply {
        let messages = &self.site.config.ftp.messages;
        let mut lines = Vec::new();
        if !messages.suppress_default_banner {
            lines.push("Wharf FTP Service".to_string());
        }
        if let Some(banner) = &messages.banner_message {
            lines.extend(self.message_lines(banner));
        }
        if lines.is_empty() {
            lines.push(String::new());
        }
        Reply::multi(220, lines)
    }

    /// Whether the client connects from this machine (for `allowLocalDetailedErrors`).
    fn client_is_local(&self) -> bool {
        self.handle.client.ip().to_canonical().is_loopback()
    }
}

/// Waits (at most `limit`) for a cancelled transfer to stop, then settles its upload: a
/// transfer that completed anyway is published, anything else discarded unless
/// `keepPartialUploads` keeps it.
async fn settle_cancelled(mut transfer: RunningTransfer, limit: Option<Duration>) {
    let outcome = match limit {
        Some(limit) => tokio::time::timeout(limit, transfer.wait()).await.ok(),
        None => Some(transfer.wait().await),
    };
    if outcome.is_none() {
        transfer.join.abort();
    }
    let complete = matches!(outcome, Some(data::TransferOutcome::Complete { .. }));
    if let Err(e) = transfer.context.settle_upload(complete).await {
        tracing::warn!(error = %e, path = %transfer.context.path, "could not settle an upload");
    }
}

/// The registry's view of a command line: as received, with the PASS argument masked.
fn redact(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    let verb_end = text.find(' ').unwrap_or(text.len());
    if text[..verb_end].eq_ignore_ascii_case("PASS") {
        format!("{} ***", &text[..verb_end])
    } else {
        text.into_owned()
    }
}

fn is_urgent(line: &[u8]) -> bool {
    let verb: Vec<u8> = line
        .iter()
        .take_while(|b| **b != b' ')
        .map(u8::to_ascii_uppercase)
        .collect();
    verb == b"ABOR" || verb == b"STAT"
}

/// The pre-login allow-list, in one place.
fn allowed_before_login(command: &Command) -> bool {
    use Command as C;
    matches!(
        command,
        C::User(_)
            | C::Pass(_)
            | C::Acct(_)
            | C::Quit
            | C::Rein
            | C::Host(_)
            | C::Feat
            | C::Opts(_)
            | C::Syst
            | C::Help(_)
            | C::Noop
            | C::Clnt(_)
            | C::Auth(_)
            | C::Pbsz(_)
            | C::Prot(_)
            | C::Ccc
            | C::Stat(None)
            | C::Unknown(_)
    )
}

fn parse_error_reply(error: ParseError) -> Reply {
    match error {
        ParseError::Empty => Reply::new(500, "Empty command line."),
        ParseError::BadArgument { verb, message } => Reply::new(501, format!("{verb}: {message}")),
        // RFC 2428: an unknown network protocol in EPRT/EPSV is 522.
        ParseError::Unsupported { verb, message } if verb == "EPRT" || verb == "EPSV" => {
            Reply::new(522, format!("{verb}: {message}"))
        }
        ParseError::Unsupported { verb, message } => Reply::new(504, format!("{verb}: {message}")),
        ParseError::Encoding => Reply::new(501, "Command line is not valid UTF-8."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pass_is_redacted_in_any_case() {
        assert_eq!(redact(b"PASS secret"), "PASS ***");
        assert_eq!(redact(b"pass secret words"), "pass ***");
        assert_eq!(redact(b"USER alice"), "USER alice");
        assert_eq!(redact(b"PASSX y"), "PASSX y");
    }

    #[test]
    fn only_abor_and_stat_jump_the_queue() {
        assert!(is_urgent(b"ABOR"));
        assert!(is_urgent(b"stat"));
        assert!(is_urgent(b"STAT /x"));
        assert!(!is_urgent(b"QUIT"));
        assert!(!is_urgent(b"ABORT"));
    }
}
