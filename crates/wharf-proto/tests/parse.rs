//! Table-driven tests for `parse`.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use wharf_proto::command::{
    Command, EpsvArg, ListArgs, OptsArg, Password, ProtLevel, SiteCmd, StructureCode, TransferMode,
    TypeCode, UnixTime,
};
use wharf_proto::{ParseError, parse};

fn s(x: &str) -> String {
    x.to_owned()
}

fn la(options: &str, path: Option<&str>) -> ListArgs {
    ListArgs {
        options: options.chars().collect(),
        path: path.map(str::to_owned),
    }
}

#[test]
fn valid_commands() {
    let v4 = |a, b, c, d, p| SocketAddrV4::new(Ipv4Addr::new(a, b, c, d), p);
    let cases: Vec<(&str, Command)> = vec![
        ("USER bob", Command::User(s("bob"))),
        ("user bob", Command::User(s("bob"))),
        ("UsEr host|bob", Command::User(s("host|bob"))),
        ("USER   bob  ", Command::User(s("bob"))),
        ("PASS secret", Command::Pass(Password(s("secret")))),
        ("PASS", Command::Pass(Password(s("")))),
        ("PASS ", Command::Pass(Password(s("")))),
        (
            "PASS  two spaces ",
            Command::Pass(Password(s(" two spaces "))),
        ),
        ("pass p@ss w0rd", Command::Pass(Password(s("p@ss w0rd")))),
        ("ACCT acme", Command::Acct(s("acme"))),
        ("QUIT", Command::Quit),
        ("quit", Command::Quit),
        ("QUIT now", Command::Quit),
        ("REIN", Command::Rein),
        ("CWD /pub", Command::Cwd(s("/pub"))),
        ("XCWD dir", Command::Cwd(s("dir"))),
        ("cwd  my dir ", Command::Cwd(s("my dir "))),
        ("CWD ..", Command::Cwd(s(".."))),
        ("CDUP", Command::Cdup),
        ("XCUP", Command::Cdup),
        ("PWD", Command::Pwd),
        ("xpwd", Command::Pwd),
        ("MKD new", Command::Mkd(s("new"))),
        ("XMKD new", Command::Mkd(s("new"))),
        ("RMD old", Command::Rmd(s("old"))),
        ("XRMD old", Command::Rmd(s("old"))),
        ("DELE a b.txt", Command::Dele(s("a b.txt"))),
        ("RNFR from", Command::Rnfr(s("from"))),
        ("RNTO to ", Command::Rnto(s("to "))),
        ("PORT 127,0,0,1,4,1", Command::Port(v4(127, 0, 0, 1, 1025))),
        (
            "port 10, 0, 0, 2, 0, 21",
            Command::Port(v4(10, 0, 0, 2, 21)),
        ),
        ("PASV", Command::Pasv),
        (
            "EPRT |1|132.235.1.2|6275|",
            Command::Eprt(SocketAddr::V4(v4(132, 235, 1, 2, 6275))),
        ),
        (
            "EPRT |2|1080::8:800:200C:417A|5282|",
            Command::Eprt(SocketAddr::V6(SocketAddrV6::new(
                "1080::8:800:200C:417A".parse::<Ipv6Addr>().unwrap(),
                5282,
                0,
                0,
            ))),
        ),
        ("EPSV", Command::Epsv(EpsvArg::Default)),
        ("EPSV 1", Command::Epsv(EpsvArg::Protocol(1))),
        ("EPSV 2", Command::Epsv(EpsvArg::Protocol(2))),
        ("EPSV ALL", Command::Epsv(EpsvArg::All)),
        ("epsv all", Command::Epsv(EpsvArg::All)),
        ("TYPE A", Command::Type(TypeCode::Ascii)),
        ("type a", Command::Type(TypeCode::Ascii)),
        ("TYPE A N", Command::Type(TypeCode::Ascii)),
        ("TYPE I", Command::Type(TypeCode::Image)),
        ("TYPE i", Command::Type(TypeCode::Image)),
        ("TYPE L 8", Command::Type(TypeCode::Image)),
        ("STRU F", Command::Stru(StructureCode::File)),
        ("STRU r", Command::Stru(StructureCode::Record)),
        ("STRU P", Command::Stru(StructureCode::Page)),
        ("MODE S", Command::Mode(TransferMode::Stream)),
        ("MODE b", Command::Mode(TransferMode::Block)),
        ("MODE C", Command::Mode(TransferMode::Compressed)),
        ("RETR file.bin", Command::Retr(s("file.bin"))),
        ("STOR up load.txt", Command::Stor(s("up load.txt"))),
        ("STOU", Command::Stou(None)),
        ("STOU name", Command::Stou(Some(s("name")))),
        ("APPE log", Command::Appe(s("log"))),
        ("ALLO", Command::Allo),
        ("ALLO 1000", Command::Allo),
        ("ALLO 1000 R 10", Command::Allo),
        ("REST 0", Command::Rest(0)),
        ("REST 123456789012", Command::Rest(123_456_789_012)),
        ("REST 18446744073709551615", Command::Rest(u64::MAX)),
        ("ABOR", Command::Abor),
        ("LIST", Command::List(la("", None))),
        ("LIST -la", Command::List(la("la", None))),
        ("LIST -a -l", Command::List(la("al", None))),
        ("LIST -la /pub", Command::List(la("la", Some("/pub")))),
        ("LIST -l my dir ", Command::List(la("l", Some("my dir ")))),
        ("LIST dir", Command::List(la("", Some("dir")))),
        ("LIST -foo.txt", Command::List(la("", Some("-foo.txt")))),
        ("LIST -", Command::List(la("", Some("-")))),
        ("LIST  ", Command::List(la("", None))),
        ("NLST", Command::Nlst(la("", None))),
        ("NLST -1 *.txt", Command::Nlst(la("1", Some("*.txt")))),
        ("MLSD", Command::Mlsd(None)),
        ("MLSD /x y", Command::Mlsd(Some(s("/x y")))),
        ("MLST", Command::Mlst(None)),
        ("MLST f", Command::Mlst(Some(s("f")))),
        ("SIZE f", Command::Size(s("f"))),
        ("MDTM f", Command::Mdtm(s("f"))),
        (
            "MFMT 20200102030405 file name",
            Command::Mfmt(UnixTime(1_577_934_245), s("file name")),
        ),
        (
            "MFMT 20200102030405.123 f",
            Command::Mfmt(UnixTime(1_577_934_245), s("f")),
        ),
        ("FEAT", Command::Feat),
        ("OPTS UTF8 ON", Command::Opts(OptsArg::Utf8(true))),
        ("opts utf8 on", Command::Opts(OptsArg::Utf8(true))),
        ("OPTS UTF-8 ON", Command::Opts(OptsArg::Utf8(true))),
        ("OPTS UTF8 OFF", Command::Opts(OptsArg::Utf8(false))),
        (
            "OPTS MLST type;size;",
            Command::Opts(OptsArg::Mlst(vec![s("type"), s("size")])),
        ),
        (
            "OPTS MLST Type;UNIX.mode",
            Command::Opts(OptsArg::Mlst(vec![s("type"), s("unix.mode")])),
        ),
        ("OPTS MLST", Command::Opts(OptsArg::Mlst(vec![]))),
        ("OPTS MLST ;", Command::Opts(OptsArg::Mlst(vec![]))),
        (
            "OPTS mode z level 9",
            Command::Opts(OptsArg::Other(s("MODE"), s("z level 9"))),
        ),
        ("OPTS X", Command::Opts(OptsArg::Other(s("X"), s("")))),
        ("SYST", Command::Syst),
        ("STAT", Command::Stat(None)),
        ("STAT /pub", Command::Stat(Some(s("/pub")))),
        ("HELP", Command::Help(None)),
        ("HELP retr", Command::Help(Some(s("RETR")))),
        ("NOOP", Command::Noop),
        ("SITE HELP", Command::Site(SiteCmd::Help)),
        ("site help", Command::Site(SiteCmd::Help)),
        (
            "SITE chmod 755 a file",
            Command::Site(SiteCmd::Other(s("CHMOD"), s("755 a file"))),
        ),
        ("SITE X", Command::Site(SiteCmd::Other(s("X"), s("")))),
        ("HOST ftp.example.com", Command::Host(s("ftp.example.com"))),
        ("HOST [::1]", Command::Host(s("[::1]"))),
        ("CLNT FileZilla 3.66", Command::Clnt(s("FileZilla 3.66"))),
        ("AUTH tls", Command::Auth(s("TLS"))),
        ("AUTH SSL", Command::Auth(s("SSL"))),
        ("PBSZ 0", Command::Pbsz(0)),
        ("PROT P", Command::Prot(ProtLevel::Private)),
        ("prot c", Command::Prot(ProtLevel::Clear)),
        ("PROT S", Command::Prot(ProtLevel::Safe)),
        ("PROT E", Command::Prot(ProtLevel::Confidential)),
        ("CCC", Command::Ccc),
        ("XYZZY", Command::Unknown(s("XYZZY"))),
        ("foo bar", Command::Unknown(s("FOO"))),
        ("SMNT x", Command::Unknown(s("SMNT"))),
        // Tolerance: leading spaces before the verb, extra spaces before argument.
        ("  NOOP", Command::Noop),
        ("RETR    spaced", Command::Retr(s("spaced"))),
        // Non-ASCII paths are fine when valid UTF-8.
        ("RETR résumé.pdf", Command::Retr(s("résumé.pdf"))),
        ("CWD 日本", Command::Cwd(s("日本"))),
    ];
    for (line, expected) in cases {
        assert_eq!(parse(line.as_bytes()), Ok(expected), "line {line:?}");
    }
}

