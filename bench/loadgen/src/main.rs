//! `wharf-loadgen`: the load generator of the Wharf benchmark harness (`bench/run`).
//!
//! Raw FTP over TCP with large reused buffers, passive mode (EPSV, else PASV), TYPE I.
//! Every subcommand prints one JSON object per line on standard output: the measurement,
//! or `"ok": false` with an `"error"`, or `"skipped"` with a reason. `bench/run`
//! aggregates the lines.

mod ceiling;
mod cpu;
mod floor;
mod ftp;
mod http;
mod json;
mod list_floor;
mod scenarios;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::json::Obj;

/// Load generator of the Wharf benchmark harness.
#[derive(Debug, Parser)]
#[command(name = "wharf-loadgen", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The FTP server under test.
#[derive(Debug, Clone, Args)]
pub struct Server {
    /// Control address of the server.
    #[arg(long, default_value = "127.0.0.1:2121")]
    addr: SocketAddr,
    /// Account name.
    #[arg(long, default_value = "benchftp")]
    user: String,
    /// Password.
    #[arg(long, default_value = "benchftp")]
    pass: String,
    /// Label copied into the output (the server's name).
    #[arg(long, default_value = "")]
    label: String,
    /// Application buffer size for data transfers, in bytes.
    #[arg(long, default_value_t = 1 << 20)]
    buffer: usize,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 900)]
    timeout: u64,
}

impl Server {
    fn target(&self) -> ftp::Target {
        ftp::Target {
            addr: self.addr,
            user: self.user.clone(),
            pass: self.pass.clone(),
        }
    }
}

