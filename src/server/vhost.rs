//! Endpoints and site selection (IIS §2.3): per local address and port, the host-less
//! binding answers by default; `HOST` or `USER host|user` chooses a host-named binding.

use std::net::IpAddr;
use std::sync::Arc;

use super::site::SiteRuntime;

/// One binding served by an endpoint.
#[derive(Debug, Clone)]
pub struct EndpointBinding {
    /// Specific local IP, or `None` for `*`.
    pub ip: Option<IpAddr>,
    /// Virtual host name (lower-case), `None` for the host-less binding.
    pub host: Option<String>,
    /// The site.
    pub site: Arc<SiteRuntime>,
}

/// The bindings that share one listening socket.
#[derive(Debug)]
pub struct Endpoint {
    /// All bindings on this socket.
    pub bindings: Vec<EndpointBinding>,
}

fn ip_matches(binding: Option<IpAddr>, local: IpAddr) -> bool {
    binding.is_none_or(|ip| ip.to_canonical() == local.to_canonical())
}

impl Endpoint {
    /// The site a new connection on `local` belongs to before any host name is given:
    /// the host-less binding (a specific IP beats `*`), else the first binding that matches
    /// the address (so the session has a site to count against until HOST picks one).
    pub fn default_site(&self, local: IpAddr) -> Option<(Arc<SiteRuntime>, bool)> {
        let candidates = || self.bindings.iter().filter(|b| ip_matches(b.ip, local));
        candidates()
            .filter(|b| b.host.is_none())
            .max_by_key(|b| b.ip.is_some())
            .map(|b| (b.site.clone(), true))
            .or_else(|| candidates().next().map(|b| (b.site.clone(), false)))
    }

    /// The site whose binding on this endpoint carries `host` (case-insensitive).
    pub fn site_for_host(&self, local: IpAddr, host: &str) -> Option<Arc<SiteRuntime>> {
        let host = host.to_ascii_lowercase();
        self.bindings
            .iter()
            .filter(|b| ip_matches(b.ip, local) && b.host.as_deref() == Some(host.as_str()))
            .max_by_key(|b| b.ip.is_some())
            .map(|b| b.site.clone())
    }

    /// True when some binding here is named by a host.
    pub fn has_virtual_hosts(&self) -> bool {
        self.bindings.iter().any(|b| b.host.is_some())
    }
}
