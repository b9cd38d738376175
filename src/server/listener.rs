//! The accept loop of one endpoint.

use std::sync::Arc;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use wharf_proto::Reply;

use super::Shared;
use super::accept::AcceptBackoff;
use super::vhost::Endpoint;
use crate::registry::SessionHandle;
use crate::session;

/// What the accept loop needs.
#[derive(Debug, Clone)]
pub struct ListenerContext {
    /// The bindings served by this socket.
    pub endpoint: Arc<Endpoint>,
    /// Server-wide state.
    pub shared: Arc<Shared>,
    /// Soft shutdown: stop accepting.
    pub drain: CancellationToken,
    /// Hard shutdown: parent of every session token.
    pub hard: CancellationToken,
    /// Where session tasks are tracked.
    pub tasks: TaskTracker,
    /// Implicit FTPS: sessions start with a TLS handshake.
    pub implicit_tls: bool,
}

/// Accepts until the drain token fires; survives running out of descriptors (see
/// [`AcceptBackoff`]).
pub async fn run(listener: TcpListener, ctx: ListenerContext) {
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let mut backoff = AcceptBackoff::new("FTP", addr);
    loop {
        let accepted = tokio::select! {
            _ = ctx.drain.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _)) => {
                backoff.accepted();
                accept(stream, &ctx).await
            }
            Err(e) => backoff.failed(&e, &ctx.drain).await,
        }
    }
}

async fn accept(mut stream: TcpStream, ctx: &ListenerContext) {
    let (Ok(client), Ok(local)) = (stream.peer_addr(), stream.local_addr()) else {
        return;
    };
    let _ = stream.set_nodelay(true);
    let Some((site, _)) = ctx.endpoint.default_site(local.ip()) else {
        // Reached through an address no binding on this port names.
        let _ = stream
            .write_all(&Reply::new(421, "No FTP site is bound to this address.").encode())
            .await;
        return;
    };
    let connections = site.config.ftp.connections;
    if ctx.shared.registry.count(&site.name) >= connections.max_connections as usize {
        tracing::info!(site = %site.name, %client, "connection refused: maxConnections reached");
        if connections.reset_on_max_connections || ctx.implicit_tls {
            // (On an implicit-TLS port a clear-text 421 would only confuse the client's TLS.)
            // A zero linger makes close() send RST at once (IIS resetOnMaxConnections);
            // with a zero timeout the drop does not block the thread.
            #[allow(deprecated)]
            let _ = stream.set_linger(Some(std::time::Duration::ZERO));
        } else {
            let text = site
                .config
                .ftp
                .messages
                .max_clients_message
                .clone()
                .unwrap_or_else(|| "Too many connections, try again later.".to_string());
            let _ = stream.write_all(&Reply::new(421, text).encode()).await;
        }
        return;
    }
    let handle = Arc::new(SessionHandle::new(
        site.name.clone(),
        client,
        local,
        ctx.hard.child_token(),
        ctx.shared.registry.events().clone(),
    ));
    ctx.shared.registry.insert(handle.clone());
    let session = session::Session::new(
        stream,
        handle,
        site,
        ctx.endpoint.clone(),
        ctx.shared.clone(),
        ctx.drain.clone(),
    )
    .implicit_tls(ctx.implicit_tls);
    ctx.tasks.spawn(session.run());
}
