//! tnftp (NetBSD ftp, Debian's `tnftp`) as the client: its ^C during a download sends ABOR
//! the classic way (RFC 959 §4.1.3: Telnet IP, IAC as TCP urgent data, DM, `ABOR`) and then
//! waits for the server's replies without sending anything else.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::process::require_tool;
use crate::support::{ALICE, ALICE_PW, TestServer};

/// Sends a signal through the shell's `kill` builtin (no unsafe code).
fn signal(pid: u32, name: &str) {
    let _ = Command::new("sh")
        .arg("-c")
        .arg(format!("kill -{name} {pid}"))
        .stdin(Stdio::null())
        .status();
}

#[test]
fn tnftp_interrupt_aborts_the_download_at_once() {
    if !require_tool("tnftp") {
        return;
    }
    // dataChannelTimeout far beyond the test's patience: only a real ABOR ends the
    // transfer in time.
    let t = TestServer::start_with(r#"<connections dataChannelTimeout="300" />"#);
    // 64 GiB without the disk space: a sparse file takes minutes to send.
    let big = std::fs::File::create(t.root.join("big.bin")).unwrap();
    big.set_len(64 << 30).unwrap();
    drop(big);
    let mut child = Command::new("tnftp")
        .args(["-n", "-v", "-p"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("HOME", t.dir.path())
        .spawn()
        .expect("run tnftp");
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    writeln!(
        stdin,
        "open 127.0.0.1 {}\nuser {ALICE} {ALICE_PW}\nbinary\nget big.bin /dev/null",
        t.port()
    )
    .unwrap();
    stdin.flush().unwrap();
    let mut seen = Vec::new();
    let wait_for = |seen: &mut Vec<String>, prefix: &str, limit: Duration| -> bool {
        let deadline = Instant::now() + limit;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match rx.recv_timeout(left) {
                Ok(line) => {
                    let hit = line.starts_with(prefix);
                    seen.push(line);
                    if hit {
                        return true;
                    }
                }
                Err(_) => return false,
            }
        }
        false
    };
    assert!(
        wait_for(&mut seen, "150", Duration::from_secs(30)),
        "the download never started: {seen:#?}"
    );
    std::thread::sleep(Duration::from_millis(300));
    signal(child.id(), "INT");
    // Both replies come without another command from the client.
    let aborted = wait_for(&mut seen, "426", Duration::from_secs(15));
    let acknowledged = aborted && wait_for(&mut seen, "226", Duration::from_secs(15));
    let _ = writeln!(stdin, "quit");
    drop(stdin);
    let deadline = Instant::now() + Duration::from_secs(15);
    while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    if child.try_wait().ok().flatten().is_none() {
        let _ = child.kill();
    }
    let _ = child.wait();
    let _ = reader.join();
    assert!(
        aborted && acknowledged,
        "no 426 and 226 after tnftp's ABOR: {seen:#?}"
    );
}
