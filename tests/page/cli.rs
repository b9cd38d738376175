//! `wharf sites|sessions` against a spawned server: every subcommand, every output format,
//! exit codes 0, 1 and 2.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::free_port;
use crate::common::ftp::RawFtp;
use crate::common::process::wharf;
use crate::support::{FtpExt, Server, eventually, run_cli};

fn users(sessions: &[Value]) -> Vec<String> {
    let mut u: Vec<String> = sessions
        .iter()
        .map(|s| s["userName"].as_str().unwrap_or_default().to_string())
        .collect();
    u.sort();
    u
}

#[test]
fn sites_list_in_every_format() {
    let server = Server::start(&["Alpha", "Beta"]);
    let _ftp = RawFtp::connect_login(server.ftp_addr("Alpha"), "anonymous", "a@b");
    server.wait_sessions("one session", |s| s.len() == 1);

    let run = server.run(&["sites", "list"]);
    run.assert_success();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].contains("NAME") && lines[0].contains("SESSIONS"),
        "{}",
        run.stdout
    );
    let alpha = lines
        .iter()
        .find(|l| l.contains("Alpha"))
        .expect("Alpha row");
    assert!(alpha.contains("Started"), "{alpha}");
    assert!(alpha.contains("ftp/127.0.0.1:"), "{alpha}");
    let beta = lines.iter().find(|l| l.contains("Beta")).expect("Beta row");
    assert!(beta.contains("ftp/127.0.0.2:"), "{beta}");

    let run = server.run(&["sites", "list", "-o", "json"]);
    run.assert_success();
    let doc = run.json();
    let sites = doc["sites"].as_array().unwrap();
    assert_eq!(sites.len(), 2);
    assert_eq!(sites[0]["name"], "Alpha");
    assert_eq!(sites[0]["sessions"], 1);
    assert_eq!(sites[1]["sessions"], 0);
    assert!(
        run.stdout.contains("\n  "),
        "pretty-printed: {}",
        run.stdout
    );

    let run = server.run(&["sites", "list", "-o", "xml"]);
    run.assert_success();
    assert!(run.stdout.trim_start().starts_with("<"), "{}", run.stdout);
    assert!(run.stdout.contains("<sites"), "{}", run.stdout);
    assert!(run.stdout.contains("name=\"Alpha\""), "{}", run.stdout);
}

