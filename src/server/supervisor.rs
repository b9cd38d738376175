//! Start-up and graceful shutdown.
//!
//! Two tokens: `drain` asks sessions to finish (idle ones leave at once with 421, running
//! transfers may complete), `hard` (parent of every session's own token) forces the end
//! after the grace period: 426 on a running transfer, then 421.

use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::{TcpListener, TcpSocket};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::Shared;
use super::listener::{self, ListenerContext};
use super::passive::PassivePorts;
use super::site::SiteRuntime;
use super::vhost::{Endpoint, EndpointBinding};
use crate::admin::{self, AdminEndpoint};
use crate::auth::Authenticator;
use crate::config::Config;
use crate::registry::Registry;
use crate::storage::journal::UploadJournal;
use crate::tls::SiteTls;

/// A listening socket and the bindings it serves.
#[derive(Debug, Clone)]
pub struct BoundEndpoint {
    /// The address actually bound (port resolved when the binding said 0).
    pub addr: SocketAddr,
    /// `(site name, host name)` of each binding served here.
    pub bindings: Vec<(String, Option<String>)>,
    /// Implicit FTPS: TLS from the first byte (port 990, or `binding@implicitTls`).
    pub implicit_tls: bool,
}

/// A started server.
#[derive(Debug)]
pub struct RunningServer {
    /// Every listening socket.
    pub endpoints: Vec<BoundEndpoint>,
    /// The admin API, when `administration@enabled` and it could start.
    pub admin: Option<AdminEndpoint>,
    /// Why the admin API is not running although enabled (it does not stop the FTP
    /// service: the error is logged and printed at start-up).
    pub admin_error: Option<String>,
    /// Shared runtime state (registry, sites, configuration).
    pub shared: Arc<Shared>,
    drain: CancellationToken,
    hard: CancellationToken,
    tasks: TaskTracker,
}

impl RunningServer {
    /// The sessions registry.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.shared.registry
    }

    /// The first address serving `site`.
    pub fn addr_of(&self, site: &str) -> Option<SocketAddr> {
        self.endpoints
            .iter()
            .find(|e| e.bindings.iter().any(|(s, _)| s == site))
            .map(|e| e.addr)
    }

    /// Reads every site's certificate files again (SIGHUP). Sessions keep the TLS state
    /// they negotiated; new handshakes use the new certificate. On error a site keeps its
    /// previous certificate. Returns `(site, new thumbprint or error)` per TLS site.
    pub fn reload_certificates(&self) -> Vec<(String, Result<String, crate::tls::TlsError>)> {
        self.shared
            .sites
            .iter()
            .filter_map(|site| {
                let tls = site.tls.as_ref()?;
                Some((site.name.to_string(), tls.reload(&site.config)))
            })
            .collect()
    }

    /// Stops accepting, lets running transfers finish for up to `grace`, then ends every
    /// session with 421 and waits for all tasks.
    pub async fn shutdown(self, grace: Duration) {
        self.drain.cancel();
        self.tasks.close();
        if tokio::time::timeout(grace, self.tasks.wait())
            .await
            .is_err()
        {
            self.hard.cancel();
            self.tasks.wait().await;
        }
    }
}

/// Opens the journal of uploads in progress (`<state>/uploads`) and removes the
/// temporaries a killed run left behind, before any site serves. Without a writable state
/// directory uploads still work, but a crash could leave temporaries: said once, loudly.
fn open_upload_journal(state_dir: &std::path::Path) -> Option<Arc<UploadJournal>> {
    match UploadJournal::open(state_dir.join("uploads")) {
        Ok((journal, swept)) => {
            if swept.removed > 0 {
                tracing::info!(
                    removed = swept.removed,
                    "removed the temporaries of uploads interrupted by the previous run"
                );
            }
            Some(Arc::new(journal))
        }
        Err(e) => {
            tracing::warn!(
                dir = %state_dir.join("uploads").display(),
                error = %e,
                "cannot keep the journal of uploads in progress: after a crash, upload \
                 temporaries (.wharf-upload-*) may stay behind"
            );
            None
        }
    }
}

