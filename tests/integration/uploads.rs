//! A failed upload never destroys data: STOR writes aside and renames only a complete
//! upload over the name, so every way a transfer can fail leaves the old file byte-identical
//! and no new name behind. With `keepPartialUploads` the partial is kept under the name.

use std::path::Path;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;

use crate::support::client::{connect, reset};
use crate::support::config::with_ftp;
use crate::support::{Client, TestServer, pattern, write_file};

/// How a transfer fails.
#[derive(Debug, Clone, Copy)]
enum Failure {
    /// The data connection is reset mid-upload.
    DataReset,
    /// The control connection is reset; the data connection stays open.
    ControlReset,
    /// The control connection is closed (FIN); the data connection stays open.
    ControlClosed,
    /// ABOR.
    Abor,
    /// The client stops sending: `dataChannelTimeout` (1 s here).
    Timeout,
    /// The server shuts down with a short grace.
    Shutdown,
}

const FAILURES: [Failure; 6] = [
    Failure::DataReset,
    Failure::ControlReset,
    Failure::ControlClosed,
    Failure::Abor,
    Failure::Timeout,
    Failure::Shutdown,
];

/// Names in `dir` (temporaries included).
fn disk_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// Polls for up to one second until the folder shows `expected` (the promise of the
/// issue: the old state within one second of the failure).
async fn settles_within_a_second(dir: &Path, expected: &[String], what: &str) {
    let start = Instant::now();
    loop {
        let now = disk_names(dir);
        if now == expected {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{what}: the folder still holds {now:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Starts a STOR of `name`, sends half a 2 MiB payload, waits until the server has it,
/// then fails the transfer as `failure` says. Returns what was sent.
async fn fail_an_upload(server: &mut TestServer, name: &str, failure: Failure) -> Vec<u8> {
    let mut c = Client::connect(server.addr()).await;
    c.login("alice", "alice-pw").await;
    c.expect("TYPE I", 200).await;
    let addr = c.pasv().await;
    let mut data = connect(addr).await;
    c.send_line(&format!("STOR {name}")).await;
    c.expect_reply(150).await;
    let payload = pattern(2 << 20, 17);
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
    match failure {
        Failure::DataReset => {
            reset(&data);
            drop(data);
            let r = c.read_reply().await;
            assert_eq!(r.code, 426, "{r:?}");
        }
        Failure::ControlReset => {
            c.reset();
            // The data connection stays open until the folder is checked.
            std::mem::forget(data);
        }
        Failure::ControlClosed => {
            drop(c);
            std::mem::forget(data);
        }
        Failure::Abor => {
            c.send_line("ABOR").await;
            c.expect_reply(426).await;
            c.expect_reply(226).await;
        }
        Failure::Timeout => {
            let r = c.read_reply().await;
            assert_eq!(r.code, 426, "{r:?}");
            drop(data);
        }
        Failure::Shutdown => {
            server.shutdown(Duration::from_millis(100)).await;
            drop(data);
        }
    }
    payload
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_overwrite_leaves_the_old_file_byte_identical() {
    let old = pattern(300_000, 3);
    for failure in FAILURES {
        let mut server =
            TestServer::start(&with_ftp(r#"<connections dataChannelTimeout="1" />"#)).await;
        write_file(&server.site_dir(), "report.bin", &old);
        let before = disk_names(&server.site_dir());
        fail_an_upload(&mut server, "report.bin", failure).await;
        settles_within_a_second(&server.site_dir(), &before, &format!("{failure:?}")).await;
        assert!(
            std::fs::read(server.site_dir().join("report.bin")).unwrap() == old,
            "{failure:?}: the old file changed"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_new_upload_leaves_no_name_behind() {
    for failure in FAILURES {
        let mut server =
            TestServer::start(&with_ftp(r#"<connections dataChannelTimeout="1" />"#)).await;
        let before = disk_names(&server.site_dir());
        fail_an_upload(&mut server, "new.bin", failure).await;
        settles_within_a_second(&server.site_dir(), &before, &format!("{failure:?}")).await;
    }
}

/// `keepPartialUploads="true"` (IIS's meaning, for REST resume): what arrived replaces the
/// name, even when the control connection went away.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_partial_uploads_keeps_what_arrived_under_the_name() {
    for failure in [Failure::DataReset, Failure::ControlClosed, Failure::Abor] {
        let mut server = TestServer::start(&with_ftp(
            r#"<fileHandling keepPartialUploads="true" /><connections dataChannelTimeout="1" />"#,
        ))
        .await;
        write_file(&server.site_dir(), "resumable.bin", b"old");
        let sent = fail_an_upload(&mut server, "resumable.bin", failure).await;
        let path = server.site_dir().join("resumable.bin");
        crate::support::wait_for("the partial to be published", || {
            let now = std::fs::read(&path).ok()?;
            (now.len() >= 1 << 20).then_some(())
        })
        .await;
        let kept = std::fs::read(&path).unwrap();
        assert!(kept.len() < sent.len(), "{failure:?}");
        assert!(kept[..] == sent[..kept.len()], "{failure:?}: not a prefix");
        assert!(
            !disk_names(&server.site_dir())
                .iter()
                .any(|n| n.starts_with(".wharf-upload-")),
            "{failure:?}"
        );
    }
}

/// A reader sees the old content until the upload completes, then the new one; the
/// replaced file keeps its mode.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overwrite_is_atomic_for_readers_and_keeps_the_mode() {
    use std::os::unix::fs::PermissionsExt;
    let server = TestServer::start(&with_ftp(
        r#"<fileHandling allowReadUploadsInProgress="true" />"#,
    ))
    .await;
    let path = server.site_dir().join("page.html");
    write_file(&server.site_dir(), "page.html", b"old page");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o604)).unwrap();
    let mut up = Client::connect(server.addr()).await;
    up.login("alice", "alice-pw").await;
    up.expect("TYPE I", 200).await;
    let addr = up.pasv().await;
    let mut data = connect(addr).await;
    up.send_line("STOR page.html").await;
    up.expect_reply(150).await;
    data.write_all(b"new pa").await.unwrap();
    let registry = server.registry().clone();
    crate::support::wait_for("upload bytes to arrive", || {
        registry
            .sessions(None)
            .iter()
            .find_map(|s| s.transfer.as_ref().map(|t| t.bytes))
            .filter(|b| *b >= 6)
    })
    .await;
    let mut reader = Client::connect(server.addr()).await;
    reader.login("bob", "bob-pw").await;
    assert_eq!(reader.retr("page.html").await, b"old page");
    data.write_all(b"ge").await.unwrap();
    drop(data);
    up.expect_reply(226).await;
    assert_eq!(reader.retr("page.html").await, b"new page");
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777,
        0o604
    );
}

/// The temporary of an upload in progress is never listed and answers no command.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporaries_never_show_and_never_match() {
    let server = TestServer::start(&with_ftp("")).await;
    let mut up = Client::connect(server.addr()).await;
    up.login("alice", "alice-pw").await;
    up.expect("TYPE I", 200).await;
    let addr = up.pasv().await;
    let mut data = connect(addr).await;
    up.send_line("STOR coming.bin").await;
    up.expect_reply(150).await;
    data.write_all(b"partial").await.unwrap();
    let temporary = crate::support::wait_for("the temporary", || {
        disk_names(&server.site_dir())
            .into_iter()
            .find(|n| n.starts_with(".wharf-upload-"))
    })
    .await;
    let mut c = Client::connect(server.addr()).await;
    c.login("bob", "bob-pw").await;
    assert!(!c.nlst("").await.contains(".wharf-upload-"));
    assert!(!c.list("-a").await.contains(".wharf-upload-"));
    for line in [
        format!("SIZE {temporary}"),
        format!("MDTM {temporary}"),
        format!("DELE {temporary}"),
        format!("RNFR {temporary}"),
    ] {
        let r = c.cmd(&line).await;
        assert_eq!(r.code, 553, "{line} → {r:?}");
    }
    assert_eq!(
        c.refused_data_cmd(&format!("RETR {temporary}")).await.code,
        553
    );
    drop(data);
    up.expect_reply(226).await;
    assert_eq!(c.retr("coming.bin").await, b"partial");
}
