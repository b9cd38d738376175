//! The scenarios. Each logs in before its clock starts, so account checks (which differ a
//! lot between servers) only count where they are the point: `churn` and `idle_sessions`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use tokio::net::TcpStream;
use tokio::sync::{Barrier, Mutex};

use crate::Op;
use crate::cpu;
use crate::ftp::{self, Control, Target};
use crate::http;
use crate::json::{self, Obj};

const MIB: f64 = 1048576.0;

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}

async fn quit<S>(mut c: Control<S>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let _ = tokio::time::timeout(Duration::from_secs(5), c.cmd("QUIT")).await;
}

/// RETR or STOR on `streams` sessions at once; the clock runs from the moment every
/// session is logged in to the last final reply.
pub async fn bulk(
    t: &Target,
    op: Op,
    streams: usize,
    path: &str,
    size: u64,
    buffer: usize,
) -> Result<Obj> {
    let streams = streams.max(1);
    let ready = Arc::new(Barrier::new(streams + 1));
    let mut tasks = Vec::new();
    for i in 0..streams {
        let t = t.clone();
        let ready = ready.clone();
        let path = match op {
            Op::Retr => path.to_string(),
            Op::Stor if streams == 1 => path.to_string(),
            Op::Stor => format!("{path}.{i}"),
        };
        tasks.push(tokio::spawn(async move {
            let login = ftp::session(&t, 4096).await;
            ready.wait().await;
            let mut c = login?;
            let mut buf = vec![0u8; buffer];
            let n = match op {
                Op::Retr => c.retr(&path, &mut buf).await?,
                Op::Stor => c.stor(&path, size, &buf).await?,
            };
            let end = Instant::now();
            if matches!(op, Op::Stor) {
                let _ = c.cmd(&format!("DELE {path}")).await;
            }
            quit(c).await;
            Ok::<_, anyhow::Error>((n, end))
        }));
    }
    ready.wait().await;
    let start = Instant::now();
    let mut bytes = 0u64;
    let mut last = start;
    for task in tasks {
        let (n, end) = task.await??;
        bytes += n;
        last = last.max(end);
    }
    let secs = (last - start).as_secs_f64();
    if bytes == 0 {
        bail!("no bytes moved");
    }
    Ok(Obj::new()
        .bool("ok", true)
        .int("streams", streams as u64)
        .int("bytes", bytes)
        .num("secs", secs)
        .num("mib_s", bytes as f64 / secs / MIB))
}

/// Workers each hold one session and RETR small files in a loop.
pub async fn small_retr(
    t: &Target,
    dir: &str,
    files: usize,
    workers: usize,
    count: u64,
    seconds: f64,
) -> Result<Obj> {
    let workers = workers.max(1);
    let files = files.max(1);
    let done = Arc::new(AtomicU64::new(0));
    let issued = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(Mutex::new(None::<String>));
    let bytes = Arc::new(AtomicU64::new(0));
    let ready = Arc::new(Barrier::new(workers + 1));
    let limit = Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for w in 0..workers {
        let t = t.clone();
        let dir = dir.to_string();
        let (done, issued, errors, bytes, ready, first_error) = (
            done.clone(),
            issued.clone(),
            errors.clone(),
            bytes.clone(),
            ready.clone(),
            first_error.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let login = ftp::session(&t, 4096).await;
            ready.wait().await;
            let mut c = match login {
                Ok(c) => c,
                Err(e) => {
                    errors.fetch_add(1, Ordering::Relaxed);
                    first_error.lock().await.get_or_insert(format!("{e:#}"));
                    return;
                }
            };
            let start = Instant::now();
            let mut buf = vec![0u8; 64 * 1024];
            let mut i = w;
            while start.elapsed() < limit && issued.fetch_add(1, Ordering::Relaxed) < count {
                let path = format!("{dir}/f{:05}", i % files);
                i += workers;
                match c.retr(&path, &mut buf).await {
                    Ok(n) => {
                        bytes.fetch_add(n, Ordering::Relaxed);
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        first_error.lock().await.get_or_insert(format!("{e:#}"));
                        return;
                    }
                }
            }
            quit(c).await;
        }));
    }
    ready.wait().await;
    let start = Instant::now();
    for task in tasks {
        task.await?;
    }
    let secs = start.elapsed().as_secs_f64();
    let n = done.load(Ordering::Relaxed);
    let errors = errors.load(Ordering::Relaxed);
    let mut o = Obj::new()
        .bool("ok", errors == 0 && n > 0)
        .int("workers", workers as u64)
        .int("files", n)
        .int("bytes", bytes.load(Ordering::Relaxed))
        .int("errors", errors)
        .num("secs", secs)
        .num("ops_s", n as f64 / secs);
    if let Some(e) = first_error.lock().await.take() {
        o = o.str("error", &e);
    }
    Ok(o)
}

