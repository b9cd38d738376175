//! Admin API benchmark: session-list latency with many connected FTP sessions, and RETR
//! throughput with and without a client polling the list.
//!
//! Run with (release; about a minute on 2 cores):
//!
//! ```text
//! cargo run --release --example admin_bench -- [--sessions 10000] [--file-mib 256] [--requests 50]
//! ```
//!
//! The server runs in a child process (this binary re-executed with `--serve`), so the
//! server's and the clients' sockets count against two separate open-file limits; each
//! side needs `sessions + ~100` descriptors. The bench reads `RLIMIT_NOFILE` from
//! `/proc/self/limits` and, when it is too low, says so and measures with fewer sessions
//! (raise it with `ulimit -n 65536` where allowed). Every connection is to 127.0.0.1.
//!
//! Figures on the reference machine are in BENCHMARKS.md.

#[path = "../tests/admin/http.rs"]
#[allow(unused_imports)]
mod http;

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader as AsyncBufReader};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

struct Options {
    sessions: usize,
    file_mib: usize,
    requests: usize,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--serve") {
        serve(Path::new(&args[2]));
        return;
    }
    let mut options = Options {
        sessions: 10_000,
        file_mib: 256,
        requests: 50,
    };
    let mut i = 1;
    while i + 1 < args.len() {
        let value: usize = args[i + 1].parse().expect("a number");
        match args[i].as_str() {
            "--sessions" => options.sessions = value,
            "--file-mib" => options.file_mib = value,
            "--requests" => options.requests = value,
            other => panic!("unknown option {other}"),
        }
        i += 2;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(options));
}

/// Child role: start the server from the configuration and report its addresses.
fn serve(config: &Path) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let loaded = wharf::config::load_file(config);
        let config = loaded
            .config
            .unwrap_or_else(|| panic!("{:?}", loaded.diagnostics));
        let server = wharf::server::start(config).await.expect("server starts");
        let admin = server.admin.clone().expect("admin API");
        println!("FTP {}", server.endpoints[0].addr);
        println!("ADMIN {} {}", admin.addr, admin.token.expose());
        std::io::stdout().flush().ok();
        // Until the parent closes our stdin.
        let _ = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
        })
        .await;
        server.shutdown(Duration::from_secs(1)).await;
    });
}

/// The soft open-file limit of this process.
fn open_file_limit() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

