//! The sessions registry: the live record during a slow transfer, formats, PASS redaction,
//! terminate, and the ended history's reasons.

use std::time::Duration;

use time::OffsetDateTime;
use tokio::io::AsyncWriteExt;
use uuid::Uuid;
use wharf::registry::TerminateOutcome;
use wharf::registry::record::format_time;
use wharf::registry::{EndReason, SessionState, TransferDirection};

use crate::support::client::{SlowReader, connect};
use crate::support::{Client, TestServer, is_contract_time, pattern, standard_login, write_file};

const BIG: usize = 32 << 20;

async fn slow_download(server: &TestServer, c: &mut Client) -> (Vec<u8>, SlowReader) {
    let data = pattern(BIG, 21);
    write_file(&server.site_dir(), "big.bin", &data);
    c.expect("TYPE I", 200).await;
    let addr = c.pasv().await;
    let reader = SlowReader::connect(addr).await;
    c.send_line("RETR big.bin").await;
    c.expect_reply(150).await;
    (data, reader)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_record_during_a_slow_download() {
    let before = OffsetDateTime::now_utc();
    let server = TestServer::start(&crate::support::config::standard()).await;
    let mut c = Client::connect(server.addr()).await;
    let r0 = server.only_session();
    assert_eq!(r0.session_id.get_version_num(), 4, "sessionId is a UUID v4");
    assert_eq!(r0.user_name, "");
    assert_eq!(r0.state, SessionState::Authenticating);
    assert_eq!(r0.last_error_status, 220);
    assert!(r0.command_start_time.is_none());
    assert_eq!(r0.site_name, "Test");
    assert_eq!(r0.client_ip.to_string(), "127.0.0.1");
    assert_eq!(r0.client_port, c.local.port());
    assert_eq!(r0.server_port, server.addr().port());
    let start = format_time(r0.session_start_time);
    assert!(is_contract_time(&start), "{start}");
    assert!(r0.session_start_time >= before - Duration::from_millis(1));
    assert!(r0.session_start_time <= OffsetDateTime::now_utc());

    c.login("alice", "alice-pw").await;
    let r1 = server.only_session();
    assert_eq!(r1.user_name, "alice");
    assert_eq!(r1.current_command, "PASS ***");
    assert_eq!(r1.previous_command, "USER alice");
    assert_eq!(r1.last_error_status, 230);
    assert_eq!(r1.state, SessionState::Idle);
    let cst = r1
        .command_start_time
        .expect("commandStartTime after a command");
    assert!(is_contract_time(&format_time(cst)));
    assert!(cst >= r1.session_start_time);

    let (data, mut reader) = slow_download(&server, &mut c).await;
    reader.read_at_least(1 << 20).await;
    // Counters move per copied chunk: wait for the first to be counted.
    let registry = server.registry().clone();
    let s1 = crate::support::wait_for("transfer bytes to be counted", || {
        let s = registry.sessions(None).remove(0);
        s.transfer
            .as_ref()
            .is_some_and(|t| t.bytes >= 256 * 1024)
            .then_some(s)
    })
    .await;
    assert_eq!(s1.state, SessionState::Transferring);
    assert_eq!(s1.current_command, "RETR big.bin");
    assert_eq!(s1.previous_command, "PASV");
    assert_eq!(s1.last_error_status, 150);
    assert_eq!(s1.data_mode, "PASV");
    assert_eq!(s1.idle_seconds, 0);
    let t1 = s1.transfer.clone().expect("transfer while RETR runs");
    assert_eq!(t1.direction, TransferDirection::Download);
    assert_eq!(t1.direction.as_str(), "download");
    assert_eq!(t1.path, "/big.bin");
    assert_eq!(t1.size, Some(BIG as u64));
    assert!(t1.bytes >= 256 * 1024, "{t1:?}");
    assert!(t1.bytes < BIG as u64, "still running: {t1:?}");
    assert!(t1.start_time >= cst);

    reader.read_at_least(8 << 20).await;
    let t1_bytes = t1.bytes;
    let s2 = crate::support::wait_for("transfer bytes to grow", || {
        let s = registry.sessions(None).remove(0);
        (s.transfer.as_ref().map(|t| t.bytes).unwrap_or(0) > t1_bytes).then_some(s)
    })
    .await;
    let t2 = s2.transfer.clone().unwrap();
    assert!(t2.bytes > t1.bytes, "{t1:?} → {t2:?}");
    assert!(
        s2.bytes_sent > s1.bytes_sent,
        "bytesSent grows during the transfer"
    );
    assert!(s2.bytes_sent >= t2.bytes);
    assert!(t2.bytes_per_second > 0);
    assert_eq!(s2.command_start_time, s1.command_start_time);

    reader.read_rest().await;
    assert!(reader.received == data);
    c.expect_reply(226).await;
    let s3 = server.only_session();
    assert_eq!(s3.last_error_status, 226);
    assert!(s3.transfer.is_none());
    assert!(s3.bytes_sent >= BIG as u64);

    c.expect("NOOP", 200).await;
    let s4 = server.only_session();
    assert_eq!(s4.current_command, "NOOP");
    assert_eq!(s4.previous_command, "RETR big.bin");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(server.only_session().idle_seconds >= 1);
    c.expect("SIZE nothing", 550).await;
    assert_eq!(server.only_session().last_error_status, 550);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_returns_to_idle_after_a_transfer() {
    let (server, mut c) = standard_login().await;
    write_file(&server.site_dir(), "f.txt", b"small");
    assert_eq!(c.retr("f.txt").await, b"small");
    let registry = server.registry().clone();
    let waited = tokio::time::timeout(
        Duration::from_secs(2),
        crate::support::wait_for("state idle", || {
            let s = registry.sessions(None).remove(0);
            (s.state == SessionState::Idle).then_some(s)
        }),
    )
    .await;
    let state = server.only_session().state;
    assert!(
        waited.is_ok(),
        "state after 226 is {state:?}, expected Idle"
    );
    // Idle time counts again once the transfer is over.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(server.only_session().idle_seconds >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_counters_and_record() {
    let (server, mut c) = standard_login().await;
    c.expect("TYPE I", 200).await;
    c.expect("CWD /", 250).await;
    let received_before = server.only_session().bytes_received;
    let addr = c.epsv().await;
    let mut data = connect(addr).await;
    c.send_line("STOR up.bin").await;
    c.expect_reply(150).await;
    let chunk = pattern(1 << 20, 2);
    data.write_all(&chunk).await.unwrap();
    let registry = server.registry().clone();
    let s = crate::support::wait_for("upload to be counted", || {
        let s = registry.sessions(None).remove(0);
        s.transfer
            .as_ref()
            .is_some_and(|t| t.bytes == 1 << 20)
            .then_some(s)
    })
    .await;
    let t = s.transfer.clone().unwrap();
    assert_eq!(t.direction, TransferDirection::Upload);
    assert_eq!(t.path, "/up.bin");
    assert_eq!(s.state, SessionState::Transferring);
    assert_eq!(s.current_command, "STOR up.bin");
    assert_eq!(s.data_mode, "EPSV");
    assert!(s.bytes_received >= received_before + (1 << 20));
    data.write_all(&chunk).await.unwrap();
    drop(data);
    c.expect_reply(226).await;
    let s = server.only_session();
    assert!(s.bytes_received >= received_before + (2 << 20));
    assert!(s.transfer.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pass_is_always_redacted() {
    let server = TestServer::start(&crate::support::config::standard()).await;
    let mut c = Client::connect(server.addr()).await;
    c.expect("USER alice", 331).await;
    c.expect("pass wrong-secret", 530).await;
    let r = server.only_session();
    assert_eq!(r.current_command, "pass ***");
    c.expect("USER alice", 331).await;
    c.expect("PASS alice-pw", 230).await;
    let r = server.only_session();
    assert_eq!(r.current_command, "PASS ***");
    assert_eq!(r.previous_command, "USER alice");
    let id = r.session_id;
    c.expect("QUIT", 221).await;
    let ended = server.wait_ended(id).await;
    assert_eq!(ended.record.previous_command, "PASS ***");
    assert_eq!(ended.record.current_command, "QUIT");
    let debug = format!("{:?}", server.registry().ended(None));
    assert!(!debug.contains("alice-pw") && !debug.contains("wrong-secret"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_during_a_transfer() {
    let server = TestServer::start(&crate::support::config::standard()).await;
    let mut c = Client::connect(server.addr()).await;
    c.login("alice", "alice-pw").await;
    let (_data, mut reader) = slow_download(&server, &mut c).await;
    reader.read_at_least(128 * 1024).await;
    let id = server.only_session().session_id;
    let outcome = server
        .registry()
        .terminate(id, "test", Some("maintenance".to_string()));
    assert_eq!(outcome, TerminateOutcome::Requested);
    let replies = c.read_until_closed().await;
    let codes: Vec<u16> = replies.iter().map(|r| r.code).collect();
    assert_eq!(codes, [426, 421], "{replies:?}");
    assert_eq!(replies[1].text(), "maintenance");
    reader.drain().await;
    assert!(reader.received.len() < BIG, "the transfer was cut short");

    let ended = server.wait_ended(id).await;
    assert_eq!(ended.end_reason, EndReason::Terminated);
    assert_eq!(ended.end_reason.as_str(), "terminated");
    assert_eq!(ended.terminated_by.as_deref(), Some("test"));
    assert_eq!(ended.terminate_reason.as_deref(), Some("maintenance"));
    assert_eq!(ended.record.user_name, "alice");
    assert_eq!(ended.record.last_error_status, 421);
    assert!(ended.record.bytes_sent > 128 * 1024);
    assert!(ended.end_time >= ended.record.session_start_time);
    assert!(is_contract_time(&format_time(ended.end_time)));
    assert!(server.sessions().is_empty());
    match server.registry().terminate(id, "test", None) {
        TerminateOutcome::AlreadyEnded(e) => assert_eq!(e.record.session_id, id),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        server.registry().terminate(Uuid::new_v4(), "test", None),
        TerminateOutcome::NotFound
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_an_idle_session_without_reason() {
    let (server, mut c) = standard_login().await;
    let id = server.only_session().session_id;
    server.registry().terminate(id, "api", None);
    let replies = c.read_until_closed().await;
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0].code, 421);
    let ended = server.wait_ended(id).await;
    assert_eq!(ended.end_reason, EndReason::Terminated);
    assert_eq!(ended.terminated_by.as_deref(), Some("api"));
    assert_eq!(ended.terminate_reason, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quit_and_client_close_end_reasons() {
    let server = TestServer::start(&crate::support::config::standard()).await;
    let mut quitter = Client::connect(server.addr()).await;
    quitter.login("alice", "alice-pw").await;
    let quit_id = server.only_session().session_id;
    let mut dropper = Client::connect(server.addr()).await;
    dropper.login("bob", "bob-pw").await;
    let all = server.wait_live(2).await;
    assert_eq!(all[0].session_id, quit_id, "oldest first");
    assert_eq!(server.registry().sessions(Some("Test")).len(), 2);
    assert!(server.registry().sessions(Some("Other")).is_empty());
    let drop_id = all[1].session_id;
    assert_ne!(quit_id, drop_id);

    quitter.expect("QUIT", 221).await;
    assert!(quitter.read_until_closed().await.is_empty());
    let ended = server.wait_ended(quit_id).await;
    assert_eq!(ended.end_reason, EndReason::Quit);
    assert_eq!(ended.record.last_error_status, 221);
    assert!(ended.record.bytes_sent > 0 && ended.record.bytes_received > 0);

    drop(dropper);
    let ended = server.wait_ended(drop_id).await;
    assert_eq!(ended.end_reason, EndReason::ClientClosed);
    assert_eq!(ended.end_reason.as_str(), "clientClosed");
    assert_eq!(ended.record.user_name, "bob");
    assert_eq!(ended.terminated_by, None);
    let history = server.registry().ended(Some("Test"));
    assert_eq!(history.len(), 2);
    assert!(server.registry().ended(Some("Other")).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_id_matches_stat_output() {
    let (server, mut c) = standard_login().await;
    let id = server.only_session().session_id;
    let stat = c.expect("STAT", 211).await;
    assert!(stat.contains(&id.to_string()), "{stat:?}");
    let ids: std::collections::HashSet<Uuid> = {
        let mut set = std::collections::HashSet::new();
        for _ in 0..5 {
            let _c = Client::connect(server.addr()).await;
            let all = server.wait_live(2).await;
            set.insert(all[1].session_id);
            drop(_c);
            server.wait_live(1).await;
        }
        set
    };
    assert_eq!(ids.len(), 5, "ids are unique");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ended_history_is_bounded_by_retention() {
    let xml =
        crate::support::config::ConfigXml::single(crate::support::config::SiteXml::new("Test"))
            .global(r#"<administration enabled="false" endedSessionsRetention="3" />"#)
            .xml();
    let server = TestServer::start(&xml).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        let mut c = Client::connect(server.addr()).await;
        ids.push(server.only_session().session_id);
        c.expect("QUIT", 221).await;
        server.wait_live(0).await;
    }
    let ended: Vec<Uuid> = server
        .registry()
        .ended(None)
        .iter()
        .map(|e| e.record.session_id)
        .collect();
    assert_eq!(ended, ids[2..], "the three most recent, oldest first");
    assert!(server.registry().ended_session(ids[0]).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_bytes_are_counted_exactly() {
    let (server, mut c) = standard_login().await;
    let before = server.only_session();
    let reply = c.expect("NOOP", 200).await;
    let after = server.only_session();
    assert_eq!(
        after.bytes_received - before.bytes_received,
        "NOOP\r\n".len() as u64
    );
    let reply_len: usize = reply.lines.iter().map(|l| l.len() + 2).sum();
    assert_eq!(after.bytes_sent - before.bytes_sent, reply_len as u64);
    // A multi-line reply counts every line.
    let feat = c.expect("FEAT", 211).await;
    let feat_len: usize = feat.lines.iter().map(|l| l.len() + 2).sum();
    let after_feat = server.only_session();
    assert_eq!(after_feat.bytes_sent - after.bytes_sent, feat_len as u64);
    // Data payload counts too: a 1000-byte download adds the reply lines and 1000 bytes.
    write_file(&server.site_dir(), "k.bin", &[7u8; 1000]);
    c.expect("TYPE I", 200).await;
    let base = server.only_session().bytes_sent;
    let addr = c.pasv().await;
    let pasv_reply = server.only_session().bytes_sent - base;
    let mut data = connect(addr).await;
    c.send_line("RETR k.bin").await;
    let r150 = c.expect_reply(150).await;
    let mut got = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut data, &mut got)
        .await
        .unwrap();
    let r226 = c.expect_reply(226).await;
    let total = server.only_session().bytes_sent - base;
    let lines = (r150.lines[0].len() + 2 + r226.lines[0].len() + 2) as u64;
    assert_eq!(total, pasv_reply + lines + 1000);
}