#[test]
fn sessions_list_filters_and_formats() {
    let server = Server::start(&["Alpha", "Beta"]);
    let _alice = RawFtp::connect_login(server.ftp_addr("Alpha"), "alice", "secret");
    let _anon = RawFtp::connect_login(server.ftp_addr("Beta"), "anonymous", "a@b");
    server.wait_sessions("two logged-in sessions", |s| {
        users(s) == ["<Anonymous>", "alice"]
    });

    let run = server.run(&["sessions", "list"]);
    run.assert_success();
    let header = run.stdout.lines().next().unwrap();
    for column in [
        "ID", "SITE", "USER", "CLIENT", "STATE", "COMMAND", "IDLE", "SENT", "RECEIVED",
    ] {
        assert!(header.contains(column), "{column} in {header}");
    }
    assert!(
        run.stdout.contains("alice") && run.stdout.contains("<Anonymous>"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(" B "), "human sizes: {}", run.stdout);

    let count = |args: &[&str]| {
        let mut all = vec!["sessions", "list", "-o", "json"];
        all.extend_from_slice(args);
        let run = server.run(&all);
        run.assert_success();
        run.json()["sessions"].as_array().unwrap().clone()
    };
    let alpha = count(&["--site", "Alpha"]);
    assert_eq!(users(&alpha), ["alice"]);
    assert_eq!(alpha[0]["siteName"], "Alpha");
    assert_eq!(users(&count(&["--user", "alice"])), ["alice"]);
    let alice_ip = alpha[0]["clientIp"].as_str().unwrap().to_string();
    assert!(
        count(&["--client-ip", &alice_ip])
            .iter()
            .any(|s| s["userName"] == "alice")
    );
    assert_eq!(count(&["--client-ip", "10.9.9.9"]).len(), 0);
    assert_eq!(count(&["--state", "idle"]).len(), 2);
    assert_eq!(count(&["--min-idle", "3600"]).len(), 0);

    let run = server.run(&["sessions", "list", "--min-idle", "3600"]);
    run.assert_success();
    assert_eq!(run.stdout, "no sessions\n");

    let run = server.run(&["sessions", "list", "-o", "xml"]);
    run.assert_success();
    assert!(run.stdout.contains("<sessions"), "{}", run.stdout);
    assert!(run.stdout.contains("<session "), "{}", run.stdout);
    assert!(run.stdout.contains("userName=\"alice\""), "{}", run.stdout);
    assert!(
        run.stdout.contains("userName=\"&lt;Anonymous&gt;\""),
        "{}",
        run.stdout
    );

    let run = server.run(&["sessions", "list", "--site", "Nope"]);
    run.assert_code(2);
    assert!(run.stderr.contains("Nope"), "{}", run.stderr);
}

#[test]
fn show_terminate_and_ended() {
    let server = Server::start(&["Alpha"]);
    let mut alice = RawFtp::connect_login(server.ftp_addr("Alpha"), "alice", "secret");
    alice.cmd("CWD /");
    let id = server.session_id_of("alice");

    let run = server.run(&["sessions", "show", &id]);
    run.assert_success();
    assert!(run.stdout.contains(&id), "{}", run.stdout);
    assert!(run.stdout.contains("alice"), "{}", run.stdout);
    assert!(run.stdout.contains("Alpha"), "{}", run.stdout);
    let run = server.run(&["sessions", "show", &id, "-o", "json"]);
    run.assert_success();
    assert_eq!(run.json()["sessionId"], id.as_str());
    assert_eq!(run.json()["userName"], "alice");
    let run = server.run(&["sessions", "show", &id, "-o", "xml"]);
    run.assert_success();
    assert!(run.stdout.contains("<session "), "{}", run.stdout);
    assert!(
        run.stdout.contains(&format!("sessionId=\"{id}\"")),
        "{}",
        run.stdout
    );
    // A unique prefix is enough.
    server
        .run(&["sessions", "show", &id[..8], "-o", "json"])
        .assert_success();
    // Unknown: exit 2.
    let unknown = "00000000-0000-4000-8000-000000000000";
    server.run(&["sessions", "show", unknown]).assert_code(2);
    server
        .run(&["sessions", "terminate", unknown])
        .assert_code(2);

    let run = server.run(&[
        "sessions",
        "terminate",
        &id,
        "--reason",
        "maintenance window",
    ]);
    run.assert_success();
    assert!(run.stdout.contains("terminated session"), "{}", run.stdout);
    let text = alice.wait_for_code(421).expect("421 after terminate");
    assert!(text.contains("maintenance window"), "{text}");

    // Terminating again is not an error: it had already ended.
    let run = server.run(&["sessions", "terminate", &id, "-o", "json"]);
    run.assert_success();
    assert_eq!(run.json()["terminated"], false, "{}", run.stdout);
    assert_eq!(run.json()["alreadyEnded"], true, "{}", run.stdout);

    // `show` finds it in the history.
    let run = server.run(&["sessions", "show", &id]);
    run.assert_success();
    assert!(
        run.stdout.contains("terminated by cli: maintenance window"),
        "{}",
        run.stdout
    );

    let run = server.run(&["sessions", "ended"]);
    run.assert_success();
    assert!(run.stdout.contains("REASON"), "{}", run.stdout);
    assert!(
        run.stdout.contains("terminated by cli: maintenance window"),
        "{}",
        run.stdout
    );
    let run = server.run(&["sessions", "ended", "--site", "Alpha", "-o", "json"]);
    run.assert_success();
    let doc = run.json();
    let ended = doc["sessions"].as_array().unwrap();
    let mine = ended
        .iter()
        .find(|s| s["sessionId"] == id.as_str())
        .expect("ended entry");
    assert_eq!(mine["endReason"], "terminated");
    assert_eq!(mine["terminatedBy"], "cli");
    assert_eq!(mine["terminateReason"], "maintenance window");
    let run = server.run(&["sessions", "ended", "-o", "xml"]);
    run.assert_success();
    assert!(
        run.stdout.contains("endReason=\"terminated\""),
        "{}",
        run.stdout
    );
    server
        .run(&["sessions", "ended", "--site", "Nope"])
        .assert_code(2);
}

#[test]
fn failures_exit_1() {
    let server = Server::start(&["Alpha"]);
    // Nothing listens there.
    let port = free_port();
    let run = run_cli(
        wharf()
            .args(["sessions", "list", "--config"])
            .arg(&server.config)
            .arg("--admin-url")
            .arg(format!("http://127.0.0.1:{port}/")),
    );
    run.assert_code(1);
    assert!(run.stderr.contains("cannot connect"), "{}", run.stderr);

    // A configuration whose token file holds the wrong token: 401 → exit 1.
    let wrong = server.dir.path().join("wrong.config");
    let text = std::fs::read_to_string(&server.config).unwrap().replace(
        "<administration ",
        "<administration tokenFile=\"wrong.token\" ",
    );
    std::fs::write(&wrong, text).unwrap();
    std::fs::write(server.dir.path().join("wrong.token"), "0123456789abcdef\n").unwrap();
    for args in [
        &["sites", "list"][..],
        &["sessions", "list"],
        &["sessions", "ended"],
    ] {
        let run = run_cli(
            wharf()
                .args(args)
                .arg("--config")
                .arg(&wrong)
                .arg("--admin-url")
                .arg(&server.admin_url),
        );
        run.assert_code(1);
        assert!(run.stderr.contains("401"), "{}", run.stderr);
    }

    // A missing token file is an error too.
    let none = server.dir.path().join("none.config");
    let text = std::fs::read_to_string(&server.config).unwrap().replace(
        "<administration ",
        "<administration tokenFile=\"missing.token\" ",
    );
    std::fs::write(&none, text).unwrap();
    let run = run_cli(
        wharf()
            .args(["sites", "list", "--config"])
            .arg(&none)
            .arg("--admin-url")
            .arg(&server.admin_url),
    );
    run.assert_code(1);
    assert!(run.stderr.contains("missing.token"), "{}", run.stderr);
}

#[test]
fn the_configuration_names_the_endpoint_and_token() {
    let port = free_port();
    let server = Server::start_with(&["Alpha"], &format!("127.0.0.1:{port}"));
    assert_eq!(server.admin_url, format!("http://127.0.0.1:{port}/"));
    // The default token file: admin.token in the state directory beside the configuration.
    assert_eq!(
        server.token_path,
        server.dir.path().join(".wharf").join("admin.token")
    );
    let run = run_cli(
        wharf()
            .args(["sites", "list", "-o", "json", "--config"])
            .arg(&server.config)
            .env_remove("WHARF_ADMIN_URL")
            .env_remove("WHARF_STATE_DIR"),
    );
    run.assert_success();
    assert_eq!(run.json()["sites"][0]["name"], "Alpha");
}

/// Kills a spawned CLI process when the test ends, failed or not.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_watch(server: &Server, args: &[&str], stdin: Stdio) -> KillOnDrop {
    KillOnDrop(
        server
            .cli(args)
            .stdout(Stdio::piped())
            .stdin(stdin)
            .spawn()
            .unwrap(),
    )
}

