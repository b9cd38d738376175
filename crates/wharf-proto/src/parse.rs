//! `parse(line) -> Command`: the one entry point from control-line bytes to a typed command.

use crate::command::Command;

/// Why a line did not parse; the server maps each kind to a reply code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// Empty line or no verb: reply 500.
    Empty,
    /// The verb is known but its arguments are missing or malformed: reply 501.
    /// Carries the verb (upper-case) and a short human message.
    BadArgument {
        /// Upper-case verb.
        verb: String,
        /// Human-readable reason, safe to send to the client.
        message: String,
    },
    /// The parameter is understood but not implemented (e.g. `TYPE E`): reply 504.
    Unsupported {
        /// Upper-case verb.
        verb: String,
        /// Human-readable reason.
        message: String,
    },
    /// The line is not valid UTF-8 (or contains NUL): reply 501.
    Encoding,
}

/// Parses one control line (without its CRLF, Telnet sequences already removed).
///
/// Verbs are case-insensitive; exactly one space separates verb and argument, but
/// extra spaces before the argument are tolerated. Path arguments keep inner and
/// trailing spaces (file names may have them).
pub fn parse(line: &[u8]) -> Result<Command, ParseError> {
    let _ = line;
    todo!()
}