async fn run(mut options: Options) {
    if let Some(limit) = open_file_limit() {
        let usable = limit.saturating_sub(200);
        if options.sessions > usable {
            println!(
                "note: the open-file limit is {limit}; each process needs sessions + ~100 \
                 descriptors, so this run uses {usable} sessions instead of {} \
                 (raise it with `ulimit -n 65536` where allowed)",
                options.sessions
            );
            options.sessions = usable;
        }
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let root = dir.path();
    std::fs::create_dir_all(root.join("site")).unwrap();
    let file = root.join("site/big.bin");
    write_file(&file, options.file_mib << 20);
    let config = root.join("applicationHost.config");
    std::fs::write(&config, config_xml(root)).unwrap();

    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg("--serve")
        .arg(&config)
        .env("WHARF_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("server process");
    let (ftp, admin, token) = read_addresses(&mut child);
    let token: Arc<str> = token.into();
    println!(
        "server: pid {}, FTP {ftp}, admin {admin}; {} CPU cores; load average {}",
        child.id(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
    );

    // Baseline with only the transfer's own session.
    let base = list_latency(admin, &token, options.requests.min(20)).await;
    println!(
        "list, 0 idle sessions: p50 {:.2} ms, p99 {:.2} ms",
        ms(base.p50),
        ms(base.p99)
    );

    let started = Instant::now();
    let sessions = open_sessions(ftp, options.sessions).await;
    println!(
        "opened and logged in {} sessions in {:.1} s",
        sessions.len(),
        started.elapsed().as_secs_f64()
    );

    let list = list_latency(admin, &token, options.requests).await;
    println!(
        "GET /api/v1/sessions with {} sessions ({} requests, {:.1} MB each): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        sessions.len(),
        options.requests,
        list.bytes as f64 / 1e6,
        ms(list.p50),
        ms(list.p99),
        ms(list.max)
    );
    let filtered = list_latency_path(
        admin,
        &token,
        "/api/v1/sessions?state=transferring",
        options.requests,
    )
    .await;
    println!(
        "GET /api/v1/sessions?state=transferring (0 matches): p50 {:.1} ms, p99 {:.1} ms",
        ms(filtered.p50),
        ms(filtered.p99)
    );

    // Transfers: alternate quiet and polled rounds so drift affects both alike.
    let mut quiet = Vec::new();
    let mut polled = Vec::new();
    let mut polls = Vec::new();
    for _ in 0..ROUNDS {
        quiet.push(retr(ftp, options.file_mib).await.0);
        let poller = Poller::start(admin, token.clone(), Some(Duration::from_millis(100)));
        polled.push(retr(ftp, options.file_mib).await.0);
        polls.extend(poller.stop().await);
    }
    let poll_stats = stats(&mut polls, 0);
    let (q, p) = (median(&mut quiet), median(&mut polled));
    println!(
        "RETR {} MiB x{ROUNDS}, no polling: median {q:.0} MiB/s (runs: {})",
        options.file_mib,
        list_of(&quiet)
    );
    println!(
        "RETR {} MiB x{ROUNDS}, list polled every 100 ms: median {p:.0} MiB/s (runs: {}); {} polls meanwhile, p50 {:.1} ms, p99 {:.1} ms",
        options.file_mib,
        list_of(&polled),
        polls.len(),
        ms(poll_stats.p50),
        ms(poll_stats.p99)
    );
    println!(
        "throughput change with polling: {:+.1}%",
        (p / q - 1.0) * 100.0
    );

    // Commands on an idle session while the list is fetched back to back.
    let mut probe = login(ftp).await;
    let mut calm = noop_latency(&mut probe, NOOPS).await;
    let poller = Poller::start(admin, token.clone(), None);
    let mut busy = noop_latency(&mut probe, NOOPS).await;
    let background = poller.stop().await;
    let (calm, busy) = (stats(&mut calm, 0), stats(&mut busy, 0));
    println!(
        "NOOP round trip, {NOOPS} samples: quiet p50 {:.2} ms p99 {:.2} ms; while the list is fetched back to back ({} lists): p50 {:.2} ms p99 {:.2} ms",
        ms(calm.p50),
        ms(calm.p99),
        background.len(),
        ms(busy.p50),
        ms(busy.p99)
    );

    println!("load average at the end: {}", load_average());
    drop(sessions);
    drop(child.stdin.take());
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn config_xml(root: &Path) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<configuration>
  <system.applicationHost>
    <sites>
      <site name="Default FTP Site" id="1">
        <application path="/">
          <virtualDirectory path="/" physicalPath="{root}/site" />
        </application>
        <bindings><binding protocol="ftp" bindingInformation="127.0.0.1:0:" /></bindings>
        <ftpServer>
          <connections controlChannelTimeout="600" unauthenticatedTimeout="600" serverListenBacklog="4096" />
          <security>
            <ssl controlChannelPolicy="SslAllow" dataChannelPolicy="SslAllow" />
            <authentication><anonymousAuthentication enabled="true" /></authentication>
          </security>
        </ftpServer>
      </site>
    </sites>
  </system.applicationHost>
  <system.ftpServer>
    <security>
      <authorization><add accessType="Allow" users="*" permissions="Read" /></authorization>
    </security>
    <administration enabled="true" bindingInformation="127.0.0.1:0" tokenFile="{root}/admin.token" />
  </system.ftpServer>
</configuration>
"#,
        root = root.display()
    )
}

fn write_file(path: &Path, size: usize) {
    let block: Vec<u8> = (0..1 << 20).map(|i| (i * 7 % 251) as u8).collect();
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut left = size;
    while left > 0 {
        let n = left.min(block.len());
        f.write_all(&block[..n]).unwrap();
        left -= n;
    }
    f.flush().unwrap();
}

fn read_addresses(child: &mut Child) -> (SocketAddr, SocketAddr, String) {
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut ftp = None;
    let mut admin = None;
    while let Some(Ok(line)) = lines.next() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        match parts.as_slice() {
            ["FTP", addr] => ftp = addr.parse().ok(),
            ["ADMIN", addr, token] => admin = Some((addr.parse().unwrap(), token.to_string())),
            _ => {}
        }
        if let (Some(ftp), Some((admin, token))) = (ftp, admin.clone()) {
            return (ftp, admin, token);
        }
    }
    panic!("the server process did not report its addresses");
}

type Control = (
    AsyncBufReader<tokio::net::tcp::OwnedReadHalf>,
    tokio::net::tcp::OwnedWriteHalf,
);

async fn reply(control: &mut Control) -> u16 {
    let mut code = 0;
    loop {
        let mut line = String::new();
        if control.0.read_line(&mut line).await.unwrap_or(0) == 0 {
            panic!("connection closed");
        }
        let c: u16 = line.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
        if code == 0 {
            code = c;
        }
        if c == code && line.as_bytes().get(3) == Some(&b' ') {
            return code;
        }
    }
}

async fn command(control: &mut Control, line: &str) -> u16 {
    control
        .1
        .write_all(format!("{line}\r\n").as_bytes())
        .await
        .unwrap();
    reply(control).await
}

async fn login(ftp: SocketAddr) -> Control {
    let stream = TcpStream::connect(ftp).await.expect("connect");
    let (r, w) = stream.into_split();
    let mut control = (AsyncBufReader::new(r), w);
    assert_eq!(reply(&mut control).await, 220);
    assert_eq!(command(&mut control, "USER anonymous").await, 331);
    assert_eq!(command(&mut control, "PASS bench@").await, 230);
    control
}

async fn open_sessions(ftp: SocketAddr, n: usize) -> Vec<Control> {
    let gate = Arc::new(Semaphore::new(256));
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let gate = gate.clone();
            tokio::spawn(async move {
                let _permit = gate.acquire_owned().await.unwrap();
                login(ftp).await
            })
        })
        .collect();
    let mut sessions = Vec::with_capacity(n);
    for t in tasks {
        sessions.push(t.await.unwrap());
    }
    sessions
}