async fn one_login(t: &Target) -> Result<()> {
    let mut c = Control::connect(t.addr, 1024).await?;
    c.login(&t.user, &t.pass).await?;
    let r = c.cmd("QUIT").await?;
    if r.code != 221 {
        bail!("QUIT: {}", r.text);
    }
    // Let the server close first, so the TIME_WAIT state stays on its side and the
    // client's ephemeral ports are not used up.
    let _ = tokio::time::timeout(Duration::from_secs(2), c.wait_close()).await;
    Ok(())
}

/// Connect, log in, QUIT, in a loop on `workers` clients.
pub async fn churn(t: &Target, workers: usize, count: u64, seconds: f64) -> Result<Obj> {
    let workers = workers.max(1);
    let done = Arc::new(AtomicU64::new(0));
    let issued = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(Mutex::new(None::<String>));
    let limit = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let t = t.clone();
        let (done, issued, errors, first_error) = (
            done.clone(),
            issued.clone(),
            errors.clone(),
            first_error.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut failures = 0;
            while start.elapsed() < limit && issued.fetch_add(1, Ordering::Relaxed) < count {
                match tokio::time::timeout(Duration::from_secs(30), one_login(&t)).await {
                    Ok(Ok(())) => {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(Err(e)) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        first_error.lock().await.get_or_insert(format!("{e:#}"));
                        failures += 1;
                    }
                    Err(_) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        first_error
                            .lock()
                            .await
                            .get_or_insert("login round trip over 30 s".into());
                        failures += 1;
                    }
                }
                if failures >= 20 {
                    return;
                }
            }
        }));
    }
    for task in tasks {
        task.await?;
    }
    let secs = start.elapsed().as_secs_f64();
    let n = done.load(Ordering::Relaxed);
    let errors = errors.load(Ordering::Relaxed);
    let mut o = Obj::new()
        .bool("ok", errors == 0 && n > 0)
        .int("workers", workers as u64)
        .int("logins", n)
        .int("errors", errors)
        .num("secs", secs)
        .num("ops_s", n as f64 / secs);
    if let Some(e) = first_error.lock().await.take() {
        o = o.str("error", &e);
    }
    Ok(o)
}

