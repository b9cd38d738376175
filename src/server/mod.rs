//! The running service: listeners per endpoint, site selection, passive ports, shutdown.
//!
//! - [`site`]: `SiteRuntime`, what a site needs at run time (its config and virtual tree).
//! - [`vhost`]: endpoints and the choice of site by local address and virtual host name.
//! - [`listener`]: the accept loop of one endpoint.
//! - [`accept`]: what accept loops do when `accept` fails (descriptors exhausted, …).
//! - [`fd_limit`]: the open-file limit raised to its hard limit at start-up.
//! - [`passive`]: the passive data-port allocator.
//! - [`metrics`]: per-site command, reply and login counters.
//! - [`supervisor`]: start-up, signals and graceful shutdown.

pub mod accept;
pub mod fd_limit;
pub mod listener;
pub mod metrics;
pub mod passive;
pub mod site;
pub mod supervisor;
pub mod vhost;

pub use supervisor::{BoundEndpoint, RunningServer, start};

use std::sync::Arc;

use crate::auth::Authenticator;
use crate::config::Config;
use crate::registry::Registry;

/// What every session of the server shares (read-only after start-up).
#[derive(Debug)]
pub struct Shared {
    /// The configuration the server started with.
    pub config: Arc<Config>,
    /// Every site.
    pub sites: Vec<Arc<site::SiteRuntime>>,
    /// The sessions registry.
    pub registry: Arc<Registry>,
    /// Basic-auth verification with the credentials cache.
    pub authenticator: Authenticator,
    /// Passive port allocation.
    pub passive_ports: passive::PassivePorts,
}
