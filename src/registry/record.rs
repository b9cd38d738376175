//! `SessionRecord`: a snapshot of one session with the IIS attributes and Wharf extensions.

use std::net::IpAddr;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::handle::{SessionState, TransferDirection};

/// The current transfer of a session (`transfer` extension).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRecord {
    /// `download` (RETR, listings) or `upload`.
    pub direction: TransferDirection,
    /// Virtual path being transferred.
    pub path: String,
    /// Payload bytes moved so far in this transfer.
    pub bytes: u64,
    /// Total size when known (downloads).
    pub size: Option<u64>,
    /// When the transfer started.
    pub start_time: OffsetDateTime,
    /// Average rate since the start, measured by the server.
    pub bytes_per_second: u64,
}

/// TLS state of a session (`tls` extension).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsRecord {
    /// The control channel is protected.
    pub control_protected: bool,
    /// Data connections are protected (PROT P).
    pub data_protected: bool,
    /// Negotiated protocol version, e.g. `TLSv1.3`.
    pub protocol_version: String,
    /// Negotiated cipher suite, e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher_suite: String,
    /// The last data connection resumed the control connection's TLS session.
    pub data_channel_resumed: bool,
}

/// A point-in-time view of a session. Field names map one-to-one to the IIS attributes
/// (`session_id` → `sessionId`, …) and the documented extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// `sessionId`
    pub session_id: Uuid,
    /// `sessionStartTime`
    pub session_start_time: OffsetDateTime,
    /// `userName`: empty before login, `<Anonymous>`, or the account name.
    pub user_name: String,
    /// `clientIp`
    pub client_ip: IpAddr,
    /// `currentCommand`
    pub current_command: String,
    /// `previousCommand`
    pub previous_command: String,
    /// `commandStartTime` (`None` before the first command).
    pub command_start_time: Option<OffsetDateTime>,
    /// `bytesSent`
    pub bytes_sent: u64,
    /// `bytesReceived`
    pub bytes_received: u64,
    /// `lastErrorStatus`: last reply code sent (0 before any).
    pub last_error_status: u16,
    /// `siteName`
    pub site_name: String,
    /// `hostName`: the virtual host chosen, empty when none.
    pub host_name: String,
    /// `clientPort`
    pub client_port: u16,
    /// `serverIp`
    pub server_ip: IpAddr,
    /// `serverPort`
    pub server_port: u16,
    /// `state`
    pub state: SessionState,
    /// `currentDirectory`
    pub current_directory: String,
    /// `idleSeconds`: since the last command was received (0 while one runs).
    pub idle_seconds: u64,
    /// `dataMode`: PASV, EPSV, PORT, EPRT or empty.
    pub data_mode: String,
    /// `transfer`
    pub transfer: Option<TransferRecord>,
    /// `tls`: `None` while the control channel is clear text.
    pub tls: Option<TlsRecord>,
}

/// RFC 3339 UTC with milliseconds, e.g. `2026-11-24T09:41:12.345Z` (the contract format).
pub fn format_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let millis = t.millisecond();
    let t = t
        .replace_nanosecond(u32::from(millis) * 1_000_000)
        .unwrap_or(t);
    // Rfc3339 prints the fraction only when non-zero and with as many digits as needed,
    // so format the seconds part ourselves to always get exactly three digits.
    let base = t
        .replace_nanosecond(0)
        .unwrap_or(t)
        .format(&Rfc3339)
        .unwrap_or_default();
    match base.strip_suffix('Z') {
        Some(head) => format!("{head}.{millis:03}Z"),
        None => base,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_format_has_exactly_three_fraction_digits() {
        let t = time::macros::datetime!(2026-11-24 09:41:12.3456 UTC);
        assert_eq!(format_time(t), "2026-11-24T09:41:12.345Z");
        let t = time::macros::datetime!(2026-11-24 09:41:12 UTC);
        assert_eq!(format_time(t), "2026-11-24T09:41:12.000Z");
    }
}
