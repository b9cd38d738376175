//! `parse(line) -> Command`: the one entry point from control-line bytes to a typed command.

use crate::command::{
    Command, EpsvArg, ListArgs, OptsArg, Password, ProtLevel, SiteCmd, StructureCode, TransferMode,
    TypeCode, UnixTime,
};
use crate::hostport;
use crate::listing;

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

impl ParseError {
    /// The reply code RFC 959 suggests for this error (500, 501 or 504).
    pub fn reply_code(&self) -> u16 {
        match self {
            ParseError::Empty => 500,
            ParseError::BadArgument { .. } | ParseError::Encoding => 501,
            ParseError::Unsupported { .. } => 504,
        }
    }
}

fn bad(verb: &str, message: impl Into<String>) -> ParseError {
    ParseError::BadArgument {
        verb: verb.to_owned(),
        message: message.into(),
    }
}

fn unsupported(verb: &str, message: impl Into<String>) -> ParseError {
    ParseError::Unsupported {
        verb: verb.to_owned(),
        message: message.into(),
    }
}

/// Telnet command bytes (0xF0..=0xFF) that may precede a verb when a client's
/// Telnet IP/Synch reached us without its `IAC` (e.g. `DM` after an urgent `IAC`).
fn is_telnet_residue(b: u8) -> bool {
    b >= 0xF0
}

/// Parses one control line (without its CRLF, Telnet sequences already removed).
///
/// Verbs are case-insensitive; exactly one space separates verb and argument, but
/// extra spaces before the argument are tolerated. Path arguments keep inner and
/// trailing spaces (file names may have them).
///
/// Details:
/// - Leading spaces and stray Telnet command bytes (0xF0..=0xFF, left over from an
///   `ABOR` sent with Telnet IP/Synch) before the verb are skipped.
/// - A NUL byte anywhere, or invalid UTF-8, gives [`ParseError::Encoding`].
/// - Path arguments: all spaces between verb and argument are removed (so a name
///   cannot start with a space); everything after that is kept verbatim.
/// - `PASS` is the exception: exactly one separator space is removed and the rest,
///   possibly empty or starting with spaces, is the password.
/// - Keyword and number arguments (`TYPE`, `MODE`, `REST`, `PORT`, …) are trimmed.
/// - Verbs that take no argument ignore one if given (`NOOP x` is `NOOP`).
/// - `LIST`/`NLST`: leading words of the form `-` followed by ASCII letters or digits
///   are options; the rest, if not empty, is the path (`LIST -foo.txt` is a path).
/// - `EPRT`/`EPSV` with a protocol number other than 1 or 2 give
///   [`ParseError::Unsupported`] (RFC 2428 wants reply 522 for that).
pub fn parse(line: &[u8]) -> Result<Command, ParseError> {
    if line.contains(&0) {
        return Err(ParseError::Encoding);
    }
    let start = line
        .iter()
        .position(|&b| b != b' ' && !is_telnet_residue(b))
        .unwrap_or(line.len());
    let text = std::str::from_utf8(&line[start..]).map_err(|_| ParseError::Encoding)?;
    if text.is_empty() {
        return Err(ParseError::Empty);
    }
    let (verb_raw, raw_arg) = match text.find(' ') {
        Some(i) => (&text[..i], &text[i + 1..]),
        None => (text, ""),
    };
    let verb = verb_raw.to_ascii_uppercase();
    // Argument with all leading spaces removed, trailing kept (paths).
    let arg = raw_arg.trim_start_matches(' ');
    // Argument trimmed on both sides (keywords, numbers).
    let word = arg.trim();
    let v = verb.as_str();

    let cmd = match v {
        "USER" => Command::User(required(v, word, "a user name")?.to_owned()),
        "PASS" => Command::Pass(Password(raw_arg.to_owned())),
        "ACCT" => Command::Acct(required(v, arg, "account information")?.to_owned()),
        "QUIT" => Command::Quit,
        "REIN" => Command::Rein,
        "CWD" | "XCWD" => Command::Cwd(path(v, arg)?),
        "CDUP" | "XCUP" => Command::Cdup,
        "PWD" | "XPWD" => Command::Pwd,
        "MKD" | "XMKD" => Command::Mkd(path(v, arg)?),
        "RMD" | "XRMD" => Command::Rmd(path(v, arg)?),
        "DELE" => Command::Dele(path(v, arg)?),
        "RNFR" => Command::Rnfr(path(v, arg)?),
        "RNTO" => Command::Rnto(path(v, arg)?),
        "PORT" => {
            let a = required(v, word, "an address h1,h2,h3,h4,p1,p2")?;
            Command::Port(
                hostport::parse_port(a)
                    .ok_or_else(|| bad(v, "Invalid PORT argument, expected h1,h2,h3,h4,p1,p2"))?,
            )
        }
        "PASV" => Command::Pasv,
        "EPRT" => Command::Eprt(parse_eprt_arg(word)?),
        "EPSV" => Command::Epsv(parse_epsv_arg(word)?),
        "TYPE" => Command::Type(parse_type(word)?),
        "STRU" => Command::Stru(match keyword(v, word, "F, R or P")?.as_str() {
            "F" => StructureCode::File,
            "R" => StructureCode::Record,
            "P" => StructureCode::Page,
            _ => return Err(bad(v, "Unknown structure, expected F, R or P")),
        }),
        "MODE" => Command::Mode(match keyword(v, word, "S, B or C")?.as_str() {
            "S" => TransferMode::Stream,
            "B" => TransferMode::Block,
            "C" => TransferMode::Compressed,
            _ => return Err(bad(v, "Unknown mode, expected S, B or C")),
        }),
        "RETR" => Command::Retr(path(v, arg)?),
        "STOR" => Command::Stor(path(v, arg)?),
        "STOU" => Command::Stou(optional(arg)),
        "APPE" => Command::Appe(path(v, arg)?),
        "ALLO" => Command::Allo,
        "REST" => Command::Rest(number(v, word, "a byte offset")?),
        "ABOR" => Command::Abor,
        "LIST" => Command::List(list_args(arg)),
        "NLST" => Command::Nlst(list_args(arg)),
        "MLSD" => Command::Mlsd(optional(arg)),
        "MLST" => Command::Mlst(optional(arg)),
        "SIZE" => Command::Size(path(v, arg)?),
        "MDTM" => Command::Mdtm(path(v, arg)?),
        "MFMT" => parse_mfmt(arg)?,
        "FEAT" => Command::Feat,
        "OPTS" => Command::Opts(parse_opts(arg)?),
        "SYST" => Command::Syst,
        "STAT" => Command::Stat(optional(arg)),
        "HELP" => Command::Help(optional(word).map(|s| s.to_ascii_uppercase())),
        "NOOP" => Command::Noop,
        "SITE" => Command::Site(parse_site(arg)?),
        "HOST" => Command::Host(required(v, word, "a host name")?.to_owned()),
        "CLNT" => Command::Clnt(required(v, word, "a client name")?.to_owned()),
        "AUTH" => Command::Auth(required(v, word, "a mechanism, e.g. TLS")?.to_ascii_uppercase()),
        "PBSZ" => Command::Pbsz(number(v, word, "a buffer size")?),
        "PROT" => Command::Prot(match keyword(v, word, "C, S, E or P")?.as_str() {
            "C" => ProtLevel::Clear,
            "S" => ProtLevel::Safe,
            "E" => ProtLevel::Confidential,
            "P" => ProtLevel::Private,
            _ => return Err(bad(v, "Unknown protection level, expected C, S, E or P")),
        }),
        "CCC" => Command::Ccc,
        _ => Command::Unknown(verb),
    };
    Ok(cmd)
}

