//! `system.ftpServer/security/authorization`: deny wins, per-directory `<location>` rules,
//! anonymous (`?`) read-only, roles, `<clear/>`, and no rules meaning no access.

use std::path::Path;

use crate::support::config::{ConfigXml, SiteXml, location};
use crate::support::{Client, TestServer, write_file};

fn layout(root: &Path) {
    let site = root.join("site");
    write_file(&site, "f.txt", b"root file");
    write_file(&site, "upload/u.txt", b"upload file");
    write_file(&site, "readonly/r.txt", b"readonly file");
    write_file(&site, "locked/l.txt", b"locked file");
}

async fn start(site_rules: Option<&str>, locations: &str) -> TestServer {
    let mut site = SiteXml::new("Test");
    site.rules = site_rules.map(str::to_string);
    let xml = ConfigXml::single(site).locations(locations).xml();
    TestServer::start_with(&xml, layout).await
}

async fn login(server: &TestServer, user: &str, pass: &str) -> Client {
    let mut c = Client::connect(server.addr()).await;
    c.login(user, pass).await;
    c.expect("TYPE I", 200).await;
    c
}

/// Asserts read access to `file` (RETR, SIZE, LIST of its folder) is as expected.
async fn assert_read(c: &mut Client, file: &str, allowed: bool, who: &str) {
    if allowed {
        assert!(!c.retr(file).await.is_empty(), "{who} reads {file}");
        c.expect(&format!("SIZE {file}"), 213).await;
    } else {
        let r = c.refused_data_cmd(&format!("RETR {file}")).await;
        assert_eq!(r.code, 550, "{who} must not read {file}: {r:?}");
        c.expect(&format!("SIZE {file}"), 550).await;
    }
}

