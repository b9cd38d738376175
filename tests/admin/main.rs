//! Admin API over real sockets: an in-process server, real FTP sessions, and a small
//! HTTP/1.1 client (no HTTP client crate).
//!
//! - [`terminate`]: terminate mid-download, mid-upload and for a client that reads nothing.
//! - [`events`]: the SSE stream: snapshot, started/updated/ended, `Last-Event-ID` resume.
//! - [`lifecycle`]: the token file, the start-up line of `wharf serve`, shutdown.
//! - [`limits`]: header-read timeout, `maxConnections`, `maxEventSubscribers`, HTTPS.
//! - [`starvation`]: `wharf serve` under an admin flood and out of descriptors.

#[path = "../common/mod.rs"]
mod common;
mod http;
mod support;

mod events;
mod lifecycle;
mod limits;
mod starvation;
mod terminate;