/// A non-empty argument, or a 501 naming what was expected.
fn required<'a>(verb: &str, arg: &'a str, what: &str) -> Result<&'a str, ParseError> {
    if arg.is_empty() {
        Err(bad(verb, format!("{verb} requires {what}")))
    } else {
        Ok(arg)
    }
}

/// A required path argument (kept verbatim apart from leading spaces).
fn path(verb: &str, arg: &str) -> Result<String, ParseError> {
    if arg.trim().is_empty() {
        return Err(bad(verb, format!("{verb} requires a path name")));
    }
    Ok(arg.to_owned())
}

/// An optional argument: `None` when empty or only spaces.
fn optional(arg: &str) -> Option<String> {
    if arg.trim().is_empty() {
        None
    } else {
        Some(arg.to_owned())
    }
}

/// A required single keyword, upper-cased for matching.
fn keyword(verb: &str, word: &str, what: &str) -> Result<String, ParseError> {
    Ok(required(verb, word, what)?.to_ascii_uppercase())
}

/// A decimal `u64` made of ASCII digits only.
fn number(verb: &str, word: &str, what: &str) -> Result<u64, ParseError> {
    let w = required(verb, word, what)?;
    parse_u64(w).ok_or_else(|| bad(verb, format!("{verb} requires {what} as a decimal number")))
}

fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_eprt_arg(word: &str) -> Result<std::net::SocketAddr, ParseError> {
    const V: &str = "EPRT";
    let a = required(V, word, "an address |proto|addr|port|")?;
    if let Some(addr) = hostport::parse_eprt(a) {
        return Ok(addr);
    }
    // Well-formed but for an unknown network protocol: RFC 2428 reply 522.
    let mut chars = a.chars();
    if let Some(d) = chars.next() {
        let fields: Vec<&str> = a[d.len_utf8()..].split(d).collect();
        if fields.len() == 4
            && fields[3].is_empty()
            && parse_u64(fields[0]).is_some_and(|p| p != 1 && p != 2)
        {
            return Err(unsupported(V, "Network protocol not supported, use (1,2)"));
        }
    }
    Err(bad(V, "Invalid EPRT argument, expected |proto|addr|port|"))
}