#[test]
fn abor_after_telnet_residue() {
    // IAC IP IAC (urgent, taken out of band) then DM left in the stream.
    assert_eq!(parse(b"\xf2ABOR"), Ok(Command::Abor));
    assert_eq!(parse(b"\xff\xf4\xff\xf2ABOR"), Ok(Command::Abor));
    assert_eq!(parse(b"\xf2"), Err(ParseError::Empty));
}

fn is_bad(r: &Result<Command, ParseError>, verb: &str) -> bool {
    matches!(r, Err(ParseError::BadArgument { verb: v, message }) if v == verb && !message.is_empty())
}

fn is_unsupported(r: &Result<Command, ParseError>, verb: &str) -> bool {
    matches!(r, Err(ParseError::Unsupported { verb: v, message }) if v == verb && !message.is_empty())
}

#[test]
fn bad_arguments() {
    let cases: &[(&str, &str)] = &[
        ("USER", "USER"),
        ("USER   ", "USER"),
        ("ACCT", "ACCT"),
        ("CWD", "CWD"),
        ("CWD ", "CWD"),
        ("XCWD   ", "XCWD"),
        ("MKD", "MKD"),
        ("XMKD", "XMKD"),
        ("RMD", "RMD"),
        ("DELE", "DELE"),
        ("RNFR", "RNFR"),
        ("RNTO", "RNTO"),
        ("RETR", "RETR"),
        ("stor", "STOR"),
        ("APPE", "APPE"),
        ("SIZE", "SIZE"),
        ("MDTM", "MDTM"),
        ("PORT", "PORT"),
        ("PORT 1,2,3,4,5", "PORT"),
        ("PORT 1,2,3,4,5,6,7", "PORT"),
        ("PORT 256,0,0,1,4,1", "PORT"),
        ("PORT a,b,c,d,e,f", "PORT"),
        ("PORT 127,0,0,1,0,0", "PORT"),
        ("EPRT", "EPRT"),
        ("EPRT |1|::1|21|", "EPRT"),
        ("EPRT |2|1.2.3.4|21|", "EPRT"),
        ("EPRT |1|1.2.3.4|0|", "EPRT"),
        ("EPRT |1|1.2.3.4|65536|", "EPRT"),
        ("EPRT garbage", "EPRT"),
        ("EPSV x", "EPSV"),
        ("EPSV -1", "EPSV"),
        ("TYPE", "TYPE"),
        ("TYPE X", "TYPE"),
        ("TYPE A X", "TYPE"),
        ("TYPE I I", "TYPE"),
        ("TYPE L", "TYPE"),
        ("TYPE L x", "TYPE"),
        ("TYPE AA", "TYPE"),
        ("STRU", "STRU"),
        ("STRU X", "STRU"),
        ("MODE", "MODE"),
        ("MODE Z", "MODE"),
        ("REST", "REST"),
        ("REST -1", "REST"),
        ("REST +1", "REST"),
        ("REST 1.5", "REST"),
        ("REST abc", "REST"),
        ("REST 18446744073709551616", "REST"),
        ("MFMT", "MFMT"),
        ("MFMT 20200102030405", "MFMT"),
        ("MFMT 20200102030405 ", "MFMT"),
        ("MFMT 2020 file", "MFMT"),
        ("MFMT 20201302030405 file", "MFMT"),
        ("MFMT 20200230030405 file", "MFMT"),
        ("MFMT 20200102250405 file", "MFMT"),
        ("OPTS", "OPTS"),
        ("OPTS UTF8", "OPTS"),
        ("OPTS UTF8 MAYBE", "OPTS"),
        ("SITE", "SITE"),
        ("SITE   ", "SITE"),
        ("HOST", "HOST"),
        ("CLNT", "CLNT"),
        ("AUTH", "AUTH"),
        ("PBSZ", "PBSZ"),
        ("PBSZ x", "PBSZ"),
        ("PROT", "PROT"),
        ("PROT X", "PROT"),
    ];
    for (line, verb) in cases {
        let r = parse(line.as_bytes());
        assert!(is_bad(&r, verb), "line {line:?} gave {r:?}");
        assert_eq!(r.unwrap_err().reply_code(), 501);
    }
}