/// Binds every endpoint of the auto-started sites and starts accepting.
pub async fn start(config: Config) -> anyhow::Result<RunningServer> {
    let config = Arc::new(config);
    let state_dir = crate::state::state_dir(&config);
    let journal = open_upload_journal(&state_dir);
    let mut sites: Vec<Arc<SiteRuntime>> = Vec::new();
    for site in config.sites.iter().filter(|s| s.server_auto_start) {
        let tls = SiteTls::for_site(site, &state_dir)
            .with_context(|| format!("site \"{}\": cannot set up TLS", site.name))?;
        if let Some(tls) = &tls {
            tracing::debug!(site = %site.name, thumbprint = %tls.thumbprint(), "TLS certificate loaded");
        }
        sites.push(Arc::new(SiteRuntime::with_tls(
            site.clone(),
            tls.map(Arc::new),
            journal.clone(),
        )));
    }
    let shared = Arc::new(Shared {
        registry: Arc::new(Registry::new(
            config.administration.ended_sessions_retention,
        )),
        authenticator: Authenticator::new(&config.users, config.global.credentials_cache),
        passive_ports: PassivePorts::new(config.global.passive_ports),
        sites: sites.clone(),
        config: config.clone(),
    });

    let drain = CancellationToken::new();
    let hard = CancellationToken::new();
    let tasks = TaskTracker::new();
    let mut endpoints = Vec::new();
    for (key, bindings) in group_endpoints(&sites) {
        let backlog = bindings
            .iter()
            .map(|b| b.site.config.ftp.connections.server_listen_backlog)
            .max()
            .unwrap_or(60);
        let listener = bind(key, backlog).with_context(|| match key.0 {
            Some(ip) => format!("cannot listen on {}", SocketAddr::new(ip, key.1)),
            None => format!("cannot listen on *:{}", key.1),
        })?;
        let addr = listener.local_addr()?;
        let implicit_tls = bindings.iter().any(|b| {
            b.site
                .config
                .bindings
                .iter()
                .any(|c| c.port == key.1 && c.implicit_tls)
        });
        // Mixed implicit and explicit bindings on one socket are a configuration error
        // (config::lower, check_shared_ports): `any` is `all` here.
        endpoints.push(BoundEndpoint {
            implicit_tls,
            addr,
            bindings: bindings
                .iter()
                .map(|b| (b.site.name.to_string(), b.host.clone()))
                .collect(),
        });
        let ctx = ListenerContext {
            endpoint: Arc::new(Endpoint { bindings }),
            shared: shared.clone(),
            drain: drain.clone(),
            hard: hard.clone(),
            tasks: tasks.clone(),
            implicit_tls,
        };
        tasks.spawn(listener::run(listener, ctx));
    }
    tasks.spawn(crate::registry::events::run_sampler(
        shared.registry.clone(),
        drain.clone(),
    ));
    let (admin, admin_error) = if config.administration.enabled {
        match admin::start(
            shared.clone(),
            endpoints.clone(),
            drain.clone(),
            hard.clone(),
            &tasks,
        )
        .await
        {
            Ok(endpoint) => (Some(endpoint), None),
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "the admin API did not start; FTP service continues");
                (None, Some(format!("{e:#}")))
            }
        }
    } else {
        (None, None)
    };
    Ok(RunningServer {
        endpoints,
        admin,
        admin_error,
        shared,
        drain,
        hard,
        tasks,
    })
}

type EndpointKey = (Option<IpAddr>, u16);

/// Groups bindings into listening sockets: one per distinct `IP:port`, except that a `*`
/// binding on a port takes in the specific-IP bindings of the same port (they cannot both
/// be bound); port 0 means "any free port" and is never merged with a wildcard.
fn group_endpoints(sites: &[Arc<SiteRuntime>]) -> BTreeMap<EndpointKey, Vec<EndpointBinding>> {
    let wildcard_ports: Vec<u16> = sites
        .iter()
        .flat_map(|s| s.config.bindings.iter())
        .filter(|b| b.ip.is_none() && b.port != 0)
        .map(|b| b.port)
        .collect();
    let mut groups: BTreeMap<EndpointKey, Vec<EndpointBinding>> = BTreeMap::new();
    for site in sites {
        for b in &site.config.bindings {
            let key = if wildcard_ports.contains(&b.port) {
                (None, b.port)
            } else {
                (b.ip, b.port)
            };
            groups.entry(key).or_default().push(EndpointBinding {
                ip: b.ip,
                host: b.host.clone(),
                site: site.clone(),
            });
        }
    }
    groups
}

fn bind((ip, port): EndpointKey, backlog: u32) -> io::Result<TcpListener> {
    match ip {
        Some(ip) => listen(SocketAddr::new(ip, port), backlog),
        // Dual-stack `[::]` serves IPv4 and IPv6 clients; fall back to IPv4 where IPv6 is off.
        None => listen(
            SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port),
            backlog,
        )
        .or_else(|_| {
            listen(
                SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
                backlog,
            )
        }),
    }
}

fn listen(addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}