/// Opens `count` logged-in sessions, prints a `"event":"ready"` line, holds them until
/// `release` exists (or `hold` seconds pass), checks every one with NOOP, then QUITs.
pub async fn idle_sessions(
    t: &Target,
    count: usize,
    concurrency: usize,
    release: Option<&Path>,
    hold: f64,
    sources: u8,
    min_available_mib: u64,
) -> Result<Obj> {
    let next = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(Mutex::new(None::<String>));
    let guard_hit = Arc::new(AtomicBool::new(false));
    let held: Arc<Mutex<Vec<Control<TcpStream>>>> = Arc::new(Mutex::new(Vec::with_capacity(count)));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let t = t.clone();
        let (next, errors, first_error, held, guard_hit) = (
            next.clone(),
            errors.clone(),
            first_error.clone(),
            held.clone(),
            guard_hit.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count || guard_hit.load(Ordering::Relaxed) {
                    break;
                }
                if min_available_mib > 0
                    && i % 100 == 0
                    && mem_available_mib().is_some_and(|m| m < min_available_mib)
                {
                    guard_hit.store(true, Ordering::Relaxed);
                    break;
                }
                let source = match t.addr.ip() {
                    IpAddr::V4(v4) if v4.is_loopback() && sources > 1 => Some(IpAddr::V4(
                        Ipv4Addr::new(127, 0, 0, 1 + (i % sources as usize) as u8),
                    )),
                    _ => None,
                };
                let open = async {
                    let mut c = Control::connect_from(t.addr, source, 512).await?;
                    c.login(&t.user, &t.pass).await?;
                    Ok::<_, anyhow::Error>(c)
                };
                match tokio::time::timeout(Duration::from_secs(60), open).await {
                    Ok(Ok(c)) => held.lock().await.push(c),
                    Ok(Err(e)) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        first_error.lock().await.get_or_insert(format!("{e:#}"));
                    }
                    Err(_) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        first_error
                            .lock()
                            .await
                            .get_or_insert("login over 60 s".into());
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await?;
    }
    let open_secs = start.elapsed().as_secs_f64();
    let opened = held.lock().await.len();
    let open_errors = errors.load(Ordering::Relaxed);
    let guard = guard_hit.load(Ordering::Relaxed);
    json::emit(
        Obj::new()
            .str("event", "ready")
            .int("sessions", opened as u64)
            .int("errors", open_errors)
            .bool("memory_guard", guard)
            .num("open_secs", open_secs),
    );

    let hold_start = Instant::now();
    loop {
        if release.is_some_and(Path::exists) || hold_start.elapsed().as_secs_f64() >= hold {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let held_secs = hold_start.elapsed().as_secs_f64();

    // Every session must still answer after the hold.
    let sessions: Vec<_> = std::mem::take(&mut *held.lock().await);
    let queue = Arc::new(std::sync::Mutex::new(sessions));
    let alive = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (queue, alive, first_error) = (queue.clone(), alive.clone(), first_error.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let Some(mut c) = queue.lock().ok().and_then(|mut q| q.pop()) else {
                    return;
                };
                let check = tokio::time::timeout(Duration::from_secs(30), c.cmd("NOOP")).await;
                match check {
                    Ok(Ok(r)) if r.code / 100 == 2 => {
                        alive.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(Ok(r)) => {
                        first_error
                            .lock()
                            .await
                            .get_or_insert(format!("NOOP after hold: {}", r.text));
                    }
                    Ok(Err(e)) => {
                        first_error
                            .lock()
                            .await
                            .get_or_insert(format!("NOOP after hold: {e:#}"));
                    }
                    Err(_) => {
                        first_error
                            .lock()
                            .await
                            .get_or_insert("NOOP after hold: no answer in 30 s".into());
                    }
                }
                quit(c).await;
            }
        }));
    }
    for task in tasks {
        task.await?;
    }
    let alive = alive.load(Ordering::Relaxed);
    let mut o = Obj::new()
        .bool("ok", alive == opened as u64 && open_errors == 0)
        .int("requested", count as u64)
        .int("sessions", opened as u64)
        .bool("memory_guard", guard)
        .int("open_errors", open_errors)
        .int("alive_after_hold", alive)
        .num("open_secs", open_secs)
        .num("held_secs", held_secs);
    if let Some(e) = first_error.lock().await.take() {
        o = o.str("error", &e);
    }
    Ok(o)
}

/// MemAvailable from /proc/meminfo, in MiB.
fn mem_available_mib() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

/// CWD then LIST, `repeat` times in one session.
pub async fn list(t: &Target, dir: &str, repeat: usize, buffer: usize) -> Result<Obj> {
    let mut c = ftp::session(t, 4096).await?;
    c.expect(&format!("CWD {dir}"), 2).await?;
    let mut buf = vec![0u8; buffer];
    let mut times = Vec::new();
    let (mut bytes, mut lines) = (0, 0);
    for _ in 0..repeat.max(1) {
        let start = Instant::now();
        (bytes, lines) = c.list(&mut buf).await?;
        times.push(start.elapsed().as_secs_f64());
    }
    quit(c).await;
    let all = times.clone();
    Ok(Obj::new()
        .bool("ok", true)
        .int("bytes", bytes)
        .int("lines", lines)
        .num("secs", median(&mut times))
        .nums("all_secs", &all))
}

/// RETR over TLS.
pub async fn ftps_retr(t: &Target, path: &str, buffer: usize) -> Result<Obj> {
    let tls = ftp::insecure_tls()?;
    let Some(mut c) = ftp::tls_session(t, &tls).await? else {
        return Ok(Obj::new()
            .bool("ok", true)
            .str("skipped", "AUTH TLS not offered"));
    };
    let mut buf = vec![0u8; buffer];
    let start = Instant::now();
    let n = ftp::tls_retr(&mut c, &tls, path, &mut buf).await?;
    let secs = start.elapsed().as_secs_f64();
    quit(c).await;
    Ok(Obj::new()
        .bool("ok", true)
        .int("bytes", n)
        .num("secs", secs)
        .num("mib_s", n as f64 / secs / MIB))
}

/// The admin endpoint to poll.
pub struct AdminPoll {
    /// Listener address.
    pub addr: SocketAddr,
    /// Route.
    pub route: String,
    /// Bearer token.
    pub token: String,
    /// Pause between polls.
    pub interval: Duration,
}

/// How many back-to-back RETRs make one measured phase.
const ADMIN_RETRS_PER_PHASE: usize = 3;

