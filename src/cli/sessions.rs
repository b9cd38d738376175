//! `wharf sessions list|show|terminate|watch|ended` over the admin API.
//!
//! Exit codes: 0 ok, 1 error (cannot connect, 401, …), 2 unknown session or site.
//! `show` and `terminate` find the site of an ID in `GET /api/v1/sessions`, else in the
//! ended history; a unique prefix of at least [`MIN_PREFIX`] characters is accepted.
//! `watch` follows `GET /api/v1/events` and redraws in place like `top`.

use std::collections::{HashMap, VecDeque};
use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::sync::mpsc;

use super::admin_client::{
    AdminClient, CliError, JSON, SseEvent, XML, check, encode, run_command, with_query,
};
use super::output::{self, Format, Table};
use super::sites::print;
use super::{AdminArgs, SessionsCommand};

/// Shortest ID prefix accepted by `show` and `terminate` (shorter must be the full ID).
pub const MIN_PREFIX: usize = 6;
/// `watch` redraws at most this often.
const REDRAW_INTERVAL: Duration = Duration::from_millis(250);
/// `watch` redraws at least this often (idle times tick).
const TICK_INTERVAL: Duration = Duration::from_secs(1);
/// Ended sessions kept at the bottom of `watch`.
const WATCH_ENDED: usize = 8;
/// Pause before reconnecting a lost event stream.
const RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// Runs a sessions subcommand.
pub fn run(command: SessionsCommand) -> ExitCode {
    match command {
        SessionsCommand::List {
            site,
            user,
            client_ip,
            state,
            min_idle,
            admin,
        } => run_command(list(
            admin,
            site,
            Filters {
                user,
                client_ip,
                state,
                min_idle,
            },
        )),
        SessionsCommand::Show { id, admin } => run_command(show(admin, id)),
        SessionsCommand::Terminate { id, reason, admin } => {
            run_command(terminate(admin, id, reason))
        }
        SessionsCommand::Watch { site, admin } => run_command(watch(admin, site)),
        SessionsCommand::Ended { site, admin } => run_command(ended(admin, site)),
    }
}

struct Filters {
    user: Option<String>,
    client_ip: Option<String>,
    state: Option<String>,
    min_idle: Option<u64>,
}

fn client(args: &AdminArgs) -> Result<AdminClient, CliError> {
    AdminClient::from_args(args.config.as_deref(), args.admin_url.as_deref())
}

fn accept(format: Format) -> &'static str {
    if format == Format::Xml { XML } else { JSON }
}

