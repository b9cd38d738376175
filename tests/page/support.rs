//! Shared helpers: a spawned `wharf serve`, a tiny FTP client, running the CLI.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The wharf binary under test.
pub const WHARF: &str = env!("CARGO_BIN_EXE_wharf");

/// A running `wharf serve` in a temporary directory.
pub struct Server {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub admin_url: String,
    pub token: String,
    pub token_path: PathBuf,
    /// FTP address of each site, by name.
    pub ftp: Vec<(String, SocketAddr)>,
    child: Child,
}

/// The configuration text for `sites`, admin on `admin_binding`. Site N listens on
/// `127.0.0.N:0:` (one binding may serve one site only; all of 127/8 is loopback).
pub fn config_text(sites: &[&str], admin_binding: &str) -> String {
    let mut xml = String::from("<configuration>\n<system.applicationHost>\n<sites>\n");
    for (i, name) in sites.iter().enumerate() {
        xml.push_str(&format!(
            r#"<site name="{name}" id="{id}" serverAutoStart="true">
  <application path="/"><virtualDirectory path="/" physicalPath="root{id}" /></application>
  <bindings><binding protocol="ftp" bindingInformation="127.0.0.{id}:0:" /></bindings>
  <ftpServer>
    <security>
      <ssl controlChannelPolicy="SslAllow" dataChannelPolicy="SslAllow" />
      <authentication>
        <anonymousAuthentication enabled="true" />
        <basicAuthentication enabled="true" />
      </authentication>
    </security>
  </ftpServer>
</site>
"#,
            id = i + 1
        ));
    }
    xml.push_str(&format!(
        r#"</sites>
</system.applicationHost>
<system.ftpServer>
  <security>
    <authorization>
      <add accessType="Allow" users="*" permissions="Read, Write" />
    </authorization>
    <users>
    </users>
  </security>
  <administration enabled="true" bindingInformation="{admin_binding}" />
</system.ftpServer>
</configuration>
"#
    ));
    xml
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
        add_user(&config, "alice", "secret");

        let mut child = Command::new(WHARF)
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .env_remove("WHARF_STATE_DIR")
            .env_remove("WHARF_ADMIN_URL")
            .env("WHARF_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn wharf serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    // Keep draining so the server never blocks on a full pipe.
                    continue;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut admin: Option<(String, PathBuf)> = None;
        let mut ftp = Vec::new();
        let mut seen = Vec::new();
        while admin.is_none() || ftp.len() < sites.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match rx.recv_timeout(left) {
                Ok(line) => line,
                Err(_) => {
                    let _ = child.kill();
                    panic!("wharf serve did not print its addresses; got: {seen:#?}");
                }
            };
            if let Some(rest) = line.strip_prefix("wharf: admin page ") {
                let (url, rest) = rest.split_once(' ').expect("admin line");
                let path = rest
                    .trim()
                    .trim_start_matches("(token in ")
                    .trim_end_matches(')');
                admin = Some((url.to_string(), PathBuf::from(path)));
            } else if let Some((name, rest)) = line
                .strip_prefix("wharf: site \"")
                .and_then(|rest| rest.split_once("\" listening on ftp://"))
            {
                let addr = rest.split_whitespace().next().unwrap();
                ftp.push((name.to_string(), addr.parse().expect("ftp addr")));
            }
            seen.push(line);
        }
        let (admin_url, token_path) = admin.unwrap();
        let token = std::fs::read_to_string(&token_path)
            .expect("token file")
            .trim()
            .to_string();
        Server {
            dir,
            config,
            admin_url,
            token,
            token_path,
            ftp,
            child,
        }
    }

    /// The FTP address of `site`.
    pub fn ftp_addr(&self, site: &str) -> SocketAddr {
        self.ftp
            .iter()
            .find(|(n, _)| n == site)
            .map(|(_, a)| *a)
            .unwrap_or_else(|| panic!("no site {site}"))
    }

    /// The CLI command with `--config` and `--admin-url` appended after `args`.
    pub fn cli(&self, args: &[&str]) -> Command {
        let mut command = Command::new(WHARF);
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
    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.cli(args).output().expect("run wharf"))
    }

    /// The live sessions (JSON) matching `user`.
    pub fn session_id_of(&self, user: &str) -> String {
        let run = self.run(&["sessions", "list", "--user", user, "-o", "json"]);
        run.ok();
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
            run.ok();
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

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `wharf user add NAME --password-stdin --config FILE`.
pub fn add_user(config: &Path, name: &str, password: &str) {
    let mut child = Command::new(WHARF)
        .args(["user", "add", name, "--password-stdin", "--config"])
        .arg(config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    let run = Run::from(child.wait_with_output().unwrap());
    run.ok();
}

/// A finished CLI run.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Asserts exit 0.
    pub fn ok(&self) -> &Run {
        self.code_is(0)
    }

    /// Asserts the exit code.
    pub fn code_is(&self, code: i32) -> &Run {
        assert_eq!(
            self.code,
            Some(code),
            "exit code; stdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Stdout parsed as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout))
    }
}

/// A minimal FTP control connection.
pub struct Ftp {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Ftp {
    /// Connects and reads the greeting.
    pub fn connect(addr: SocketAddr) -> Ftp {
        let stream = TcpStream::connect(addr).expect("connect ftp");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut ftp = Ftp {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
        };
        let (code, text) = ftp.reply().expect("greeting");
        assert_eq!(code, 220, "{text}");
        ftp
    }

    /// Connects and logs in.
    pub fn login(addr: SocketAddr, user: &str, password: &str) -> Ftp {
        let mut ftp = Ftp::connect(addr);
        let (code, text) = ftp.cmd(&format!("USER {user}"));
        assert_eq!(code, 331, "{text}");
        let (code, text) = ftp.cmd(&format!("PASS {password}"));
        assert_eq!(code, 230, "{text}");
        ftp
    }

    /// Reads one (possibly multi-line) reply; `None` at end of stream.
    pub fn reply(&mut self) -> Option<(u16, String)> {
        let mut all = String::new();
        let mut first_code: Option<String> = None;
        loop {
            let mut line = String::new();
            match self.reader.read_line(&mut line) {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
            all.push_str(&line);
            let code = line.get(..3).unwrap_or_default().to_string();
            match &first_code {
                None if line.as_bytes().get(3) == Some(&b'-') => first_code = Some(code),
                None => return Some((code.parse().unwrap_or(0), all)),
                Some(first) if *first == code && line.as_bytes().get(3) == Some(&b' ') => {
                    return Some((code.parse().unwrap_or(0), all));
                }
                Some(_) => {}
            }
        }
    }

    /// Sends a command and reads its reply.
    pub fn cmd(&mut self, line: &str) -> (u16, String) {
        self.send(line);
        self.reply().expect("reply")
    }

    /// Sends a command line.
    pub fn send(&mut self, line: &str) {
        self.writer
            .write_all(format!("{line}\r\n").as_bytes())
            .expect("send");
    }

    /// PASV: the data address.
    pub fn pasv(&mut self) -> SocketAddr {
        let (code, text) = self.cmd("PASV");
        assert_eq!(code, 227, "{text}");
        let inner = text
            .split('(')
            .nth(1)
            .and_then(|s| s.split(')').next())
            .expect("227 (h,h,h,h,p,p)");
        let n: Vec<u16> = inner
            .split(',')
            .map(|x| x.trim().parse().unwrap())
            .collect();
        SocketAddr::from((
            [n[0] as u8, n[1] as u8, n[2] as u8, n[3] as u8],
            n[4] * 256 + n[5],
        ))
    }

    /// Starts `STOR name` and uploads `chunk` bytes every `every` until stopped or failed.
    pub fn slow_upload(&mut self, name: &str, chunk: usize, every: Duration) -> SlowUpload {
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

    /// Reads replies until one with `code` (returns its text) or the end of the stream.
    pub fn wait_for_code(&mut self, code: u16) -> Option<String> {
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

/// A port that is free now, taken from below the kernel's ephemeral range (32768 and up on
/// Linux) so that no `port 0` listener of the server under test can be handed the same port
/// between this check and its use.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let spread = (std::process::id() % 500) as u16 * 20;
    for _ in 0..12_000 {
        let step = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = 20_000 + (spread + step) % 12_000;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port between 20000 and 32000");
}