struct Stats {
    p50: Duration,
    p99: Duration,
    max: Duration,
    bytes: usize,
}

fn stats(samples: &mut [Duration], bytes: usize) -> Stats {
    samples.sort();
    let pick = |q: f64| {
        if samples.is_empty() {
            return Duration::ZERO;
        }
        let i = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1;
        samples[i]
    };
    Stats {
        p50: pick(0.50),
        p99: pick(0.99),
        max: samples.last().copied().unwrap_or_default(),
        bytes,
    }
}

async fn list_latency(admin: SocketAddr, token: &str, n: usize) -> Stats {
    list_latency_path(admin, token, "/api/v1/sessions", n).await
}

async fn list_latency_path(admin: SocketAddr, token: &str, path: &str, n: usize) -> Stats {
    let mut samples = Vec::with_capacity(n);
    let mut bytes = 0;
    for _ in 0..n {
        let t = Instant::now();
        let r = http::get(admin, path, token).await;
        samples.push(t.elapsed());
        assert_eq!(r.status, 200, "{}", r.text());
        bytes = r.body.len();
    }
    stats(&mut samples, bytes)
}

/// Downloads the file once; (MiB/s, duration).
async fn retr(ftp: SocketAddr, mib: usize) -> (f64, Duration) {
    let mut control = login(ftp).await;
    assert_eq!(command(&mut control, "TYPE I").await, 200);
    control.1.write_all(b"PASV\r\n").await.unwrap();
    let mut line = String::new();
    control.0.read_line(&mut line).await.unwrap();
    assert!(line.starts_with("227"), "{line}");
    let inner = &line[line.find('(').unwrap() + 1..line.find(')').unwrap()];
    let n: Vec<u16> = inner
        .split(',')
        .map(|x| x.trim().parse().unwrap())
        .collect();
    let data_addr = SocketAddr::from((
        [n[0] as u8, n[1] as u8, n[2] as u8, n[3] as u8],
        n[4] * 256 + n[5],
    ));
    control.1.write_all(b"RETR big.bin\r\n").await.unwrap();
    let mut data = TcpStream::connect(data_addr).await.unwrap();
    assert_eq!(reply(&mut control).await, 150);
    let started = Instant::now();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0usize;
    loop {
        let n = data.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        total += n;
    }
    let took = started.elapsed();
    assert_eq!(total, mib << 20);
    assert_eq!(reply(&mut control).await, 226);
    let _ = command(&mut control, "QUIT").await;
    (total as f64 / (1 << 20) as f64 / took.as_secs_f64(), took)
}

const ROUNDS: usize = 5;
const NOOPS: usize = 300;

/// Fetches `GET /api/v1/sessions` every `every` (back to back with `None`) until stopped.
struct Poller {
    stop: Arc<tokio::sync::Notify>,
    task: tokio::task::JoinHandle<Vec<Duration>>,
}

impl Poller {
    fn start(admin: SocketAddr, token: Arc<str>, every: Option<Duration>) -> Poller {
        let stop = Arc::new(tokio::sync::Notify::new());
        let stopped = stop.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(every.unwrap_or(Duration::from_millis(1)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut samples = Vec::new();
            loop {
                tokio::select! {
                    _ = stopped.notified() => return samples,
                    _ = tick.tick() => {}
                }
                let t = Instant::now();
                let r = http::get(admin, "/api/v1/sessions", &token).await;
                assert_eq!(r.status, 200, "{}", r.text());
                samples.push(t.elapsed());
            }
        });
        Poller { stop, task }
    }

    async fn stop(self) -> Vec<Duration> {
        self.stop.notify_one();
        self.task.await.unwrap()
    }
}

async fn noop_latency(control: &mut Control, n: usize) -> Vec<Duration> {
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        assert_eq!(command(control, "NOOP").await, 200);
        samples.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    samples
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn list_of(v: &[f64]) -> String {
    v.iter()
        .map(|x| format!("{x:.0}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `/proc/loadavg`'s three averages: other work on the machine skews every figure.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
