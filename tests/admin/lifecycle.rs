//! The token file, `wharf serve`'s start-up line, and the admin listener's shutdown.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::common::client::Client;
use crate::common::process::{ServerProcess, wharf};
use crate::http;
use crate::support::{TestServer, config_xml_admin};

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
    let _ftp = Client::connect(server.ftp).await;
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

/// `wharf serve` on the standard configuration with the admin API on `admin_binding`, in a
/// fresh directory, run until it prints its admin page line (the last line of
/// [`ServerProcess::startup`]); SIGTERM when dropped.
struct Served {
    server: ServerProcess,
    root: PathBuf,
    _dir: TempDir,
}

fn serve_until_admin_line(admin_attributes: &str) -> Served {
    let (dir, root) = crate::common::temp_root("wharf-admin-");
    let config = root.join("applicationHost.config");
    std::fs::write(&config, config_xml_admin(&root, admin_attributes)).unwrap();
    let mut cmd = wharf();
    cmd.args(["serve", "--config"])
        .arg(&config)
        .env("WHARF_LOG", "warn")
        .env_remove("WHARF_STATE_DIR");
    let server = ServerProcess::start_until(cmd, "its admin page line", |server| {
        server
            .startup
            .last()
            .is_some_and(|l| l.starts_with("wharf: admin"))
    });
    Served {
        server,
        root,
        _dir: dir,
    }
}

#[tokio::test]
async fn serve_prints_the_admin_page_and_token_file() {
    let served = serve_until_admin_line(r#"bindingInformation="127.0.0.1:0""#);
    let (server, root) = (&served.server, &served.root);
    let lines = &server.startup;
    let line = lines.last().unwrap().clone();
    let token_file = root.join(".wharf").join("admin.token");
    let rest = line
        .strip_prefix("wharf: admin page http://127.0.0.1:")
        .unwrap_or_else(|| panic!("{line}"));
    let (port, tail) = rest.split_once('/').unwrap();
    assert_eq!(tail, format!(" (token in {})", token_file.display()));
    assert!(
        !lines.iter().any(|l| l.contains("non-loopback"))
            && !server.stderr().contains("non-loopback"),
        "no warning on loopback: {lines:#?}\n{}",
        server.output()
    );
    let token = std::fs::read_to_string(&token_file).unwrap();
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let r = http::get(addr, "/api/v1/sites", token.trim()).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["sites"][0]["name"], "Default FTP Site");
}

/// Plain HTTP off loopback is a configuration error (see tests/clients/cli.rs) unless
/// `allowUnencryptedRemote`; then it is warned about.
#[tokio::test]
async fn an_allowed_plain_non_loopback_admin_binding_warns() {
    let served =
        serve_until_admin_line(r#"bindingInformation="0.0.0.0:0" allowUnencryptedRemote="true""#);
    let server = &served.server;
    assert!(
        server
            .startup
            .last()
            .unwrap()
            .starts_with("wharf: admin page http://0.0.0.0:")
    );
    // The warning goes to the log (stderr), possibly written after the admin line.
    let warned = |stderr: &str| {
        stderr
            .lines()
            .any(|l| l.contains("non-loopback") && l.contains("TLS"))
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while !warned(&server.stderr()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(warned(&server.stderr()), "{}", server.output());
}
