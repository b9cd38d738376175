//! Shared machinery: the server process guard, test configurations, tools with timeouts.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// The binary under test: `$WHARF_BIN` when set (e.g. to test a release build, or a copy
/// taken when several checkouts share one target directory), else the one cargo built.
pub fn wharf_bin() -> PathBuf {
    std::env::var_os("WHARF_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_wharf")))
}

/// The basic-auth account every standard test server has (role `staff`: read and write).
pub const ALICE: &str = "alice";
/// Alice's password.
pub const ALICE_PW: &str = "alice-Secret-1";

/// How long a server may take to print its "listening on" lines.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a server may take to exit after SIGTERM (its own grace period is 10 s).
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether this run is CI (`CI` set to anything but empty, `0` or `false`).
pub fn is_ci() -> bool {
    std::env::var("CI")
        .map(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
        .unwrap_or(false)
}

/// Whether `tool` is on the PATH.
pub fn tool_available(tool: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| {
        let candidate = dir.join(tool);
        candidate
            .metadata()
            .map(|m| {
                use std::os::unix::fs::PermissionsExt;
                m.is_file() && m.permissions().mode() & 0o111 != 0
            })
            .unwrap_or(false)
    })
}

/// `true` when `tool` can be used. When it is missing: under CI the test fails; elsewhere
/// it prints a loud message and the caller returns (the test is skipped).
pub fn require_tool(tool: &str) -> bool {
    if tool_available(tool) {
        return true;
    }
    if is_ci() {
        panic!(
            "`{tool}` is not installed and CI is set: the real-client tests need it \
             (`.ci/run` installs curl, lftp and python3)"
        );
    }
    eprintln!();
    eprintln!("************************************************************************");
    eprintln!("* SKIPPED: `{tool}` is not installed; this real-client test did not run.");
    eprintln!("* Install it (apt-get install curl lftp python3) or run `bash .ci/run`.");
    eprintln!("************************************************************************");
    eprintln!();
    false
}

/// What a finished command produced.
#[derive(Debug)]
pub struct Ran {
    /// The command line, for messages.
    pub command: String,
    /// Exit status.
    pub status: ExitStatus,
    /// Standard output (lossy UTF-8).
    pub stdout: String,
    /// Standard error (lossy UTF-8).
    pub stderr: String,
}

impl Ran {
    /// Panics with everything the command printed unless it exited 0.
    #[track_caller]
    pub fn assert_success(&self) -> &Ran {
        assert!(self.status.success(), "command failed: {self}");
        self
    }

    /// Panics unless the command exited with `code`.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Ran {
        assert_eq!(
            self.status.code(),
            Some(code),
            "unexpected exit status: {self}"
        );
        self
    }
}

impl fmt::Display for Ran {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "`{}` -> {}", self.command, self.status)?;
        writeln!(f, "--- stdout ---\n{}", self.stdout)?;
        write!(f, "--- stderr ---\n{}", self.stderr)
    }
}

/// The command line of `cmd`, roughly shell-quoted, for messages.
fn describe(cmd: &Command) -> String {
    let mut parts = vec![cmd.get_program().to_string_lossy().into_owned()];
    for arg in cmd.get_args() {
        let arg = arg.to_string_lossy();
        if arg.contains([' ', '"', '\'', ';']) || arg.is_empty() {
            parts.push(format!("'{}'", arg.replace('\'', "'\\''")));
        } else {
            parts.push(arg.into_owned());
        }
    }
    parts.join(" ")
}

fn collect<R: Read + Send + 'static>(mut reader: R) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = reader.read_to_end(&mut buf);
        buf
    })
}

/// Waits for a child up to `timeout`; `None` when it is still running.
fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
            Ok(None) => return None,
            Err(e) => panic!("waiting for a child process: {e}"),
        }
    }
}

