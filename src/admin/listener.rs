//! The admin listener: accepts, bounds and serves HTTP/1.1 connections (HTTPS when
//! `administration@certificateFile` is set).
//!
//! What one client can hold is bounded, so the admin side can never starve the FTP service
//! of descriptors:
//!
//! - at most `maxConnections` connections at once; one more is answered
//!   `503` (plain HTTP, best effort, no waiting) and closed at once, never queued;
//! - `headerReadTimeout` for the TLS handshake, for a request's headers (a deadline from
//!   the first wait, so trickling a byte at a time does not extend it), and for the idle
//!   time between two requests of a kept-alive connection; a response being streamed
//!   (Server-Sent Events) is not idle;
//! - a fixed read buffer per connection ([`ADMIN_MAX_BUFFER`]) and a header cap
//!   ([`ADMIN_MAX_HEADER_BYTES`], larger: `431`);
//! - accept errors (out of descriptors) pause and retry instead of spinning
//!   ([`AcceptBackoff`]).
//!
//! `axum::serve` has none of these knobs, so connections are served with hyper's HTTP/1
//! builder directly.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::limits::{ADMIN_MAX_BUFFER, ADMIN_MAX_HEADER_BYTES};
use crate::server::accept::AcceptBackoff;

/// The answer to a connection over `maxConnections` on a plain-HTTP listener.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
content-length: 51\r\nretry-after: 5\r\nconnection: close\r\n\r\n\
{\"error\":\"too many admin connections; retry later\"}";

/// How the listener serves.
#[derive(Clone)]
pub struct ListenerSettings {
    /// `headerReadTimeout`.
    pub header_read_timeout: Duration,
    /// `maxConnections`.
    pub max_connections: usize,
    /// HTTPS when set.
    pub tls: Option<TlsAcceptor>,
}

/// Serves `app` on `listener` until `stop` (graceful: running requests finish, idle
/// connections close) or `hard` (immediate).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    settings: ListenerSettings,
    stop: CancellationToken,
    hard: CancellationToken,
) {
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let slots = Arc::new(Semaphore::new(settings.max_connections));
    let connections = TaskTracker::new();
    let mut backoff = AcceptBackoff::new("admin API", &addr);
    let mut at_capacity = false;
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => {
                backoff.accepted();
                stream
            }
            Err(e) => {
                backoff.failed(&e, &stop).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            if !at_capacity {
                tracing::warn!(
                    %addr,
                    max_connections = settings.max_connections,
                    "admin API at maxConnections: new connections are refused until some end \
                     (logged once until one is accepted again)"
                );
                at_capacity = true;
            }
            if settings.tls.is_none() {
                // Never waits: what the socket buffer does not take is dropped.
                let _ = stream.try_write(BUSY);
            }
            continue;
        };
        at_capacity = false;
        connections.spawn(connection(
            stream,
            app.clone(),
            settings.clone(),
            slot,
            stop.clone(),
            hard.clone(),
        ));
    }
    drop(listener);
    connections.close();
    tokio::select! {
        _ = connections.wait() => {}
        _ = hard.cancelled() => {}
    }
}

async fn connection(
    stream: TcpStream,
    app: Router,
    settings: ListenerSettings,
    _slot: OwnedSemaphorePermit,
    stop: CancellationToken,
    hard: CancellationToken,
) {
    let _ = stream.set_nodelay(true);
    let timeout = settings.header_read_timeout;
    let Some(acceptor) = settings.tls else {
        return http(stream, app, timeout, stop, hard).await;
    };
    let handshake = tokio::select! {
        _ = hard.cancelled() => return,
        r = tokio::time::timeout(timeout, acceptor.accept(stream)) => r,
    };
    match handshake {
        Ok(Ok(tls)) => http(tls, app, timeout, stop, hard).await,
        Ok(Err(e)) => tracing::debug!(error = %e, "admin API: TLS handshake failed"),
        Err(_) => tracing::debug!("admin API: TLS handshake timed out"),
    }
}

async fn http<I>(
    io: I,
    app: Router,
    header_read_timeout: Duration,
    stop: CancellationToken,
    hard: CancellationToken,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .max_buf_size(ADMIN_MAX_BUFFER)
        .max_header_size(ADMIN_MAX_HEADER_BYTES);
    let conn = builder.serve_connection(TokioIo::new(io), TowerToHyperService::new(app));
    tokio::pin!(conn);
    let result = tokio::select! {
        r = conn.as_mut() => r,
        _ = hard.cancelled() => return,
        _ = stop.cancelled() => {
            conn.as_mut().graceful_shutdown();
            tokio::select! {
                r = conn.as_mut() => r,
                _ = hard.cancelled() => return,
            }
        }
    };
    if let Err(e) = result {
        // Header timeouts, resets, malformed requests: the client's business.
        tracing::debug!(error = %e, "admin API connection ended");
    }
}
