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

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(bindings: &[(Option<&str>, Option<&str>, &Arc<SiteRuntime>)]) -> Endpoint {
        Endpoint {
            bindings: bindings
                .iter()
                .map(|(ip, host, site)| EndpointBinding {
                    ip: ip.map(|i| i.parse().unwrap()),
                    host: host.map(str::to_string),
                    site: (*site).clone(),
                })
                .collect(),
        }
    }

    fn site(name: &str) -> Arc<SiteRuntime> {
        use crate::config::model::*;
        let cfg = SiteConfig {
            name: name.to_string(),
            id: 1,
            server_auto_start: true,
            bindings: Vec::new(),
            virtual_directories: Vec::new(),
            ftp: FtpServerConfig {
                allow_utf8: true,
                connections: Connections {
                    control_channel_timeout: std::time::Duration::from_secs(120),
                    data_channel_timeout: std::time::Duration::from_secs(30),
                    unauthenticated_timeout: std::time::Duration::from_secs(30),
                    max_connections: u32::MAX,
                    reset_on_max_connections: false,
                    server_listen_backlog: 60,
                },
                authentication: Authentication {
                    anonymous: true,
                    basic: false,
                },
                ssl: SslConfig {
                    control_channel_policy: ControlChannelPolicy::SslAllow,
                    data_channel_policy: DataChannelPolicy::SslAllow,
                    ..SslConfig::default()
                },
                ssl_client_certificates: SslClientCertificates::default(),
                data_channel_security: DataChannelSecurity {
                    match_client_address_for_port: true,
                    match_client_address_for_pasv: true,
                },
                max_command_line: 4096,
                messages: Messages::default(),
                file_handling: FileHandling::default(),
                external_ip4_address: None,
                directory_browse: ShowFlags::default(),
                user_isolation: IsolationMode::None,
            },
            authorization: AuthorizationRules::default(),
        };
        Arc::new(SiteRuntime::new(Arc::new(cfg)))
    }

    #[test]
    fn hostless_binding_answers_and_specific_ip_beats_wildcard() {
        let (a, b, c) = (site("a"), site("b"), site("c"));
        let e = endpoint(&[
            (None, None, &a),
            (Some("10.0.0.1"), None, &b),
            (None, Some("c.example"), &c),
        ]);
        let local: IpAddr = "10.0.0.1".parse().unwrap();
        assert_eq!(&*e.default_site(local).unwrap().0.name, "b");
        assert_eq!(
            &*e.default_site("10.0.0.2".parse().unwrap()).unwrap().0.name,
            "a"
        );
        assert_eq!(&*e.site_for_host(local, "C.Example").unwrap().name, "c");
        assert!(e.site_for_host(local, "unknown.example").is_none());
    }

    #[test]
    fn only_named_bindings_give_a_provisional_site() {
        let (a, b) = (site("a"), site("b"));
        let e = endpoint(&[(None, Some("a.example"), &a), (None, Some("b.example"), &b)]);
        let (first, hostless) = e.default_site("127.0.0.1".parse().unwrap()).unwrap();
        assert_eq!(&*first.name, "a");
        assert!(!hostless);
        assert!(e.has_virtual_hosts());
    }
}