fn parse_epsv_arg(word: &str) -> Result<EpsvArg, ParseError> {
    const V: &str = "EPSV";
    if word.is_empty() {
        return Ok(EpsvArg::Default);
    }
    if word.eq_ignore_ascii_case("ALL") {
        return Ok(EpsvArg::All);
    }
    match parse_u64(word) {
        Some(1) => Ok(EpsvArg::Protocol(1)),
        Some(2) => Ok(EpsvArg::Protocol(2)),
        Some(_) => Err(unsupported(V, "Network protocol not supported, use (1,2)")),
        None => Err(bad(V, "Invalid EPSV argument, expected 1, 2 or ALL")),
    }
}

fn parse_type(word: &str) -> Result<TypeCode, ParseError> {
    const V: &str = "TYPE";
    let w = required(V, word, "a type code (A or I)")?.to_ascii_uppercase();
    let parts: Vec<&str> = w.split_ascii_whitespace().collect();
    match parts.as_slice() {
        ["A"] | ["A", "N"] => Ok(TypeCode::Ascii),
        ["A", "T" | "C"] | ["E"] | ["E", "N" | "T" | "C"] => {
            Err(unsupported(V, "Type not implemented, use A or I"))
        }
        ["I"] => Ok(TypeCode::Image),
        ["L", size] => match parse_u64(size) {
            Some(8) => Ok(TypeCode::Image),
            Some(_) => Err(unsupported(V, "Only byte size 8 is supported")),
            None => Err(bad(V, "TYPE L requires a byte size")),
        },
        ["L8"] => Ok(TypeCode::Image),
        _ => Err(bad(V, "Unknown type, expected A, I or L 8")),
    }
}

fn list_args(arg: &str) -> ListArgs {
    let mut options = Vec::new();
    let mut rest = arg;
    loop {
        let word_end = rest.find(' ').unwrap_or(rest.len());
        let word = &rest[..word_end];
        let is_option = word.len() >= 2
            && word.starts_with('-')
            && word[1..].bytes().all(|b| b.is_ascii_alphanumeric());
        if !is_option {
            break;
        }
        options.extend(word[1..].chars());
        rest = rest[word_end..].trim_start_matches(' ');
    }
    ListArgs {
        options,
        path: optional(rest),
    }
}

fn parse_mfmt(arg: &str) -> Result<Command, ParseError> {
    const V: &str = "MFMT";
    let usage = "MFMT requires YYYYMMDDHHMMSS and a path name";
    let (time, path) = match arg.find(' ') {
        Some(i) => (&arg[..i], arg[i + 1..].trim_start_matches(' ')),
        None => (arg, ""),
    };
    if time.is_empty() || path.trim().is_empty() {
        return Err(bad(V, usage));
    }
    let secs = listing::parse_timeval(time)
        .ok_or_else(|| bad(V, "Invalid time value, expected YYYYMMDDHHMMSS"))?;
    Ok(Command::Mfmt(UnixTime(secs), path.to_owned()))
}

fn parse_opts(arg: &str) -> Result<OptsArg, ParseError> {
    const V: &str = "OPTS";
    let arg = arg.trim_end();
    let (name, rest) = match arg.find(' ') {
        Some(i) => (&arg[..i], arg[i + 1..].trim()),
        None => (arg, ""),
    };
    if name.is_empty() {
        return Err(bad(V, "OPTS requires an option name"));
    }
    let name = name.to_ascii_uppercase();
    match name.as_str() {
        "UTF8" | "UTF-8" => {
            if rest.eq_ignore_ascii_case("ON") {
                Ok(OptsArg::Utf8(true))
            } else if rest.eq_ignore_ascii_case("OFF") {
                Ok(OptsArg::Utf8(false))
            } else {
                Err(bad(V, "OPTS UTF8 requires ON or OFF"))
            }
        }
        "MLST" => Ok(OptsArg::Mlst(
            rest.split(';')
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .map(str::to_ascii_lowercase)
                .collect(),
        )),
        _ => Ok(OptsArg::Other(name, rest.to_owned())),
    }
}

fn parse_site(arg: &str) -> Result<SiteCmd, ParseError> {
    let (sub, rest) = match arg.find(' ') {
        Some(i) => (&arg[..i], arg[i + 1..].trim_start_matches(' ')),
        None => (arg, ""),
    };
    if sub.is_empty() {
        return Err(bad("SITE", "SITE requires a sub-command"));
    }
    let sub = sub.to_ascii_uppercase();
    if sub == "HELP" {
        Ok(SiteCmd::Help)
    } else {
        Ok(SiteCmd::Other(sub, rest.to_owned()))
    }
}
