//! `GET /api/v1/events`: snapshot, then started / updated / ended with increasing ids,
//! and resumption with `Last-Event-ID`.

use std::time::Duration;

use crate::common::client::Client;
use crate::http::{self, Connection, SseEvent};
use crate::support::TestServer;

const WAIT: Duration = Duration::from_secs(10);

async fn subscribe(server: &TestServer, last_event_id: Option<u64>) -> Connection {
    let auth = format!("Bearer {}", server.token);
    let last = last_event_id.map(|id| id.to_string());
    let mut headers = vec![
        ("Authorization", auth.as_str()),
        ("Accept", "text/event-stream"),
    ];
    if let Some(last) = &last {
        headers.push(("Last-Event-ID", last.as_str()));
    }
    let conn = http::open(server.admin, "GET", "/api/v1/events", &headers, b"")
        .await
        .unwrap();
    assert_eq!(conn.status, 200);
    let ct = conn
        .headers
        .iter()
        .find(|(k, _)| k == "content-type")
        .map(|(_, v)| v.as_str());
    assert_eq!(ct, Some("text/event-stream"));
    conn
}

async fn next(conn: &mut Connection) -> SseEvent {
    conn.next_event(WAIT)
        .await
        .expect("an event in time")
        .expect("the stream is open")
}

/// Reads events until one of `kind` about session `id` arrives (returns every event read).
async fn until(conn: &mut Connection, kind: &str, id: &str, seen: &mut Vec<SseEvent>) -> SseEvent {
    loop {
        let e = next(conn).await;
        seen.push(e.clone());
        if e.event == kind && e.json()["sessionId"] == id {
            return e;
        }
    }
}

fn assert_increasing(events: &[SseEvent]) {
    let ids: Vec<u64> = events
        .iter()
        .map(|e| e.id.expect("every event has an id"))
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids increase: {ids:?}");
}

#[tokio::test]
async fn snapshot_then_started_updated_ended_then_resume() {
    let server = TestServer::start(|_| {}).await;
    let mut early = Client::connect(server.ftp).await;
    early.login("anonymous", "guest@").await;
    server.wait_sessions(1).await;

    let mut stream = subscribe(&server, None).await;
    let snapshot = next(&mut stream).await;
    assert_eq!(snapshot.event, "snapshot");
    let snapshot_id = snapshot.id.expect("the snapshot has an id");
    let sessions = snapshot.json()["sessions"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0]["userName"], "<Anonymous>");

    let mut ftp = Client::connect(server.ftp).await;
    let mut seen = vec![snapshot.clone()];
    // started: find the new session's id from the first started event.
    let started = loop {
        let e = next(&mut stream).await;
        seen.push(e.clone());
        if e.event == "session.started" {
            break e;
        }
    };
    let id = started.json()["sessionId"].as_str().unwrap().to_string();
    assert_ne!(
        serde_json::Value::from(id.clone()),
        sessions[0]["sessionId"]
    );
    assert_eq!(started.json()["state"], "authenticating");
    assert!(started.id.unwrap() > snapshot_id);

    ftp.login("anonymous", "guest@").await;
    assert_eq!(ftp.cmd("NOOP").await.code, 200);
    // The command start is published at once or by the sampler within a second; either
    // way an update shows the login.
    let updated = loop {
        let e = until(&mut stream, "session.updated", &id, &mut seen).await;
        if e.json()["userName"] == "<Anonymous>" {
            break e;
        }
    };
    assert_eq!(updated.json()["siteName"], "Default FTP Site");
    assert_eq!(ftp.cmd("QUIT").await.code, 221);
    let ended = until(&mut stream, "session.ended", &id, &mut seen).await;
    let e = ended.json();
    assert_eq!(e["endReason"], "quit");
    assert_eq!(e["currentCommand"], "QUIT");
    assert_eq!(e["terminatedBy"], serde_json::Value::Null);
    assert_increasing(&seen);
    drop(stream);

    // Resume after "started": the missed events replay in order, no snapshot; the
    // session's updates and its end are among them.
    let mut resumed = subscribe(&server, started.id).await;
    let mut replay = Vec::new();
    let end = until(&mut resumed, "session.ended", &id, &mut replay).await;
    assert!(replay.iter().all(|e| e.event != "snapshot"), "{replay:?}");
    assert!(replay[0].id.unwrap() > started.id.unwrap());
    assert!(replay.iter().any(|e| e.event == "session.updated"));
    assert_eq!(end.id, ended.id);
    assert_increasing(&replay);
    // …then live events continue on the same stream.
    let _third = Client::connect(server.ftp).await;
    let live = next(&mut resumed).await;
    assert_eq!(live.event, "session.started");
    assert!(live.id.unwrap() > end.id.unwrap());
    drop(resumed);

    // Resume from the newest id: nothing to replay, no snapshot, straight to live events.
    let newest = server.registry.events().last_id();
    let mut at_head = subscribe(&server, Some(newest)).await;
    let _fourth = Client::connect(server.ftp).await;
    let first = next(&mut at_head).await;
    assert_ne!(first.event, "snapshot");
    assert_eq!(first.id, Some(newest + 1), "no gap, no repeat");
    if first.event != "session.started" {
        let mut rest = vec![first];
        loop {
            let e = next(&mut at_head).await;
            rest.push(e.clone());
            if e.event == "session.started" {
                break;
            }
        }
        assert_increasing(&rest);
    }

    // An id the bus never issued (a previous run's, or garbage): a fresh snapshot.
    for stale in [Some(1), Some(newest + 1_000_000)] {
        let mut fresh = subscribe(&server, stale).await;
        let e = next(&mut fresh).await;
        assert_eq!(e.event, "snapshot", "Last-Event-ID {stale:?}");
        assert_eq!(e.json()["sessions"].as_array().unwrap().len(), 3);
    }
    drop(early);
}

#[tokio::test]
async fn transfer_progress_is_sampled_not_per_chunk() {
    let server =
        TestServer::start(|site| crate::support::big_file(&site.join("f.bin"), 64 << 20)).await;
    let mut stream = subscribe(&server, None).await;
    assert_eq!(next(&mut stream).await.event, "snapshot");
    let mut ftp = Client::connect(server.ftp).await;
    ftp.login("anonymous", "guest@").await;
    assert_eq!(ftp.cmd("TYPE I").await.code, 200);
    let addr = ftp.pasv().await;
    ftp.send_line("RETR f.bin").await;
    let mut data = tokio::net::TcpStream::connect(addr).await.unwrap();
    assert_eq!(ftp.next_reply().await.unwrap().code, 150);
    // Read slowly (at most 256 KiB every 20 ms) for longer than the test watches.
    let reader = tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; 256 * 1024];
        let mut total = 0usize;
        loop {
            let n = data.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                return total;
            }
            total += n;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let mut progress = Vec::new();
    let started_at = tokio::time::Instant::now();
    while started_at.elapsed() < Duration::from_millis(2500) {
        let Ok(Some(e)) = stream.next_event(Duration::from_millis(200)).await else {
            continue;
        };
        if e.event == "session.updated"
            && let Some(bytes) = e.json()["transfer"]["bytes"].as_u64()
        {
            progress.push(bytes);
        }
    }
    // About one sample per second, never a flood, and moving forward.
    assert!(
        (1..=5).contains(&progress.len()),
        "progress updates: {progress:?}"
    );
    assert!(progress.windows(2).all(|w| w[0] < w[1]), "{progress:?}");
    drop(stream);
    ftp.send_line("ABOR").await;
    let _ = reader.await;
}
