//! The admin listener cannot starve FTP, and accept loops survive running out of
//! descriptors: `wharf serve` as a child process under `prlimit`, real sockets.
//!
//! Before: 1,100 half-sent admin requests took the process to its 1,024-descriptor soft
//! limit, new FTP clients then never got their banner, and slowloris tricklers were never
//! closed.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

use crate::common::process::{ServerProcess, require_tool, wharf_bin};
use crate::http;
use crate::support::config_xml_admin;

/// How long one admin connect of the flood may take (a server that stopped accepting
/// leaves it pending).
const CONNECT_LIMIT: Duration = Duration::from_secs(10);

/// `prlimit --nofile=SOFT:HARD wharf serve --config FILE`, until the admin page line.
fn serve_limited(root: &Path, admin_attributes: &str, soft: u64, hard: u64) -> ServerProcess {
    let config = root.join("applicationHost.config");
    std::fs::write(&config, config_xml_admin(root, admin_attributes)).unwrap();
    let mut cmd = Command::new("prlimit");
    cmd.arg(format!("--nofile={soft}:{hard}"))
        .arg("--")
        .arg(wharf_bin())
        .args(["serve", "--config"])
        .arg(&config)
        .env_remove("WHARF_CONFIG")
        .env_remove("WHARF_STATE_DIR");
    ServerProcess::start_until(cmd, "its admin page line", |server| {
        server
            .startup
            .last()
            .is_some_and(|l| l.starts_with("wharf: admin"))
    })
}

/// The address in `wharf: admin page http://ADDR/ (…)`.
fn admin_addr(server: &ServerProcess) -> SocketAddr {
    let line = server.startup.last().unwrap();
    line.strip_prefix("wharf: admin page http://")
        .and_then(|rest| rest.split('/').next())
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| panic!("no admin address in {line:?}"))
}

fn open_descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

/// `(soft, hard)` of "Max open files" in `/proc/PID/limits`.
fn open_file_limits(pid: u32) -> (u64, u64) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let numbers: Vec<u64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    (numbers[0], numbers[1])
}

/// Connects and reads the FTP banner; the time it took.
async fn banner_within(addr: SocketAddr, limit: Duration) -> Result<Duration, String> {
    let started = Instant::now();
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let mut buf = [0u8; 512];
        let n = stream.read(&mut buf).await.map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        if text.starts_with("220") {
            Ok(started.elapsed())
        } else {
            Err(format!("not a banner: {text:?}"))
        }
    };
    tokio::time::timeout(limit, exchange)
        .await
        .unwrap_or_else(|_| Err(format!("no 220 within {limit:?}")))
}