async fn retr_phase(t: &Target, path: &str, buffer: usize) -> Result<f64> {
    let mut c = ftp::session(t, 4096).await?;
    let mut buf = vec![0u8; buffer];
    let start = Instant::now();
    let mut bytes = 0;
    for _ in 0..ADMIN_RETRS_PER_PHASE {
        bytes += c.retr(path, &mut buf).await?;
    }
    let secs = start.elapsed().as_secs_f64();
    quit(c).await;
    Ok(bytes as f64 / secs / MIB)
}

/// Admin list latency while RETR runs, and the RETR throughput it costs.
pub async fn admin_list(
    t: &Target,
    poll: AdminPoll,
    path: &str,
    runs: usize,
    buffer: usize,
    server_pid: Option<u32>,
) -> Result<Obj> {
    let mut body = Vec::new();
    let probe = match http::get(poll.addr, &poll.route, &poll.token, &mut body, true).await {
        Ok(r) => r,
        Err(e) => {
            return Ok(Obj::new()
                .bool("ok", true)
                .str("skipped", &format!("admin API unreachable: {e:#}")));
        }
    };
    match probe.status {
        200 => {}
        404 | 405 | 501 => {
            return Ok(Obj::new().bool("ok", true).str(
                "skipped",
                &format!("{} answered {}", poll.route, probe.status),
            ));
        }
        s => bail!("{} answered {s}", poll.route),
    }
    // Latency with no transfer running.
    let mut idle = Vec::new();
    for _ in 0..5 {
        let r = http::get(poll.addr, &poll.route, &poll.token, &mut body, false).await?;
        idle.push(r.elapsed.as_secs_f64() * 1000.0);
    }

    let cpu = list_cpu(&poll, server_pid, &mut body).await?;

    let interval = poll.interval;
    let wharf = polled_pairs(t, path, buffer, runs, Arc::new(poll)).await?;
    // The admin floor: the same bytes polled at the same rate from a static responder, the
    // least any list endpoint can cost (moving the response through loopback, both sides).
    let floor_addr = http::serve_static(body)?;
    let floor = polled_pairs(
        t,
        path,
        buffer,
        runs,
        Arc::new(AdminPoll {
            addr: floor_addr,
            route: "/".into(),
            token: String::new(),
            interval,
        }),
    )
    .await?;
    let mut lat = wharf.latencies.clone();
    let mut out = Obj::new()
        .bool("ok", wharf.failed_polls == 0)
        .int("listed_sessions", probe.sessions as u64)
        .int("response_bytes", probe.bytes as u64)
        .num("idle_ms_p50", median(&mut idle))
        .int("polls", lat.len() as u64)
        .int("failed_polls", wharf.failed_polls)
        .num("poll_interval_ms", interval.as_secs_f64() * 1000.0)
        .num("ms_p50", median(&mut lat))
        .num("ms_p95", percentile(&mut lat, 0.95))
        .num("ms_max", lat.iter().cloned().fold(f64::NAN, f64::max))
        .nums("ms_all", &wharf.latencies)
        .num("retr_alone_mib_s", median(&mut wharf.alone.clone()))
        .num("retr_polled_mib_s", median(&mut wharf.polled.clone()))
        .num("retr_cost_pct", median(&mut wharf.costs()))
        .nums("retr_cost_pairs_pct", &wharf.costs())
        .nums("retr_alone_all", &wharf.alone)
        .nums("retr_polled_all", &wharf.polled)
        .num("floor_cost_pct", median(&mut floor.costs()))
        .nums("floor_cost_pairs_pct", &floor.costs())
        .nums("floor_alone_all", &floor.alone)
        .nums("floor_polled_all", &floor.polled)
        .int("cores", cpu::cores() as u64)
        .num("retr_alone_busy_pct", median(&mut wharf.busy.clone()));
    if let Some(c) = cpu {
        out = out
            .int("cpu_polls", c.polls as u64)
            .num("server_cpu_ms_per_list", c.server_ms)
            .num("poller_cpu_ms_per_list", c.poller_ms);
    }
    Ok(out)
}

/// CPU time one list costs, from /proc: the server process's (when its pid is known) and
/// the poller's own, over polls at the scenario's interval with no transfer running.
struct ListCpu {
    polls: usize,
    server_ms: f64,
    poller_ms: f64,
}

/// Polls whose CPU time is measured (at 5 ms a list, ~10 scheduler ticks' worth: the
/// schedstat counters are in nanoseconds, so the sum is exact).
const CPU_POLLS: usize = 20;

