//! `userIsolation` modes: None, StartInUsersDirectory, IsolateRootDirectoryOnly and
//! IsolateAllDirectories, including anonymous homes, missing homes and `..` at the jail root.

use std::path::Path;

use crate::support::config::{ConfigXml, SiteXml};
use crate::support::{Client, TestServer, write_file};

fn config(mode: &str, site: SiteXml) -> String {
    ConfigXml::single(site.ftp(&format!(
        r#"<userIsolation mode="{mode}" />
           <directoryBrowse showFlags="StyleUnix, DisplayVirtualDirectories" />"#
    )))
    .xml()
}

fn layout(root: &Path) {
    let site = root.join("site");
    write_file(&site, "top.txt", b"top");
    write_file(&site, "alice/in-alice-dir.txt", b"alice dir");
    write_file(&site, "LocalUser/alice/home.txt", b"alice home");
    write_file(&site, "LocalUser/carol/secret.txt", b"carol secret");
    write_file(&site, "LocalUser/Public/public.txt", b"public");
    write_file(root, "shared/s.txt", b"shared");
    write_file(root, "bobhome/b.txt", b"bob virtual home");
    write_file(root, "team/t.txt", b"team");
}

async fn pwd(c: &mut Client) -> String {
    let r = c.expect("PWD", 257).await;
    let t = r.text();
    t[1..t[1..].find('"').unwrap() + 1].to_string()
}

