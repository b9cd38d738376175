//! What one admin client can hold is bounded: the header-read timeout (slow, silent and idle
//! connections are closed; event streams are not), `maxConnections` (refused at once) and
//! `maxEventSubscribers` (503), the header size (431); and HTTPS with the configured
//! certificate.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::client::Client;
use crate::common::process::{run, wharf};
use crate::http;
use crate::support::TestServer;

/// Longest a test waits for the server to close a connection it must close.
const CLOSE_DEADLINE: Duration = Duration::from_secs(20);

/// Reads until the server closes (EOF or reset); the bytes read, or `None` when the
/// connection is still open at `limit`.
async fn until_closed(stream: &mut TcpStream, limit: Duration) -> Option<Vec<u8>> {
    let mut seen = Vec::new();
    let read_all = async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(limit, read_all).await.ok()?;
    Some(seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_read_timeout_closes_slow_silent_and_idle_connections_not_event_streams() {
    let server =
        TestServer::start_admin(r#"bindingInformation="127.0.0.1:0" headerReadTimeout="1""#).await;
    let auth = format!("Bearer {}", server.token);
    let mut events = http::open(
        server.admin,
        "GET",
        "/api/v1/events",
        &[("Authorization", &auth)],
        b"",
    )
    .await
    .unwrap();
    assert_eq!(events.status, 200);
    let snapshot = events.next_event(CLOSE_DEADLINE).await.unwrap().unwrap();
    assert_eq!(snapshot.event, "snapshot");

    // Slowloris: a header byte every 200 ms never completes the request.
    let trickler = TcpStream::connect(server.admin).await.unwrap();
    let (mut trickle_read, mut trickle_write) = trickler.into_split();
    let trickling = tokio::spawn(async move {
        let _ = trickle_write
            .write_all(b"GET /api/v1/sites HTTP/1.1\r\n")
            .await;
        for _ in 0..500 {
            if trickle_write.write_all(b"X").await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        false
    });
    let mut silent = TcpStream::connect(server.admin).await.unwrap();
    // Kept alive after one complete request, then idle.
    let mut idle = TcpStream::connect(server.admin).await.unwrap();
    idle.write_all(
        format!("GET /api/v1/sites HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\r\n")
            .as_bytes(),
    )
    .await
    .unwrap();

    let mut buf = [0u8; 4096];
    let trickled = tokio::time::timeout(CLOSE_DEADLINE, trickle_read.read(&mut buf)).await;
    assert!(
        matches!(trickled, Ok(Ok(0)) | Ok(Err(_))),
        "a slowloris connection must be closed: {trickled:?}"
    );
    assert!(
        until_closed(&mut silent, CLOSE_DEADLINE).await.is_some(),
        "a silent connection must be closed"
    );
    let answered = until_closed(&mut idle, CLOSE_DEADLINE)
        .await
        .expect("an idle kept-alive connection must be closed");
    assert!(
        String::from_utf8_lossy(&answered).starts_with("HTTP/1.1 200"),
        "the complete request was answered first: {}",
        String::from_utf8_lossy(&answered)
    );
    trickling.abort();

    // The event stream outlived several timeouts and still delivers.
    let _ftp = Client::connect(server.ftp).await;
    let started = loop {
        let event = events.next_event(CLOSE_DEADLINE).await.unwrap();
        let event = event.expect("the event stream must not be closed by the header timeout");
        if event.event == "session.started" {
            break event;
        }
    };
    assert_eq!(started.json()["siteName"], "Default FTP Site");
}

/// Opens a connection and reads what the server sends before the client says anything.
async fn refused(addr: SocketAddr) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let seen = until_closed(&mut stream, CLOSE_DEADLINE)
        .await
        .expect("a connection over maxConnections must be closed at once");
    String::from_utf8_lossy(&seen).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_max_connections_are_refused_at_once_and_slots_come_back() {
    let server = TestServer::start_admin(
        r#"bindingInformation="127.0.0.1:0" maxConnections="3" headerReadTimeout="600""#,
    )
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(server.admin).await.unwrap());
    }
    // The held ones are accepted in order; give the accept loop a moment to take all three.
    let answer = loop {
        let answer = refused(server.admin).await;
        if !answer.is_empty() {
            break answer;
        }
    };
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(json["error"], "too many admin connections; retry later");
    // A closed connection gives its slot back.
    held.pop();
    let deadline = tokio::time::Instant::now() + CLOSE_DEADLINE;
    loop {
        let mut stream = TcpStream::connect(server.admin).await.unwrap();
        let request = format!(
            "GET /api/v1/sites HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
            server.token
        );
        let _ = stream.write_all(request.as_bytes()).await;
        let seen = until_closed(&mut stream, CLOSE_DEADLINE)
            .await
            .unwrap_or_default();
        if String::from_utf8_lossy(&seen).starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the slot of the closed connection never came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_subscribers_over_the_cap_get_503() {
    let server =
        TestServer::start_admin(r#"bindingInformation="127.0.0.1:0" maxEventSubscribers="2""#)
            .await;
    let auth = format!("Bearer {}", server.token);
    let headers = [("Authorization", auth.as_str())];
    let subscribe = || http::open(server.admin, "GET", "/api/v1/events", &headers, b"");
    let mut first = subscribe().await.unwrap();
    let mut second = subscribe().await.unwrap();
    assert_eq!((first.status, second.status), (200, 200));
    for stream in [&mut first, &mut second] {
        let snapshot = stream.next_event(CLOSE_DEADLINE).await.unwrap().unwrap();
        assert_eq!(snapshot.event, "snapshot");
    }
    let mut third = subscribe().await.unwrap();
    assert_eq!(third.status, 503);
    assert_eq!(
        third
            .headers
            .iter()
            .find(|(k, _)| k == "retry-after")
            .map(|(_, v)| v.as_str()),
        Some("5")
    );
    let body: serde_json::Value =
        serde_json::from_slice(&third.read_body().await.unwrap()).unwrap();
    let error = body["error"].as_str().unwrap();
    assert!(error.contains("maxEventSubscribers is 2"), "{error}");
    // Other routes still answer.
    assert_eq!(
        http::get(server.admin, "/api/v1/sites", &server.token)
            .await
            .status,
        200
    );
    // A subscriber that leaves frees its place.
    drop(first);
    let deadline = tokio::time::Instant::now() + CLOSE_DEADLINE;
    loop {
        let stream = subscribe().await.unwrap();
        if stream.status == 200 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the place of the closed event stream never came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A self-signed certificate for `127.0.0.1` and `localhost`, written as PEM files in
/// `dir`; returns the DER certificate.
fn write_certificate(dir: &std::path::Path) -> Vec<u8> {
    let ck =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap();
    std::fs::write(dir.join("admin.crt"), ck.cert.pem()).unwrap();
    std::fs::write(dir.join("admin.key"), ck.signing_key.serialize_pem()).unwrap();
    ck.cert.der().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_the_configured_certificate_for_clients_and_the_cli() {
    let (dir, root) = crate::common::temp_root("wharf-admin-");
    let der = write_certificate(&root);
    let config = crate::support::config_xml_admin(
        &root,
        r#"bindingInformation="127.0.0.1:0" certificateFile="admin.crt" privateKeyFile="admin.key""#,
    );
    std::fs::write(root.join("applicationHost.config"), config).unwrap();
    let server = TestServer::start_in(dir, root).await;
    let admin = server.server.as_ref().unwrap().admin.clone().unwrap();
    assert!(admin.https && admin.url().starts_with("https://127.0.0.1:"));

    // A standard client that trusts the certificate (webpki, name checked) gets the API.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der.into()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let tcp = TcpStream::connect(server.admin).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut tls = connector.connect(name, tcp).await.unwrap();
    tls.write_all(
        format!(
            "GET /api/v1/sites HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
            server.token
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(CLOSE_DEADLINE, tls.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("Default FTP Site"), "{answer}");

    // Clear-text HTTP gets no HTTP answer.
    let mut plain = TcpStream::connect(server.admin).await.unwrap();
    plain
        .write_all(b"GET /api/v1/sites HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let seen = until_closed(&mut plain, CLOSE_DEADLINE)
        .await
        .unwrap_or_default();
    assert!(
        !seen.starts_with(b"HTTP/"),
        "{}",
        String::from_utf8_lossy(&seen)
    );

    // The CLI trusts the certificate the configuration names (pinned, so the address it
    // dials need not be in the certificate).
    let config = server.root.join("applicationHost.config");
    let url = format!("https://{}/", server.admin);
    let ran = tokio::task::spawn_blocking(move || {
        let mut cmd = wharf();
        cmd.args([
            "sites",
            "list",
            "-o",
            "json",
            "--admin-url",
            &url,
            "--config",
        ])
        .arg(&config)
        .env_remove("WHARF_STATE_DIR")
        .env_remove("WHARF_ADMIN_URL");
        run(&mut cmd, Duration::from_secs(60))
    })
    .await
    .unwrap();
    ran.assert_success();
    assert_eq!(ran.json()["sites"][0]["name"], "Default FTP Site", "{ran}");
}

#[tokio::test]
async fn request_headers_over_16_kib_get_431() {
    let server = TestServer::start(|_| {}).await;
    let mut stream = TcpStream::connect(server.admin).await.unwrap();
    let filler = "a".repeat(17 * 1024);
    let request = format!("GET /api/v1/sites HTTP/1.1\r\nHost: x\r\nX-Big: {filler}\r\n\r\n");
    let _ = stream.write_all(request.as_bytes()).await;
    let seen = until_closed(&mut stream, CLOSE_DEADLINE)
        .await
        .expect("closed after the answer");
    let seen = String::from_utf8_lossy(&seen);
    assert!(seen.starts_with("HTTP/1.1 431"), "{seen}");
}
