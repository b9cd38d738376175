//! `SessionRecord`: a snapshot of one session with the IIS attributes and Wharf extensions.

use std::net::IpAddr;

use time::OffsetDateTime;
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

/// A [`SessionRecord`] borrowed from where its values live (a live session under its lock,
/// or a stored record): what renderers and filters read.
#[derive(Debug, Clone, Copy)]
pub struct RecordView<'a> {
    /// See [`SessionRecord::session_id`].
    pub session_id: Uuid,
    /// See [`SessionRecord::session_start_time`].
    pub session_start_time: OffsetDateTime,
    /// See [`SessionRecord::user_name`].
    pub user_name: &'a str,
    /// See [`SessionRecord::client_ip`].
    pub client_ip: IpAddr,
    /// See [`SessionRecord::current_command`].
    pub current_command: &'a str,
    /// See [`SessionRecord::previous_command`].
    pub previous_command: &'a str,
    /// See [`SessionRecord::command_start_time`].
    pub command_start_time: Option<OffsetDateTime>,
    /// See [`SessionRecord::bytes_sent`].
    pub bytes_sent: u64,
    /// See [`SessionRecord::bytes_received`].
    pub bytes_received: u64,
    /// See [`SessionRecord::last_error_status`].
    pub last_error_status: u16,
    /// See [`SessionRecord::site_name`].
    pub site_name: &'a str,
    /// See [`SessionRecord::host_name`].
    pub host_name: &'a str,
    /// See [`SessionRecord::client_port`].
    pub client_port: u16,
    /// See [`SessionRecord::server_ip`].
    pub server_ip: IpAddr,
    /// See [`SessionRecord::server_port`].
    pub server_port: u16,
    /// See [`SessionRecord::state`].
    pub state: SessionState,
    /// See [`SessionRecord::current_directory`].
    pub current_directory: &'a str,
    /// See [`SessionRecord::idle_seconds`].
    pub idle_seconds: u64,
    /// See [`SessionRecord::data_mode`].
    pub data_mode: &'a str,
    /// See [`SessionRecord::transfer`].
    pub transfer: Option<TransferView<'a>>,
    /// See [`SessionRecord::tls`].
    pub tls: Option<&'a TlsRecord>,
}

/// A [`TransferRecord`], borrowed.
#[derive(Debug, Clone, Copy)]
pub struct TransferView<'a> {
    /// See [`TransferRecord::direction`].
    pub direction: TransferDirection,
    /// See [`TransferRecord::path`].
    pub path: &'a str,
    /// See [`TransferRecord::bytes`].
    pub bytes: u64,
    /// See [`TransferRecord::size`].
    pub size: Option<u64>,
    /// See [`TransferRecord::start_time`].
    pub start_time: OffsetDateTime,
    /// See [`TransferRecord::bytes_per_second`].
    pub bytes_per_second: u64,
}

impl RecordView<'_> {
    /// The owned record.
    pub fn to_record(&self) -> SessionRecord {
        SessionRecord {
            session_id: self.session_id,
            session_start_time: self.session_start_time,
            user_name: self.user_name.to_string(),
            client_ip: self.client_ip,
            current_command: self.current_command.to_string(),
            previous_command: self.previous_command.to_string(),
            command_start_time: self.command_start_time,
            bytes_sent: self.bytes_sent,
            bytes_received: self.bytes_received,
            last_error_status: self.last_error_status,
            site_name: self.site_name.to_string(),
            host_name: self.host_name.to_string(),
            client_port: self.client_port,
            server_ip: self.server_ip,
            server_port: self.server_port,
            state: self.state,
            current_directory: self.current_directory.to_string(),
            idle_seconds: self.idle_seconds,
            data_mode: self.data_mode.to_string(),
            transfer: self.transfer.map(|t| TransferRecord {
                direction: t.direction,
                path: t.path.to_string(),
                bytes: t.bytes,
                size: t.size,
                start_time: t.start_time,
                bytes_per_second: t.bytes_per_second,
            }),
            tls: self.tls.cloned(),
        }
    }
}

impl SessionRecord {
    /// This record, borrowed.
    pub fn view(&self) -> RecordView<'_> {
        RecordView {
            session_id: self.session_id,
            session_start_time: self.session_start_time,
            user_name: &self.user_name,
            client_ip: self.client_ip,
            current_command: &self.current_command,
            previous_command: &self.previous_command,
            command_start_time: self.command_start_time,
            bytes_sent: self.bytes_sent,
            bytes_received: self.bytes_received,
            last_error_status: self.last_error_status,
            site_name: &self.site_name,
            host_name: &self.host_name,
            client_port: self.client_port,
            server_ip: self.server_ip,
            server_port: self.server_port,
            state: self.state,
            current_directory: &self.current_directory,
            idle_seconds: self.idle_seconds,
            data_mode: &self.data_mode,
            transfer: self.transfer.as_ref().map(|t| TransferView {
                direction: t.direction,
                path: &t.path,
                bytes: t.bytes,
                size: t.size,
                start_time: t.start_time,
                bytes_per_second: t.bytes_per_second,
            }),
            tls: self.tls.as_ref(),
        }
    }
}

/// RFC 3339 UTC with milliseconds, e.g. `2026-11-24T09:41:12.345Z` (the contract format).
pub fn format_time(t: OffsetDateTime) -> String {
    ContractTime(t).to_string()
}

/// Displays a time in the contract format without allocating (JSON and XML writers format
/// tens of thousands of these per session list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContractTime(pub OffsetDateTime);

impl ContractTime {
    /// Length of [`ContractTime::encode`]'s text.
    pub const LEN: usize = 24;

    /// The contract text as bytes, or `None` for a year outside 0..=9999 (which
    /// [`Display`](std::fmt::Display) then writes with more digits or a sign).
    pub fn encode(&self) -> Option<[u8; Self::LEN]> {
        let t = self.0.to_offset(time::UtcOffset::UTC);
        let year = u32::try_from(t.year()).ok().filter(|y| *y <= 9999)?;
        let mut out = *b"0000-00-00T00:00:00.000Z";
        let mut put = |at: usize, width: usize, mut value: u32| {
            for i in (at..at + width).rev() {
                out[i] = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        put(0, 4, year);
        put(5, 2, u8::from(t.month()).into());
        put(8, 2, t.day().into());
        put(11, 2, t.hour().into());
        put(14, 2, t.minute().into());
        put(17, 2, t.second().into());
        put(20, 3, t.millisecond().into());
        Some(out)
    }
}

impl std::fmt::Display for ContractTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(text) = self.encode() {
            // Only ASCII digits and separators were written.
            return f.write_str(std::str::from_utf8(&text).map_err(|_| std::fmt::Error)?);
        }
        let t = self.0.to_offset(time::UtcOffset::UTC);
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond()
        )
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
        let t = time::macros::datetime!(2026-01-02 03:04:05.006 +02:00);
        assert_eq!(format_time(t), "2026-01-02T01:04:05.006Z");
        let t = time::macros::datetime!(0001-12-31 23:59:59.999 UTC);
        assert_eq!(format_time(t), "0001-12-31T23:59:59.999Z");
        let t = time::macros::datetime!(9999-01-01 00:00:00 UTC);
        assert_eq!(format_time(t), "9999-01-01T00:00:00.000Z");
    }
}