fn spawn_lines(child: &mut std::process::Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

fn next_event(rx: &mpsc::Receiver<String>, wanted: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no {wanted} event"));
        let event: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        if event["event"] == wanted {
            return event;
        }
    }
}

#[test]
fn watch_json_streams_filtered_events() {
    let server = Server::start(&["Alpha", "Beta"]);
    let _before = RawFtp::connect_login(server.ftp_addr("Alpha"), "anonymous", "a@b");
    server.wait_sessions("a session", |s| s.len() == 1);
    let mut child = spawn_watch(
        &server,
        &["sessions", "watch", "--site", "Alpha", "-o", "json"],
        Stdio::null(),
    );
    let rx = spawn_lines(&mut child.0);
    let snapshot = next_event(&rx, "snapshot");
    assert_eq!(snapshot["data"]["sessions"].as_array().unwrap().len(), 1);

    // Beta is filtered out; Alpha's new session shows up.
    let _beta = RawFtp::connect_login(server.ftp_addr("Beta"), "anonymous", "a@b");
    let mut alice = RawFtp::connect_login(server.ftp_addr("Alpha"), "alice", "secret");
    let started = next_event(&rx, "session.started");
    assert_eq!(started["data"]["siteName"], "Alpha");
    assert!(started["id"].is_u64(), "{started}");
    let id = started["data"]["sessionId"].as_str().unwrap().to_string();
    alice.cmd("QUIT");
    let ended = loop {
        let e = next_event(&rx, "session.ended");
        assert_eq!(e["data"]["siteName"], "Alpha");
        if e["data"]["sessionId"] == id.as_str() {
            break e;
        }
    };
    assert_eq!(ended["data"]["endReason"], "quit");
}

#[test]
fn watch_xml_prints_events() {
    let server = Server::start(&["Alpha"]);
    let mut child = spawn_watch(&server, &["sessions", "watch", "-o", "xml"], Stdio::null());
    let rx = spawn_lines(&mut child.0);
    let mut seen = String::new();
    let mut collect = |what: &str| {
        eventually(what, Duration::from_secs(15), || {
            while let Ok(line) = rx.try_recv() {
                seen.push_str(&line);
                seen.push('\n');
            }
            seen.contains(what).then_some(())
        })
    };
    collect("<event type=\"snapshot\"");
    let _ftp = RawFtp::connect_login(server.ftp_addr("Alpha"), "alice", "secret");
    collect("<event type=\"session.started\"");
    collect("userName=\"alice\"");
}

#[test]
fn watch_table_redraws_in_place_and_quits_on_q() {
    let server = Server::start(&["Alpha"]);
    let mut child = spawn_watch(&server, &["sessions", "watch"], Stdio::piped());
    let mut stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if tx.send(buf[..n].to_vec()).is_err() {
                        return;
                    }
                }
            }
        }
    });
    let _ftp = RawFtp::connect_login(server.ftp_addr("Alpha"), "alice", "secret");
    let mut screen = Vec::new();
    eventually("alice on the watch screen", Duration::from_secs(15), || {
        while let Ok(bytes) = rx.try_recv() {
            screen.extend_from_slice(&bytes);
        }
        let text = String::from_utf8_lossy(&screen);
        text.contains("alice").then_some(())
    });
    let text = String::from_utf8_lossy(&screen).into_owned();
    assert!(
        text.contains("\x1b[H"),
        "redraws from the top-left: {text:?}"
    );
    assert!(text.contains("q quits"), "{text:?}");
    assert!(text.contains("USER"), "{text:?}");
    child.0.stdin.as_mut().unwrap().write_all(b"q").unwrap();
    let status = eventually("watch to exit on q", Duration::from_secs(10), || {
        child.0.try_wait().unwrap()
    });
    assert!(status.success(), "{status:?}");
}
