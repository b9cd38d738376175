//! The JSON shape of sessions (docs/admin-api.md): views over [`SessionRecord`] and
//! [`EndedSession`] with the contract's attribute names, so the registry types carry no
//! serialization concerns.

use std::fmt::Display;
use std::net::IpAddr;

use serde::{Serialize, Serializer};
use time::OffsetDateTime;
use uuid::Uuid;

use super::list_writer;
use crate::registry::record::ContractTime;
use crate::registry::{EndedSession, RecordView, Registry, SessionRecord, TlsRecord, TransferView};

/// A value written through its `Display` straight into the output (no `String` per field).
#[derive(Debug, Clone, Copy)]
struct Shown<T>(T);

impl<T: Display> Serialize for Shown<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// `commandStartTime`: the time, or an empty string before the first command.
#[derive(Debug, Clone, Copy)]
struct OptionalTime(Option<OffsetDateTime>);

impl Serialize for OptionalTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(t) => s.collect_str(&ContractTime(t)),
            None => s.serialize_str(""),
        }
    }
}

/// `<session>`: the IIS attributes, then the Wharf extensions, in the contract's order.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionJson<'a> {
    session_id: Shown<Uuid>,
    session_start_time: Shown<ContractTime>,
    user_name: &'a str,
    client_ip: Shown<IpAddr>,
    current_command: &'a str,
    previous_command: &'a str,
    /// Empty before the first command.
    command_start_time: OptionalTime,
    bytes_sent: u64,
    bytes_received: u64,
    last_error_status: u16,
    site_name: &'a str,
    host_name: &'a str,
    client_port: u16,
    server_ip: Shown<IpAddr>,
    server_port: u16,
    state: &'static str,
    current_directory: &'a str,
    idle_seconds: u64,
    data_mode: &'a str,
    transfer: Option<TransferJson<'a>>,
    tls: Option<TlsJson<'a>>,
}

/// `transfer`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferJson<'a> {
    direction: &'static str,
    path: &'a str,
    bytes: u64,
    size: Option<u64>,
    start_time: Shown<ContractTime>,
    bytes_per_second: u64,
}

/// `tls`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsJson<'a> {
    control_protected: bool,
    data_protected: bool,
    protocol_version: &'a str,
    cipher_suite: &'a str,
    data_channel_resumed: bool,
}

/// An ended session: the session's fields plus why, when and by whom it ended.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EndedSessionJson<'a> {
    #[serde(flatten)]
    session: SessionJson<'a>,
    end_reason: &'static str,
    end_time: Shown<ContractTime>,
    terminated_by: Option<&'a str>,
    terminate_reason: Option<&'a str>,
}

impl<'a> From<&'a SessionRecord> for SessionJson<'a> {
    fn from(r: &'a SessionRecord) -> Self {
        SessionJson::from(&r.view())
    }
}

impl<'a> From<&RecordView<'a>> for SessionJson<'a> {
    fn from(r: &RecordView<'a>) -> Self {
        SessionJson {
            session_id: Shown(r.session_id),
            session_start_time: Shown(ContractTime(r.session_start_time)),
            user_name: r.user_name,
            client_ip: Shown(r.client_ip),
            current_command: r.current_command,
            previous_command: r.previous_command,
            command_start_time: OptionalTime(r.command_start_time),
            bytes_sent: r.bytes_sent,
            bytes_received: r.bytes_received,
            last_error_status: r.last_error_status,
            site_name: r.site_name,
            host_name: r.host_name,
            client_port: r.client_port,
            server_ip: Shown(r.server_ip),
            server_port: r.server_port,
            state: r.state.as_str(),
            current_directory: r.current_directory,
            idle_seconds: r.idle_seconds,
            data_mode: r.data_mode,
            transfer: r.transfer.map(TransferJson::from),
            tls: r.tls.map(TlsJson::from),
        }
    }
}

impl<'a> From<TransferView<'a>> for TransferJson<'a> {
    fn from(t: TransferView<'a>) -> Self {
        TransferJson {
            direction: t.direction.as_str(),
            path: t.path,
            bytes: t.bytes,
            size: t.size,
            start_time: Shown(ContractTime(t.start_time)),
            bytes_per_second: t.bytes_per_second,
        }
    }
}

impl<'a> From<&'a TlsRecord> for TlsJson<'a> {
    fn from(t: &'a TlsRecord) -> Self {
        TlsJson {
            control_protected: t.control_protected,
            data_protected: t.data_protected,
            protocol_version: &t.protocol_version,
            cipher_suite: &t.cipher_suite,
            data_channel_resumed: t.data_channel_resumed,
        }
    }
}