async fn names(c: &mut Client, path: &str) -> Vec<String> {
    let mut v: Vec<String> = c.nlst(path).await.lines().map(str::to_string).collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mode_none_starts_everyone_at_the_root() {
    let server = TestServer::start_with(&config("None", SiteXml::new("Test")), layout).await;
    let mut c = Client::connect(server.addr()).await;
    c.login("alice", "alice-pw").await;
    assert_eq!(pwd(&mut c).await, "/");
    assert_eq!(c.retr("top.txt").await, b"top");
    assert_eq!(c.retr("/LocalUser/carol/secret.txt").await, b"carol secret");
    let mut anon = Client::connect(server.addr()).await;
    anon.login("anonymous", "x").await;
    assert_eq!(pwd(&mut anon).await, "/");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_in_users_directory_is_not_a_jail() {
    let server = TestServer::start_with(
        &config("StartInUsersDirectory", SiteXml::new("Test")),
        layout,
    )
    .await;
    let mut c = Client::connect(server.addr()).await;
    c.login("alice", "alice-pw").await;
    assert_eq!(pwd(&mut c).await, "/alice");
    assert_eq!(server.only_session().current_directory, "/alice");
    assert_eq!(c.retr("in-alice-dir.txt").await, b"alice dir");
    c.expect("CWD ..", 250).await;
    assert_eq!(pwd(&mut c).await, "/");
    assert_eq!(c.retr("top.txt").await, b"top");
    // bob has no /bob folder: he starts at the root.
    let mut b = Client::connect(server.addr()).await;
    b.login("bob", "bob-pw").await;
    assert_eq!(pwd(&mut b).await, "/");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isolate_root_directory_only_jails_to_the_physical_home() {
    let site = SiteXml::new("Test").vdir("/shared", "{ROOT}/shared");
    let server = TestServer::start_with(&config("IsolateRootDirectoryOnly", site), layout).await;
    let mut c = Client::connect(server.addr()).await;
    c.login("alice", "alice-pw").await;
    assert_eq!(pwd(&mut c).await, "/");
    // Her home, plus the global virtual directory.
    assert_eq!(names(&mut c, "").await, ["home.txt", "shared"]);
    assert_eq!(c.retr("home.txt").await, b"alice home");
    assert_eq!(c.retr("/shared/s.txt").await, b"shared");
    c.expect("CWD shared", 250).await;
    assert_eq!(pwd(&mut c).await, "/shared");
    c.expect("CWD /", 250).await;
    // `..` at the jail root stays at `/`.
    c.expect("CWD ..", 250).await;
    assert_eq!(pwd(&mut c).await, "/");
    c.expect("CWD /../..", 250).await;
    assert_eq!(pwd(&mut c).await, "/");
    assert_eq!(names(&mut c, "..").await, ["home.txt", "shared"]);
    // Nothing outside the home is reachable.
    c.expect("RETR ../carol/secret.txt", 550).await;
    c.expect("RETR /LocalUser/carol/secret.txt", 550).await;
    c.expect("RETR /top.txt", 550).await;
    c.expect("SIZE ../../top.txt", 550).await;
    // Uploads land in the home.
    c.stor("new.txt", b"new").await;
    assert_eq!(
        std::fs::read(server.site_dir().join("LocalUser/alice/new.txt")).unwrap(),
        b"new"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isolate_root_directory_only_homes_must_be_physical() {
    // bob's home is only a virtual directory: not a home in this mode.
    let site = SiteXml::new("Test").vdir("/LocalUser/bob", "{ROOT}/bobhome");
    let server = TestServer::start_with(&config("IsolateRootDirectoryOnly", site), layout).await;
    let mut c = Client::connect(server.addr()).await;
    c.expect("USER bob", 331).await;
    c.expect("PASS bob-pw", 530).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isolate_all_directories_with_virtual_homes() {
    let site = SiteXml::new("Test")
        .vdir("/shared", "{ROOT}/shared")
        .vdir("/LocalUser/bob", "{ROOT}/bobhome")
        .vdir("/LocalUser/alice/team", "{ROOT}/team");
    let server = TestServer::start_with(&config("IsolateAllDirectories", site), layout).await;

    // bob's home is a virtual directory.
    let mut b = Client::connect(server.addr()).await;
    b.login("bob", "bob-pw").await;
    assert_eq!(pwd(&mut b).await, "/");
    assert_eq!(
        names(&mut b, "").await,
        ["b.txt"],
        "root vdirs are invisible"
    );
    assert_eq!(b.retr("b.txt").await, b"bob virtual home");
    b.expect("CWD /shared", 550).await;
    b.expect("RETR /shared/s.txt", 550).await;
    b.expect("CWD ..", 250).await;
    assert_eq!(pwd(&mut b).await, "/");

    // alice's home is physical, with a virtual directory beneath it.
    let mut a = Client::connect(server.addr()).await;
    a.login("alice", "alice-pw").await;
    assert_eq!(names(&mut a, "").await, ["home.txt", "team"]);
    assert_eq!(a.retr("team/t.txt").await, b"team");
    a.expect("CWD /shared", 550).await;
    a.expect("RETR /../LocalUser/bob/b.txt", 550).await;
    a.expect("CWD /../../..", 250).await;
    assert_eq!(pwd(&mut a).await, "/");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_is_isolated_to_local_user_public() {
    for mode in ["IsolateRootDirectoryOnly", "IsolateAllDirectories"] {
        let server = TestServer::start_with(&config(mode, SiteXml::new("Test")), layout).await;
        let mut c = Client::connect(server.addr()).await;
        c.login("anonymous", "guest@example.com").await;
        assert_eq!(pwd(&mut c).await, "/", "{mode}");
        assert_eq!(names(&mut c, "").await, ["public.txt"], "{mode}");
        assert_eq!(c.retr("public.txt").await, b"public");
        c.expect("RETR /top.txt", 550).await;
        assert_eq!(server.only_session().user_name, "<Anonymous>");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_home_refuses_the_login() {
    for mode in ["IsolateRootDirectoryOnly", "IsolateAllDirectories"] {
        let server = TestServer::start_with(&config(mode, SiteXml::new("Test")), |root| {
            write_file(&root.join("site"), "LocalUser/alice/home.txt", b"x");
        })
        .await;
        let mut c = Client::connect(server.addr()).await;
        // bob has no LocalUser/bob, anonymous no LocalUser/Public.
        c.expect("USER bob", 331).await;
        c.expect("PASS bob-pw", 530).await;
        c.expect("USER anonymous", 331).await;
        c.expect("PASS x", 530).await;
        c.expect("PWD", 530).await;
        assert_eq!(server.only_session().user_name, "");
        // alice has one.
        c.login("alice", "alice-pw").await;
    }
}

/// alice's and bob's homes side by side; alice's holds links to bob's home (relative and
/// absolute), to one of his files, and one link that stays inside her home.
fn homes_with_links(root: &Path) {
    let site = root.join("site");
    write_file(&site, "LocalUser/alice/docs/mine.txt", b"alice's");
    write_file(&site, "LocalUser/bob/secret.txt", b"bob's secret");
    write_file(&site, "LocalUser/bob/sub/deep.txt", b"deep");
    let alice = site.join("LocalUser/alice");
    std::os::unix::fs::symlink("../bob", alice.join("rel")).unwrap();
    std::os::unix::fs::symlink(site.join("LocalUser/bob"), alice.join("abs")).unwrap();
    std::os::unix::fs::symlink("../bob/secret.txt", alice.join("file")).unwrap();
    std::os::unix::fs::symlink("docs", alice.join("inside")).unwrap();
}

/// Every path-taking command through a link out of the jail gets 550, and nothing in bob's
/// home is read, listed, written, renamed or deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jail_holds_through_links_for_every_command() {
    for mode in ["IsolateAllDirectories", "IsolateRootDirectoryOnly"] {
        let server =
            TestServer::start_with(&config(mode, SiteXml::new("Test")), homes_with_links).await;
        let mut c = Client::connect(server.addr()).await;
        c.login("alice", "alice-pw").await;
        c.expect("TYPE I", 200).await;
        for link in ["rel", "abs"] {
            let file = format!("{link}/secret.txt");
            let dir = format!("{link}/sub");
            for line in [
                format!("SIZE {file}"),
                format!("MDTM {file}"),
                format!("MFMT 20200101000000 {file}"),
                format!("MLST {file}"),
                format!("MLST {link}"),
                format!("CWD {link}"),
                format!("CWD {dir}"),
                format!("DELE {file}"),
                format!("RMD {dir}"),
                format!("MKD {link}/planted"),
                format!("RNFR {file}"),
                format!("RNFR {link}/sub"),
            ] {
                let r = c.cmd(&line).await;
                assert_eq!(r.code, 550, "{mode}: {line} → {r:?}");
            }
            for line in [
                format!("RETR {file}"),
                format!("STOR {file}"),
                format!("STOR {link}/planted.txt"),
                format!("APPE {file}"),
                format!("LIST {link}"),
                format!("NLST {link}"),
                format!("MLSD {link}"),
            ] {
                let r = c.refused_data_cmd(&line).await;
                assert_eq!(r.code, 550, "{mode}: {line} → {r:?}");
            }
            // STOU in a directory behind the link, and a rename of alice's file into it.
            c.expect(&format!("CWD {link}"), 550).await;
            c.expect("RNFR docs/mine.txt", 350).await;
            c.expect(&format!("RNTO {link}/stolen.txt"), 550).await;
            // SITE takes no path here: nothing to reach through it.
            let r = c.cmd(&format!("SITE CHMOD 777 {file}")).await;
            assert_eq!(r.code, 504, "{r:?}");
        }
        assert_eq!(c.refused_data_cmd("RETR file").await.code, 550);
        // Links that stay inside the jail keep working; the escaping ones are not listed.
        assert_eq!(c.retr("inside/mine.txt").await, b"alice's");
        assert_eq!(names(&mut c, "").await, ["docs", "inside"]);
        let bob = server.site_dir().join("LocalUser/bob");
        assert_eq!(
            std::fs::read(bob.join("secret.txt")).unwrap(),
            b"bob's secret",
            "{mode}"
        );
        let mut left: Vec<String> = std::fs::read_dir(&bob)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["secret.txt", "sub"], "{mode}");
        assert!(bob.join("sub/deep.txt").exists());
    }
}