fn sessions_of(document: &Value) -> Vec<Value> {
    document
        .get("sessions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

async fn list(args: AdminArgs, site: Option<String>, filters: Filters) -> Result<(), CliError> {
    let client = client(&args)?;
    let base = match &site {
        Some(site) => format!("/api/v1/sites/{}/sessions", encode(site)),
        None => "/api/v1/sessions".to_string(),
    };
    let path = with_query(
        &base,
        &[
            ("userName", filters.user),
            ("clientIp", filters.client_ip),
            ("state", filters.state),
            ("minIdleSeconds", filters.min_idle.map(|s| s.to_string())),
        ],
    );
    let table =
        |sessions: &[Value]| sessions_table(sessions, OffsetDateTime::now_utc(), false).render();
    print_sessions(
        &client,
        &path,
        site.as_deref(),
        args.output,
        "no sessions",
        table,
    )
    .await
}

fn not_found_site(error: CliError, site: Option<&str>) -> CliError {
    match (error, site) {
        (CliError::NotFound(m), Some(site)) => {
            CliError::NotFound(format!("no site {site:?} ({m})"))
        }
        (e, _) => e,
    }
}

/// Where an ID was found.
enum Found {
    Live { site: String, id: String },
    Ended(Value),
}

/// Finds a session by ID or unique prefix among the live sessions, else the ended ones.
async fn resolve(client: &AdminClient, wanted: &str) -> Result<Found, CliError> {
    let wanted = wanted.trim().to_ascii_lowercase();
    if wanted.is_empty() {
        return Err(CliError::NotFound("empty session ID".into()));
    }
    let live = sessions_of(&client.get_json("/api/v1/sessions").await?);
    if let Some(session) = pick(&live, &wanted)? {
        return Ok(Found::Live {
            site: output::text(&session, "siteName"),
            id: output::text(&session, "sessionId"),
        });
    }
    let ended = sessions_of(&client.get_json("/api/v1/sessions/ended").await?);
    // Oldest first: the last match is the latest record.
    let mut ended_matches: Vec<Value> = Vec::new();
    for session in ended.into_iter().rev() {
        if matches_id(&session, &wanted) {
            ended_matches.push(session);
        }
    }
    if let Some(session) = pick(&ended_matches, &wanted)? {
        return Ok(Found::Ended(session));
    }
    Err(CliError::NotFound(format!(
        "no session {wanted} (neither live nor among the recently ended)"
    )))
}

fn matches_id(session: &Value, wanted: &str) -> bool {
    let id = output::text(session, "sessionId").to_ascii_lowercase();
    id == wanted || (wanted.len() >= MIN_PREFIX && id.starts_with(wanted))
}

/// The one session matching `wanted`; an error when a prefix is ambiguous.
fn pick(sessions: &[Value], wanted: &str) -> Result<Option<Value>, CliError> {
    let matches: Vec<&Value> = sessions.iter().filter(|s| matches_id(s, wanted)).collect();
    if let Some(exact) = matches
        .iter()
        .find(|s| output::text(s, "sessionId").eq_ignore_ascii_case(wanted))
    {
        return Ok(Some((*exact).clone()));
    }
    let mut ids: Vec<String> = matches
        .iter()
        .map(|s| output::text(s, "sessionId"))
        .collect();
    ids.dedup();
    match ids.len() {
        0 => Ok(None),
        1 => Ok(Some(matches[0].clone())),
        _ => Err(CliError::failed(format!(
            "the prefix {wanted} matches several sessions: {}",
            ids.join(", ")
        ))),
    }
}

async fn show(args: AdminArgs, id: String) -> Result<(), CliError> {
    let client = client(&args)?;
    let found = resolve(&client, &id).await?;
    let session = match found {
        Found::Live { site, id } => {
            let path = format!("/api/v1/sites/{}/sessions/{}", encode(&site), encode(&id));
            match client.get(&path, accept(args.output)).await {
                Ok(response) => {
                    if args.output == Format::Xml && response.is_xml() {
                        return print(&output::with_newline(response.text()));
                    }
                    response.json()?
                }
                // Ended in between: show its final record.
                Err(CliError::NotFound(_)) => match resolve(&client, &id).await? {
                    Found::Ended(session) => session,
                    Found::Live { .. } => {
                        return Err(CliError::NotFound(format!("no session {id}")));
                    }
                },
                Err(e) => return Err(e),
            }
        }
        Found::Ended(session) => session,
    };
    let text = match args.output {
        Format::Json => output::pretty_json(&session),
        Format::Xml => output::xml_document(output::xml_element("session", &session, 0)),
        Format::Table => session_details(&session, OffsetDateTime::now_utc()),
    };
    print(&text)
}

async fn terminate(args: AdminArgs, id: String, reason: Option<String>) -> Result<(), CliError> {
    let client = client(&args)?;
    let (site, id) = match resolve(&client, &id).await? {
        Found::Live { site, id } => (site, id),
        Found::Ended(session) => (
            output::text(&session, "siteName"),
            output::text(&session, "sessionId"),
        ),
    };
    let path = format!(
        "/api/v1/sites/{}/sessions/{}/terminate",
        encode(&site),
        encode(&id)
    );
    let body = match &reason {
        Some(reason) => json!({ "reason": reason }),
        None => json!({}),
    };
    let body = body.to_string();
    let response = client
        .request(
            "POST",
            &path,
            accept(args.output),
            &[("X-Wharf-Actor", "cli")],
            Some(body.as_bytes()),
        )
        .await?;
    let response = check(response)?;
    if args.output == Format::Xml && response.is_xml() {
        return print(&output::with_newline(response.text()));
    }
    let document = response.json()?;
    let text = match args.output {
        Format::Json => output::pretty_json(&document),
        Format::Xml => output::xml_document(output::xml_element("terminate", &document, 0)),
        Format::Table => {
            let session = document.get("session").cloned().unwrap_or(Value::Null);
            let who = describe(&session);
            if document.get("terminated").and_then(Value::as_bool) == Some(true) {
                match &reason {
                    Some(reason) => format!("terminated session {id} ({who}): {reason}\n"),
                    None => format!("terminated session {id} ({who})\n"),
                }
            } else if document.get("alreadyEnded").and_then(Value::as_bool) == Some(true) {
                format!(
                    "session {id} ({who}) had already ended: {}\n",
                    end_summary(&session)
                )
            } else {
                format!("session {id} ({who}): termination requested; it has not ended yet\n")
            }
        }
    };
    print(&text)
}

/// `alice from 127.0.0.1 on Default FTP Site`
fn describe(session: &Value) -> String {
    let user = output::text(session, "userName");
    let user = if user.is_empty() {
        "not logged in".to_string()
    } else {
        user
    };
    format!(
        "{user} from {} on {}",
        output::text(session, "clientIp"),
        output::text(session, "siteName")
    )
}

/// `terminated by cli: maintenance`, `quit`, …
fn end_summary(session: &Value) -> String {
    let mut out = output::text(session, "endReason");
    let by = output::text(session, "terminatedBy");
    if !by.is_empty() {
        out.push_str(&format!(" by {by}"));
    }
    let reason = output::text(session, "terminateReason");
    if !reason.is_empty() {
        out.push_str(&format!(": {reason}"));
    }
    out
}

async fn ended(args: AdminArgs, site: Option<String>) -> Result<(), CliError> {
    let client = client(&args)?;
    if let Some(site) = &site {
        check_site(&client, site).await?;
    }
    let path = with_query("/api/v1/sessions/ended", &[("site", site.clone())]);
    let table =
        |sessions: &[Value]| ended_table(sessions, OffsetDateTime::now_utc(), false).render();
    print_sessions(
        &client,
        &path,
        site.as_deref(),
        args.output,
        "no ended sessions",
        table,
    )
    .await
}

/// GETs a sessions collection and prints it as XML, JSON or a table (`empty` when none).
async fn print_sessions(
    client: &AdminClient,
    path: &str,
    site: Option<&str>,
    format: Format,
    empty: &str,
    table: impl Fn(&[Value]) -> String,
) -> Result<(), CliError> {
    let response = client
        .get(path, accept(format))
        .await
        .map_err(|e| not_found_site(e, site))?;
    let text = match format {
        Format::Xml if response.is_xml() => output::with_newline(response.text()),
        Format::Xml => output::xml_document(output::xml_collection(
            "sessions",
            "session",
            &sessions_of(&response.json()?),
        )),
        Format::Json => output::pretty_json(&response.json()?),
        Format::Table => {
            let sessions = sessions_of(&response.json()?);
            if sessions.is_empty() {
                format!("{empty}\n")
            } else {
                table(&sessions)
            }
        }
    };
    print(&text)
}

/// Exit 2 when `site` is not a configured site.
async fn check_site(client: &AdminClient, site: &str) -> Result<(), CliError> {
    let sites = client.get_json("/api/v1/sites").await?;
    let known = sites
        .get("sites")
        .and_then(Value::as_array)
        .is_some_and(|s| {
            s.iter()
                .any(|v| output::text(v, "name").eq_ignore_ascii_case(site))
        });
    if known {
        Ok(())
    } else {
        Err(CliError::NotFound(format!("no site {site:?}")))
    }
}

// ---------------------------------------------------------------------------------------
// Tables

fn short_id(id: &str) -> String {
    id.chars().take(8).collect()
}

fn command_age(session: &Value, now: OffsetDateTime) -> String {
    output::parse_time(&output::text(session, "commandStartTime"))
        .map(|t| output::human_duration(output::seconds_between(t, now)))
        .unwrap_or_default()
}

/// `down 45% 1.2 MiB/s`, `up 3.4 MiB 800 KiB/s`.
fn transfer_summary(session: &Value) -> String {
    let Some(transfer) = session.get("transfer").filter(|t| t.is_object()) else {
        return String::new();
    };
    let direction = match output::text(transfer, "direction").as_str() {
        "upload" => "up",
        "download" => "down",
        other => return other.to_string(),
    };
    let bytes = output::number(transfer, "bytes");
    let rate = output::human_bytes(output::number(transfer, "bytesPerSecond"));
    match transfer.get("size").and_then(Value::as_u64) {
        Some(size) if size > 0 => {
            let pct = (bytes.min(size) as f64 * 100.0 / size as f64).floor();
            format!("{direction} {pct:.0}% {rate}/s")
        }
        _ => format!("{direction} {} {rate}/s", output::human_bytes(bytes)),
    }
}

fn sessions_table(sessions: &[Value], now: OffsetDateTime, short: bool) -> Table {
    let mut table = Table::new(&[
        "ID",
        "SITE",
        "USER",
        "CLIENT",
        "STATE",
        "COMMAND",
        ">AGE",
        ">IDLE",
        ">SENT",
        ">RECEIVED",
        "TRANSFER",
    ]);
    for s in sessions {
        let id = output::text(s, "sessionId");
        table.row(vec![
            if short { short_id(&id) } else { id },
            output::truncate(&output::text(s, "siteName"), 20),
            output::truncate(&output::text(s, "userName"), 16),
            output::text(s, "clientIp"),
            output::text(s, "state"),
            output::truncate(&output::text(s, "currentCommand"), 28),
            command_age(s, now),
            output::human_duration(output::number(s, "idleSeconds")),
            output::human_bytes(output::number(s, "bytesSent")),
            output::human_bytes(output::number(s, "bytesReceived")),
            transfer_summary(s),
        ]);
    }
    table
}

fn ended_table(sessions: &[Value], now: OffsetDateTime, short: bool) -> Table {
    let mut table = Table::new(&[
        "ID",
        "SITE",
        "USER",
        "CLIENT",
        ">ENDED",
        ">LASTED",
        "REASON",
        ">SENT",
        ">RECEIVED",
        ">LAST",
    ]);
    for s in sessions {
        let id = output::text(s, "sessionId");
        let start = output::parse_time(&output::text(s, "sessionStartTime"));
        let end = output::parse_time(&output::text(s, "endTime"));
        let ago = end
            .map(|e| {
                format!(
                    "{} ago",
                    output::human_duration(output::seconds_between(e, now))
                )
            })
            .unwrap_or_default();
        let lasted = match (start, end) {
            (Some(s), Some(e)) => output::human_duration(output::seconds_between(s, e)),
            _ => String::new(),
        };
        table.row(vec![
            if short { short_id(&id) } else { id },
            output::truncate(&output::text(s, "siteName"), 20),
            output::truncate(&output::text(s, "userName"), 16),
            output::text(s, "clientIp"),
            ago,
            lasted,
            output::truncate(&end_summary(s), 48),
            output::human_bytes(output::number(s, "bytesSent")),
            output::human_bytes(output::number(s, "bytesReceived")),
            output::text(s, "lastErrorStatus"),
        ]);
    }
    table
}

/// The vertical view of `sessions show`.
fn session_details(s: &Value, now: OffsetDateTime) -> String {
    let mut rows: Vec<(&str, String)> = Vec::new();
    let t = |k: &str| output::text(s, k);
    let bytes = |k: &str| {
        let n = output::number(s, k);
        format!("{} ({n} bytes)", output::human_bytes(n))
    };
    rows.push(("Session", t("sessionId")));
    rows.push(("Site", t("siteName")));
    let user = t("userName");
    rows.push((
        "User",
        if user.is_empty() {
            "(not logged in)".into()
        } else {
            user
        },
    ));
    rows.push((
        "Client",
        format!("{} port {}", t("clientIp"), t("clientPort")),
    ));
    let mut server = format!("{} port {}", t("serverIp"), t("serverPort"));
    if !t("hostName").is_empty() {
        server.push_str(&format!(" (host {})", t("hostName")));
    }
    rows.push(("Server", server));
    rows.push(("State", t("state")));
    rows.push(("Directory", t("currentDirectory")));
    let started = t("sessionStartTime");
    let age = output::parse_time(&started)
        .map(|st| {
            let until = output::parse_time(&t("endTime")).unwrap_or(now);
            format!(
                " ({})",
                output::human_duration(output::seconds_between(st, until))
            )
        })
        .unwrap_or_default();
    rows.push(("Started", format!("{started}{age}")));
    let age = command_age(s, now);
    let command = t("currentCommand");
    rows.push((
        "Command",
        if age.is_empty() || command.is_empty() {
            command
        } else {
            format!("{command} (started {age} ago)")
        },
    ));
    rows.push(("Previous", t("previousCommand")));
    rows.push(("Last reply", t("lastErrorStatus")));
    rows.push((
        "Idle",
        output::human_duration(output::number(s, "idleSeconds")),
    ));
    rows.push(("Sent", bytes("bytesSent")));
    rows.push(("Received", bytes("bytesReceived")));
    rows.push(("Data mode", t("dataMode")));
    if let Some(transfer) = s.get("transfer").filter(|v| v.is_object()) {
        let moved = output::number(transfer, "bytes");
        let size = transfer.get("size").and_then(Value::as_u64);
        let amount = match size {
            Some(size) if size > 0 => format!(
                "{} of {} ({:.0}%)",
                output::human_bytes(moved),
                output::human_bytes(size),
                (moved.min(size) as f64 * 100.0 / size as f64).floor()
            ),
            _ => output::human_bytes(moved),
        };
        rows.push((
            "Transfer",
            format!(
                "{} {}: {amount} at {}/s since {}",
                output::text(transfer, "direction"),
                output::text(transfer, "path"),
                output::human_bytes(output::number(transfer, "bytesPerSecond")),
                output::text(transfer, "startTime"),
            ),
        ));
    } else {
        rows.push(("Transfer", "none".into()));
    }
    match s.get("tls").filter(|v| v.is_object()) {
        Some(tls) => {
            let yes = |k: &str| tls.get(k).and_then(Value::as_bool) == Some(true);
            rows.push((
                "TLS",
                format!(
                    "{} {}; control {}, data {}{}",
                    output::text(tls, "protocolVersion"),
                    output::text(tls, "cipherSuite"),
                    if yes("controlProtected") {
                        "protected"
                    } else {
                        "clear"
                    },
                    if yes("dataProtected") {
                        "protected"
                    } else {
                        "clear"
                    },
                    if yes("dataChannelResumed") {
                        " (data channel resumed the TLS session)"
                    } else {
                        ""
                    },
                ),
            ));
        }
        None => rows.push(("TLS", "none (clear text)".into())),
    }
    if s.get("endReason").is_some() {
        rows.push(("Ended", t("endTime")));
        rows.push(("End reason", end_summary(s)));
    }
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (key, value) in rows {
        out.push_str(&format!("{key:<width$}  {value}\n"));
    }
    out
}

// ---------------------------------------------------------------------------------------
// watch

/// What the event reader task reports.
enum Feed {
    Connected,
    Event(SseEvent),
    Lost(String),
    Fatal(CliError),
}

/// Reads the event stream forever, reconnecting with `Last-Event-ID`; the first
/// connection's failure is fatal.
fn spawn_reader(client: AdminClient) -> mpsc::Receiver<Feed> {
    let (tx, rx) = mpsc::channel(1024);
    tokio::spawn(async move {
        let mut last_id: Option<String> = None;
        let mut connected_once = false;
        loop {
            match client.events(last_id.as_deref()).await {
                Ok(mut stream) => {
                    connected_once = true;
                    if tx.send(Feed::Connected).await.is_err() {
                        return;
                    }
                    let lost = loop {
                        match stream.next_event().await {
                            Ok(Some(event)) => {
                                if let Some(id) = &event.id {
                                    last_id = Some(id.clone());
                                }
                                if tx.send(Feed::Event(event)).await.is_err() {
                                    return;
                                }
                            }
                            Ok(None) => break "the server closed the event stream".to_string(),
                            Err(e) => break e.to_string(),
                        }
                    };
                    if tx.send(Feed::Lost(lost)).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let fatal = !connected_once || e.to_string().contains("401");
                    if fatal {
                        let _ = tx.send(Feed::Fatal(e)).await;
                        return;
                    }
                    if tx.send(Feed::Lost(e.to_string())).await.is_err() {
                        return;
                    }
                }
            }
            tokio::time::sleep(RECONNECT_DELAY).await;
        }
    });
    rx
}

fn site_matches(session: &Value, site: Option<&str>) -> bool {
    site.is_none_or(|site| output::text(session, "siteName").eq_ignore_ascii_case(site))
}

async fn watch(args: AdminArgs, site: Option<String>) -> Result<(), CliError> {
    let client = client(&args)?;
    if let Some(site) = &site {
        check_site(&client, site).await?;
    }
    match args.output {
        Format::Table => watch_table(client, site).await,
        format => watch_stream(client, site, format).await,
    }
}

/// `-o json|xml`: one line (JSON) or element (XML) per event, filtered by site.
async fn watch_stream(
    client: AdminClient,
    site: Option<String>,
    format: Format,
) -> Result<(), CliError> {
    let mut feed = spawn_reader(client);
    loop {
        let message = tokio::select! {
            m = feed.recv() => m,
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        let Some(message) = message else {
            return Ok(());
        };
        let event = match message {
            Feed::Connected => continue,
            Feed::Lost(why) => {
                eprintln!("wharf: event stream lost ({why}); reconnecting");
                continue;
            }
            Feed::Fatal(e) => return Err(e),
            Feed::Event(event) => event,
        };
        let Ok(mut data) = serde_json::from_str::<Value>(&event.data) else {
            continue;
        };
        if event.event == "snapshot" {
            let sessions: Vec<Value> = sessions_of(&data)
                .into_iter()
                .filter(|s| site_matches(s, site.as_deref()))
                .collect();
            data = json!({ "sessions": sessions });
        } else if !site_matches(&data, site.as_deref()) {
            continue;
        }
        let id: Value = event
            .id
            .as_deref()
            .and_then(|i| i.parse::<u64>().ok())
            .map(Value::from)
            .unwrap_or(Value::Null);
        let text = match format {
            Format::Xml => {
                let id_attr = event
                    .id
                    .as_deref()
                    .map(|i| format!(" id=\"{}\"", output::xml_escape(i)))
                    .unwrap_or_default();
                let inner = if event.event == "snapshot" {
                    output::xml_collection("sessions", "session", &sessions_of(&data))
                } else {
                    output::xml_element("session", &data, 0)
                };
                let inner: String = inner.lines().map(|l| format!("  {l}\n")).collect();
                format!(
                    "<event type=\"{}\"{id_attr}>\n{inner}</event>\n",
                    output::xml_escape(&event.event)
                )
            }
            _ => format!(
                "{}\n",
                json!({ "event": event.event, "id": id, "data": data })
            ),
        };
        print(&text)?;
    }
}

/// The terminal state `watch` changes, restored on drop.
struct Screen {
    tty_out: bool,
    saved_termios: Option<rustix::termios::Termios>,
}

impl Screen {
    fn enter() -> Screen {
        let tty_out = std::io::stdout().is_terminal();
        let stdin = std::io::stdin();
        let saved_termios = if stdin.is_terminal() {
            rustix::termios::tcgetattr(&stdin).ok().inspect(|saved| {
                let mut raw = saved.clone();
                raw.local_modes.remove(
                    rustix::termios::LocalModes::ICANON | rustix::termios::LocalModes::ECHO,
                );
                raw.special_codes[rustix::termios::SpecialCodeIndex::VMIN] = 1;
                raw.special_codes[rustix::termios::SpecialCodeIndex::VTIME] = 0;
                let _ =
                    rustix::termios::tcsetattr(&stdin, rustix::termios::OptionalActions::Now, &raw);
            })
        } else {
            None
        };
        if tty_out {
            // Alternate screen, hidden cursor.
            let _ = print("\x1b[?1049h\x1b[?25l");
        }
        Screen {
            tty_out,
            saved_termios,
        }
    }

    /// Rows and columns of the terminal (unbounded when not a terminal).
    fn size(&self) -> (usize, usize) {
        if !self.tty_out {
            return (usize::MAX, usize::MAX);
        }
        match rustix::termios::tcgetwinsize(std::io::stdout()) {
            Ok(ws) if ws.ws_row > 0 && ws.ws_col > 0 => {
                (usize::from(ws.ws_row), usize::from(ws.ws_col))
            }
            _ => (24, 80),
        }
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        if self.tty_out {
            let _ = print("\x1b[?25h\x1b[?1049l");
        }
        if let Some(saved) = &self.saved_termios {
            let _ = rustix::termios::tcsetattr(
                std::io::stdin(),
                rustix::termios::OptionalActions::Now,
                saved,
            );
        }
    }
}

/// Key presses from stdin (a thread: reading a terminal cannot be cancelled).
fn spawn_keys() -> mpsc::Receiver<u8> {
    let (tx, rx) = mpsc::channel(16);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin();
        let mut buf = [0u8; 64];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    for &b in &buf[..n] {
                        if tx.blocking_send(b).is_err() {
                            return;
                        }
                    }
                }
            }
        }
    });
    rx
}