impl<'a> From<&'a EndedSession> for EndedSessionJson<'a> {
    fn from(e: &'a EndedSession) -> Self {
        EndedSessionJson {
            session: SessionJson::from(&e.record),
            end_reason: e.end_reason.as_str(),
            end_time: Shown(ContractTime(e.end_time)),
            terminated_by: e.terminated_by.as_deref(),
            terminate_reason: e.terminate_reason.as_deref(),
        }
    }
}

/// `{"sessions":[…]}` of the live sessions `keep` accepts, written straight from the
/// registry (see [`Registry::visit_sessions`]); the same bytes as [`sessions_body`].
pub fn live_sessions_body(
    registry: &Registry,
    site: Option<&str>,
    keep: impl Fn(&RecordView<'_>) -> bool,
) -> Vec<u8> {
    list_body(site, registry.len(), |write| {
        registry.visit_sessions(site, |view| {
            if keep(view) {
                write(view);
            }
        })
    })
}

/// `{"sessions":[…]}`, with `"site"` first on a site's route.
pub fn sessions_body(site: Option<&str>, records: &[SessionRecord]) -> Vec<u8> {
    list_body(site, records.len(), |write| {
        for record in records {
            write(&record.view());
        }
    })
}

/// The list object around the sessions `fill` passes to its writer, rendered by
/// [`list_writer::write_session`] (the serde views cost three times as much per session).
fn list_body(
    site: Option<&str>,
    expected: usize,
    fill: impl FnOnce(&mut dyn FnMut(&RecordView<'_>)),
) -> Vec<u8> {
    let mut out = Vec::with_capacity(expected * ESTIMATED_SESSION_BYTES + 64);
    out.push(b'{');
    if let Some(site) = site {
        out.extend_from_slice(b"\"site\":");
        list_writer::str_value(&mut out, site);
        out.push(b',');
    }
    out.extend_from_slice(b"\"sessions\":[");
    let mut first = true;
    fill(&mut |view| {
        if !first {
            out.push(b',');
        }
        first = false;
        list_writer::write_session(&mut out, view);
    });
    out.extend_from_slice(b"]}");
    out
}

/// `{"sessions":[<ended session>…]}`.
pub fn ended_body(ended: &[EndedSession]) -> Vec<u8> {
    #[derive(Serialize)]
    struct Body<'a> {
        sessions: Vec<EndedSessionJson<'a>>,
    }
    to_vec_sized(
        &Body {
            sessions: ended.iter().map(EndedSessionJson::from).collect(),
        },
        ended.len() * (ESTIMATED_SESSION_BYTES + 128),
    )
}

/// One session object.
pub fn session_body(record: &SessionRecord) -> Vec<u8> {
    to_vec(&SessionJson::from(record))
}

/// One ended session object.
pub fn ended_session_body(ended: &EndedSession) -> Vec<u8> {
    to_vec(&EndedSessionJson::from(ended))
}

/// About how many bytes one session takes in JSON (to size buffers once).
const ESTIMATED_SESSION_BYTES: usize = 640;

/// Serializes a view. The views hold only strings, numbers, booleans and options, which
/// `serde_json` cannot fail to write into a `Vec`.
pub fn to_vec<T: Serialize>(value: &T) -> Vec<u8> {
    to_vec_sized(value, 1024)
}

fn to_vec_sized<T: Serialize>(value: &T, capacity: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(capacity);
    match serde_json::to_writer(&mut out, value) {
        Ok(()) => out,
        Err(e) => {
            tracing::error!(error = %e, "JSON serialization failed");
            br#"{"error":"internal error"}"#.to_vec()
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::net::IpAddr;

    use time::macros::datetime;
    use uuid::Uuid;

    use super::*;
    use crate::registry::{EndReason, SessionState, TransferDirection, TransferRecord};

    /// The list written straight from the registry is byte for byte the list rendered from
    /// records, with and without a site, with a filter, a transfer, TLS, and characters
    /// JSON must escape.
    #[test]
    fn live_list_matches_the_list_of_records() {
        use std::sync::Arc;

        use crate::registry::{SessionHandle, TlsRecord};
        let registry = Registry::new(10);
        for (i, site) in ["alpha", "beta", "alpha"].into_iter().enumerate() {
            let handle = Arc::new(SessionHandle::new(
                Arc::from(site),
                format!("127.0.0.{}:5000{i}", i + 1).parse().unwrap(),
                "127.0.0.1:21".parse().unwrap(),
                tokio_util::sync::CancellationToken::new(),
                registry.events().clone(),
            ));
            registry.insert(handle.clone());
            handle.command_started(format!("USER \"u{i}\"\\"));
            handle.set_user(&format!("u{i}\u{e9}"));
            if i == 1 {
                handle.transfer_started(TransferDirection::Upload, "/a\tb".into(), Some(9));
                handle.set_tls(Some(TlsRecord {
                    control_protected: true,
                    protocol_version: "TLSv1_3".into(),
                    ..TlsRecord::default()
                }));
            }
        }
        let records = registry.sessions(None);
        assert_eq!(records.len(), 3);
        // The views are taken at another instant than the records: only `idleSeconds` could
        // differ, and it is 0 here.
        assert_eq!(
            live_sessions_body(&registry, None, |_| true),
            sessions_body(None, &records)
        );
        let alpha = registry.sessions(Some("alpha"));
        assert_eq!(
            live_sessions_body(&registry, Some("alpha"), |_| true),
            sessions_body(Some("alpha"), &alpha)
        );
        let kept: Vec<_> = records
            .iter()
            .filter(|r| r.user_name != "u0\u{e9}")
            .cloned()
            .collect();
        assert_eq!(
            live_sessions_body(&registry, None, |r| r.user_name != "u0\u{e9}"),
            sessions_body(None, &kept)
        );
        assert_eq!(
            live_sessions_body(&registry, Some("gamma"), |_| true),
            br#"{"site":"gamma","sessions":[]}"#
        );
    }

    /// The hand-written list writer produces exactly what the serde views produce: values
    /// needing every kind of escaping, both address families, times in and out of the
    /// four-digit-year range, and every optional part present and absent.
    #[test]
    fn list_writer_matches_the_serde_views() {
        use time::{Date, Duration, Month, Time};

        use crate::registry::TlsRecord;
        let strings: Vec<String> = (0u8..0x20)
            .map(|b| format!("a{}b", b as char))
            .chain(
                [
                    "",
                    "\"",
                    "\\",
                    "\u{7f}",
                    "\u{e9}t\u{e9}",
                    "\u{1f600} \"q\" \\ / </x>",
                    "plain",
                ]
                .map(String::from),
            )
            .collect();
        let ips = [
            "127.0.0.1",
            "::1",
            "::ffff:10.0.0.1",
            "2001:db8::42",
            "0.0.0.0",
        ];
        let states = [
            SessionState::Authenticating,
            SessionState::Idle,
            SessionState::Executing,
            SessionState::Transferring,
            SessionState::Closing,
        ];
        let early = OffsetDateTime::new_utc(
            Date::from_calendar_date(-12, Month::March, 4).unwrap(),
            Time::MIDNIGHT,
        );
        for (i, text) in strings.iter().enumerate() {
            let other = &strings[(i + 7) % strings.len()];
            let mut r = sample_record();
            r.user_name = text.clone();
            r.current_command = other.clone();
            r.previous_command = text.clone();
            r.site_name = other.clone();
            r.host_name = text.clone();
            r.current_directory = other.clone();
            r.data_mode = text.clone();
            r.client_ip = ips[i % ips.len()].parse().unwrap();
            r.server_ip = ips[(i + 1) % ips.len()].parse().unwrap();
            r.state = states[i % states.len()];
            r.session_start_time = if i == 3 {
                early
            } else {
                r.session_start_time + Duration::milliseconds(i as i64 * 1_013)
            };
            r.command_start_time =
                (i % 2 == 0).then(|| r.session_start_time + Duration::microseconds(i as i64 * 7));
            r.bytes_sent = u64::MAX - i as u64;
            r.bytes_received = i as u64;
            r.last_error_status = [0, 150, 226, 550][i % 4];
            r.idle_seconds = i as u64 * 1_000;
            r.client_port = u16::MAX - i as u16;
            r.transfer = match i % 3 {
                0 => None,
                1 => r.transfer.map(|t| TransferRecord {
                    size: Some(u64::MAX),
                    ..t
                }),
                _ => r.transfer.map(|t| TransferRecord {
                    direction: TransferDirection::Upload,
                    path: text.clone(),
                    ..t
                }),
            };
            r.tls = (i % 2 == 1).then(|| TlsRecord {
                control_protected: i % 4 == 1,
                data_protected: i % 4 == 3,
                protocol_version: text.clone(),
                cipher_suite: other.clone(),
                data_channel_resumed: i % 8 == 1,
            });
            let mut fast = Vec::new();
            list_writer::write_session(&mut fast, &r.view());
            assert_eq!(
                String::from_utf8(fast).unwrap(),
                String::from_utf8(session_body(&r)).unwrap(),
                "string {i}: {text:?}"
            );
            // The list around it, with a site name that needs escaping too.
            let listed: serde_json::Value =
                serde_json::from_slice(&sessions_body(Some(text), std::slice::from_ref(&r)))
                    .unwrap();
            let one: serde_json::Value = serde_json::from_slice(&session_body(&r)).unwrap();
            assert_eq!(
                sessions_body(Some(text), std::slice::from_ref(&r)),
                serde_json::to_vec(&serde_json::json!({"site": text, "sessions": [one]})).unwrap()
            );
            assert_eq!(listed["site"], serde_json::Value::String(text.clone()));
        }
    }

    pub(crate) fn sample_record() -> SessionRecord {
        SessionRecord {
            session_id: Uuid::parse_str("0b7e1c2a-5d2c-4f6e-9a1b-3c4d5e6f7a8b").unwrap(),
            session_start_time: datetime!(2026-11-24 09:41:12.345 UTC),
            user_name: "<Anonymous>".into(),
            client_ip: "::1".parse::<IpAddr>().unwrap(),
            current_command: "RETR /x".into(),
            previous_command: "PASV".into(),
            command_start_time: None,
            bytes_sent: 10,
            bytes_received: 20,
            last_error_status: 150,
            site_name: "Default FTP Site".into(),
            host_name: String::new(),
            client_port: 50123,
            server_ip: "::1".parse().unwrap(),
            server_port: 2121,
            state: SessionState::Transferring,
            current_directory: "/".into(),
            idle_seconds: 0,
            data_mode: "PASV".into(),
            transfer: Some(TransferRecord {
                direction: TransferDirection::Download,
                path: "/x".into(),
                bytes: 123,
                size: None,
                start_time: datetime!(2026-11-24 09:41:13 UTC),
                bytes_per_second: 789,
            }),
            tls: None,
        }
    }

    fn keys(v: &serde_json::Value) -> Vec<String> {
        v.as_object().unwrap().keys().cloned().collect()
    }

    #[test]
    fn session_json_has_exactly_the_contract_attributes() {
        let v: serde_json::Value = serde_json::from_slice(&session_body(&sample_record())).unwrap();
        let mut got = keys(&v);
        got.sort();
        let mut want: Vec<String> = crate::admin::tests::SESSION_KEYS
            .iter()
            .map(|s| s.to_string())
            .collect();
        want.sort();
        assert_eq!(got, want);
        assert_eq!(v["sessionStartTime"], "2026-11-24T09:41:12.345Z");
        assert_eq!(v["commandStartTime"], "");
        assert_eq!(v["clientIp"], "::1");
        assert_eq!(v["state"], "transferring");
        assert_eq!(v["tls"], serde_json::Value::Null);
        let t = &v["transfer"];
        let mut tk = keys(t);
        tk.sort();
        assert_eq!(
            tk,
            [
                "bytes",
                "bytesPerSecond",
                "direction",
                "path",
                "size",
                "startTime"
            ]
        );
        assert_eq!(t["size"], serde_json::Value::Null);
        assert_eq!(t["startTime"], "2026-11-24T09:41:13.000Z");
        assert_eq!(t["direction"], "download");
    }

    #[test]
    fn tls_json_names() {
        let mut r = sample_record();
        r.tls = Some(TlsRecord {
            control_protected: true,
            data_protected: false,
            protocol_version: "TLSv1.3".into(),
            cipher_suite: "TLS13_AES_256_GCM_SHA384".into(),
            data_channel_resumed: false,
        });
        let v: serde_json::Value = serde_json::from_slice(&session_body(&r)).unwrap();
        assert_eq!(
            v["tls"],
            serde_json::json!({"controlProtected": true, "dataProtected": false,
                "protocolVersion": "TLSv1.3", "cipherSuite": "TLS13_AES_256_GCM_SHA384",
                "dataChannelResumed": false})
        );
        assert_eq!(keys(&v["tls"])[0], "controlProtected");
        let xml = String::from_utf8(crate::admin::negotiate::session_xml(&r)).unwrap();
        assert!(xml.contains("<tls controlProtected=\"true\" dataProtected=\"false\" protocolVersion=\"TLSv1.3\" cipherSuite=\"TLS13_AES_256_GCM_SHA384\" dataChannelResumed=\"false\" /></session>"), "{xml}");
    }

    #[test]
    fn ended_json_adds_end_fields_with_nulls() {
        let ended = EndedSession {
            record: sample_record(),
            end_reason: EndReason::ClientClosed,
            end_time: datetime!(2026-11-24 10:00:00.5 UTC),
            terminated_by: None,
            terminate_reason: None,
        };
        let v: serde_json::Value = serde_json::from_slice(&ended_session_body(&ended)).unwrap();
        assert_eq!(v["endReason"], "clientClosed");
        assert_eq!(v["endTime"], "2026-11-24T10:00:00.500Z");
        assert_eq!(v["terminatedBy"], serde_json::Value::Null);
        assert_eq!(v["terminateReason"], serde_json::Value::Null);
        assert_eq!(v["sessionId"], "0b7e1c2a-5d2c-4f6e-9a1b-3c4d5e6f7a8b");
        assert_eq!(keys(&v).len(), 25);
    }
}
