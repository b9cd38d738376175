//! Graceful shutdown: idle sessions get 421 at once, running transfers may finish within
//! the grace period, stalled ones are cut (426) when it ends; all are recorded as
//! `serverShutdown`.

use std::time::{Duration, Instant};

use wharf::registry::EndReason;

use crate::support::client::SlowReader;
use crate::support::{Client, TestServer, pattern, write_file};

const BIG: usize = 32 << 20;

async fn start_download(server: &TestServer) -> (Client, SlowReader, uuid::Uuid) {
    let mut c = Client::connect(server.addr()).await;
    c.login("alice", "alice-pw").await;
    c.expect("TYPE I", 200).await;
    let addr = c.pasv().await;
    let mut reader = SlowReader::connect(addr).await;
    c.send_line("RETR big.bin").await;
    c.expect_reply(150).await;
    reader.read_at_least(64 * 1024).await;
    let id = server
        .sessions()
        .into_iter()
        .find(|s| s.transfer.is_some())
        .expect("a transferring session")
        .session_id;
    (c, reader, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sessions_get_421_and_the_listener_closes() {
    let mut server = TestServer::start(&crate::support::config::standard()).await;
    let addr = server.addr();
    let mut logged = Client::connect(addr).await;
    logged.login("alice", "alice-pw").await;
    let mut anonymous = Client::connect(addr).await;
    let ids: Vec<_> = server
        .wait_live(2)
        .await
        .iter()
        .map(|s| s.session_id)
        .collect();
    let started = Instant::now();
    server.shutdown(Duration::from_secs(10)).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "idle sessions do not wait for the grace period: {:?}",
        started.elapsed()
    );
    for c in [&mut logged, &mut anonymous] {
        let replies = c.read_until_closed().await;
        assert_eq!(replies.len(), 1, "{replies:?}");
        assert_eq!(replies[0].code, 421);
    }
    for id in ids {
        let ended = server.wait_ended(id).await;
        assert_eq!(ended.end_reason, EndReason::ServerShutdown);
        assert_eq!(ended.end_reason.as_str(), "serverShutdown");
    }
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer accepting"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_transfer_completes_within_a_generous_grace() {
    let mut server = TestServer::start(&crate::support::config::standard()).await;
    let data = pattern(BIG, 77);
    write_file(&server.site_dir(), "big.bin", &data);
    let (mut c, mut reader, id) = start_download(&server).await;
    let mut idle = Client::connect(server.addr()).await;
    idle.login("bob", "bob-pw").await;

    let running = server.take_server();
    let shutdown = tokio::spawn(async move {
        let started = Instant::now();
        running.shutdown(Duration::from_secs(30)).await;
        started.elapsed()
    });
    // The idle session leaves at once; the download goes on.
    let replies = idle.read_until_closed().await;
    assert_eq!(replies.iter().map(|r| r.code).collect::<Vec<_>>(), [421]);
    assert!(!shutdown.is_finished());
    tokio::time::sleep(Duration::from_millis(200)).await;
    reader.read_rest().await;
    assert!(reader.received == data, "the whole file arrives");
    let replies = c.read_until_closed().await;
    let codes: Vec<u16> = replies.iter().map(|r| r.code).collect();
    assert_eq!(codes, [226, 421], "{replies:?}");
    let took = shutdown.await.unwrap();
    assert!(took < Duration::from_secs(25), "{took:?}");
    let ended = server.wait_ended(id).await;
    assert_eq!(ended.end_reason, EndReason::ServerShutdown);
    assert!(ended.record.bytes_sent >= BIG as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_transfer_is_cut_when_the_grace_ends() {
    let mut server = TestServer::start(&crate::support::config::standard()).await;
    write_file(&server.site_dir(), "big.bin", &pattern(BIG, 78));
    let (mut c, mut reader, id) = start_download(&server).await;
    let started = Instant::now();
    server.shutdown(Duration::from_millis(500)).await;
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_secs(5),
        "{took:?}"
    );
    let replies = c.read_until_closed().await;
    let codes: Vec<u16> = replies.iter().map(|r| r.code).collect();
    assert_eq!(codes, [426, 421], "{replies:?}");
    reader.drain().await;
    assert!(reader.received.len() < BIG);
    let ended = server.wait_ended(id).await;
    assert_eq!(ended.end_reason, EndReason::ServerShutdown);
    assert_eq!(ended.terminated_by, None);
}
