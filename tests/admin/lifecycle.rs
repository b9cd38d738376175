//! The token file, `wharf serve`'s start-up line, and the admin listener's shutdown.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::http;
use crate::support::{Ftp, TestServer, config_xml};

#[tokio::test]
async fn token_file_is_private_and_survives_restarts() {
    let mut server = TestServer::start(|_| {}).await;
    assert_eq!(
        server.token_file,
        server.root.join(".wharf").join("admin.token"),
        "default: admin.token in the state directory beside the configuration"
    );
    let mode = std::fs::metadata(&server.token_file)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let text = std::fs::read_to_string(&server.token_file).unwrap();
    assert_eq!(text.trim(), server.token);
    assert_eq!(server.token.len(), 64);
    assert!(server.token.bytes().all(|b| b.is_ascii_hexdigit()));
    let r = http::get(server.admin, "/api/v1/sites", &server.token).await;
    assert_eq!(r.status, 200);
    let wrong = "0".repeat(64);
    assert_eq!(
        http::get(server.admin, "/api/v1/sites", &wrong)
            .await
            .status,
        401
    );

    let token = server.token.clone();
    let old_admin = server.admin;
    server.shutdown(Duration::from_secs(1)).await;
    assert!(
        tokio::net::TcpStream::connect(old_admin).await.is_err(),
        "the admin listener closed with the server"
    );
    let (dir, root) = (server.dir, server.root);
    let again = TestServer::start_in(dir, root).await;
    assert_eq!(again.token, token, "the token is reused");
}

#[tokio::test]
async fn shutdown_ends_event_streams_and_the_listener() {
    let mut server = TestServer::start(|_| {}).await;
    let _ftp = Ftp::connect(server.ftp).await;
    let auth = format!("Bearer {}", server.token);
    let mut stream = http::open(
        server.admin,
        "GET",
        "/api/v1/events",
        &[("Authorization", &auth)],
        b"",
    )
    .await
    .unwrap();
    let first = stream
        .next_event(Duration::from_secs(5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.event, "snapshot");
    let admin = server.admin;
    tokio::time::timeout(
        Duration::from_secs(5),
        server.shutdown(Duration::from_secs(2)),
    )
    .await
    .expect("shutdown does not wait on the event stream");
    // The stream ends (its last events may be the session's end).
    loop {
        match stream.next_event(Duration::from_secs(5)).await {
            Ok(Some(e)) => assert_ne!(e.event, "snapshot"),
            Ok(None) => break,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                panic!("the event stream is still open after shutdown")
            }
            Err(_) => break,
        }
    }
    assert!(tokio::net::TcpStream::connect(admin).await.is_err());
}

/// Runs `wharf serve --config FILE` and collects stdout lines until `pred` matches one.
fn serve_until(
    config: &std::path::Path,
    pred: impl Fn(&str) -> bool,
) -> (Child, Vec<String>, mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wharf"))
        .args(["serve", "--config"])
        .arg(config)
        .env("WHARF_LOG", "warn")
        .env_remove("WHARF_STATE_DIR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let tx2 = tx.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx2.send(format!("stderr: {line}"));
        }
    });
    let mut lines = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(line) => {
                let done = pred(&line);
                lines.push(line);
                if done {
                    return (child, lines, rx);
                }
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("no matching line; got {lines:#?}");
            }
        }
    }
}

fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    for _ in 0..100 {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test]
async fn serve_prints_the_admin_page_and_token_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::create_dir_all(root.join("site")).unwrap();
    let config = root.join("applicationHost.config");
    std::fs::write(&config, config_xml(&root, "127.0.0.1:0")).unwrap();
    let (child, lines, _rx) = serve_until(&config, |l| l.starts_with("wharf: admin"));
    let line = lines.last().unwrap().clone();
    let token_file = root.join(".wharf").join("admin.token");
    let rest = line
        .strip_prefix("wharf: admin page http://127.0.0.1:")
        .unwrap_or_else(|| panic!("{line}"));
    let (port, tail) = rest.split_once('/').unwrap();
    assert_eq!(tail, format!(" (token in {})", token_file.display()));
    assert!(
        !lines.iter().any(|l| l.contains("non-loopback")),
        "no warning on loopback: {lines:#?}"
    );
    let token = std::fs::read_to_string(&token_file).unwrap();
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let r = http::get(addr, "/api/v1/sites", token.trim()).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["sites"][0]["name"], "Default FTP Site");
    stop(child);
}

#[tokio::test]
async fn a_non_loopback_admin_binding_warns() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::create_dir_all(root.join("site")).unwrap();
    let config = root.join("applicationHost.config");
    std::fs::write(&config, config_xml(&root, "0.0.0.0:0")).unwrap();
    let (child, lines, rx) = serve_until(&config, |l| l.starts_with("wharf: admin"));
    assert!(
        lines
            .last()
            .unwrap()
            .starts_with("wharf: admin page http://0.0.0.0:")
    );
    // The warning goes to the log (stderr), possibly interleaved after stdout.
    let mut all = lines.clone();
    while let Ok(l) = rx.recv_timeout(Duration::from_millis(500)) {
        all.push(l);
    }
    assert!(
        all.iter()
            .any(|l| l.starts_with("stderr:") && l.contains("non-loopback") && l.contains("TLS")),
        "{all:#?}"
    );
    stop(child);
}
