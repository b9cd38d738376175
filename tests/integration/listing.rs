//! Directory listings: LIST in UNIX and MS-DOS styles, NLST, MLSD/MLST facts, virtual
//! directories in listings, and a 100,000-entry directory.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::support::config::{ConfigXml, SiteXml, with_ftp};
use crate::support::{Client, TestServer, set_mtime, write_file};

/// 2019-07-01 09:03:00 UTC.
const OLD: i64 = 1_561_971_780;

fn populate(site: &Path) {
    write_file(site, "hello.txt", b"hello");
    write_file(site, "my file.txt", b"spaces in name");
    std::fs::create_dir(site.join("docs")).unwrap();
    write_file(site, "docs/inner.txt", b"x");
    std::fs::set_permissions(
        site.join("hello.txt"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    std::fs::set_permissions(site.join("docs"), std::fs::Permissions::from_mode(0o755)).unwrap();
    set_mtime(&site.join("hello.txt"), OLD);
    set_mtime(&site.join("docs"), OLD);
}

async fn login(flags: Option<&str>) -> (TestServer, Client) {
    let ftp = flags
        .map(|f| format!(r#"<directoryBrowse showFlags="{f}" />"#))
        .unwrap_or_default();
    let server = TestServer::start_with(&with_ftp(&ftp), |root| populate(&root.join("site"))).await;
    let mut c = Client::connect(server.addr()).await;
    c.login("alice", "alice-pw").await;
    (server, c)
}

fn line_for<'a>(listing: &'a str, name: &str) -> &'a str {
    listing
        .lines()
        .find(|l| l.ends_with(&format!(" {name}")))
        .unwrap_or_else(|| panic!("no line for {name} in:\n{listing}"))
}

fn tokens(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_in_unix_style() {
    let (_server, mut c) = login(Some("StyleUnix, UseGmtTime")).await;
    let listing = c.list("").await;
    assert!(listing.ends_with("\r\n"), "lines end with CRLF");
    assert_eq!(listing.lines().count(), 3, "{listing}");

    let hello = tokens(line_for(&listing, "hello.txt"));
    assert_eq!(hello[0], "-rw-r--r--", "{hello:?}");
    assert_eq!(hello[4], "5", "{hello:?}");
    assert_eq!(
        &hello[5..8],
        ["Jul", "1", "2019"],
        "old files show the year: {hello:?}"
    );
    assert_eq!(hello[8], "hello.txt");

    let docs = tokens(line_for(&listing, "docs"));
    assert_eq!(docs[0], "drwxr-xr-x", "{docs:?}");
    assert_eq!(&docs[5..8], ["Jul", "1", "2019"]);

    // A recent file shows the time of day instead of the year.
    let spaced = line_for(&listing, "my file.txt");
    let t = tokens(spaced);
    assert!(t[7].contains(':'), "recent: {spaced}");
    assert_eq!(t[4], "14");

    // A single file, and options such as -la are accepted.
    let one = c.list("hello.txt").await;
    assert_eq!(one.lines().count(), 1);
    assert!(one.trim_end().ends_with(" hello.txt"), "{one}");
    let la = c.list("-la").await;
    assert_eq!(la.lines().count(), 3, "{la}");
    let sub = c.list("-l docs").await;
    assert_eq!(sub.lines().count(), 1, "{sub}");
    assert!(sub.trim_end().ends_with(" inner.txt"));
    c.expect("LIST nothing", 550).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_in_ms_dos_style() {
    let (_server, mut c) = login(Some("UseGmtTime")).await;
    let listing = c.list("").await;
    assert_eq!(listing.lines().count(), 3, "{listing}");
    let hello = line_for(&listing, "hello.txt");
    assert_eq!(
        tokens(hello),
        ["07-01-19", "09:03AM", "5", "hello.txt"],
        "{hello}"
    );
    let docs = line_for(&listing, "docs");
    assert_eq!(
        tokens(docs),
        ["07-01-19", "09:03AM", "<DIR>", "docs"],
        "{docs}"
    );
    // The name is everything after the fixed columns, spaces included.
    let spaced = line_for(&listing, "my file.txt");
    assert!(spaced.ends_with(" 14 my file.txt"), "{spaced}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_long_date_and_default_flags() {
    let (_server, mut c) = login(Some("LongDate, UseGmtTime")).await;
    let listing = c.list("").await;
    let hello = line_for(&listing, "hello.txt");
    assert_eq!(
        tokens(hello),
        ["07-01-2019", "09:03AM", "5", "hello.txt"],
        "{hello}"
    );

    // With no directoryBrowse element the listing is MS-DOS style (IIS default).
    let (_server, mut c) = login(None).await;
    let listing = c.list("").await;
    let t = tokens(line_for(&listing, "docs"));
    assert_eq!(t.len(), 4, "{t:?}");
    let date: Vec<&str> = t[0].split('-').collect();
    assert_eq!(date.len(), 3, "{t:?}");
    assert!(
        date.iter()
            .all(|p| p.len() == 2 && p.parse::<u32>().is_ok()),
        "{t:?}"
    );
    assert!(t[1].ends_with("AM") || t[1].ends_with("PM"), "{t:?}");
    assert_eq!(t[2], "<DIR>");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nlst_lists_names_only() {
    let (_server, mut c) = login(None).await;
    let nlst = c.nlst("").await;
    let mut names: Vec<&str> = nlst.lines().collect();
    names.sort();
    assert_eq!(names, ["docs", "hello.txt", "my file.txt"]);
    let sub = c.nlst("docs").await;
    assert_eq!(sub.lines().collect::<Vec<_>>(), ["inner.txt"]);
    c.expect("CWD docs", 250).await;
    assert_eq!(c.nlst("").await.lines().collect::<Vec<_>>(), ["inner.txt"]);
    let empty_dir = {
        c.expect("MKD empty", 257).await;
        c.nlst("empty").await
    };
    assert!(empty_dir.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mlsd_and_mlst_facts() {
    let (_server, mut c) = login(None).await;
    let mlsd = c.mlsd("").await;
    assert_eq!(mlsd.lines().count(), 3, "{mlsd}");
    let hello = line_for(&mlsd, "hello.txt");
    assert_eq!(
        hello,
        "type=file;size=5;modify=20190701090300;perm=adfrw;unix.mode=0644; hello.txt"
    );
    let docs = line_for(&mlsd, "docs");
    assert_eq!(
        docs,
        "type=dir;modify=20190701090300;perm=cdeflmp;unix.mode=0755; docs"
    );
    assert!(line_for(&mlsd, "my file.txt").starts_with("type=file;size=14;"));

    let mlst = c.expect("MLST docs", 250).await;
    assert_eq!(mlst.lines.len(), 3);
    assert_eq!(
        mlst.lines[1],
        " type=dir;modify=20190701090300;perm=cdeflmp;unix.mode=0755; /docs"
    );
    let root = c.expect("MLST", 250).await;
    assert!(root.lines[1].starts_with(" type=dir;"), "{root:?}");

    c.expect("OPTS MLST size;type;", 200).await;
    let mlsd = c.mlsd("").await;
    assert_eq!(line_for(&mlsd, "hello.txt"), "type=file;size=5; hello.txt");
    c.expect("OPTS MLST ", 200).await;
    let mlsd = c.mlsd("").await;
    assert_eq!(line_for(&mlsd, "hello.txt"), " hello.txt");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mlsd_perm_follows_authorization() {
    let site =
        SiteXml::new("Test").rules(r#"<add accessType="Allow" users="*" permissions="Read" />"#);
    let server = TestServer::start_with(&ConfigXml::single(site).xml(), |root| {
        populate(&root.join("site"))
    })
    .await;
    let mut c = Client::connect(server.addr()).await;
    c.login("alice", "alice-pw").await;
    let mlsd = c.mlsd("").await;
    assert!(line_for(&mlsd, "hello.txt").contains(";perm=r;"), "{mlsd}");
    assert!(line_for(&mlsd, "docs").contains(";perm=el;"), "{mlsd}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn virtual_directories_show_only_with_the_flag() {
    let template = |flags: &str| {
        ConfigXml::single(
            SiteXml::new("Test")
                .vdir("/mounted", "{ROOT}/elsewhere")
                .ftp(&format!(r#"<directoryBrowse showFlags="{flags}" />"#)),
        )
        .xml()
    };
    let setup = |root: &Path| {
        write_file(root, "elsewhere/far.txt", b"far away");
        write_file(root, "site/local.txt", b"here");
    };
    for (flags, shown) in [
        ("StyleUnix", false),
        ("StyleUnix, DisplayVirtualDirectories", true),
    ] {
        let server = TestServer::start_with(&template(flags), setup).await;
        let mut c = Client::connect(server.addr()).await;
        c.login("alice", "alice-pw").await;
        let nlst = c.nlst("").await;
        assert_eq!(
            nlst.lines().any(|l| l == "mounted"),
            shown,
            "{flags}: {nlst}"
        );
        let list = c.list("").await;
        assert_eq!(
            list.lines().any(|l| l.ends_with(" mounted")),
            shown,
            "{flags}: {list}"
        );
        if shown {
            assert!(line_for(&list, "mounted").starts_with('d'), "{list}");
        }
        // Reachable either way.
        c.expect("CWD /mounted", 250).await;
        assert_eq!(c.nlst("").await.trim_end(), "far.txt");
        assert_eq!(c.retr("far.txt").await, b"far away");
        c.expect("CWD /", 250).await;
        assert_eq!(c.retr("/mounted/far.txt").await, b"far away");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_of_100000_entries_lists_completely() {
    const N: usize = 100_000;
    let server = TestServer::start(&crate::support::config::standard()).await;
    let dir = server.site_dir().join("many");
    tokio::task::spawn_blocking(move || {
        std::fs::create_dir(&dir).unwrap();
        for i in 0..N {
            std::fs::File::create(dir.join(format!("entry-{i:06}"))).unwrap();
        }
    })
    .await
    .unwrap();
    let mut c = Client::connect(server.addr()).await;
    c.login("alice", "alice-pw").await;
    let started = std::time::Instant::now();
    let nlst = c.nlst("many").await;
    let elapsed = started.elapsed();
    let names: std::collections::HashSet<&str> = nlst.lines().collect();
    assert_eq!(nlst.lines().count(), N);
    assert_eq!(names.len(), N, "no duplicates");
    assert!(names.contains("entry-000000") && names.contains("entry-099999"));
    eprintln!("NLST of {N} entries took {elapsed:?}");
    // MLSD streams the same count.
    let mlsd = c.mlsd("many").await;
    assert_eq!(mlsd.lines().count(), N);
}
