//! `wharf serve`: load the configuration, start listening, run until SIGINT/SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;

use tokio::signal::unix::{SignalKind, signal};
use tracing_subscriber::EnvFilter;

use crate::config::model::{ControlChannelPolicy, DataChannelPolicy};
use crate::config::{self, Config, Loaded, Severity};
use crate::limits::SHUTDOWN_GRACE;
use crate::server;

/// Runs the service.
pub fn run(config_path: Option<PathBuf>) -> ExitCode {
    // Read before the runtime starts threads (the local offset is only safe to read then).
    crate::session::init_local_offset();
    init_tracing();
    // Before anything opens descriptors in numbers: the admin listener and the sessions
    // must not meet a 1,024 soft limit the hard limit would let them exceed.
    server::fd_limit::raise_and_log();
    let embedded = config_path.is_none();
    let loaded = match &config_path {
        Some(path) => config::load_file(path),
        None => config::defaults::load_default(),
    };
    let Some(config) = report(loaded) else {
        return ExitCode::FAILURE;
    };
    if let Err(message) = prepare_roots(&config, embedded) {
        eprintln!("wharf: {message}");
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("wharf: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(config))
}

fn init_tracing() {
    let filter = EnvFilter::try_from_env("WHARF_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Prints diagnostics; the model when there was no error.
fn report(loaded: Loaded) -> Option<Config> {
    for d in &loaded.diagnostics {
        eprintln!("{d}");
    }
    if loaded
        .diagnostics
        .iter()
        .any(|d| d.severity == Severity::Error)
    {
        eprintln!("wharf: the configuration has errors; nothing started");
        return None;
    }
    loaded.config
}

/// The embedded default creates its folder; a configured site's missing folder is an error
/// worth seeing at start-up rather than at the first login.
fn prepare_roots(config: &Config, create: bool) -> Result<(), String> {
    for site in &config.sites {
        for vdir in &site.virtual_directories {
            if vdir.physical_path.is_dir() {
                continue;
            }
            if create {
                std::fs::create_dir_all(&vdir.physical_path)
                    .map_err(|e| format!("cannot create {}: {e}", vdir.physical_path.display()))?;
            } else {
                tracing::warn!(site = %site.name, vdir = %vdir.path, path = %vdir.physical_path.display(), "physical path does not exist");
            }
        }
    }
    Ok(())
}

async fn serve(config: Config) -> ExitCode {
    let source = config.source.clone();
    let sites: Vec<_> = config.sites.clone();
    let running = match server::start(config).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("wharf: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    match &source {
        Some(path) => println!("wharf: configuration {}", path.display()),
        None => println!("wharf: embedded default configuration (see `wharf config default`)"),
    }
    for site in &sites {
        if !site.server_auto_start {
            println!(
                "wharf: site \"{}\" (id {}) is not started (serverAutoStart=false)",
                site.name, site.id
            );
            continue;
        }
        if let Some(root) = site.virtual_directories.iter().find(|v| v.path.is_root()) {
            println!(
                "wharf: site \"{}\" (id {}) serves {}",
                site.name,
                site.id,
                root.physical_path.display()
            );
        }
    }
    for endpoint in &running.endpoints {
        let scheme = if endpoint.implicit_tls { "ftps" } else { "ftp" };
        for (site, host) in &endpoint.bindings {
            match host {
                Some(host) => println!(
                    "wharf: site \"{site}\" listening on {scheme}://{} (host {host})",
                    endpoint.addr
                ),
                None => println!(
                    "wharf: site \"{site}\" listening on {scheme}://{}",
                    endpoint.addr
                ),
            }
        }
    }
    for site in &running.shared.sites {
        let ssl = &site.config.ftp.ssl;
        match &site.tls {
            Some(tls) => println!(
                "wharf: site \"{}\" offers FTPS (control {:?}, data {:?}), certificate SHA-1 {}",
                site.name,
                ssl.control_channel_policy,
                ssl.data_channel_policy,
                tls.thumbprint()
            ),
            None if ssl.control_channel_policy != ControlChannelPolicy::SslAllow
                || ssl.data_channel_policy == DataChannelPolicy::SslRequire =>
            {
                println!(
                    "wharf: WARNING: site \"{}\" requires TLS ({:?}/{:?}) but has no \
                     certificate: every login will be refused",
                    site.name, ssl.control_channel_policy, ssl.data_channel_policy
                )
            }
            None => {}
        }
    }
    match (&running.admin, &running.admin_error) {
        (Some(admin), _) => println!(
            "wharf: admin page {} (token in {})",
            admin.url(),
            admin.token_file.display()
        ),
        (None, Some(error)) => println!("wharf: admin API not started: {error}"),
        (None, None) => println!("wharf: admin API disabled (administration enabled=\"false\")"),
    }
    wait_for_shutdown(&running).await;
    println!(
        "wharf: shutting down (transfers may finish for up to {} s)",
        SHUTDOWN_GRACE.as_secs()
    );
    running.shutdown(SHUTDOWN_GRACE).await;
    println!("wharf: stopped");
    ExitCode::SUCCESS
}

async fn wait_for_shutdown(running: &server::RunningServer) {
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    loop {
        tokio::select! {
            _ = term.recv() => return,
            _ = int.recv() => return,
            _ = hup.recv() => {
                // Certificates reload; sessions keep the TLS they negotiated. Other
                // configuration changes still need a restart.
                for (site, result) in running.reload_certificates() {
                    match result {
                        Ok(thumbprint) => tracing::info!(%site, %thumbprint, "SIGHUP: TLS certificate reloaded"),
                        Err(e) => tracing::error!(%site, error = %e, "SIGHUP: TLS certificate reload failed; keeping the previous certificate"),
                    }
                }
                tracing::warn!("SIGHUP: only TLS certificates are reloaded; restart to apply other configuration changes");
            }
        }
    }
}
