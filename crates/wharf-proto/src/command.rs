//! The typed FTP commands, one variant per verb, arguments already validated.

use std::fmt;
use std::net::{SocketAddr, SocketAddrV4};

/// A password as sent with PASS: never shown by `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(pub String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// TYPE argument (RFC 959 §3.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeCode {
    /// `A` (optionally `A N`): ASCII with CRLF line ends on the wire.
    Ascii,
    /// `I` or `L 8`: bytes as they are.
    Image,
}

/// STRU argument: only File structure is supported; others are parsed to be refused with 504.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StructureCode {
    /// `F`
    File,
    /// `R`
    Record,
    /// `P`
    Page,
}

/// MODE argument: only Stream is supported; others are parsed to be refused with 504.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferMode {
    /// `S`
    Stream,
    /// `B`
    Block,
    /// `C`
    Compressed,
}

/// EPSV argument (RFC 2428 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpsvArg {
    /// No argument: use the control connection's protocol.
    Default,
    /// `EPSV 1` or `EPSV 2`: network protocol number.
    Protocol(u8),
    /// `EPSV ALL`: from now on only EPSV may set up data connections.
    All,
}

/// OPTS arguments understood by the server (RFC 2389).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptsArg {
    /// `OPTS UTF8 ON|OFF` (the argument is `true` for ON).
    Utf8(bool),
    /// `OPTS MLST fact;fact;` — the fact names requested, lower-case, possibly empty.
    Mlst(Vec<String>),
    /// Any other option: the command name (upper-case) and the rest of the line.
    Other(String, String),
}

/// Arguments of LIST and NLST: leading `-x` option words are split from the path.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListArgs {
    /// Option letters given in `-la`-style words (e.g. `['l','a']`).
    pub options: Vec<char>,
    /// The path, if any, after the options.
    pub path: Option<String>,
}

/// SITE sub-commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SiteCmd {
    /// `SITE HELP`
    Help,
    /// Anything else: the sub-command word (upper-case) and the rest.
    Other(String, String),
}

/// PROT argument (RFC 2228/4217).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtLevel {
    /// `C`
    Clear,
    /// `S`
    Safe,
    /// `E`
    Confidential,
    /// `P`
    Private,
}

/// A timestamp as sent with MFMT: seconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnixTime(pub i64);

/// One parsed control command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `USER name` (may be `host|name`; splitting is the server's business).
    User(String),
    /// `PASS secret` (an empty password is allowed).
    Pass(Password),
    /// `ACCT info`
    Acct(String),
    /// `QUIT`
    Quit,
    /// `REIN`
    Rein,
    /// `CWD path` / `XCWD path`
    Cwd(String),
    /// `CDUP` / `XCUP`
    Cdup,
    /// `PWD` / `XPWD`
    Pwd,
    /// `MKD path` / `XMKD path`
    Mkd(String),
    /// `RMD path` / `XRMD path`
    Rmd(String),
    /// `DELE path`
    Dele(String),
    /// `RNFR path`
    Rnfr(String),
    /// `RNTO path`
    Rnto(String),
    /// `PORT h1,h2,h3,h4,p1,p2`
    Port(SocketAddrV4),
    /// `PASV`
    Pasv,
    /// `EPRT |proto|addr|port|`
    Eprt(SocketAddr),
    /// `EPSV [1|2|ALL]`
    Epsv(EpsvArg),
    /// `TYPE A|I|L 8`
    Type(TypeCode),
    /// `STRU F|R|P`
    Stru(StructureCode),
    /// `MODE S|B|C`
    Mode(TransferMode),
    /// `RETR path`
    Retr(String),
    /// `STOR path`
    Stor(String),
    /// `STOU [name]`
    Stou(Option<String>),
    /// `APPE path`
    Appe(String),
    /// `ALLO n [R m]` (arguments are ignored by the server).
    Allo,
    /// `REST offset`
    Rest(u64),
    /// `ABOR` (also when preceded by Telnet IP/Synch)
    Abor,
    /// `LIST [-opts] [path]`
    List(ListArgs),
    /// `NLST [-opts] [path]`
    Nlst(ListArgs),
    /// `MLSD [path]`
    Mlsd(Option<String>),
    /// `MLST [path]`
    Mlst(Option<String>),
    /// `SIZE path`
    Size(String),
    /// `MDTM path`
    Mdtm(String),
    /// `MFMT YYYYMMDDHHMMSS path`
    Mfmt(UnixTime, String),
    /// `FEAT`
    Feat,
    /// `OPTS ...`
    Opts(OptsArg),
    /// `SYST`
    Syst,
    /// `STAT [path]`
    Stat(Option<String>),
    /// `HELP [verb]`
    Help(Option<String>),
    /// `NOOP`
    Noop,
    /// `SITE ...`
    Site(SiteCmd),
    /// `HOST name` (RFC 7151); IPv6 literals keep their brackets.
    Host(String),
    /// `CLNT client-name`
    Clnt(String),
    /// `AUTH mechanism` (upper-cased, e.g. `TLS`, `SSL`)
    Auth(String),
    /// `PBSZ n`
    Pbsz(u64),
    /// `PROT level`
    Prot(ProtLevel),
    /// `CCC`
    Ccc,
    /// A verb the server does not know (upper-cased), answered with 500/502.
    Unknown(String),
}

impl Command {
    /// The canonical verb (upper-case), e.g. `"XCWD"` parses to `Cwd` whose verb is `"CWD"`.
    pub fn verb(&self) -> &str {
        match self {
            Command::User(_) => "USER",
            Command::Pass(_) => "PASS",
            Command::Acct(_) => "ACCT",
            Command::Quit => "QUIT",
            Command::Rein => "REIN",
            Command::Cwd(_) => "CWD",
            Command::Cdup => "CDUP",
            Command::Pwd => "PWD",
            Command::Mkd(_) => "MKD",
            Command::Rmd(_) => "RMD",
            Command::Dele(_) => "DELE",
            Command::Rnfr(_) => "RNFR",
            Command::Rnto(_) => "RNTO",
            Command::Port(_) => "PORT",
            Command::Pasv => "PASV",
            Command::Eprt(_) => "EPRT",
            Command::Epsv(_) => "EPSV",
            Command::Type(_) => "TYPE",
            Command::Stru(_) => "STRU",
            Command::Mode(_) => "MODE",
            Command::Retr(_) => "RETR",
            Command::Stor(_) => "STOR",
            Command::Stou(_) => "STOU",
            Command::Appe(_) => "APPE",
            Command::Allo => "ALLO",
            Command::Rest(_) => "REST",
            Command::Abor => "ABOR",
            Command::List(_) => "LIST",
            Command::Nlst(_) => "NLST",
            Command::Mlsd(_) => "MLSD",
            Command::Mlst(_) => "MLST",
            Command::Size(_) => "SIZE",
            Command::Mdtm(_) => "MDTM",
            Command::Mfmt(..) => "MFMT",
            Command::Feat => "FEAT",
            Command::Opts(_) => "OPTS",
            Command::Syst => "SYST",
            Command::Stat(_) => "STAT",
            Command::Help(_) => "HELP",
            Command::Noop => "NOOP",
            Command::Site(_) => "SITE",
            Command::Host(_) => "HOST",
            Command::Clnt(_) => "CLNT",
            Command::Auth(_) => "AUTH",
            Command::Pbsz(_) => "PBSZ",
            Command::Prot(_) => "PROT",
            Command::Ccc => "CCC",
            Command::Unknown(verb) => verb,
        }
    }
}
