//! Every command of the supported set gets its expected reply, plus line-level robustness:
//! over-long lines, Telnet IAC bytes, pipelining, RNFR/RNTO sequencing, rename replacement
//! and partial uploads.

use std::time::Duration;

use tokio::io::AsyncWriteExt;

use crate::support::client::{DataMode, connect};
use crate::support::config::{ConfigXml, SiteXml, with_ftp};
use crate::support::{Client, TestServer, mtime, pattern, set_mtime, standard_login, write_file};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn navigation_commands() {
    let (server, mut c) = standard_login().await;
    std::fs::create_dir_all(server.site_dir().join("a/b")).unwrap();
    write_file(&server.site_dir(), "a/file.txt", b"x");

    let r = c.expect("PWD", 257).await;
    assert!(r.text().starts_with("\"/\""), "{r:?}");
    c.expect("CWD a", 250).await;
    let r = c.expect("XPWD", 257).await;
    assert!(r.text().starts_with("\"/a\""), "{r:?}");
    c.expect("XCWD b", 250).await;
    assert!(c.expect("PWD", 257).await.text().starts_with("\"/a/b\""));
    c.expect("CDUP", 250).await;
    assert!(c.expect("PWD", 257).await.text().starts_with("\"/a\""));
    c.expect("XCUP", 250).await;
    assert!(c.expect("PWD", 257).await.text().starts_with("\"/\""));
    c.expect("CWD /a/b", 250).await;
    assert_eq!(server.only_session().current_directory, "/a/b");
    c.expect("CWD ../..", 250).await;
    assert!(c.expect("PWD", 257).await.text().starts_with("\"/\""));
    // Missing directory and a file are refused; the directory does not change.
    c.expect("CWD nope", 550).await;
    c.expect("CWD a/file.txt", 550).await;
    assert!(c.expect("PWD", 257).await.text().starts_with("\"/\""));
    // CDUP at the root stays at the root.
    c.expect("CDUP", 250).await;
    assert!(c.expect("PWD", 257).await.text().starts_with("\"/\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_and_file_commands() {
    let (server, mut c) = standard_login().await;
    let site = server.site_dir();
    write_file(&site, "f.txt", b"hello");

    let r = c.expect("MKD d", 257).await;
    assert!(r.text().starts_with("\"/d\""), "{r:?}");
    assert!(site.join("d").is_dir());
    let r = c.expect("XMKD e", 257).await;
    assert!(r.text().starts_with("\"/e\""), "{r:?}");
    c.expect("MKD d", 550).await;
    c.expect("MKD missing/child", 550).await;
    write_file(&site, "d/inner.txt", b"1");
    c.expect("RMD d", 550).await; // not empty
    std::fs::remove_file(site.join("d/inner.txt")).unwrap();
    c.expect("RMD d", 250).await;
    c.expect("XRMD e", 250).await;
    assert!(!site.join("d").exists() && !site.join("e").exists());
    c.expect("RMD nothing", 550).await;
    c.expect("RMD f.txt", 550).await;

    c.expect("SIZE f.txt", 213).await;
    assert_eq!(c.cmd("SIZE f.txt").await.text(), "5");
    c.expect("SIZE nothing", 550).await;
    c.expect("MKD dir", 257).await;
    c.expect("SIZE dir", 550).await;

    let t = time::macros::datetime!(2020-01-02 03:04:05 UTC).unix_timestamp();
    set_mtime(&site.join("f.txt"), t);
    assert_eq!(c.expect("MDTM f.txt", 213).await.text(), "20200102030405");
    c.expect("MDTM nothing", 550).await;
    let r = c.expect("MFMT 20210304050607 f.txt", 213).await;
    assert!(r.text().starts_with("Modify=20210304050607;"), "{r:?}");
    assert_eq!(
        mtime(&site.join("f.txt")),
        time::macros::datetime!(2021-03-04 05:06:07 UTC).unix_timestamp()
    );
    assert_eq!(c.expect("MDTM f.txt", 213).await.text(), "20210304050607");
    c.expect("MFMT 20211304050607 f.txt", 501).await;

    c.expect("DELE dir", 550).await;
    c.expect("DELE f.txt", 250).await;
    assert!(!site.join("f.txt").exists());
    c.expect("DELE f.txt", 550).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rename_sequence() {
    let (server, mut c) = standard_login().await;
    let site = server.site_dir();
    write_file(&site, "a.txt", b"A");
    write_file(&site, "b.txt", b"B");

    c.expect("RNTO x.txt", 503).await;
    c.expect("RNFR nothing.txt", 550).await;
    c.expect("RNTO x.txt", 503).await;
    c.expect("RNFR a.txt", 350).await;
    c.expect("RNTO c.txt", 250).await;
    assert_eq!(std::fs::read(site.join("c.txt")).unwrap(), b"A");
    assert!(!site.join("a.txt").exists());
    // RNTO must immediately follow RNFR.
    c.expect("RNFR c.txt", 350).await;
    c.expect("NOOP", 200).await;
    c.expect("RNTO d.txt", 503).await;
    assert!(site.join("c.txt").exists());
    // Directories rename too, also into another folder.
    c.expect("MKD sub", 257).await;
    c.expect("RNFR c.txt", 350).await;
    c.expect("RNTO sub/c2.txt", 250).await;
    assert_eq!(std::fs::read(site.join("sub/c2.txt")).unwrap(), b"A");
    c.expect("RNFR sub", 350).await;
    c.expect("RNTO sub2", 250).await;
    assert!(site.join("sub2/c2.txt").exists());
    // Default allowReplaceOnRename=false: an existing target is kept.
    write_file(&site, "c.txt", b"C");
    c.expect("RNFR c.txt", 350).await;
    c.expect("RNTO b.txt", 550).await;
    assert_eq!(std::fs::read(site.join("b.txt")).unwrap(), b"B");
    assert_eq!(std::fs::read(site.join("c.txt")).unwrap(), b"C");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_replace_on_rename_true_replaces() {
    let server =
        TestServer::start(&with_ftp(r#"<fileHandling allowReplaceOnRename="true" />"#)).await;
    let site = server.site_dir();
    write_file(&site, "a.txt", b"A");
    write_file(&site, "b.txt", b"B");
    let mut c = Client::connect(server.addr()).await;
    c.login("alice", "alice-pw").await;
    c.expect("RNFR a.txt", 350).await;
    c.expect("RNTO b.txt", 250).await;
    assert_eq!(std::fs::read(site.join("b.txt")).unwrap(), b"A");
    assert!(!site.join("a.txt").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_connection_setup_commands() {
    let (_server, mut c) = standard_login().await;
    let r = c.expect("PASV", 227).await;
    let addr = crate::support::client::parse_pasv(&r.text()).expect("227 has h1,..,p2");
    assert_eq!(
        addr.ip(),
        c.peer.ip(),
        "PASV advertises the address the client reached"
    );
    assert_eq!(server_data_mode(&_server), "PASV");
    let r = c.expect("EPSV", 229).await;
    assert!(
        crate::support::client::parse_epsv(&r.text()).is_some(),
        "{r:?}"
    );
    assert_eq!(server_data_mode(&_server), "EPSV");
    c.expect("EPSV 1", 229).await;
    c.expect("EPSV 2", 522).await;
    c.expect("PORT 127,0,0,1,156,64", 200).await;
    assert_eq!(server_data_mode(&_server), "PORT");
    c.expect("EPRT |1|127.0.0.1|40000|", 200).await;
    assert_eq!(server_data_mode(&_server), "EPRT");
    c.expect("PORT 127,0,0,1", 501).await;
    c.expect("PORT 300,0,0,1,1,1", 501).await;
    c.expect("EPRT garbage", 501).await;
    // EPSV ALL: from now on only EPSV.
    c.expect("EPSV ALL", 200).await;
    c.expect("PASV", 503).await;
    c.expect("PORT 127,0,0,1,156,64", 503).await;
    c.expect("EPRT |1|127.0.0.1|40000|", 503).await;
    c.expect("EPSV", 229).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eprt_with_an_unknown_protocol_gets_522() {
    let (_server, mut c) = standard_login().await;
    let r = c.expect("EPRT |9|127.0.0.1|40000|", 522).await;
    assert!(r.contains("(1,2)"), "{r:?}");
}

fn server_data_mode(server: &TestServer) -> String {
    server.only_session().data_mode
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn representation_commands() {
    let (_server, mut c) = standard_login().await;
    c.expect("TYPE A", 200).await;
    c.expect("TYPE A N", 200).await;
    c.expect("TYPE I", 200).await;
    c.expect("TYPE L 8", 200).await;
    c.expect("type i", 200).await;
    c.expect("TYPE E", 504).await;
    c.expect("TYPE Z", 501).await;
    c.expect("TYPE", 501).await;
    c.expect("STRU F", 200).await;
    c.expect("STRU R", 504).await;
    c.expect("STRU P", 504).await;
    c.expect("STRU Q", 501).await;
    c.expect("MODE S", 200).await;
    c.expect("MODE B", 504).await;
    c.expect("MODE C", 504).await;
    c.expect("MODE Q", 501).await;
    c.expect("ALLO 1000", 202).await;
    c.expect("ALLO 1000 R 10", 202).await;
    c.expect("REST 5", 350).await;
    c.expect("REST abc", 501).await;
    c.expect("REST -1", 501).await;
    c.expect("ABOR", 225).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfer_commands() {
    let (server, mut c) = standard_login().await;
    let site = server.site_dir();
    write_file(&site, "f.bin", b"0123456789");
    c.expect("TYPE I", 200).await;

    assert_eq!(c.retr("f.bin").await, b"0123456789");
    c.stor("up.bin", b"uploaded").await;
    assert_eq!(std::fs::read(site.join("up.bin")).unwrap(), b"uploaded");
    c.upload_with(DataMode::Pasv, "APPE up.bin", b"+more").await;
    assert_eq!(
        std::fs::read(site.join("up.bin")).unwrap(),
        b"uploaded+more"
    );
    c.upload_with(DataMode::Pasv, "APPE new.bin", b"fresh")
        .await;
    assert_eq!(std::fs::read(site.join("new.bin")).unwrap(), b"fresh");

    // STOU: a unique name, reported in the 150 reply.
    let first = c.upload_with(DataMode::Pasv, "STOU", b"unique-1").await;
    let second = c.upload_with(DataMode::Pasv, "STOU", b"unique-2").await;
    let name_of = |r: &crate::support::Reply| {
        let t = r.text();
        let i = t
            .find("FILE: ")
            .unwrap_or_else(|| panic!("STOU 150 names the file: {r:?}"));
        t[i + 6..].trim().to_string()
    };
    let (n1, n2) = (name_of(&first), name_of(&second));
    assert_ne!(n1, n2);
    assert_eq!(std::fs::read(site.join(&n1)).unwrap(), b"unique-1");
    assert_eq!(std::fs::read(site.join(&n2)).unwrap(), b"unique-2");

    // PASV, REST, RETR.
    let tail = c.download_from(DataMode::Pasv, Some(4), "RETR f.bin").await;
    assert_eq!(tail, b"456789");
    // REST applies to one transfer only.
    assert_eq!(c.retr("f.bin").await, b"0123456789");

    // Refusals before any data connection is used.
    c.expect("RETR nothing.bin", 550).await;
    c.expect("RETR f.bin", 425).await; // no PASV/PORT
    c.expect("STOR x.bin", 425).await;
    assert!(
        !site.join("x.bin").exists(),
        "a refused STOR creates nothing"
    );
    c.expect("MKD adir", 257).await;
    let r = c.refused_data_cmd("RETR adir").await;
    assert_eq!(r.code, 550);
    let r = c.refused_data_cmd("STOR adir").await;
    assert_eq!(r.code, 550);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_and_info_commands() {
    let (server, mut c) = standard_login().await;
    let site = server.site_dir();
    write_file(&site, "f.txt", b"hello");
    std::fs::create_dir(site.join("d")).unwrap();

    let list = c.list("").await;
    assert!(list.contains("f.txt") && list.contains("d"), "{list}");
    let nlst = c.nlst("").await;
    let mut names: Vec<&str> = nlst.lines().collect();
    names.sort();
    assert_eq!(names, ["d", "f.txt"]);
    let mlsd = c.mlsd("").await;
    assert_eq!(mlsd.lines().count(), 2, "{mlsd}");
    c.expect("MLSD f.txt", 501).await;

    let r = c.expect("MLST f.txt", 250).await;
    assert_eq!(r.lines.len(), 3, "{r:?}");
    assert!(
        r.lines[1].starts_with(' '),
        "fact line starts with a space: {r:?}"
    );
    assert!(r.lines[1].contains("type=file;"), "{r:?}");
    assert!(r.lines[1].contains("size=5;"), "{r:?}");
    assert!(r.lines[1].ends_with(" /f.txt"), "{r:?}");
    c.expect("MLST nothing", 550).await;

    let feat = c.expect("FEAT", 211).await;
    for f in [
        "EPRT",
        "EPSV",
        "MDTM",
        "MFMT",
        "SIZE",
        "REST STREAM",
        "UTF8",
        "HOST",
    ] {
        assert!(
            feat.lines.iter().any(|l| l.trim() == f),
            "FEAT lacks {f}: {feat:?}"
        );
    }
    assert!(
        feat.lines
            .iter()
            .any(|l| l.trim().starts_with("MLST type*;size*;modify*;")),
        "{feat:?}"
    );
    assert!(
        feat.lines[1..feat.lines.len() - 1]
            .iter()
            .all(|l| l.starts_with(' '))
    );

    let r = c.expect("OPTS UTF8 ON", 200).await;
    assert!(r.contains("UTF8"), "{r:?}");
    c.expect("OPTS UTF8 OFF", 200).await;
    let r = c.expect("OPTS MLST type;size;", 200).await;
    assert!(r.contains("type;size;"), "{r:?}");
    let r = c.expect("MLST f.txt", 250).await;
    assert!(r.lines[1].starts_with(" type=file;size=5; "), "{r:?}");
    let feat = c.expect("FEAT", 211).await;
    assert!(
        feat.lines
            .iter()
            .any(|l| l.trim().starts_with("MLST type*;size*;modify;")),
        "{feat:?}"
    );
    c.expect("OPTS NOSUCH x", 501).await;

    let r = c.expect("SYST", 215).await;
    assert!(r.text().starts_with("UNIX"), "{r:?}");
    let stat = c.expect("STAT", 211).await;
    assert!(stat.lines.len() > 2, "{stat:?}");
    assert!(stat.contains("alice"), "{stat:?}");
    let stat = c.expect("STAT f.txt", 213).await;
    assert!(stat.contains("f.txt"), "{stat:?}");
    let stat = c.expect("STAT /", 213).await;
    assert!(stat.contains("f.txt") && stat.contains(" d"), "{stat:?}");
    c.expect("STAT nothing", 550).await;

    let help = c.expect("HELP", 214).await;
    assert!(help.lines.len() > 2 && help.contains("RETR"), "{help:?}");
    c.expect("HELP RETR", 214).await;
    c.expect("HELP XYZZY", 502).await;
    c.expect("NOOP", 200).await;
    let site_help = c.expect("SITE HELP", 214).await;
    assert!(site_help.lines.len() > 1, "{site_help:?}");
    c.expect("SITE CHMOD 777 f.txt", 504).await;
    c.expect("CLNT TestClient 1.0", 200).await;
    let r = c.expect("XYZZY", 500).await;
    assert!(r.contains("XYZZY"), "{r:?}");
    c.expect("QUIT", 221).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_command() {
    let site = SiteXml::new("Test").bindings(&["127.0.0.1:0:", "127.0.0.1:0:test.example"]);
    let server = TestServer::start(&ConfigXml::single(site).xml()).await;
    let mut c = Client::connect(server.addr()).await;
    c.expect("HOST unknown.example", 504).await;
    c.expect("HOST test.example", 220).await;
    assert_eq!(server.only_session().host_name, "test.example");
    c.login("alice", "alice-pw").await;
    c.expect("HOST test.example", 503).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stat_during_a_transfer_reports_progress() {
    let (server, mut c) = standard_login().await;
    let data = pattern(8 << 20, 7);
    write_file(&server.site_dir(), "big.bin", &data);
    c.expect("TYPE I", 200).await;
    let addr = c.pasv().await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(addr).await.unwrap();
    c.send_line("RETR big.bin").await;
    c.expect_reply(150).await;
    // Not reading: the transfer stalls with most of the file unsent.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stat = c.expect("STAT", 211).await;
    assert!(
        stat.contains("/big.bin"),
        "STAT names the running transfer: {stat:?}"
    );
    let noop_queued = {
        c.send_line("NOOP").await;
        c.is_quiet(Duration::from_millis(300)).await
    };
    assert!(noop_queued, "NOOP waits for the transfer to end");
    let mut got = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut got)
        .await
        .unwrap();
    assert_eq!(got.len(), data.len());
    c.expect_reply(226).await;
    c.expect_reply(200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlong_line_is_refused_and_the_connection_stays_usable() {
    let (_server, mut c) = standard_login().await;
    let long = format!("RETR {}", "a".repeat(5000));
    c.expect(&long, 500).await;
    c.expect("NOOP", 200).await;
    // Sent in pieces, and followed by another command in the same write.
    c.send_raw(format!("STOR {}", "b".repeat(3000)).as_bytes())
        .await;
    c.send_raw(format!("{}\r\nPWD\r\n", "c".repeat(3000)).as_bytes())
        .await;
    c.expect_reply(500).await;
    c.expect_reply(257).await;
    c.expect("NOOP", 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_command_line_is_configurable() {
    let mut site = SiteXml::new("Test");
    site.security_extra = r#"<commandFiltering maxCommandLine="64" />"#.to_string();
    let server = TestServer::start(&ConfigXml::single(site).xml()).await;
    let mut c = Client::connect(server.addr()).await;
    c.login("alice", "alice-pw").await;
    c.expect(&format!("MKD {}", "d".repeat(100)), 500).await;
    c.expect(&format!("MKD {}", "d".repeat(40)), 257).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telnet_iac_sequences_are_tolerated() {
    let (_server, mut c) = standard_login().await;
    // Option negotiation before the verb (IAC WILL ECHO).
    c.send_raw(b"\xff\xfb\x01NOOP\r\n").await;
    c.expect_reply(200).await;
    // A two-byte command (IAC NOP) inside the verb.
    c.send_raw(b"PW\xff\xf1D\r\n").await;
    c.expect_reply(257).await;
    // Interrupt Process + Data Mark before ABOR (what clients send for urgent ABOR).
    c.send_raw(b"\xff\xf4\xff\xf2ABOR\r\n").await;
    c.expect_reply(225).await;
    c.expect("NOOP", 200).await;
    // Bare LF line ends are accepted too.
    c.send_raw(b"NOOP\n").await;
    c.expect_reply(200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_commands_are_answered_in_order() {
    let (server, mut c) = standard_login().await;
    write_file(&server.site_dir(), "f.txt", b"pipelined");
    c.send_raw(b"NOOP\r\nPWD\r\nSYST\r\nTYPE I\r\nMKD p\r\nCWD p\r\nPWD\r\n")
        .await;
    for code in [200, 257, 215, 200, 257, 250, 257] {
        c.expect_reply(code).await;
    }
    c.expect("CWD /", 250).await;
    // A transfer with commands queued behind it.
    let addr = c.pasv().await;
    let mut data = connect(addr).await;
    c.send_raw(b"RETR f.txt\r\nNOOP\r\nSIZE f.txt\r\n").await;
    c.expect_reply(150).await;
    let mut got = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut data, &mut got)
        .await
        .unwrap();
    assert_eq!(got, b"pipelined");
    c.expect_reply(226).await;
    c.expect_reply(200).await;
    let size = c.expect_reply(213).await;
    assert_eq!(size.text(), "9");
}

async fn aborted_upload(server: &TestServer, line: &str) -> Vec<u8> {
    let mut c = Client::connect(server.addr()).await;
    c.login("alice", "alice-pw").await;
    c.expect("TYPE I", 200).await;
    let addr = c.pasv().await;
    let mut data = connect(addr).await;
    c.send_line(line).await;
    c.expect_reply(150).await;
    let payload = pattern(2 << 20, 3);
    // Only the first half is sent: the upload is really partial when ABOR arrives.
    data.write_all(&payload[..1 << 20]).await.unwrap();
    let registry = server.registry().clone();
    crate::support::wait_for("upload bytes to arrive", || {
        registry
            .sessions(None)
            .iter()
            .find_map(|s| s.transfer.as_ref().map(|t| t.bytes))
            .filter(|b| *b >= 1 << 20)
    })
    .await;
    c.send_line("ABOR").await;
    let r = c.read_reply().await;
    assert_eq!(r.code, 426, "{r:?}");
    c.expect_reply(226).await;
    drop(data);
    c.expect("NOOP", 200).await;
    payload
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aborted_upload_is_removed_without_keep_partial_uploads() {
    let server = TestServer::start(&crate::support::config::standard()).await;
    aborted_upload(&server, "STOR partial.bin").await;
    assert!(
        !server.site_dir().join("partial.bin").exists(),
        "keepPartialUploads=false (default) removes the partial file"
    );
    // An aborted append never loses what was stored before.
    write_file(&server.site_dir(), "existing.bin", b"keep me");
    aborted_upload(&server, "APPE existing.bin").await;
    let kept = std::fs::read(server.site_dir().join("existing.bin")).unwrap();
    assert!(kept.starts_with(b"keep me"), "{} bytes", kept.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aborted_upload_is_kept_with_keep_partial_uploads() {
    let server =
        TestServer::start(&with_ftp(r#"<fileHandling keepPartialUploads="true" />"#)).await;
    let payload = aborted_upload(&server, "STOR partial.bin").await;
    let kept = std::fs::read(server.site_dir().join("partial.bin"))
        .expect("keepPartialUploads=true keeps the partial file");
    assert!(!kept.is_empty());
    assert!(kept.len() < payload.len());
    assert_eq!(
        kept[..],
        payload[..kept.len()],
        "the kept part is a prefix of what was sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_arguments_get_501_and_the_root_is_protected() {
    let (server, mut c) = standard_login().await;
    for verb in [
        "USER", "CWD", "XCWD", "MKD", "XMKD", "RMD", "DELE", "RNFR", "RNTO", "RETR", "STOR",
        "APPE", "SIZE", "MDTM", "MFMT", "PORT", "EPRT", "REST", "TYPE", "STRU", "MODE", "SITE",
        "OPTS",
    ] {
        let r = c.cmd(verb).await;
        assert_eq!(r.code, 501, "{verb} without its argument → {r:?}");
    }
    // The root of the site cannot be removed, renamed or deleted.
    c.expect("RMD /", 550).await;
    c.expect("RNFR /", 550).await;
    c.expect("DELE /", 550).await;
    c.expect("SIZE /", 550).await;
    assert!(server.site_dir().is_dir());
    c.expect("NOOP", 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn virtual_directory_roots_and_cross_mount_renames() {
    let site = SiteXml::new("Test").vdir("/mounted", "{ROOT}/elsewhere");
    let server = TestServer::start_with(&ConfigXml::single(site).xml(), |root| {
        write_file(root, "elsewhere/far.txt", b"far");
        write_file(root, "site/near.txt", b"near");
    })
    .await;
    let mut c = Client::connect(server.addr()).await;
    c.login("alice", "alice-pw").await;
    c.expect("RNFR /mounted/far.txt", 350).await;
    c.expect("RNTO /far.txt", 553).await;
    c.expect("RNFR near.txt", 350).await;
    c.expect("RNTO /mounted/near.txt", 553).await;
    assert!(server.root().join("elsewhere/far.txt").exists());
    assert!(server.site_dir().join("near.txt").exists());
    // Inside one mount a rename works.
    c.expect("RNFR /mounted/far.txt", 350).await;
    c.expect("RNTO /mounted/far2.txt", 250).await;
    assert!(server.root().join("elsewhere/far2.txt").exists());
    // The mount point itself is configuration, not content.
    c.expect("RMD /mounted", 550).await;
    c.expect("RNFR /mounted", 550).await;
    assert!(server.root().join("elsewhere").is_dir());
    // Uploads into a missing folder fail cleanly.
    let r = c.refused_data_cmd("STOR /no/such/dir/x.txt").await;
    assert_eq!(r.code, 550);
}