/// Direction of a bulk transfer.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Op {
    /// Download.
    Retr,
    /// Upload.
    Stor,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Download one file (single stream); bytes per second.
    Retr {
        #[command(flatten)]
        server: Server,
        /// Server path of the file.
        #[arg(long, default_value = "/big.bin")]
        path: String,
    },
    /// Upload `--size` bytes (from a reused buffer) to one file; bytes per second.
    Stor {
        #[command(flatten)]
        server: Server,
        /// Server path to write (removed afterwards with DELE).
        #[arg(long, default_value = "/upload.bin")]
        path: String,
        /// Bytes to send.
        #[arg(long, default_value_t = 1 << 30)]
        size: u64,
    },
    /// N sessions transferring at once (RETR of one file, or STOR of N files).
    Parallel {
        #[command(flatten)]
        server: Server,
        /// Download or upload.
        #[arg(long, value_enum, default_value = "retr")]
        op: Op,
        /// Streams.
        #[arg(long, default_value_t = 4)]
        streams: usize,
        /// RETR: the file; STOR: a prefix (stream i writes PATH.i).
        #[arg(long, default_value = "/big.bin")]
        path: String,
        /// STOR: bytes per stream.
        #[arg(long, default_value_t = 1 << 30)]
        size: u64,
    },
    /// Workers each in one session, RETR of small files in a loop (a data connection each).
    SmallRetr {
        #[command(flatten)]
        server: Server,
        /// Folder holding f00000 … f(N-1).
        #[arg(long, default_value = "/small")]
        dir: String,
        /// How many files to cycle through.
        #[arg(long, default_value_t = 100)]
        files: usize,
        /// Concurrent sessions.
        #[arg(long, default_value_t = 8)]
        workers: usize,
        /// Stop after this many transfers in all.
        #[arg(long, default_value_t = 20_000)]
        count: u64,
        /// Or after this many seconds.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// The small-file floor: the small-retr scenario against a minimal FTP server built in
    /// (no file system, no authentication, one thread per session), the bound on any real
    /// server's 4 KiB RETR rate on this machine.
    SmallFloor {
        /// Size of the "file".
        #[arg(long, default_value_t = 4096)]
        size: usize,
        /// Concurrent sessions.
        #[arg(long, default_value_t = 8)]
        workers: usize,
        /// Stop after this many transfers in all.
        #[arg(long, default_value_t = 20_000)]
        count: u64,
        /// Or after this many seconds.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// The listing floor: getdents + one statx per entry of DIR (a local path), on one
    /// thread or several, with no FTP at all; median of REPEAT passes.
    ListFloor {
        /// The folder, as a local path.
        #[arg(long)]
        dir: PathBuf,
        /// Threads inspecting the entries (the names are read first, by one).
        #[arg(long, default_value_t = 2)]
        threads: usize,
        /// Passes.
        #[arg(long, default_value_t = 7)]
        repeat: usize,
    },
    /// connect + greeting + USER/PASS + QUIT in a loop with one account.
    Churn {
        #[command(flatten)]
        server: Server,
        /// Concurrent clients.
        #[arg(long, default_value_t = 8)]
        workers: usize,
        /// Stop after this many logins in all.
        #[arg(long, default_value_t = 20_000)]
        count: u64,
        /// Or after this many seconds.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// Open N logged-in sessions, report, hold them until RELEASE_FILE exists, check each
    /// with NOOP, QUIT.
    IdleSessions {
        #[command(flatten)]
        server: Server,
        /// Sessions.
        #[arg(long, default_value_t = 1000)]
        count: usize,
        /// Logins in flight at once.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Hold until this file exists (or `--hold` runs out).
        #[arg(long)]
        release_file: Option<PathBuf>,
        /// Longest hold, in seconds.
        #[arg(long, default_value_t = 600.0)]
        hold: f64,
        /// Spread sessions over source addresses 127.0.0.1 … 127.0.0.N (loopback targets
        /// only), so ports left in TIME_WAIT by earlier scenarios do not run out.
        #[arg(long, default_value_t = 4)]
        sources: u8,
        /// Stop opening sessions when the machine's MemAvailable falls below this many MiB
        /// (forking servers can use 1-2 MiB a session); 0 disables the guard.
        #[arg(long, default_value_t = 4096)]
        min_available_mib: u64,
    },
    /// CWD DIR then LIST; time to the final reply.
    List {
        #[command(flatten)]
        server: Server,
        /// The folder.
        #[arg(long, default_value = "/dir10k")]
        dir: String,
        /// LISTs in the one session (each reported).
        #[arg(long, default_value_t = 1)]
        repeat: usize,
    },
    /// The loopback ceiling: sendfile(2) of FILE into a loopback socket whose reader discards.
    Ceiling {
        /// The file (not needed with --upload-to).
        #[arg(long)]
        file: Option<PathBuf>,
        /// Reader buffer, bytes.
        #[arg(long, default_value_t = 1 << 20)]
        buffer: usize,
        /// Label.
        #[arg(long, default_value = "loopback")]
        label: String,
        /// read(2)+write(2) through a reused buffer instead of sendfile(2).
        #[arg(long, conflicts_with = "corked")]
        copy: bool,
        /// sendfile(2) in 1 MiB calls under TCP_CORK instead of one call for the file.
        #[arg(long)]
        corked: bool,
        /// The upload direction instead: receive `--size` bytes from a loopback socket and
        /// write them to this file (removed afterwards); FILE is not read.
        #[arg(long, value_name = "DEST")]
        upload_to: Option<PathBuf>,
        /// The upload direction with a receiver that discards what it reads (no file): the
        /// most any STOR server could take from this sender.
        #[arg(long, conflicts_with = "upload_to")]
        sink: bool,
        /// Upload: bytes.
        #[arg(long, default_value_t = 1 << 30)]
        size: u64,
    },
    /// RETR over TLS (AUTH TLS, PROT P); skipped when the server does not offer AUTH TLS.
    FtpsRetr {
        #[command(flatten)]
        server: Server,
        /// The file.
        #[arg(long, default_value = "/big.bin")]
        path: String,
    },
    /// Wharf admin API: list latency while RETR runs, and RETR throughput with and without
    /// a client polling the list. Skipped when the endpoint is absent.
    AdminList {
        #[command(flatten)]
        server: Server,
        /// Admin listener.
        #[arg(long, default_value = "127.0.0.1:2180")]
        admin: SocketAddr,
        /// Route to poll.
        #[arg(long, default_value = "/api/v1/sessions")]
        route: String,
        /// Bearer token file.
        #[arg(long)]
        token_file: Option<PathBuf>,
        /// Pause between polls, in milliseconds (0: back to back).
        #[arg(long, default_value_t = 250)]
        interval_ms: u64,
        /// The file downloaded meanwhile.
        #[arg(long, default_value = "/big.bin")]
        path: String,
        /// Pairs of (RETR alone, RETR while polling), interleaved.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// The server's process id: its CPU time per list is measured from /proc.
        #[arg(long)]
        server_pid: Option<u32>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("wharf-loadgen: runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (scenario, label, timeout) = describe(&cli.command);
    let out = rt.block_on(async {
        match tokio::time::timeout(Duration::from_secs(timeout), run(cli.command)).await {
            Ok(Ok(obj)) => obj,
            Ok(Err(e)) => Obj::new().bool("ok", false).str("error", &format!("{e:#}")),
            Err(_) => Obj::new()
                .bool("ok", false)
                .str("error", &format!("timed out after {timeout} s")),
        }
    });
    let ok = out.is_ok();
    json::emit(
        Obj::new()
            .str("scenario", scenario)
            .str("server", &label)
            .merge(out),
    );
    // Sessions still open (after a timeout) are dropped with the runtime.
    rt.shutdown_timeout(Duration::from_secs(1));
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn describe(c: &Command) -> (&'static str, String, u64) {
    match c {
        Command::Retr { server, .. } => ("retr", server.label.clone(), server.timeout),
        Command::Stor { server, .. } => ("stor", server.label.clone(), server.timeout),
        Command::Parallel { server, op, .. } => (
            match op {
                Op::Retr => "parallel-retr",
                Op::Stor => "parallel-stor",
            },
            server.label.clone(),
            server.timeout,
        ),
        Command::SmallRetr { server, .. } => ("small-retr", server.label.clone(), server.timeout),
        Command::SmallFloor { .. } => ("small-floor", "loopback".to_string(), 900),
        Command::ListFloor { threads, .. } => ("list-floor", format!("{threads} threads"), 900),
        Command::Churn { server, .. } => ("churn", server.label.clone(), server.timeout),
        Command::IdleSessions { server, hold, .. } => (
            "idle-sessions",
            server.label.clone(),
            server.timeout + *hold as u64,
        ),
        Command::List { server, .. } => ("list", server.label.clone(), server.timeout),
        Command::Ceiling { label, .. } => ("ceiling", label.clone(), 900),
        Command::FtpsRetr { server, .. } => ("ftps-retr", server.label.clone(), server.timeout),
        Command::AdminList { server, .. } => ("admin-list", server.label.clone(), server.timeout),
    }
}

async fn run(c: Command) -> anyhow::Result<Obj> {
    match c {
        Command::Retr { server, path } => {
            scenarios::bulk(&server.target(), Op::Retr, 1, &path, 0, server.buffer).await
        }
        Command::Stor { server, path, size } => {
            scenarios::bulk(&server.target(), Op::Stor, 1, &path, size, server.buffer).await
        }
        Command::Parallel {
            server,
            op,
            streams,
            path,
            size,
        } => scenarios::bulk(&server.target(), op, streams, &path, size, server.buffer).await,
        Command::SmallRetr {
            server,
            dir,
            files,
            workers,
            count,
            seconds,
        } => scenarios::small_retr(&server.target(), &dir, files, workers, count, seconds).await,
        Command::ListFloor {
            dir,
            threads,
            repeat,
        } => tokio::task::spawn_blocking(move || list_floor::run(&dir, threads, repeat)).await?,
        Command::SmallFloor {
            size,
            workers,
            count,
            seconds,
        } => {
            let target = ftp::Target {
                addr: floor::start(size)?,
                user: "floor".to_string(),
                pass: "floor".to_string(),
            };
            scenarios::small_retr(&target, "/small", 100, workers, count, seconds).await
        }
        Command::Churn {
            server,
            workers,
            count,
            seconds,
        } => scenarios::churn(&server.target(), workers, count, seconds).await,
        Command::IdleSessions {
            server,
            count,
            concurrency,
            release_file,
            hold,
            sources,
            min_available_mib,
        } => {
            scenarios::idle_sessions(
                &server.target(),
                count,
                concurrency,
                release_file.as_deref(),
                hold,
                sources,
                min_available_mib,
            )
            .await
        }
        Command::List {
            server,
            dir,
            repeat,
        } => scenarios::list(&server.target(), &dir, repeat, server.buffer).await,
        Command::Ceiling {
            file,
            buffer,
            label: _,
            copy,
            corked,
            upload_to,
            sink,
            size,
        } => {
            let method = match (copy, corked) {
                (true, _) => ceiling::Method::Copy,
                (false, true) => ceiling::Method::CorkedSendfile,
                (false, false) => ceiling::Method::Sendfile,
            };
            tokio::task::spawn_blocking(move || match upload_to {
                Some(dest) => ceiling::upload(Some(&dest), size, buffer),
                None if sink => ceiling::upload(None, size, buffer),
                None => match file {
                    Some(file) => ceiling::run(&file, buffer, method),
                    None => Err(anyhow::anyhow!("--file or --upload-to is required")),
                },
            })
            .await?
        }
        Command::FtpsRetr { server, path } => {
            scenarios::ftps_retr(&server.target(), &path, server.buffer).await
        }
        Command::AdminList {
            server,
            admin,
            route,
            token_file,
            interval_ms,
            path,
            runs,
            server_pid,
        } => {
            let token = match token_file {
                Some(f) => std::fs::read_to_string(&f)
                    .map(|t| t.trim().to_string())
                    .unwrap_or_default(),
                None => String::new(),
            };
            scenarios::admin_list(
                &server.target(),
                scenarios::AdminPoll {
                    addr: admin,
                    route,
                    token,
                    interval: Duration::from_millis(interval_ms),
                },
                &path,
                runs,
                server.buffer,
                server_pid,
            )
            .await
        }
    }
}