/// Asserts write access in `dir` (STOR, MKD, DELE of the new file) is as expected.
async fn assert_write(c: &mut Client, server: &TestServer, dir: &str, allowed: bool, who: &str) {
    let target = format!("{dir}/new-{who}.txt");
    let on_disk = server.site_dir().join(target.trim_start_matches('/'));
    if allowed {
        c.stor(&target, b"written").await;
        assert!(on_disk.exists(), "{who} wrote {target}");
        c.expect(&format!("DELE {target}"), 250).await;
        c.expect(&format!("MKD {dir}/dir-{who}"), 257).await;
        c.expect(&format!("RMD {dir}/dir-{who}"), 250).await;
    } else {
        let r = c.refused_data_cmd(&format!("STOR {target}")).await;
        assert_eq!(r.code, 550, "{who} must not write {target}: {r:?}");
        assert!(!on_disk.exists());
        c.expect(&format!("MKD {dir}/dir-{who}"), 550).await;
        c.expect(&format!("APPE {target}"), 550).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deny_wins_over_allow() {
    let server = start(
        Some(
            r#"<add accessType="Allow" users="*" permissions="Read, Write" />
               <add accessType="Deny" users="bob" permissions="Write" />
               <add accessType="Deny" roles="staff" permissions="Read" />
               <add accessType="Allow" users="alice" permissions="Read" />"#,
        ),
        "",
    )
    .await;
    let mut bob = login(&server, "bob", "bob-pw").await;
    assert_read(&mut bob, "f.txt", true, "bob").await;
    assert_write(&mut bob, &server, "/upload", false, "bob").await;
    bob.expect("DELE f.txt", 550).await;
    bob.expect("RNFR f.txt", 550).await;
    bob.expect("MFMT 20200101000000 f.txt", 550).await;
    assert!(server.site_dir().join("f.txt").exists());

    // alice is allowed Read by name but denied Read through her role: deny wins.
    let mut alice = login(&server, "alice", "alice-pw").await;
    assert_read(&mut alice, "f.txt", false, "alice").await;
    alice.expect("CWD upload", 550).await;
    assert_write(&mut alice, &server, "/upload", true, "alice").await;

    let mut carol = login(&server, "carol", "carol-pw").await;
    assert_read(&mut carol, "f.txt", true, "carol").await;
    assert_write(&mut carol, &server, "/upload", true, "carol").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_directory_rules() {
    let server = start(
        Some(r#"<add accessType="Allow" users="*" permissions="Read" />"#),
        &[
            // Replacing the inherited rule (an identical <add> is a duplicate in IIS).
            location(
                "Test/upload",
                r#"<remove users="*" accessType="Allow" />
                   <add accessType="Allow" users="*" permissions="Read, Write" />"#,
            ),
            // Adding to the inherited rules.
            location(
                "Test/staffonly",
                r#"<add accessType="Allow" roles="staff" permissions="Write" />"#,
            ),
        ]
        .concat(),
    )
    .await;
    std::fs::create_dir(server.site_dir().join("staffonly")).unwrap();
    let mut alice = login(&server, "alice", "alice-pw").await;
    assert_write(&mut alice, &server, "/staffonly", true, "alice").await;
    assert_write(&mut alice, &server, "/readonly", false, "alice").await;
    let mut bob = login(&server, "bob", "bob-pw").await;
    assert_write(&mut bob, &server, "/staffonly", false, "bob").await;
    assert_read(&mut bob, "upload/u.txt", true, "bob").await;
    let mut c = login(&server, "carol", "carol-pw").await;
    assert_write(&mut c, &server, "", false, "carol").await;
    assert_write(&mut c, &server, "/readonly", false, "carol").await;
    assert_write(&mut c, &server, "/upload", true, "carol").await;
    // Read is inherited into the location.
    assert_read(&mut c, "upload/u.txt", true, "carol").await;
    assert_read(&mut c, "readonly/r.txt", true, "carol").await;
    // Rules apply to the target of RNTO too.
    c.expect("RNFR upload/u.txt", 350).await;
    c.expect("RNTO readonly/u.txt", 550).await;
    assert!(server.site_dir().join("upload/u.txt").exists());
    c.expect("RNFR readonly/r.txt", 550).await;
    // CWD into the writable folder, then relative names are checked there.
    c.expect("CWD upload", 250).await;
    c.stor("rel.txt", b"relative").await;
    assert!(server.site_dir().join("upload/rel.txt").exists());
    c.expect("CWD ..", 250).await;
    let r = c.refused_data_cmd("STOR rel.txt").await;
    assert_eq!(r.code, 550);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_is_read_only_with_question_mark() {
    let server = start(
        Some(
            r#"<add accessType="Allow" users="?" permissions="Read" />
               <add accessType="Allow" roles="staff" permissions="Read, Write" />"#,
        ),
        "",
    )
    .await;
    let mut anon = login(&server, "anonymous", "guest@example.com").await;
    assert_read(&mut anon, "f.txt", true, "anonymous").await;
    let listing = anon.nlst("").await;
    assert!(listing.contains("f.txt"));
    assert_write(&mut anon, &server, "/upload", false, "anonymous").await;
    anon.expect("DELE f.txt", 550).await;
    anon.expect("RMD upload", 550).await;

    let mut alice = login(&server, "alice", "alice-pw").await;
    assert_write(&mut alice, &server, "/upload", true, "alice").await;

    // carol is neither anonymous nor in staff: nothing.
    let mut carol = login(&server, "carol", "carol-pw").await;
    assert_read(&mut carol, "f.txt", false, "carol").await;
    let r = carol.refused_data_cmd("LIST").await;
    assert_eq!(r.code, 550);
    assert_write(&mut carol, &server, "/upload", false, "carol").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_grant_access() {
    let server = start(
        Some(
            r#"<add accessType="Allow" roles="readers" permissions="Read" />
               <add accessType="Allow" roles="STAFF" permissions="Read, Write" />"#,
        ),
        "",
    )
    .await;
    let mut bob = login(&server, "bob", "bob-pw").await;
    assert_read(&mut bob, "f.txt", true, "bob").await;
    assert_write(&mut bob, &server, "/upload", false, "bob").await;
    let mut alice = login(&server, "alice", "alice-pw").await;
    assert_read(&mut alice, "f.txt", true, "alice").await;
    assert_write(&mut alice, &server, "/upload", true, "alice").await;
    let mut carol = login(&server, "carol", "carol-pw").await;
    assert_read(&mut carol, "f.txt", false, "carol").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clear_in_a_location_drops_inherited_rules() {
    let server = start(
        Some(r#"<add accessType="Allow" users="*" permissions="Read, Write" />"#),
        &location(
            "Test/locked",
            r#"<clear />
               <add accessType="Allow" users="alice" permissions="Read" />"#,
        ),
    )
    .await;
    let mut bob = login(&server, "bob", "bob-pw").await;
    assert_read(&mut bob, "f.txt", true, "bob").await;
    assert_read(&mut bob, "locked/l.txt", false, "bob").await;
    bob.expect("CWD locked", 550).await;
    assert_write(&mut bob, &server, "/locked", false, "bob").await;
    let mut alice = login(&server, "alice", "alice-pw").await;
    assert_read(&mut alice, "locked/l.txt", true, "alice").await;
    assert_write(&mut alice, &server, "/locked", false, "alice").await;
    assert_write(&mut alice, &server, "/upload", true, "alice").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_rules_means_no_access() {
    let server = start(None, "").await;
    let mut alice = login(&server, "alice", "alice-pw").await;
    assert_read(&mut alice, "f.txt", false, "alice").await;
    let r = alice.refused_data_cmd("NLST").await;
    assert_eq!(r.code, 550);
    alice.expect("CWD upload", 550).await;
    assert_write(&mut alice, &server, "", false, "alice").await;
}