async fn list_cpu(
    poll: &AdminPoll,
    server_pid: Option<u32>,
    body: &mut Vec<u8>,
) -> Result<Option<ListCpu>> {
    let Some(pid) = server_pid else {
        return Ok(None);
    };
    let (Some(server_before), Some(own_before)) = (cpu::process_ns(pid), cpu::own_ns()) else {
        return Ok(None);
    };
    for _ in 0..CPU_POLLS {
        let r = http::get(poll.addr, &poll.route, &poll.token, body, false).await?;
        if r.status != 200 {
            bail!("{} answered {}", poll.route, r.status);
        }
        tokio::time::sleep(poll.interval).await;
    }
    let (Some(server_after), Some(own_after)) = (cpu::process_ns(pid), cpu::own_ns()) else {
        return Ok(None);
    };
    let per_poll = |ns: u64| ns as f64 / CPU_POLLS as f64 / 1e6;
    Ok(Some(ListCpu {
        polls: CPU_POLLS,
        server_ms: per_poll(server_after.saturating_sub(server_before)),
        poller_ms: per_poll(own_after.saturating_sub(own_before)),
    }))
}

/// RETR throughput alone and while `poll` runs, pair by pair.
struct PolledPairs {
    alone: Vec<f64>,
    /// How busy the machine's cores were during each RETR-alone phase, in percent.
    busy: Vec<f64>,
    polled: Vec<f64>,
    latencies: Vec<f64>,
    failed_polls: u64,
}

impl PolledPairs {
    /// A RETR phase with nothing polling, and how busy it kept the cores.
    async fn alone_phase(&mut self, t: &Target, path: &str, buffer: usize) -> Result<()> {
        let before = cpu::machine_jiffies();
        self.alone.push(retr_phase(t, path, buffer).await?);
        if let (Some((b0, t0)), Some((b1, t1))) = (before, cpu::machine_jiffies())
            && t1 > t0
        {
            self.busy.push((b1 - b0) as f64 / (t1 - t0) as f64 * 100.0);
        }
        Ok(())
    }

    /// Each pair's throughput lost to polling, in percent.
    fn costs(&self) -> Vec<f64> {
        self.alone
            .iter()
            .zip(&self.polled)
            .map(|(a, p)| (1.0 - p / a) * 100.0)
            .collect()
    }
}

/// `runs` pairs in alternating order (alone first, then polled first), so a drift of the
/// machine's speed during the run favours neither side; callers take the median of the
/// pairs' own ratios, which cancels most of the run-to-run spread of loopback RETR.
async fn polled_pairs(
    t: &Target,
    path: &str,
    buffer: usize,
    runs: usize,
    poll: Arc<AdminPoll>,
) -> Result<PolledPairs> {
    let mut pairs = PolledPairs {
        alone: Vec::new(),
        busy: Vec::new(),
        polled: Vec::new(),
        latencies: Vec::new(),
        failed_polls: 0,
    };
    for run in 0..runs.max(1) {
        let alone_first = run % 2 == 0;
        if alone_first {
            pairs.alone_phase(t, path, buffer).await?;
        }
        let stop = Arc::new(AtomicBool::new(false));
        // The poller runs on a thread and runtime of its own: on the runtime of the RETR
        // client it would wait behind the download's read loop (tokio yields a busy task
        // only every 128 operations, ~100 MiB here), and those waits would count as list
        // latency.
        let poller = {
            let (poll, stop) = (poll.clone(), stop.clone());
            std::thread::spawn(move || -> Result<(Vec<f64>, u64)> {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                Ok(rt.block_on(async move {
                    let mut body = Vec::new();
                    let mut lat = Vec::new();
                    let mut failed = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        match http::get(poll.addr, &poll.route, &poll.token, &mut body, false).await
                        {
                            Ok(r) if r.status == 200 => lat.push(r.elapsed.as_secs_f64() * 1000.0),
                            _ => failed += 1,
                        }
                        if !poll.interval.is_zero() {
                            tokio::time::sleep(poll.interval).await;
                        }
                    }
                    (lat, failed)
                }))
            })
        };
        let r = retr_phase(t, path, buffer).await;
        stop.store(true, Ordering::Relaxed);
        let (l, f) = tokio::task::spawn_blocking(move || poller.join())
            .await
            .map_err(|e| anyhow!("poller: {e}"))?
            .map_err(|_| anyhow!("poller thread panicked"))??;
        pairs.polled.push(r?);
        pairs.latencies.extend(l);
        pairs.failed_polls += f;
        if !alone_first {
            pairs.alone_phase(t, path, buffer).await?;
        }
    }
    Ok(pairs)
}