/// What `watch` shows.
struct WatchState {
    site: Option<String>,
    base_url: String,
    live: HashMap<String, (Value, Instant)>,
    ended: VecDeque<Value>,
    status: String,
}

impl WatchState {
    fn apply(&mut self, event: &SseEvent) {
        let Ok(data) = serde_json::from_str::<Value>(&event.data) else {
            return;
        };
        let now = Instant::now();
        match event.event.as_str() {
            "snapshot" => {
                self.live = sessions_of(&data)
                    .into_iter()
                    .filter(|s| site_matches(s, self.site.as_deref()))
                    .map(|s| (output::text(&s, "sessionId"), (s, now)))
                    .collect();
            }
            "session.started" | "session.updated" if site_matches(&data, self.site.as_deref()) => {
                self.live
                    .insert(output::text(&data, "sessionId"), (data, now));
            }
            "session.ended" => {
                self.live.remove(&output::text(&data, "sessionId"));
                if site_matches(&data, self.site.as_deref()) {
                    self.ended.push_front(data);
                    self.ended.truncate(WATCH_ENDED);
                }
            }
            _ => {}
        }
    }

    /// The screen's lines.
    fn lines(&self) -> Vec<String> {
        let now = OffsetDateTime::now_utc();
        let mut sessions: Vec<Value> = self
            .live
            .values()
            .map(|(s, received)| {
                let mut s = s.clone();
                // Idle time ticks between updates.
                let state = output::text(&s, "state");
                if state == "idle" || state == "authenticating" {
                    let idle = output::number(&s, "idleSeconds") + received.elapsed().as_secs();
                    s["idleSeconds"] = Value::from(idle);
                }
                s
            })
            .collect();
        sessions.sort_by_key(|s| {
            (
                output::text(s, "sessionStartTime"),
                output::text(s, "sessionId"),
            )
        });
        let clock = now
            .format(&time::macros::format_description!(
                "[hour]:[minute]:[second] UTC"
            ))
            .unwrap_or_default();
        let scope = match &self.site {
            Some(site) => format!("site {site}"),
            None => "all sites".to_string(),
        };
        let mut lines = vec![
            format!(
                "wharf sessions watch  {}  {scope}  {} live  {clock}  {}",
                self.base_url,
                sessions.len(),
                self.status
            ),
            "q quits".to_string(),
            String::new(),
        ];
        if sessions.is_empty() {
            lines.push("no sessions".to_string());
        } else {
            lines.extend(sessions_table(&sessions, now, true).lines());
        }
        if !self.ended.is_empty() {
            lines.push(String::new());
            lines.push("Recently ended".to_string());
            let ended: Vec<Value> = self.ended.iter().cloned().collect();
            lines.extend(ended_table(&ended, now, true).lines());
        }
        lines
    }
}