/// Reads until the peer closes; whether it did within `limit`.
async fn closed_within(mut read: impl AsyncReadExt + Unpin, limit: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let drain = async {
        loop {
            match read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(limit, drain).await.is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_flood_leaves_ftp_served_and_every_admin_connection_is_closed() {
    if !require_tool("prlimit") {
        return;
    }
    // This process holds 1,600 sockets itself.
    wharf::server::fd_limit::raise_to_hard_limit().unwrap();
    let (_dir, root) = crate::common::temp_root("wharf-flood-");
    let server = serve_limited(
        &root,
        r#"bindingInformation="127.0.0.1:0" headerReadTimeout="2""#,
        1024,
        4096,
    );
    let pid = server.pid();
    assert_eq!(
        open_file_limits(pid),
        (4096, 4096),
        "the soft limit is raised to the hard one at start"
    );
    let (ftp, admin) = (server.listening[0].addr, admin_addr(&server));

    // 1,100 half-sent requests, then 500 tricklers (a header byte every 500 ms), opened in
    // waves of 100 so the listen queue is not flooded with SYNs faster than it drains. A
    // connect that does not complete means the server stopped accepting: stop the flood there
    // and see whether FTP still answers.
    let (connected_tx, mut connected_rx) = tokio::sync::mpsc::unbounded_channel::<bool>();
    let mut closes = JoinSet::new();
    let mut starved = false;
    for wave in 0..16 {
        for n in 0..100 {
            let half_sent = wave * 100 + n < 1100;
            let connected = connected_tx.clone();
            closes.spawn(async move {
                let connect = tokio::time::timeout(CONNECT_LIMIT, TcpStream::connect(admin));
                let Ok(Ok(stream)) = connect.await else {
                    let _ = connected.send(false);
                    return false;
                };
                let (read, mut write) = stream.into_split();
                let head: &[u8] = if half_sent {
                    b"GET /api/v1/sites HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Half: "
                } else {
                    b"GET /api/v1/sites HTTP/1.1\r\n"
                };
                let _ = write.write_all(head).await;
                let _ = connected.send(true);
                // The write half stays open (a FIN would end the request on its own).
                let trickle = async {
                    loop {
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        if !half_sent && write.write_all(b"x").await.is_err() {
                            std::future::pending::<()>().await;
                        }
                    }
                };
                tokio::select! {
                    closed = closed_within(read, Duration::from_secs(60)) => closed,
                    _ = trickle => unreachable!(),
                }
            });
        }
        for _ in 0..100 {
            starved |= !connected_rx.recv().await.unwrap();
        }
        if starved {
            break;
        }
    }

    // Let the server take what it will of the queued connections before the FTP client
    // comes (the descriptor count stops moving).
    let mut last = open_descriptors(pid);
    let mut steady = 0;
    let settle_until = Instant::now() + Duration::from_secs(10);
    while steady < 3 && Instant::now() < settle_until {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = open_descriptors(pid);
        steady = if now == last { steady + 1 } else { 0 };
        last = now;
    }
    let took = banner_within(ftp, Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "a new FTP client during the flood: {e} (admin connects stalled: {starved}; \
                 descriptors open: {})\n{}",
                open_descriptors(pid),
                server.output()
            )
        });
    assert!(
        !starved,
        "the admin listener kept accepting (and refusing) all 1,600"
    );
    let descriptors = open_descriptors(pid);
    eprintln!("flood: FTP banner after {took:?}; {descriptors} descriptors open");
    assert!(
        descriptors <= 256 + 100,
        "maxConnections (256) bounds the admin side's descriptors: {descriptors} open"
    );

    let mut closed = 0;
    while let Some(result) = closes.join_next().await {
        closed += usize::from(result.unwrap());
    }
    assert_eq!(
        closed, 1600,
        "every half-sent and trickling connection is closed"
    );
    let token = std::fs::read_to_string(root.join(".wharf/admin.token")).unwrap();
    assert_eq!(
        http::get(admin, "/api/v1/sites", token.trim()).await.status,
        200,
        "the admin API serves again once the flood is gone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_survives_descriptor_exhaustion_and_logs_it_once() {
    if !require_tool("prlimit") {
        return;
    }
    const LIMIT: u64 = 64;
    let (_dir, root) = crate::common::temp_root("wharf-emfile-");
    let server = serve_limited(&root, r#"bindingInformation="127.0.0.1:0""#, LIMIT, LIMIT);
    let ftp = server.listening[0].addr;
    let free = LIMIT as usize - open_descriptors(server.pid());
    // More clients than descriptors left: the last ones wait in the listen queue while
    // accept fails with EMFILE.
    let mut clients = Vec::new();
    for _ in 0..free + 10 {
        clients.push(TcpStream::connect(ftp).await.unwrap());
    }
    let exhausted = |stderr: &str| stderr.contains("accept failed");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !exhausted(&server.stderr()) {
        assert!(
            Instant::now() < deadline,
            "accept never ran out of descriptors\n{}",
            server.output()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Keep it exhausted for a while: the loop retries, and must not log each failure.
    tokio::time::sleep(Duration::from_secs(2)).await;
    drop(clients);

    banner_within(ftp, Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("a new client after the episode: {e}\n{}", server.output()));
    let stderr = server.stderr();
    let warnings = stderr.lines().filter(|l| exhausted(l)).count();
    assert!(
        (1..=2).contains(&warnings),
        "one warning per episode, not one per failed accept: {warnings}\n{stderr}"
    );
    assert!(
        stderr.contains("accepting connections again"),
        "the end of the episode is logged\n{stderr}"
    );
    assert!(
        stderr.contains("Too many open files"),
        "the warning names the error\n{stderr}"
    );
}
