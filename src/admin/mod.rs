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
//!
//! The listener stops with the server's drain token (`with_graceful_shutdown`); event
//! streams end on the same token so the graceful shutdown does not wait on them.

pub mod auth;
pub mod error;
pub mod events;
pub mod json;
pub mod list_writer;
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
}

impl AdminState {
    /// State for [`router`].
    pub fn new(
        shared: Arc<Shared>,
        endpoints: impl Into<Arc<[BoundEndpoint]>>,
        token: Token,
        shutdown: CancellationToken,
    ) -> AdminState {
        AdminState {
            shared,
            endpoints: endpoints.into(),
            token: Arc::new(token),
            shutdown,
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
    /// The token file.
    pub token_file: PathBuf,
    /// The token.
    pub token: Token,
}

impl fmt::Debug for AdminEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminEndpoint")
            .field("addr", &self.addr)
            .field("token_file", &self.token_file)
            .finish_non_exhaustive()
    }
}

impl AdminEndpoint {
    /// `http://ADDR/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
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
    let admin = &shared.config.administration;
    let listener = TcpListener::bind(admin.binding)
        .await
        .with_context(|| format!("cannot listen on {}", admin.binding))?;
    let addr = listener.local_addr()?;
    let token_file = auth::token_path(&shared.config);
    let token = auth::load_or_create_token(&token_file)
        .with_context(|| format!("admin token file {}", token_file.display()))?;
    if !addr.ip().is_loopback() {
        tracing::warn!(
            %addr,
            "the admin API listens on a non-loopback address without TLS: the bearer token \
             and session data travel in clear text; bind it to 127.0.0.1 or put a TLS proxy in front"
        );
    }
    let state = AdminState::new(shared, endpoints, token.clone(), drain.clone());
    tasks.spawn(serve(listener, state, drain, hard));
    tracing::info!(%addr, token_file = %token_file.display(), "admin API listening");
    Ok(AdminEndpoint {
        addr,
        token_file,
        token,
    })
}

/// Serves [`router`] on `listener` until `stop` (graceful) or `hard` (immediate).
pub async fn serve(
    listener: TcpListener,
    state: AdminState,
    stop: CancellationToken,
    hard: CancellationToken,
) {
    let app = router(state);
    let server = axum::serve(listener, app).with_graceful_shutdown(stop.cancelled_owned());
    tokio::select! {
        result = server => {
            if let Err(e) = result {
                tracing::error!(error = %e, "admin API stopped");
            }
        }
        _ = hard.cancelled() => {}
    }
}
