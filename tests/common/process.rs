//! The `wharf` binary as a child process: a server guard that reads the "listening on"
//! lines and stops the server when dropped, one-shot runs with timeouts (the CLI and client
//! tools), and whether a tool is installed.

use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The binary under test: `$WHARF_BIN` when set (e.g. to test a release build, or a copy
/// taken when several checkouts share one target directory), else the one cargo built.
pub fn wharf_bin() -> PathBuf {
    std::env::var_os("WHARF_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_wharf")))
}

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
    eprintln!("* Install it (apt-get install {tool}) or run `bash .ci/run`.");
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

    /// Standard output parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self}"))
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

/// A running `wharf` process; SIGTERM and wait on drop (SIGKILL after
/// [`ServerProcess::kill_on_drop`]).
pub struct ServerProcess {
    child: Option<Child>,
    command: String,
    /// The "listening on" lines printed at start-up.
    pub listening: Vec<Listening>,
    /// Every standard-output line read while starting (line ends trimmed).
    pub startup: Vec<String>,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
    kill_on_drop: bool,
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
    pub fn start(cmd: Command, expected: usize) -> ServerProcess {
        ServerProcess::start_until(
            cmd,
            &format!("{expected} \"listening on\" line(s)"),
            |server| server.listening.len() >= expected,
        )
    }

    /// Starts `cmd` and reads its standard output until `ready` holds (checked before each
    /// line, then after it); `what` names the wait in the failure message. `WHARF_LOG`
    /// defaults to `info` unless the environment or `cmd` sets it.
    #[track_caller]
    pub fn start_until(
        mut cmd: Command,
        what: &str,
        ready: impl Fn(&ServerProcess) -> bool,
    ) -> ServerProcess {
        let command = describe(&cmd);
        if std::env::var_os("WHARF_LOG").is_none() && !cmd.get_envs().any(|(k, _)| k == "WHARF_LOG")
        {
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
            startup: Vec::new(),
            stdout,
            stderr,
            readers: vec![out_reader, err_reader],
            kill_on_drop: false,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        while !ready(&server) {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(l) = parse_listening(&line) {
                        server.listening.push(l);
                    }
                    server.startup.push(line);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!(
                        "`{}` did not print {what} within {START_TIMEOUT:?}\n{}",
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

    /// The process id (of `wharf` itself when started through an exec wrapper such as
    /// `prlimit`).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("server already stopped").id()
    }

    /// On drop, SIGKILL at once instead of SIGTERM and a wait for the graceful exit.
    pub fn kill_on_drop(mut self) -> ServerProcess {
        self.kill_on_drop = true;
        self
    }

    /// What the server printed on standard error so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
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
        if self.kill_on_drop {
            let _ = child.kill();
            let _ = child.wait();
        } else {
            send_sigterm(child.id());
            if wait_timeout(&mut child, STOP_TIMEOUT).is_none() {
                let _ = child.kill();
                let _ = child.wait();
            }
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