/// Runs `cmd` with no standard input, killing it (and failing) after `timeout`.
#[track_caller]
pub fn run(cmd: &mut Command, timeout: Duration) -> Ran {
    run_with_input(cmd, None, timeout)
}

/// Runs `cmd` feeding `input` on standard input, killing it (and failing) after `timeout`.
#[track_caller]
pub fn run_with_input(cmd: &mut Command, input: Option<&[u8]>, timeout: Duration) -> Ran {
    let command = describe(cmd);
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `{command}`: {e}"));
    if let Some(input) = input {
        let mut stdin = child.stdin.take().expect("piped stdin");
        // A child that exits without reading makes this fail; its status tells the story.
        let _ = stdin.write_all(input);
    }
    let out = collect(child.stdout.take().expect("piped stdout"));
    let err = collect(child.stderr.take().expect("piped stderr"));
    let status = match wait_timeout(&mut child, timeout) {
        Some(status) => status,
        None => {
            let _ = child.kill();
            let status = child.wait().expect("wait after kill");
            let stdout = String::from_utf8_lossy(&out.join().unwrap_or_default()).into_owned();
            let stderr = String::from_utf8_lossy(&err.join().unwrap_or_default()).into_owned();
            panic!(
                "`{command}` did not finish within {timeout:?} and was killed ({status})\n\
                 --- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
            );
        }
    };
    Ran {
        command,
        status,
        stdout: String::from_utf8_lossy(&out.join().unwrap_or_default()).into_owned(),
        stderr: String::from_utf8_lossy(&err.join().unwrap_or_default()).into_owned(),
    }
}

/// A `wharf` command with a clean environment for the server's own variables.
pub fn wharf() -> Command {
    let mut cmd = Command::new(wharf_bin());
    cmd.env_remove("WHARF_CONFIG");
    cmd
}

/// One "listening on" line of `wharf serve`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listening {
    /// The site name.
    pub site: String,
    /// The address the endpoint is bound to.
    pub addr: SocketAddr,
    /// The virtual host name of a host-named binding.
    pub host: Option<String>,
}

/// Parses `wharf: site "NAME" listening on ftp://IP:PORT[ (host NAME)]`.
pub fn parse_listening(line: &str) -> Option<Listening> {
    let rest = line.strip_prefix("wharf: site \"")?;
    let (site, rest) = rest.split_once("\" listening on ftp://")?;
    let (addr, host) = match rest.split_once(' ') {
        Some((addr, tail)) => {
            let host = tail.strip_prefix("(host ")?.strip_suffix(')')?;
            (addr, Some(host.to_string()))
        }
        None => (rest, None),
    };
    Some(Listening {
        site: site.to_string(),
        addr: addr.trim().parse().ok()?,
        host,
    })
}

/// A running `wharf` process; SIGTERM and wait on drop.
pub struct ServerProcess {
    child: Option<Child>,
    command: String,
    /// The "listening on" lines printed at start-up.
    pub listening: Vec<Listening>,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
}

/// How a server ended.
#[derive(Debug)]
pub struct Stopped {
    /// Exit status.
    pub status: ExitStatus,
    /// Everything it printed on standard output.
    pub stdout: String,
    /// Everything it printed on standard error.
    pub stderr: String,
}