#[test]
fn unsupported_parameters() {
    let cases: &[(&str, &str)] = &[
        ("TYPE E", "TYPE"),
        ("type e", "TYPE"),
        ("TYPE A T", "TYPE"),
        ("TYPE A C", "TYPE"),
        ("TYPE L 7", "TYPE"),
        ("TYPE L 16", "TYPE"),
        ("EPSV 3", "EPSV"),
        ("EPRT |3|x|21|", "EPRT"),
    ];
    for (line, verb) in cases {
        let r = parse(line.as_bytes());
        assert!(is_unsupported(&r, verb), "line {line:?} gave {r:?}");
        assert_eq!(r.unwrap_err().reply_code(), 504);
    }
}

#[test]
fn empty_and_encoding() {
    assert_eq!(parse(b""), Err(ParseError::Empty));
    assert_eq!(parse(b"   "), Err(ParseError::Empty));
    assert_eq!(ParseError::Empty.reply_code(), 500);
    for line in [
        &b"RETR a\0b"[..],
        b"\0",
        b"NOOP\0",
        b"\0NOOP",
        b"RETR \xff\xfe",
        b"RETR \xc3",
        b"RETR \xed\xa0\x80", // UTF-16 surrogate encoded: not UTF-8
        b"US\x80ER x",
        b"CWD \xc0\xaf", // overlong '/'
    ] {
        assert_eq!(parse(line), Err(ParseError::Encoding), "line {line:?}");
    }
    assert_eq!(ParseError::Encoding.reply_code(), 501);
}

