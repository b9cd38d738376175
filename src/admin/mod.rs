//! The admin API and live page (design §4, docs/admin-api.md): HTTP/1.1 on the
//! `system.ftpServer/administration` listener, bearer-token protected.
//!
//! - [`auth`]: the token (file, constant-time check, page cookie).
//! - [`sites`]: `GET /api/v1/sites`.
//! - [`sessions`]: list with filters, show, terminate, ended history; 405 for writes.
//! - [`events`]: `GET /api/v1/events` (Server-Sent Events).
//! - [`metrics`]: `GET /metrics` (Prometheus text).
//! - [`negotiate`]: JSON or IIS-shaped XML by `Accept`; the XML writer.
//! - [`json`]: the JSON views of session records; [`list_writer`] writes session lists.
//! - [`error`]: `ApiError` → status + `{"error": "…"}`.
//! - [`page`]: `GET /`, the live sessions page.
//! - [`listener`]: accepting and serving connections, with their bounds (connections,
//!   header-read timeout, HTTPS).
//!
//! The listener stops with the server's drain token (graceful); event streams end on the
//! same token so the graceful shutdown does not wait on them.

pub mod auth;
pub mod error;
pub mod events;
pub mod json;
pub mod list_writer;
pub mod listener;
pub mod metrics;
pub mod negotiate;
pub mod page;
pub mod sessions;
pub mod sites;

#[cfg(test)]
mod tests;

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use auth::Token;

use crate::limits::ADMIN_MAX_BODY;
use crate::server::{BoundEndpoint, Shared};

/// What every admin handler shares.
#[derive(Debug, Clone)]
pub struct AdminState {
    /// Registry, sites, configuration.
    pub shared: Arc<Shared>,
    /// The FTP listening sockets (to show bound ports).
    pub endpoints: Arc<[BoundEndpoint]>,
    /// The bearer token.
    pub token: Arc<Token>,
    /// Fires when the server drains: event streams end.
    pub shutdown: CancellationToken,
    /// One permit per event stream (`administration@maxEventSubscribers`).
    pub event_slots: Arc<Semaphore>,
    /// Served over HTTPS: the page's cookie is `Secure`.
    pub https: bool,
}

impl AdminState {
    /// State for [`router`] (plain HTTP; see [`AdminState::https`]).
    pub fn new(
        shared: Arc<Shared>,
        endpoints: impl Into<Arc<[BoundEndpoint]>>,
        token: Token,
        shutdown: CancellationToken,
    ) -> AdminState {
        let subscribers = shared.config.administration.max_event_subscribers as usize;
        AdminState {
            shared,
            endpoints: endpoints.into(),
            token: Arc::new(token),
            shutdown,
            event_slots: Arc::new(Semaphore::new(subscribers)),
            https: false,
        }
    }
}

/// Every route. `GET /` is public (the page authenticates itself, see [`auth`]); all
/// others require the token.
pub fn router(state: AdminState) -> Router {
    let api = Router::new()
        .merge(sites::routes())
        .merge(sessions::routes())
        .merge(events::routes())
        .merge(metrics::routes())
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ));
    let page = Router::new().route(
        "/",
        get(page::index)
            .layer(middleware::from_fn_with_state(
                state.clone(),
                auth::page_login,
            ))
            .fallback(error::get_only),
    );
    page.merge(api)
        .fallback(error::not_found)
        .layer(DefaultBodyLimit::max(ADMIN_MAX_BODY))
        .with_state(state)
}

/// Where the admin API listens.
#[derive(Clone)]
pub struct AdminEndpoint {
    /// The bound address (port resolved when the configuration said 0).
    pub addr: SocketAddr,
    /// HTTPS (`administration@certificateFile`).
    pub https: bool,
    /// The token file.
    pub token_file: PathBuf,
    /// The token.
    pub token: Token,
}

impl fmt::Debug for AdminEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminEndpoint")
            .field("addr", &self.addr)
            .field("https", &self.https)
            .field("token_file", &self.token_file)
            .finish_non_exhaustive()
    }
}

impl AdminEndpoint {
    /// `http://ADDR/` or `https://ADDR/`.
    pub fn url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}/", self.addr)
    }
}

/// Binds the administration listener, loads or creates the token and serves until
/// `drain` fires (then gracefully; `hard` cuts what is left).
pub async fn start(
    shared: Arc<Shared>,
    endpoints: Vec<BoundEndpoint>,
    drain: CancellationToken,
    hard: CancellationToken,
    tasks: &TaskTracker,
) -> anyhow::Result<AdminEndpoint> {
    let admin = shared.config.administration.clone();
    // The configuration refuses plain HTTP off loopback unless allowed, and checks the
    // certificate; a file that changed since is an error here (the FTP service still runs).
    let tls = match &admin.tls {
        Some(tls) => {
            let config =
                crate::tls::https_server_config(&tls.certificate_file, &tls.private_key_file)
                    .context("HTTPS certificate")?;
            Some(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
        }
        None => None,
    };
    let listener = TcpListener::bind(admin.binding)
        .await
        .with_context(|| format!("cannot listen on {}", admin.binding))?;
    let addr = listener.local_addr()?;
    let token_file = auth::token_path(&shared.config);
    let token = auth::load_or_create_token(&token_file)
        .with_context(|| format!("admin token file {}", token_file.display()))?;
    if tls.is_none() && !addr.ip().to_canonical().is_loopback() {
        tracing::warn!(
            %addr,
            "the admin API listens on a non-loopback address without TLS \
             (allowUnencryptedRemote=\"true\"): the bearer token and session data travel in \
             clear text unless a TLS proxy is in front"
        );
    }
    let https = tls.is_some();
    let mut state = AdminState::new(shared, endpoints, token.clone(), drain.clone());
    state.https = https;
    let settings = listener::ListenerSettings {
        header_read_timeout: admin.header_read_timeout,
        max_connections: admin.max_connections as usize,
        tls,
    };
    tasks.spawn(listener::serve(
        listener,
        router(state),
        settings,
        drain,
        hard,
    ));
    tracing::info!(%addr, https, token_file = %token_file.display(), "admin API listening");
    Ok(AdminEndpoint {
        addr,
        https,
        token_file,
        token,
    })
}
