//! `POST /api/v1/sites/{site}/sessions/{id}/terminate` against live transfers.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::client::Client;
use crate::http;
use crate::support::{TestServer, big_file};

const SITE: &str = "Default%20FTP%20Site";

/// Reads from `stream` until EOF or an error; how many bytes, and how it ended.
async fn drain(stream: &mut TcpStream, limit: Duration) -> (u64, Result<(), std::io::ErrorKind>) {
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0;
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => {
                panic!("the data connection is still open after {limit:?} ({total} bytes read)")
            }
            Ok(Ok(0)) => return (total, Ok(())),
            Ok(Ok(n)) => total += n as u64,
            Ok(Err(e)) => return (total, Err(e.kind())),
        }
    }
}

fn session_id(server: &TestServer) -> uuid::Uuid {
    let handles = server.registry.handles();
    assert_eq!(handles.len(), 1);
    handles[0].id
}

#[tokio::test]
async fn terminate_mid_download_reports_426_then_421_and_files_the_record() {
    let server = TestServer::start(|site| big_file(&site.join("big.bin"), 64 << 20)).await;
    let mut ftp = Client::connect(server.ftp).await;
    ftp.login("anonymous", "guest@").await;
    assert_eq!(ftp.cmd("TYPE I").await.code, 200);
    let data_addr = ftp.pasv().await;
    ftp.send_line("RETR big.bin").await;
    let mut data = TcpStream::connect(data_addr).await.unwrap();
    assert_eq!(ftp.next_reply().await.unwrap().code, 150);
    // Mid-transfer: part of the file has arrived.
    let mut buf = vec![0u8; 1 << 20];
    data.read_exact(&mut buf).await.unwrap();
    let id = session_id(&server);

    // The API shows the running transfer.
    let v = http::get(
        server.admin,
        "/api/v1/sessions?state=transferring",
        &server.token,
    )
    .await
    .json();
    let s = &v["sessions"][0];
    assert_eq!(s["sessionId"], id.to_string());
    assert_eq!(s["currentCommand"], "RETR big.bin");
    assert_eq!(s["transfer"]["direction"], "download");
    assert_eq!(s["transfer"]["path"], "/big.bin");
    assert_eq!(s["transfer"]["size"], 64u64 << 20);
    assert!(s["transfer"]["bytes"].as_u64().unwrap() >= 1 << 20);

    let r = http::post(
        server.admin,
        &format!("/api/v1/sites/{SITE}/sessions/{id}/terminate"),
        &server.token,
        r#"{"reason": "maintenance window"}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v = r.json();
    assert_eq!(v["terminated"], true);
    let ended = &v["session"];
    assert_eq!(ended["sessionId"], id.to_string());
    assert_eq!(ended["endReason"], "terminated");
    assert_eq!(ended["terminatedBy"], "api");
    assert_eq!(ended["terminateReason"], "maintenance window");
    assert_eq!(ended["transfer"], serde_json::Value::Null);
    assert!(ended["bytesSent"].as_u64().unwrap() >= 1 << 20);

    // The client sees the abort and the reason, then the end of both channels.
    let aborted = ftp.next_reply().await.expect("426");
    assert_eq!(aborted.code, 426, "{aborted:?}");
    let closing = ftp.next_reply().await.expect("421");
    assert_eq!(closing.code, 421);
    assert_eq!(closing.lines, vec!["421 maintenance window".to_string()]);
    assert_eq!(ftp.next_reply().await, None, "control connection closed");
    let (_, end) = drain(&mut data, Duration::from_secs(5)).await;
    // Aborted data connections are reset; a reset may also surface as a plain EOF.
    assert!(
        matches!(end, Ok(()) | Err(std::io::ErrorKind::ConnectionReset)),
        "{end:?}"
    );

    // The history keeps it, with actor and reason.
    let v = http::get(server.admin, "/api/v1/sessions/ended", &server.token)
        .await
        .json();
    let e = &v["sessions"][0];
    assert_eq!(e["sessionId"], id.to_string());
    assert_eq!(e["endReason"], "terminated");
    assert_eq!(e["terminatedBy"], "api");
    assert_eq!(e["terminateReason"], "maintenance window");
    assert_eq!(e["lastErrorStatus"], 421);
    assert!(server.registry.handles().is_empty());
}

#[tokio::test]
async fn terminate_closes_both_channels_of_a_client_that_reads_nothing() {
    let server = TestServer::start(|site| big_file(&site.join("big.bin"), 64 << 20)).await;
    let mut ftp = Client::connect(server.ftp).await;
    ftp.login("anonymous", "guest@").await;
    assert_eq!(ftp.cmd("TYPE I").await.code, 200);
    let data_addr = ftp.pasv().await;
    ftp.send_line("RETR big.bin").await;
    // Connect the data channel, then read neither it nor the control connection.
    let mut data = TcpStream::connect(data_addr).await.unwrap();
    let id = session_id(&server);
    // Wait until the server is blocked on a full socket: the byte counter stops moving.
    let mut last = 0;
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(25)).await;
        let sent = server.registry.get(id).unwrap().counters().0;
        if sent > 0 && sent == last {
            break;
        }
        last = sent;
    }
    assert!(last > 0, "the transfer started");
    assert!(last < 64 << 20, "the transfer is stalled, not complete");

    let asked = Instant::now();
    let r = http::request(
        server.admin,
        "POST",
        &format!("/api/v1/sites/1/sessions/{id}/terminate"),
        &[
            ("Authorization", &format!("Bearer {}", server.token)),
            ("X-Wharf-Actor", "cli"),
        ],
        br#"{"reason":"stuck client"}"#,
    )
    .await;
    let took = asked.elapsed();
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        took < Duration::from_secs(1),
        "the session ended {took:?} after the request"
    );
    let v = r.json();
    assert_eq!(v["terminated"], true);
    assert_eq!(v["session"]["endReason"], "terminated");
    assert_eq!(v["session"]["terminatedBy"], "cli");
    assert_eq!(v["session"]["terminateReason"], "stuck client");

    // Both channels are closed already: everything left is readable at once, then EOF
    // (control) and reset (data: the unsent rest was discarded, not delivered).
    let start = Instant::now();
    let (_, end) = drain(&mut data, Duration::from_secs(1)).await;
    assert!(
        matches!(end, Err(std::io::ErrorKind::ConnectionReset) | Ok(())),
        "{end:?}"
    );
    let mut codes = Vec::new();
    while let Some(reply) = ftp.next_reply().await {
        codes.push(reply.code);
        if reply.code == 421 {
            assert_eq!(reply.text(), "stuck client");
        }
    }
    assert_eq!(codes, vec![150, 426, 421]);
    assert!(start.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn terminate_mid_upload() {
    let server = TestServer::start(|_| {}).await;
    let mut ftp = Client::connect(server.ftp).await;
    ftp.login("anonymous", "guest@").await;
    assert_eq!(ftp.cmd("TYPE I").await.code, 200);
    let data_addr = ftp.pasv().await;
    ftp.send_line("STOR upload.bin").await;
    let mut data = TcpStream::connect(data_addr).await.unwrap();
    assert_eq!(ftp.next_reply().await.unwrap().code, 150);
    // Keep sending until the connection breaks.
    let writer = tokio::spawn(async move {
        let block = vec![7u8; 64 * 1024];
        let mut sent = 0u64;
        loop {
            match tokio::time::timeout(Duration::from_secs(10), data.write_all(&block)).await {
                Ok(Ok(())) => sent += block.len() as u64,
                Ok(Err(e)) => return (sent, e.kind()),
                Err(_) => panic!("upload neither progressed nor failed"),
            }
        }
    });
    let id = session_id(&server);
    for _ in 0..500 {
        if server.registry.get(id).unwrap().counters().1 > 1 << 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let r = http::post(
        server.admin,
        &format!("/api/v1/sites/{SITE}/sessions/{id}/terminate"),
        &server.token,
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["session"]["endReason"], "terminated");
    assert_eq!(v["session"]["terminateReason"], serde_json::Value::Null);
    assert!(v["session"]["bytesReceived"].as_u64().unwrap() > 1 << 20);
    let (sent, error) = tokio::time::timeout(Duration::from_secs(2), writer)
        .await
        .expect("the uploader notices within 2 s")
        .unwrap();
    assert!(sent > 1 << 20);
    assert!(
        matches!(
            error,
            std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
        ),
        "{error:?}"
    );
    assert_eq!(ftp.next_reply().await.unwrap().code, 426);
    let closing = ftp.next_reply().await.unwrap();
    assert_eq!(closing.code, 421);
    assert_eq!(closing.text(), "Session terminated by the administrator.");
    assert_eq!(ftp.next_reply().await, None);
}

#[tokio::test]
async fn terminate_answers_404_and_already_ended() {
    let server = TestServer::start(|_| {}).await;
    let mut ftp = Client::connect(server.ftp).await;
    let id = session_id(&server);
    assert_eq!(ftp.cmd("QUIT").await.code, 221);
    server.wait_sessions(0).await;
    let uri = format!("/api/v1/sites/{SITE}/sessions/{id}/terminate");
    let r = http::post(server.admin, &uri, &server.token, "").await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["terminated"], false);
    assert_eq!(v["alreadyEnded"], true);
    assert_eq!(v["session"]["endReason"], "quit");
    assert_eq!(v["session"]["terminatedBy"], serde_json::Value::Null);
    let r = http::post(
        server.admin,
        &format!(
            "/api/v1/sites/{SITE}/sessions/{}/terminate",
            uuid::Uuid::new_v4()
        ),
        &server.token,
        "",
    )
    .await;
    assert_eq!(r.status, 404);
    assert!(r.json()["error"].is_string());
    // Without the token nothing happens.
    let r = http::request(server.admin, "POST", &uri, &[], b"").await;
    assert_eq!(r.status, 401);
}