impl ServerProcess {
    /// Starts `cmd` (a `wharf serve …`) and waits for `expected` "listening on" lines.
    #[track_caller]
    pub fn start(mut cmd: Command, expected: usize) -> ServerProcess {
        let command = describe(&cmd);
        if std::env::var_os("WHARF_LOG").is_none() {
            cmd.env("WHARF_LOG", "info");
        }
        cmd.env("NO_COLOR", "1");
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{command}`: {e}"));
        let stdout_pipe = child.stdout.take().expect("piped stdout");
        let stderr_pipe = child.stderr.take().expect("piped stderr");
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel::<String>();
        let out_buf = Arc::clone(&stdout);
        let out_reader = thread::spawn(move || {
            let mut reader = BufReader::new(stdout_pipe);
            let mut line = Vec::new();
            loop {
                line.clear();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let text = String::from_utf8_lossy(&line).into_owned();
                        out_buf.lock().unwrap().push_str(&text);
                        let _ = tx.send(text.trim_end().to_string());
                    }
                }
            }
        });
        let err_buf = Arc::clone(&stderr);
        let err_reader = thread::spawn(move || {
            let mut reader = BufReader::new(stderr_pipe);
            let mut chunk = [0u8; 8192];
            loop {
                match reader.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => err_buf
                        .lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&chunk[..n])),
                }
            }
        });
        let mut server = ServerProcess {
            child: Some(child),
            command,
            listening: Vec::new(),
            stdout,
            stderr,
            readers: vec![out_reader, err_reader],
        };
        let deadline = Instant::now() + START_TIMEOUT;
        while server.listening.len() < expected {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(l) = parse_listening(&line) {
                        server.listening.push(l);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!(
                        "`{}` did not print {expected} \"listening on\" line(s) within {START_TIMEOUT:?}\n{}",
                        server.command,
                        server.output()
                    );
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = server
                        .child
                        .as_mut()
                        .and_then(|c| wait_timeout(c, Duration::from_secs(5)));
                    panic!(
                        "`{}` closed its output before listening (exit status {status:?})\n{}",
                        server.command,
                        server.output()
                    );
                }
            }
        }
        server
    }

    /// `wharf serve --config FILE` in `cwd`, expecting `expected` "listening on" lines.
    #[track_caller]
    pub fn serve(config: &Path, cwd: &Path, expected: usize) -> ServerProcess {
        let mut cmd = wharf();
        cmd.arg("serve")
            .arg("--config")
            .arg(config)
            .current_dir(cwd);
        ServerProcess::start(cmd, expected)
    }

    /// The first listening address of `site`.
    #[track_caller]
    pub fn addr_of(&self, site: &str) -> SocketAddr {
        self.listening
            .iter()
            .find(|l| l.site == site)
            .unwrap_or_else(|| panic!("site {site:?} is not listening: {:?}", self.listening))
            .addr
    }

    /// What the server printed so far (both streams).
    pub fn output(&self) -> String {
        format!(
            "--- server stdout ---\n{}\n--- server stderr ---\n{}",
            self.stdout.lock().unwrap(),
            self.stderr.lock().unwrap()
        )
    }

    /// Sends SIGTERM (without waiting).
    pub fn sigterm(&self) {
        if let Some(child) = &self.child {
            send_sigterm(child.id());
        }
    }

    /// Sends SIGTERM and waits for the exit; fails if it takes longer than the grace period.
    #[track_caller]
    pub fn stop(self) -> Stopped {
        self.sigterm();
        self.wait()
    }

    /// Waits for the exit (after [`ServerProcess::sigterm`]); fails after the grace period.
    #[track_caller]
    pub fn wait(mut self) -> Stopped {
        let mut child = self.child.take().expect("server already stopped");
        let status = match wait_timeout(&mut child, STOP_TIMEOUT) {
            Some(status) => status,
            None => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the server did not exit within {STOP_TIMEOUT:?} of SIGTERM\n{}",
                    self.output()
                );
            }
        };
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        Stopped {
            status,
            stdout: self.stdout.lock().unwrap().clone(),
            stderr: self.stderr.lock().unwrap().clone(),
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        send_sigterm(child.id());
        if wait_timeout(&mut child, STOP_TIMEOUT).is_none() {
            let _ = child.kill();
            let _ = child.wait();
        }
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        if thread::panicking() {
            eprintln!("server: {}\n{}", self.command, self.output());
        }
    }
}

/// SIGTERM through the shell's `kill` builtin (no unsafe code, no procps needed).
pub fn send_sigterm(pid: u32) {
    let _ = Command::new("sh")
        .arg("-c")
        .arg(format!("kill -TERM {pid}"))
        .stdin(Stdio::null())
        .status();
}

/// Escapes text for an XML attribute value.
pub fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The site name of [`standard_config`].
pub const SITE: &str = "Wharf Test";

/// One site on `127.0.0.1` with an ephemeral port, serving `root`: anonymous may read,
/// role `staff` may read and write, TLS allowed but not required (no TLS in this build),
/// no admin listener. `ftp_server_extra` is inserted inside the site's `<ftpServer>`.
pub fn standard_config(root: &Path, ftp_server_extra: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<configuration>
  <system.applicationHost>
    <sites>
      <site name="{SITE}" id="7">
        <application path="/">
          <virtualDirectory path="/" physicalPath="{root}" />
        </application>
        <bindings>
          <binding protocol="ftp" bindingInformation="127.0.0.1:0:" />
        </bindings>
        <ftpServer>
          <security>
            <ssl controlChannelPolicy="SslAllow" dataChannelPolicy="SslAllow" />
            <authentication>
              <anonymousAuthentication enabled="true" />
              <basicAuthentication enabled="true" />
            </authentication>
          </security>
          {ftp_server_extra}
        </ftpServer>
      </site>
    </sites>
  </system.applicationHost>
  <system.ftpServer>
    <administration enabled="false" />
  </system.ftpServer>
  <location path="{SITE}">
    <system.ftpServer>
      <security>
        <authorization>
          <add accessType="Allow" users="?" permissions="Read" />
          <add accessType="Allow" roles="staff" permissions="Read, Write" />
        </authorization>
      </security>
    </system.ftpServer>
  </location>
</configuration>
"#,
        root = xml_escape(&root.display().to_string()),
    )
}

/// `wharf user add NAME --roles ROLES --password-stdin --config FILE`.
#[track_caller]
pub fn add_user(config: &Path, name: &str, roles: &str, password: &str) {
    let mut cmd = wharf();
    cmd.args(["user", "add", name, "--password-stdin"]);
    if !roles.is_empty() {
        cmd.args(["--roles", roles]);
    }
    cmd.arg("--config").arg(config);
    run_with_input(
        &mut cmd,
        Some(format!("{password}\n").as_bytes()),
        Duration::from_secs(60),
    )
    .assert_success();
}

/// A temporary directory with a site root, a configuration and a running server.
pub struct TestServer {
    /// Holds everything; removed on drop (after the server stops: fields drop in order).
    pub server: ServerProcess,
    /// The site's root folder.
    pub root: PathBuf,
    /// A scratch folder for the client side.
    pub local: PathBuf,
    /// The temporary directory (last, so it outlives the server).
    pub dir: tempfile::TempDir,
}

impl TestServer {
    /// [`standard_config`] with alice (role `staff`) added through `wharf user add`.
    #[track_caller]
    pub fn start() -> TestServer {
        TestServer::start_with("")
    }

    /// Like [`TestServer::start`] with extra `<ftpServer>` children.
    #[track_caller]
    pub fn start_with(ftp_server_extra: &str) -> TestServer {
        let dir = tempfile::Builder::new()
            .prefix("wharf-clients-")
            .tempdir()
            .expect("tempdir");
        let root = dir.path().join("root");
        let local = dir.path().join("local");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&local).unwrap();
        let config = dir.path().join("wharf.config");
        std::fs::write(&config, standard_config(&root, ftp_server_extra)).unwrap();
        add_user(&config, ALICE, "staff", ALICE_PW);
        let server = ServerProcess::serve(&config, dir.path(), 1);
        TestServer {
            server,
            root,
            local,
            dir,
        }
    }

    /// The port the site listens on.
    pub fn port(&self) -> u16 {
        self.server.addr_of(SITE).port()
    }

    /// `ftp://127.0.0.1:PORT/` followed by `path` (already URL-encoded by the caller).
    pub fn url(&self, path: &str) -> String {
        format!(
            "ftp://127.0.0.1:{}/{}",
            self.port(),
            path.trim_start_matches('/')
        )
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

/// Whether `127.0.0.1:port` can be bound right now.
pub fn port_is_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// Deterministic pseudo-random bytes (xorshift64*), different per seed.
pub fn pseudo_random(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Hex SHA-256 of bytes.
pub fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every entry under `dir`, by relative path (`/`-separated): `"dir"` for folders, the
/// SHA-256 and size for files.
pub fn tree_digest(dir: &Path) -> BTreeMap<String, String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display()))
            .map(|e| e.unwrap())
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let rel = path
                .strip_prefix(base)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if entry.file_type().unwrap().is_dir() {
                out.insert(rel, "dir".to_string());
                walk(base, &path, out);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                out.insert(rel, format!("{} {}", bytes.len(), sha256(&bytes)));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Asserts two trees hold the same folders and files with the same contents.
#[track_caller]
pub fn assert_same_tree(expected: &Path, actual: &Path) {
    let want = tree_digest(expected);
    let got = tree_digest(actual);
    if want != got {
        let mut report = String::new();
        for (path, digest) in &want {
            match got.get(path) {
                None => report.push_str(&format!("  missing: {path}\n")),
                Some(d) if d != digest => {
                    report.push_str(&format!("  differs: {path} (want {digest}, got {d})\n"))
                }
                Some(_) => {}
            }
        }
        for path in got.keys().filter(|p| !want.contains_key(*p)) {
            report.push_str(&format!("  unexpected: {path}\n"));
        }
        panic!(
            "{} and {} differ:\n{report}",
            expected.display(),
            actual.display()
        );
    }
}

/// A minimal control-connection client (no tools needed): enough to log in and read
/// replies, for the CLI tests.
pub struct RawFtp {
    reader: BufReader<std::net::TcpStream>,
    writer: std::net::TcpStream,
}

impl RawFtp {
    /// Connects and reads the banner (which must be 220).
    #[track_caller]
    pub fn connect(addr: SocketAddr) -> RawFtp {
        let stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let writer = stream.try_clone().unwrap();
        let mut ftp = RawFtp {
            reader: BufReader::new(stream),
            writer,
        };
        let (code, text) = ftp.reply().expect("banner");
        assert_eq!(code, 220, "banner: {text}");
        ftp
    }

    /// Reads one (possibly multi-line) reply: `(code, full text)`; `None` at end of stream.
    pub fn reply(&mut self) -> Option<(u16, String)> {
        let mut text = String::new();
        let mut code: Option<u16> = None;
        loop {
            let mut line = String::new();
            match self.reader.read_line(&mut line) {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
            text.push_str(&line);
            let this: Option<u16> = line.get(..3).and_then(|c| c.parse().ok());
            if code.is_none() {
                code = this;
            }
            if this.is_some() && this == code && line.as_bytes().get(3) != Some(&b'-') {
                return Some((code?, text));
            }
        }
    }

    /// Sends a command and reads its reply.
    #[track_caller]
    pub fn cmd(&mut self, line: &str) -> (u16, String) {
        self.writer
            .write_all(format!("{line}\r\n").as_bytes())
            .unwrap_or_else(|e| panic!("send {line:?}: {e}"));
        self.reply()
            .unwrap_or_else(|| panic!("connection closed after {line:?}"))
    }

    /// USER + PASS: the final reply code (230 on success, 530 on refusal).
    #[track_caller]
    pub fn login(&mut self, user: &str, password: &str) -> u16 {
        let (code, text) = self.cmd(&format!("USER {user}"));
        match code {
            230 => 230,
            331 => self.cmd(&format!("PASS {password}")).0,
            _ => panic!("USER {user}: {text}"),
        }
    }
}

/// Connects and logs in: the reply code of the login.
#[track_caller]
pub fn login_code(addr: SocketAddr, user: &str, password: &str) -> u16 {
    RawFtp::connect(addr).login(user, password)
}
