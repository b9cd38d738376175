//! Page-specific helpers: a spawned `wharf serve` with several sites and the admin API, a
//! slow upload. The process guard, CLI runs and the FTP client are shared:
//! [`crate::common`].

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::config::{ConfigXml, SiteXml};
use crate::common::ftp::RawFtp;
use crate::common::process::{Ran, ServerProcess, add_user, run, wharf};

/// How long one CLI run may take.
const CLI_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `wharf serve` in a temporary directory.
pub struct Server {
    /// The server (first: it is killed before the directory is removed).
    pub process: ServerProcess,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub admin_url: String,
    pub token: String,
    pub token_path: PathBuf,
}

/// The configuration text for `sites`, admin on `admin_binding`. Site N listens on
/// `127.0.0.N:0:` (one binding may serve one site only; all of 127/8 is loopback).
pub fn config_text(sites: &[&str], admin_binding: &str) -> String {
    let sites = sites
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let id = i + 1;
            SiteXml::new(name)
                .id(id as u32)
                .root(&format!("root{id}"))
                .bindings(&[&format!("127.0.0.{id}:0:")])
                .no_rules()
        })
        .collect();
    ConfigXml::new(sites)
        .users(&[])
        .rules(r#"<add accessType="Allow" users="*" permissions="Read, Write" />"#)
        .global(&format!(
            r#"<administration enabled="true" bindingInformation="{admin_binding}" />"#
        ))
        .xml()
}

impl Server {
    /// Starts a server with these sites and the user alice (password "secret").
    pub fn start(sites: &[&str]) -> Server {
        Self::start_with(sites, "127.0.0.1:0")
    }

    /// Same, with the admin listener on `admin_binding`.
    pub fn start_with(sites: &[&str], admin_binding: &str) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        for i in 1..=sites.len() {
            let root = dir.path().join(format!("root{i}"));
            std::fs::create_dir_all(&root).unwrap();
            std::fs::write(root.join("hello.txt"), "hello\n").unwrap();
        }
        let config = dir.path().join("applicationHost.config");
        std::fs::write(&config, config_text(sites, admin_binding)).unwrap();
        add_user(&config, "alice", "", "secret");

        let mut cmd = wharf();
        cmd.arg("serve")
            .arg("--config")
            .arg(&config)
            .env_remove("WHARF_STATE_DIR")
            .env_remove("WHARF_ADMIN_URL")
            .env("WHARF_LOG", "warn");
        let process = ServerProcess::start_until(cmd, "its addresses", |server| {
            server.listening.len() >= sites.len()
                && server.startup.iter().any(|l| admin_line(l).is_some())
        })
        .kill_on_drop();
        let (admin_url, token_path) = process.startup.iter().find_map(|l| admin_line(l)).unwrap();
        let token = std::fs::read_to_string(&token_path)
            .expect("token file")
            .trim()
            .to_string();
        Server {
            process,
            dir,
            config,
            admin_url,
            token,
            token_path,
        }
    }

    /// The FTP address of `site`.
    pub fn ftp_addr(&self, site: &str) -> SocketAddr {
        self.process.addr_of(site)
    }

    /// The CLI command with `--config` and `--admin-url` appended after `args`.
    pub fn cli(&self, args: &[&str]) -> Command {
        let mut command = wharf();
        command
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .arg("--admin-url")
            .arg(&self.admin_url)
            .env_remove("WHARF_STATE_DIR")
            .env_remove("WHARF_ADMIN_URL");
        command
    }

    /// Runs the CLI to completion.
    pub fn run(&self, args: &[&str]) -> Ran {
        run_cli(&mut self.cli(args))
    }

    /// The live sessions (JSON) matching `user`.
    pub fn session_id_of(&self, user: &str) -> String {
        let run = self.run(&["sessions", "list", "--user", user, "-o", "json"]);
        run.assert_success();
        let doc = run.json();
        let sessions = doc["sessions"].as_array().unwrap();
        assert_eq!(sessions.len(), 1, "{}", run.stdout);
        sessions[0]["sessionId"].as_str().unwrap().to_string()
    }

    /// Waits until `check` holds for the live sessions document (polling the CLI).
    pub fn wait_sessions(&self, what: &str, check: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let run = self.run(&["sessions", "list", "-o", "json"]);
            run.assert_success();
            let sessions = run.json()["sessions"].as_array().cloned().unwrap();
            if check(&sessions) {
                return sessions;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {sessions:#?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// `wharf: admin page URL (token in PATH)`: the URL and the token file.
fn admin_line(line: &str) -> Option<(String, PathBuf)> {
    let rest = line.strip_prefix("wharf: admin page ")?;
    let (url, rest) = rest.split_once(' ').expect("admin line");
    let path = rest
        .trim()
        .trim_start_matches("(token in ")
        .trim_end_matches(')');
    Some((url.to_string(), PathBuf::from(path)))
}

/// Runs a `wharf` CLI command to completion (killed and failed after a minute).
#[track_caller]
pub fn run_cli(cmd: &mut Command) -> Ran {
    run(cmd, CLI_TIMEOUT)
}

/// What the page tests do with an FTP session besides the shared client's commands.
pub trait FtpExt {
    /// Starts `STOR name` and uploads `chunk` bytes every `every` until stopped or failed.
    fn slow_upload(&mut self, name: &str, chunk: usize, every: Duration) -> SlowUpload;

    /// Reads replies until one with `code` (returns its text) or the end of the stream.
    fn wait_for_code(&mut self, code: u16) -> Option<String>;
}

impl FtpExt for RawFtp {
    fn slow_upload(&mut self, name: &str, chunk: usize, every: Duration) -> SlowUpload {
        self.cmd("TYPE I");
        let data_addr = self.pasv();
        let data = TcpStream::connect(data_addr).expect("data connect");
        let (code, text) = self.cmd(&format!("STOR {name}"));
        assert!(code == 150 || code == 125, "{text}");
        let stop = Arc::new(AtomicBool::new(false));
        let handle = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut data = data;
                let buf = vec![b'x'; chunk];
                let deadline = Instant::now() + Duration::from_secs(60);
                while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
                    if data.write_all(&buf).is_err() {
                        return false;
                    }
                    std::thread::sleep(every);
                }
                true
            })
        };
        SlowUpload {
            stop,
            handle: Some(handle),
        }
    }

    fn wait_for_code(&mut self, code: u16) -> Option<String> {
        let mut seen = Vec::new();
        while let Some((c, text)) = self.reply() {
            if c == code {
                return Some(text);
            }
            seen.push(text);
        }
        eprintln!("no {code} reply; saw {seen:?}");
        None
    }
}

/// A running slow upload.
pub struct SlowUpload {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<bool>>,
}

impl SlowUpload {
    /// Stops writing; whether the data connection was still writable throughout.
    pub fn stop(mut self) -> bool {
        self.stop.store(true, Ordering::SeqCst);
        self.handle
            .take()
            .map(|h| h.join().unwrap())
            .unwrap_or(false)
    }
}

impl Drop for SlowUpload {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Polls `f` until it returns `Some` (panics after `timeout`).
pub fn eventually<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
