//! Python's standard `ftplib` as the client: `tests/clients/ftplib_check.py` runs a long
//! scripted session (commands, transfers in both modes, ASCII, MLSD, REST, ABOR) and
//! asserts every reply; this test runs it against a fresh server.

use std::process::Command;
use std::time::Duration;

use crate::common::process::{require_tool, run};
use crate::support::{ALICE, ALICE_PW, TestServer};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/ftplib_check.py");

/// Runs `ftplib_check.py` (with `extra` arguments) against `t` as alice; asserts success.
fn run_script(t: &TestServer, extra: &[&str]) {
    let port = t.port().to_string();
    let mut cmd = Command::new("python3");
    cmd.args([SCRIPT, "127.0.0.1", &port, ALICE, ALICE_PW])
        .args(extra)
        .env("PYTHONIOENCODING", "utf-8")
        .env("PYTHONUNBUFFERED", "1");
    let ran = run(&mut cmd, Duration::from_secs(300));
    // Show the step-by-step output even when it passes (visible with --nocapture).
    println!("{ran}");
    assert!(
        ran.status.success(),
        "ftplib_check.py failed:\n{ran}\n{}",
        t.server.output()
    );
    assert!(ran.stdout.contains("all checks passed"), "{ran}");
}

#[test]
fn python_ftplib_session() {
    if !require_tool("python3") {
        return;
    }
    let t = TestServer::start();
    run_script(&t, &[]);
    // The script cleans up after itself.
    let left: Vec<_> = std::fs::read_dir(&t.root)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left behind on the server: {left:?}");
}

/// ABOR during a download: in band, then as `ftplib.abort()` sends it (urgent data).
#[test]
fn python_ftplib_abort_mid_retrieve() {
    if !require_tool("python3") {
        return;
    }
    let t = TestServer::start();
    run_script(&t, &["abort"]);
}

#[test]
fn python_ftplib_anonymous_is_read_only() {
    if !require_tool("python3") {
        return;
    }
    let t = TestServer::start();
    std::fs::write(t.root.join("public.txt"), b"public\n").unwrap();
    let script = r#"
import ftplib, io, sys
host, port = sys.argv[1], int(sys.argv[2])
ftp = ftplib.FTP(timeout=20)
ftp.connect(host, port)
assert ftp.login().startswith("230")          # anonymous / anonymous@
assert ftp.nlst() == ["public.txt"], ftp.nlst()
data = bytearray()
ftp.retrbinary("RETR public.txt", data.extend)
assert bytes(data) == b"public\n", data
for call in (lambda: ftp.storbinary("STOR x.txt", io.BytesIO(b"x")),
             lambda: ftp.mkd("d"),
             lambda: ftp.delete("public.txt"),
             lambda: ftp.rename("public.txt", "p.txt")):
    try:
        call()
    except ftplib.error_perm as e:
        assert str(e).startswith("550"), e
    else:
        raise AssertionError("a write succeeded for anonymous")
assert ftp.quit().startswith("221")
print("anonymous read-only: ok")
"#;
    let port = t.port().to_string();
    let mut cmd = Command::new("python3");
    cmd.args(["-c", script, "127.0.0.1", &port]);
    let ran = run(&mut cmd, Duration::from_secs(120));
    assert!(ran.status.success(), "{ran}\n{}", t.server.output());
    assert!(t.root.join("public.txt").exists());
    assert!(!t.root.join("x.txt").exists() && !t.root.join("d").exists());
}
