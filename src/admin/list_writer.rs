//! The session list's JSON, written by hand.
//!
//! `GET /api/v1/sessions` renders every live session (4.9 MB for 10,000) while transfers
//! run, and on a 2-core machine every millisecond of it is taken from them. Through
//! serde, a third of the time went to escaping member names and plain ASCII values one
//! byte at a time and a fifth to `fmt` machinery for times, addresses and numbers. Here
//! the names are constants, values without a character JSON must escape are copied
//! whole, and times, addresses and numbers are formatted without `fmt`.
//!
//! The serde views in [`super::json`] stay the definition of the shape: the tests prove
//! this writer produces the same bytes for values that need every kind of escaping.

use std::io::Write as _;
use std::net::IpAddr;

use time::OffsetDateTime;

use crate::registry::record::ContractTime;
use crate::registry::{RecordView, TlsRecord, TransferView};

/// Appends one `<session>` object, byte for byte what serializing
/// [`super::json::SessionJson`] writes.
pub fn write_session(out: &mut Vec<u8>, v: &RecordView<'_>) {
    out.extend_from_slice(b"{\"sessionId\":\"");
    out.extend_from_slice(
        v.session_id
            .hyphenated()
            .encode_lower(&mut uuid::Uuid::encode_buffer())
            .as_bytes(),
    );
    out.extend_from_slice(b"\",\"sessionStartTime\":");
    time_value(out, v.session_start_time);
    out.extend_from_slice(b",\"userName\":");
    str_value(out, v.user_name);
    out.extend_from_slice(b",\"clientIp\":");
    ip_value(out, v.client_ip);
    out.extend_from_slice(b",\"currentCommand\":");
    str_value(out, v.current_command);
    out.extend_from_slice(b",\"previousCommand\":");
    str_value(out, v.previous_command);
    out.extend_from_slice(b",\"commandStartTime\":");
    match v.command_start_time {
        Some(t) => time_value(out, t),
        None => out.extend_from_slice(b"\"\""),
    }
    out.extend_from_slice(b",\"bytesSent\":");
    number(out, v.bytes_sent);
    out.extend_from_slice(b",\"bytesReceived\":");
    number(out, v.bytes_received);
    out.extend_from_slice(b",\"lastErrorStatus\":");
    number(out, v.last_error_status);
    out.extend_from_slice(b",\"siteName\":");
    str_value(out, v.site_name);
    out.extend_from_slice(b",\"hostName\":");
    str_value(out, v.host_name);
    out.extend_from_slice(b",\"clientPort\":");
    number(out, v.client_port);
    out.extend_from_slice(b",\"serverIp\":");
    ip_value(out, v.server_ip);
    out.extend_from_slice(b",\"serverPort\":");
    number(out, v.server_port);
    out.extend_from_slice(b",\"state\":");
    str_value(out, v.state.as_str());
    out.extend_from_slice(b",\"currentDirectory\":");
    str_value(out, v.current_directory);
    out.extend_from_slice(b",\"idleSeconds\":");
    number(out, v.idle_seconds);
    out.extend_from_slice(b",\"dataMode\":");
    str_value(out, v.data_mode);
    out.extend_from_slice(b",\"transfer\":");
    match &v.transfer {
        Some(t) => transfer_object(out, t),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"tls\":");
    match v.tls {
        Some(t) => tls_object(out, t),
        None => out.extend_from_slice(b"null"),
    }
    out.push(b'}');
}

fn transfer_object(out: &mut Vec<u8>, t: &TransferView<'_>) {
    out.extend_from_slice(b"{\"direction\":");
    str_value(out, t.direction.as_str());
    out.extend_from_slice(b",\"path\":");
    str_value(out, t.path);
    out.extend_from_slice(b",\"bytes\":");
    number(out, t.bytes);
    out.extend_from_slice(b",\"size\":");
    match t.size {
        Some(size) => number(out, size),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"startTime\":");
    time_value(out, t.start_time);
    out.extend_from_slice(b",\"bytesPerSecond\":");
    number(out, t.bytes_per_second);
    out.push(b'}');
}

fn tls_object(out: &mut Vec<u8>, t: &TlsRecord) {
    out.extend_from_slice(b"{\"controlProtected\":");
    boolean(out, t.control_protected);
    out.extend_from_slice(b",\"dataProtected\":");
    boolean(out, t.data_protected);
    out.extend_from_slice(b",\"protocolVersion\":");
    str_value(out, &t.protocol_version);
    out.extend_from_slice(b",\"cipherSuite\":");
    str_value(out, &t.cipher_suite);
    out.extend_from_slice(b",\"dataChannelResumed\":");
    boolean(out, t.data_channel_resumed);
    out.push(b'}');
}

/// A JSON string. Values with nothing to escape (nearly all: names, commands, paths) are
/// copied whole; the rest go through `serde_json`, so escaping has one definition.
pub fn str_value(out: &mut Vec<u8>, s: &str) {
    if s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        // Writing a str into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    } else {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    }
}

fn time_value(out: &mut Vec<u8>, t: OffsetDateTime) {
    out.push(b'"');
    match ContractTime(t).encode() {
        Some(text) => out.extend_from_slice(&text),
        // Digits, separators and a sign only: nothing to escape.
        None => {
            let _ = write!(out, "{}", ContractTime(t));
        }
    }
    out.push(b'"');
}

fn ip_value(out: &mut Vec<u8>, ip: IpAddr) {
    out.push(b'"');
    match ip {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                number(out, octet);
            }
        }
        // Hex digits, colons and dots only: nothing to escape.
        IpAddr::V6(v6) => {
            let _ = write!(out, "{v6}");
        }
    }
    out.push(b'"');
}

fn number(out: &mut Vec<u8>, n: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

fn boolean(out: &mut Vec<u8>, b: bool) {
    out.extend_from_slice(if b { b"true" } else { b"false" });
}