#[test]
fn long_and_odd_input_does_not_panic() {
    let long = format!("RETR {}", "a".repeat(100_000));
    assert_eq!(
        parse(long.as_bytes()),
        Ok(Command::Retr("a".repeat(100_000)))
    );
    let long_verb = "Z".repeat(5000);
    assert_eq!(
        parse(long_verb.as_bytes()),
        Ok(Command::Unknown(long_verb.clone()))
    );
    // Every single byte and every byte after a verb.
    for b in 0u8..=255 {
        let _ = parse(&[b]);
        let _ = parse(&[b'C', b'W', b'D', b' ', b]);
        let _ = parse(&[b'L', b'I', b'S', b'T', b' ', b'-', b]);
    }
}

#[test]
fn password_is_not_shown_by_debug() {
    let cmd = parse(b"PASS hunter2").unwrap();
    let shown = format!("{cmd:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("***"));
}

#[test]
fn verb_is_canonical() {
    let cases: &[(&str, &str)] = &[
        ("xcwd a", "CWD"),
        ("XCUP", "CDUP"),
        ("XPWD", "PWD"),
        ("XMKD a", "MKD"),
        ("XRMD a", "RMD"),
        ("user a", "USER"),
        ("pass", "PASS"),
        ("ACCT a", "ACCT"),
        ("QUIT", "QUIT"),
        ("REIN", "REIN"),
        ("DELE a", "DELE"),
        ("RNFR a", "RNFR"),
        ("RNTO a", "RNTO"),
        ("PORT 1,2,3,4,5,6", "PORT"),
        ("PASV", "PASV"),
        ("EPRT |1|1.2.3.4|5|", "EPRT"),
        ("EPSV", "EPSV"),
        ("TYPE I", "TYPE"),
        ("STRU F", "STRU"),
        ("MODE S", "MODE"),
        ("RETR a", "RETR"),
        ("STOR a", "STOR"),
        ("STOU", "STOU"),
        ("APPE a", "APPE"),
        ("ALLO", "ALLO"),
        ("REST 1", "REST"),
        ("ABOR", "ABOR"),
        ("LIST", "LIST"),
        ("NLST", "NLST"),
        ("MLSD", "MLSD"),
        ("MLST", "MLST"),
        ("SIZE a", "SIZE"),
        ("MDTM a", "MDTM"),
        ("MFMT 20200101000000 a", "MFMT"),
        ("FEAT", "FEAT"),
        ("OPTS UTF8 ON", "OPTS"),
        ("SYST", "SYST"),
        ("STAT", "STAT"),
        ("HELP", "HELP"),
        ("NOOP", "NOOP"),
        ("SITE HELP", "SITE"),
        ("HOST h", "HOST"),
        ("CLNT c", "CLNT"),
        ("AUTH TLS", "AUTH"),
        ("PBSZ 0", "PBSZ"),
        ("PROT P", "PROT"),
        ("CCC", "CCC"),
        ("frob x", "FROB"),
    ];
    for (line, verb) in cases {
        let cmd = parse(line.as_bytes()).unwrap_or_else(|e| panic!("{line:?}: {e:?}"));
        assert_eq!(cmd.verb(), *verb, "line {line:?}");
    }
}