async fn watch_table(client: AdminClient, site: Option<String>) -> Result<(), CliError> {
    let base_url = client.base_url();
    let mut feed = spawn_reader(client);
    // Wait for the first connection before touching the terminal, so errors print plainly.
    let mut pending: Vec<Feed> = Vec::new();
    match feed.recv().await {
        Some(Feed::Fatal(e)) => return Err(e),
        Some(other) => pending.push(other),
        None => return Ok(()),
    }
    let screen = Screen::enter();
    let mut keys = spawn_keys();
    let mut keys_open = true;
    let mut state = WatchState {
        site,
        base_url,
        live: HashMap::new(),
        ended: VecDeque::new(),
        status: "connecting".to_string(),
    };
    let mut ticker = tokio::time::interval(REDRAW_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut dirty = true;
    let mut last_draw: Option<Instant> = None;
    let handle = |message: Feed, state: &mut WatchState| -> Result<(), CliError> {
        match message {
            Feed::Connected => state.status = "live".to_string(),
            Feed::Lost(why) => state.status = format!("reconnecting ({why})"),
            Feed::Fatal(e) => return Err(e),
            Feed::Event(event) => state.apply(&event),
        }
        Ok(())
    };
    for message in pending {
        handle(message, &mut state)?;
    }
    let result = loop {
        tokio::select! {
            message = feed.recv() => match message {
                Some(message) => {
                    if let Err(e) = handle(message, &mut state) {
                        break Err(e);
                    }
                    dirty = true;
                }
                None => break Ok(()),
            },
            key = keys.recv(), if keys_open => match key {
                Some(b'q' | b'Q' | 3) => break Ok(()),
                Some(_) => {}
                None => keys_open = false,
            },
            _ = tokio::signal::ctrl_c() => break Ok(()),
            _ = ticker.tick() => {
                let due = last_draw.is_none_or(|t| t.elapsed() >= TICK_INTERVAL);
                if dirty || due {
                    draw(&screen, &state.lines())?;
                    dirty = false;
                    last_draw = Some(Instant::now());
                }
            }
        }
    };
    drop(screen);
    result
}

/// Redraws in place: home, each line cleared to its end, then the rest cleared.
fn draw(screen: &Screen, lines: &[String]) -> Result<(), CliError> {
    let (rows, cols) = screen.size();
    let mut frame = String::from("\x1b[H");
    for line in lines.iter().take(rows) {
        frame.push_str(&output::truncate(line, cols));
        frame.push_str("\x1b[K\r\n");
    }
    frame.push_str("\x1b[J");
    print(&frame)?;
    let _ = std::io::stdout().flush();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(id: &str) -> Value {
        json!({
            "sessionId": id, "sessionStartTime": "2026-11-24T09:41:12.345Z", "userName": "alice",
            "clientIp": "127.0.0.1", "currentCommand": "RETR /x", "previousCommand": "PASV",
            "commandStartTime": "2026-11-24T09:41:15.000Z", "bytesSent": 1_258_291, "bytesReceived": 10,
            "lastErrorStatus": 150, "siteName": "Default FTP Site", "hostName": "", "clientPort": 50123,
            "serverIp": "127.0.0.1", "serverPort": 2121, "state": "transferring",
            "currentDirectory": "/", "idleSeconds": 0, "dataMode": "PASV",
            "transfer": {"direction": "download", "path": "/x", "bytes": 512, "size": 1024,
                         "startTime": "2026-11-24T09:41:15.000Z", "bytesPerSecond": 2048},
            "tls": null
        })
    }

    #[test]
    fn session_rows() {
        let now = output::parse_time("2026-11-24T09:44:27.000Z").unwrap();
        let lines = sessions_table(
            &[session("0f2c9e4a-0000-4000-8000-000000000000")],
            now,
            true,
        )
        .lines();
        assert_eq!(lines.len(), 2);
        assert!(
            lines[1].starts_with("0f2c9e4a  Default FTP Site  alice"),
            "{}",
            lines[1]
        );
        assert!(lines[1].contains("3m12s"), "{}", lines[1]);
        assert!(lines[1].contains("1.2 MiB"), "{}", lines[1]);
        assert!(lines[1].ends_with("down 50% 2.0 KiB/s"), "{}", lines[1]);
        let details = session_details(&session("x"), now);
        assert!(
            details.contains("Transfer    download /x: 512 B of 1.0 KiB (50%)"),
            "{details}"
        );
    }

    #[test]
    fn ids_resolve_by_prefix() {
        let list = vec![
            session("abcdef12-0000-4000-8000-000000000000"),
            session("abcdef34-0000-4000-8000-000000000000"),
        ];
        assert!(pick(&list, "abcdef").is_err());
        assert!(pick(&list, "abcdef1").unwrap().is_some());
        assert!(pick(&list, "abc").unwrap().is_none());
        assert!(
            pick(&list, "abcdef34-0000-4000-8000-000000000000")
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn watch_applies_events() {
        let mut state = WatchState {
            site: Some("default ftp site".into()),
            base_url: String::new(),
            live: HashMap::new(),
            ended: VecDeque::new(),
            status: String::new(),
        };
        let ev = |event: &str, data: Value| SseEvent {
            event: event.into(),
            data: data.to_string(),
            id: Some("1".into()),
        };
        state.apply(&ev("snapshot", json!({"sessions": [session("a")]})));
        assert_eq!(state.live.len(), 1);
        let mut other = session("b");
        other["siteName"] = "Other".into();
        state.apply(&ev("session.started", other));
        assert_eq!(state.live.len(), 1);
        let mut gone = session("a");
        gone["endReason"] = "terminated".into();
        state.apply(&ev("session.ended", gone));
        assert!(state.live.is_empty());
        assert_eq!(state.ended.len(), 1);
        assert!(state.lines().iter().any(|l| l == "Recently ended"));
    }
}
