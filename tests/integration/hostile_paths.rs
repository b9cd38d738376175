//! Hostile paths: traversal, absolute host paths, symlinks out of the root, encoded dots,
//! NUL and control bytes, very long paths — none reaches outside the site, none kills the
//! session.

use std::path::Path;

use crate::support::config::{ConfigXml, SiteXml};
use crate::support::{Client, TestServer, standard_login, write_file};

const SECRET: &[u8] = b"TOP SECRET outside the FTP root";

fn layout(root: &Path) {
    write_file(root, "outside.txt", SECRET);
    write_file(root, "outside_dir/secret.txt", SECRET);
    let site = root.join("site");
    write_file(&site, "f.txt", b"inside");
    std::os::unix::fs::symlink("/etc", site.join("etc_link")).unwrap();
    std::os::unix::fs::symlink(root.join("outside_dir"), site.join("dir_link")).unwrap();
    std::os::unix::fs::symlink(root.join("outside.txt"), site.join("file_link")).unwrap();
}

async fn start() -> (TestServer, Client) {
    let server = TestServer::start_with(&crate::support::config::standard(), layout).await;
    let mut c = Client::connect(server.addr()).await;
    c.login("alice", "alice-pw").await;
    (server, c)
}

async fn pwd(c: &mut Client) -> String {
    c.expect("PWD", 257).await.text()
}

/// A refused data command: an error code, and never a 150.
async fn refused(c: &mut Client, line: &str, codes: &[u16]) {
    let r = c.refused_data_cmd(line).await;
    assert!(
        codes.contains(&r.code),
        "{line} → {r:?}, expected one of {codes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_dot_never_leaves_the_root() {
    let (server, mut c) = start().await;
    for path in [
        "../../../../etc/passwd",
        "/../../../../etc/passwd",
        "../outside.txt",
        "/../outside.txt",
        "sub/../../outside.txt",
        "./../outside.txt",
        "..\\..\\outside.txt",
        "..//..//outside.txt",
    ] {
        refused(&mut c, &format!("RETR {path}"), &[550, 553]).await;
        let r = c.cmd(&format!("SIZE {path}")).await;
        assert!(r.code == 550 || r.code == 553, "SIZE {path} → {r:?}");
    }
    c.expect("CWD /../..", 250).await;
    assert!(pwd(&mut c).await.starts_with("\"/\""));
    let names = c.nlst("").await;
    assert!(names.contains("f.txt"), "still the site root: {names}");
    assert!(!names.contains("outside"), "{names}");
    c.expect("CWD ..", 250).await;
    assert!(pwd(&mut c).await.starts_with("\"/\""));
    let names = c.nlst("../..").await;
    assert!(
        names.contains("f.txt") && !names.contains("outside"),
        "{names}"
    );
    // Writes through `..` land inside the root.
    c.expect("DELE ../outside.txt", 550).await;
    assert!(server.root().join("outside.txt").exists());
    c.expect("RNFR f.txt", 350).await;
    c.expect("RNTO ../../moved.txt", 250).await;
    assert!(server.site_dir().join("moved.txt").exists());
    assert!(!server.root().join("moved.txt").exists());
    c.stor("../../../escaped.txt", b"x").await;
    assert!(server.site_dir().join("escaped.txt").exists());
    assert!(!server.root().join("escaped.txt").exists());
    c.expect("MKD ../../newdir", 257).await;
    assert!(server.site_dir().join("newdir").is_dir());
    assert!(!server.root().join("newdir").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absolute_host_paths_are_site_paths() {
    let (server, mut c) = start().await;
    let host_path = server.root().join("outside.txt").display().to_string();
    for path in [
        "/etc/passwd",
        "//etc/passwd",
        host_path.as_str(),
        "~/outside.txt",
        "~root/.bashrc",
    ] {
        refused(&mut c, &format!("RETR {path}"), &[550, 553]).await;
    }
    let r = c.cmd("CWD /etc").await;
    assert_eq!(r.code, 550, "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symlinks_out_of_the_root_are_refused() {
    let (server, mut c) = start().await;
    for line in [
        "RETR etc_link/passwd",
        "RETR dir_link/secret.txt",
        "RETR file_link",
        "LIST etc_link",
        "NLST dir_link",
        "MLSD dir_link",
        "LIST file_link",
        "STOR dir_link/planted.txt",
        "APPE file_link",
        "STOR file_link",
    ] {
        let r = c.refused_data_cmd(line).await;
        assert!(matches!(r.code, 550 | 553), "{line} → {r:?}");
    }
    for line in [
        "CWD etc_link",
        "CWD dir_link",
        "SIZE file_link",
        "SIZE etc_link/passwd",
        "MDTM dir_link/secret.txt",
        "MKD dir_link/newdir",
        "DELE dir_link/secret.txt",
        "RMD etc_link/ssl",
        "MLST dir_link/secret.txt",
        "STAT dir_link",
    ] {
        let r = c.cmd(line).await;
        assert!(matches!(r.code, 550 | 553), "{line} → {r:?}");
        assert!(!r.contains("TOP SECRET"));
    }
    // Nothing outside was read, created, changed or removed.
    assert_eq!(
        std::fs::read(server.root().join("outside.txt")).unwrap(),
        SECRET
    );
    assert!(server.root().join("outside_dir/secret.txt").exists());
    assert!(!server.root().join("outside_dir/planted.txt").exists());
    assert!(!server.root().join("outside_dir/newdir").exists());
    // The session is intact.
    assert!(pwd(&mut c).await.starts_with("\"/\""));
    assert_eq!(c.retr("f.txt").await, b"inside");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn percent_encoded_dots_are_literal_names() {
    let (server, mut c) = start().await;
    refused(&mut c, "RETR %2e%2e/outside.txt", &[550]).await;
    refused(&mut c, "RETR %2e%2e%2foutside.txt", &[550]).await;
    c.expect("CWD %2e%2e", 550).await;
    c.expect("MKD %2e%2e", 257).await;
    assert!(server.site_dir().join("%2e%2e").is_dir());
    c.expect("CWD %2e%2e", 250).await;
    assert!(pwd(&mut c).await.starts_with("\"/%2e%2e\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_and_control_bytes_are_refused_without_harm() {
    let (server, mut c) = start().await;
    c.send_raw(b"RETR f.txt\x00../../outside.txt\r\n").await;
    c.expect_reply(501).await;
    c.send_raw(b"MKD a\x00b\r\n").await;
    c.expect_reply(501).await;
    c.send_raw(b"\x00\r\n").await;
    let r = c.read_reply().await;
    assert!(r.code == 500 || r.code == 501, "{r:?}");
    c.send_raw(b"MKD bad\x01name\r\n").await;
    let r = c.read_reply().await;
    assert!(r.code == 553 || r.code == 501, "{r:?}");
    c.send_raw(b"MKD \xc3\x28invalid-utf8\r\n").await;
    c.expect_reply(501).await;
    let entries = std::fs::read_dir(server.site_dir()).unwrap().count();
    assert_eq!(
        entries, 4,
        "nothing was created (f.txt and the three links)"
    );
    c.expect("NOOP", 200).await;
    assert_eq!(c.retr("f.txt").await, b"inside");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn very_long_paths_are_refused_and_the_session_survives() {
    let (_server, mut c) = standard_login().await;
    let long = "a/".repeat(3000);
    let r = c.cmd(&format!("RETR {long}")).await;
    assert!(r.code == 500 || r.code == 553, "{r:?}");
    c.expect("NOOP", 200).await;
    let r = c.cmd(&format!("CWD {}", "x".repeat(4000))).await;
    assert!(matches!(r.code, 500 | 550 | 553), "{r:?}");
    c.expect("NOOP", 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paths_longer_than_the_limit_get_553() {
    let mut site = SiteXml::new("Test");
    site.security_extra = r#"<commandFiltering maxCommandLine="20000" />"#.to_string();
    let server = TestServer::start(&ConfigXml::single(site).xml()).await;
    let mut c = Client::connect(server.addr()).await;
    c.login("alice", "alice-pw").await;
    let long = "segment/".repeat(1000); // 8000 bytes, beyond the 4096-byte path limit
    c.expect(&format!("MKD {long}"), 553).await;
    c.expect(&format!("CWD {long}"), 553).await;
    let r = c.refused_data_cmd(&format!("RETR {long}")).await;
    assert_eq!(r.code, 553);
    c.expect("NOOP", 200).await;
    c.expect("PWD", 257).await;
}
