//! FTPS on rustls (ring provider): per-site TLS configuration, certificate loading and
//! reload, and the channel policies.
//!
//! - [`certs`]: PEM pairs, the `certificateStore` directory searched by `serverCertHash`,
//!   the self-signed certificate generated in the state directory.
//! - [`policy`]: `controlChannelPolicy` / `dataChannelPolicy` decisions and reply codes.
//!
//! One [`SiteTls`] per site that has a certificate. It holds the current
//! `rustls::ServerConfig` behind a lock so SIGHUP can swap certificates. A session takes the
//! configuration current at AUTH time, with a session cache and ticket key of its own
//! ([`SiteTls::session_configs`]), and keeps it for its data connections: they resume the
//! control connection's session (RFC 4217 §10) and no other, and established sessions are
//! never disturbed by a reload.

pub mod certs;
pub mod policy;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::server::danger::ClientCertVerifier;
use rustls::server::{ServerSessionMemoryCache, StoresServerSessions, WebPkiClientVerifier};
use rustls::{CommonState, HandshakeKind, ProtocolVersion, RootCertStore, ServerConfig};

pub use certs::{LoadedCertificate, normalize_thumbprint, thumbprint};

use crate::config::model::{
    ClientCertificatePolicy, FtpServerConfig, SiteConfig, SslClientCertificates,
};

/// IIS: a binding on this port is implicit FTPS.
pub const IMPLICIT_FTPS_PORT: u16 = 990;

/// TLS sessions remembered for resumption, per site (stateful resumption of TLS 1.2
/// session IDs and TLS 1.3 tickets when the client asks for them).
const SESSION_CACHE_SIZE: usize = 4096;

/// Why TLS could not be set up for a site.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {0}: {1}")]
    Read(PathBuf, #[source] std::io::Error),
    /// A file could not be written.
    #[error("cannot write {0}: {1}")]
    Write(PathBuf, #[source] std::io::Error),
    /// A PEM file holds nothing usable.
    #[error("{0}: {1}")]
    Pem(PathBuf, String),
    /// `serverCertHash` is not a thumbprint.
    #[error("serverCertHash {0:?} is not a SHA-1 thumbprint (40 hex digits)")]
    BadThumbprint(String),
    /// No certificate of the store has the thumbprint.
    #[error(
        "no certificate with thumbprint {1} in certificateStore {0} (files *.pem, *.crt, *.cer)"
    )]
    NotInStore(PathBuf, String),
    /// A certificate of the store has no key.
    #[error("{0} has the certificate but no private key, neither inside nor in {1}")]
    MissingKey(PathBuf, PathBuf),
    /// The self-signed certificate could not be generated.
    #[error("cannot generate a self-signed certificate: {0}")]
    Generate(String),
    /// rustls refused the certificate, key or CA list.
    #[error("{0}: {1}")]
    Rustls(PathBuf, String),
}

impl TlsError {
    /// The file the error is about, when there is one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            TlsError::Read(p, _)
            | TlsError::Write(p, _)
            | TlsError::Pem(p, _)
            | TlsError::NotInStore(p, _)
            | TlsError::MissingKey(p, _)
            | TlsError::Rustls(p, _) => Some(p),
            TlsError::BadThumbprint(_) | TlsError::Generate(_) => None,
        }
    }
}

/// What a session records about a negotiated TLS connection.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Negotiated {
    /// `TLSv1.3`, `TLSv1.2`.
    pub protocol_version: String,
    /// e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher_suite: String,
    /// The handshake resumed an earlier session.
    pub resumed: bool,
}

/// Reads the negotiated parameters of a finished handshake.
pub fn negotiated(conn: &CommonState) -> Negotiated {
    let protocol_version = match conn.protocol_version() {
        Some(ProtocolVersion::TLSv1_3) => "TLSv1.3".to_string(),
        Some(ProtocolVersion::TLSv1_2) => "TLSv1.2".to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    };
    let cipher_suite = conn
        .negotiated_cipher_suite()
        .map(|s| format!("{:?}", s.suite()))
        .unwrap_or_default();
    Negotiated {
        protocol_version,
        cipher_suite,
        resumed: conn.handshake_kind() == Some(HandshakeKind::Resumed),
    }
}

/// The server configurations of one certificate: one for control connections, one for
/// data connections. They share the session cache and ticket key (so data connections
/// resume the control session); the data one sends no TLS 1.3 session tickets, because a
/// client that only uploads never reads them and then closes with unread data, which
/// resets the connection and can cut the end of the upload.
#[derive(Debug, Clone)]
pub struct ChannelConfigs {
    /// For the control connection (AUTH TLS, implicit TLS).
    pub control: Arc<ServerConfig>,
    /// For protected data connections.
    pub data: Arc<ServerConfig>,
}

/// Resumable TLS sessions one control connection keeps for its data connections (each
/// resumes the control session; a few slots cover TLS 1.2 session IDs of active clients).
const PER_SESSION_CACHE_SIZE: usize = 8;

impl ChannelConfigs {
    /// These configurations with a session cache and ticket key of their own, shared by the
    /// control and the data configuration (see [`SiteTls::session_configs`]).
    pub fn for_one_session(&self) -> Result<Arc<ChannelConfigs>, TlsError> {
        let cache: Arc<dyn StoresServerSessions> =
            ServerSessionMemoryCache::new(PER_SESSION_CACHE_SIZE);
        let ticketer = rustls::crypto::ring::Ticketer::new()
            .map_err(|e| TlsError::Generate(format!("session ticket key: {e}")))?;
        let mut control = (*self.control).clone();
        control.session_storage = cache.clone();
        control.ticketer = ticketer.clone();
        let mut data = (*self.data).clone();
        data.session_storage = cache;
        data.ticketer = ticketer;
        Ok(Arc::new(ChannelConfigs {
            control: Arc::new(control),
            data: Arc::new(data),
        }))
    }
}

/// One site's TLS: the current server configurations and what survives reloads.
#[derive(Debug)]
pub struct SiteTls {
    current: RwLock<Arc<ChannelConfigs>>,
    thumbprint: RwLock<String>,
    cache: Arc<dyn StoresServerSessions>,
    ticketer: Arc<dyn rustls::server::ProducesTickets>,
    state_dir: PathBuf,
}

fn provider() -> Arc<CryptoProvider> {
    // Every suite of the ring provider is an AEAD suite with (EC)DHE key exchange and a key
    // of at least 128 bits: `ssl128="true"` is satisfied by construction.
    Arc::new(rustls::crypto::ring::default_provider())
}

impl SiteTls {
    /// Builds the TLS of a site; `Ok(None)` when the site configures no certificate.
    pub fn for_site(site: &SiteConfig, state_dir: &Path) -> Result<Option<SiteTls>, TlsError> {
        if !site.ftp.ssl.has_certificate() {
            return Ok(None);
        }
        let cache: Arc<dyn StoresServerSessions> =
            ServerSessionMemoryCache::new(SESSION_CACHE_SIZE);
        let ticketer = rustls::crypto::ring::Ticketer::new()
            .map_err(|e| TlsError::Generate(format!("session ticket key: {e}")))?;
        let (config, thumbprint) = build_config(site, state_dir, &cache, &ticketer)?;
        Ok(Some(SiteTls {
            current: RwLock::new(config),
            thumbprint: RwLock::new(thumbprint),
            cache,
            ticketer,
            state_dir: state_dir.to_path_buf(),
        }))
    }

    /// The server configurations for a new session (AUTH or implicit TLS).
    pub fn config(&self) -> Arc<ChannelConfigs> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The server configurations for one control connection (AUTH or implicit TLS): the
    /// site's current ones with a session cache and ticket key of their own, which the
    /// session's data connections share. A data connection can then resume only the TLS
    /// session of its own control connection: a ticket or session ID issued to another
    /// control connection is unknown here and leads to a full handshake, which
    /// `requireDataChannelResumption` refuses (522). Costs a fresh ticket key per session
    /// (random bytes, no I/O).
    pub fn session_configs(&self) -> Result<Arc<ChannelConfigs>, TlsError> {
        self.config().for_one_session()
    }

    /// The thumbprint of the certificate in use.
    pub fn thumbprint(&self) -> String {
        self.thumbprint
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Reads the certificate (and client CA) files again and swaps them in for new
    /// handshakes; on error the previous certificate stays. Returns the new thumbprint.
    pub fn reload(&self, site: &SiteConfig) -> Result<String, TlsError> {
        let (config, thumbprint) =
            build_config(site, &self.state_dir, &self.cache, &self.ticketer)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = config;
        *self.thumbprint.write().unwrap_or_else(|e| e.into_inner()) = thumbprint.clone();
        Ok(thumbprint)
    }
}

/// Loads the certificate a site configures (without building a TLS configuration).
pub fn load_certificate(
    site: &SiteConfig,
    state_dir: &Path,
) -> Result<LoadedCertificate, TlsError> {
    let ssl = &site.ftp.ssl;
    if let (Some(cert), Some(key)) = (&ssl.certificate_file, &ssl.private_key_file) {
        return certs::load_pair(cert, key);
    }
    if let (Some(store), Some(hash)) = (&ssl.certificate_store, &ssl.server_cert_hash) {
        return certs::find_in_store(store, hash);
    }
    let names: Vec<String> = site
        .bindings
        .iter()
        .filter_map(|b| b.host.clone())
        .collect();
    certs::self_signed(state_dir, &names)
}

fn client_verifier(
    cc: &SslClientCertificates,
    provider: &Arc<CryptoProvider>,
) -> Result<Option<Arc<dyn ClientCertVerifier>>, TlsError> {
    if cc.policy == ClientCertificatePolicy::CertIgnore {
        return Ok(None);
    }
    let Some(ca_file) = &cc.ca_file else {
        return Err(TlsError::Pem(
            PathBuf::from("sslClientCertificates"),
            "a client certificate policy needs caFile".to_string(),
        ));
    };
    let mut roots = RootCertStore::empty();
    for ca in certs::load_ca_file(ca_file)? {
        roots
            .add(ca)
            .map_err(|e| TlsError::Rustls(ca_file.clone(), e.to_string()))?;
    }
    let builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
    let builder = if cc.policy == ClientCertificatePolicy::CertAllow {
        builder.allow_unauthenticated()
    } else {
        builder
    };
    builder
        .build()
        .map(Some)
        .map_err(|e| TlsError::Rustls(ca_file.clone(), e.to_string()))
}

fn build_config(
    site: &SiteConfig,
    state_dir: &Path,
    cache: &Arc<dyn StoresServerSessions>,
    ticketer: &Arc<dyn rustls::server::ProducesTickets>,
) -> Result<(Arc<ChannelConfigs>, String), TlsError> {
    let loaded = load_certificate(site, state_dir)?;
    let thumbprint = loaded.thumbprint.clone();
    let mut config = server_config(loaded, &site.ftp.ssl_client_certificates)?;
    config.session_storage = cache.clone();
    config.ticketer = ticketer.clone();
    let mut data = config.clone();
    data.send_tls13_tickets = 0;
    let configs = ChannelConfigs {
        control: Arc::new(config),
        data: Arc::new(data),
    };
    Ok((Arc::new(configs), thumbprint))
}

/// The rustls configuration of a loaded certificate: what start-up builds, and what
/// [`check_site_files`] builds to find the same errors (a key that does not match, a bad CA
/// list).
fn server_config(
    loaded: LoadedCertificate,
    client_certificates: &SslClientCertificates,
) -> Result<ServerConfig, TlsError> {
    let provider = provider();
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::Rustls(loaded.certificate_file.clone(), e.to_string()))?;
    let builder = match client_verifier(client_certificates, &provider)? {
        Some(verifier) => builder.with_client_cert_verifier(verifier),
        None => builder.with_no_client_auth(),
    };
    builder
        .with_single_cert(loaded.chain, loaded.key)
        .map_err(|e| TlsError::Rustls(loaded.key_file.clone(), e.to_string()))
}

/// Loads the TLS files a site names and builds its configuration as start-up would, without
/// generating anything: the self-signed certificate is only checked when its files exist
/// (start-up generates missing ones). A `caFile` is loaded whenever it is set. Returns the
/// certificate file and its thumbprint when the site has a certificate to check.
pub fn check_site_files(
    ftp: &FtpServerConfig,
    state_dir: &Path,
) -> Result<Option<(PathBuf, String)>, TlsError> {
    let ssl = &ftp.ssl;
    let cc = &ftp.ssl_client_certificates;
    let loaded = if let (Some(cert), Some(key)) = (&ssl.certificate_file, &ssl.private_key_file) {
        Some(certs::load_pair(cert, key)?)
    } else if let (Some(store), Some(hash)) = (&ssl.certificate_store, &ssl.server_cert_hash) {
        Some(certs::find_in_store(store, hash)?)
    } else if ssl.self_signed_certificate {
        certs::existing_self_signed(state_dir)?
    } else {
        None
    };
    let Some(loaded) = loaded else {
        if let Some(ca) = &cc.ca_file {
            certs::load_ca_file(ca)?;
        }
        return Ok(None);
    };
    let checked = (loaded.certificate_file.clone(), loaded.thumbprint.clone());
    if cc.policy == ClientCertificatePolicy::CertIgnore
        && let Some(ca) = &cc.ca_file
    {
        certs::load_ca_file(ca)?;
    }
    server_config(loaded, cc)?;
    Ok(Some(checked))
}

/// The HTTPS configuration of the admin listener (`administration@certificateFile` and
/// `privateKeyFile`): TLS 1.2 and 1.3, HTTP/1.1 by ALPN, no client certificates.
pub fn https_server_config(certificate: &Path, key: &Path) -> Result<ServerConfig, TlsError> {
    let loaded = certs::load_pair(certificate, key)?;
    let mut config = server_config(loaded, &SslClientCertificates::default())?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::*;

    fn site(ssl: SslConfig) -> SiteConfig {
        SiteConfig {
            name: "s".into(),
            id: 1,
            server_auto_start: true,
            bindings: vec![Binding {
                ip: None,
                port: 21,
                host: Some("ftp.example".into()),
                implicit_tls: false,
            }],
            virtual_directories: Vec::new(),
            ftp: FtpServerConfig {
                ssl,
                ..FtpServerConfig::default()
            },
            authorization: AuthorizationRules::default(),
        }
    }

    #[test]
    fn no_certificate_means_no_tls() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            SiteTls::for_site(&site(SslConfig::default()), dir.path())
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn self_signed_site_reloads_a_replaced_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let s = site(SslConfig {
            self_signed_certificate: true,
            ..SslConfig::default()
        });
        let tls = SiteTls::for_site(&s, dir.path()).unwrap().unwrap();
        let before = tls.thumbprint();
        let first = tls.config();
        std::fs::remove_file(dir.path().join(certs::SELF_SIGNED_CERT)).unwrap();
        let after = tls.reload(&s).unwrap();
        assert_ne!(before, after);
        assert!(!Arc::ptr_eq(&first, &tls.config()));
        // The session cache survives the reload and is shared by both channels.
        let now = tls.config();
        assert!(Arc::ptr_eq(
            &first.control.session_storage,
            &now.control.session_storage
        ));
        assert!(Arc::ptr_eq(
            &now.control.session_storage,
            &now.data.session_storage
        ));
        assert_eq!(now.data.send_tls13_tickets, 0);
    }

    #[test]
    fn each_session_gets_its_own_cache_and_ticket_key_shared_with_its_data_config() {
        let dir = tempfile::tempdir().unwrap();
        let s = site(SslConfig {
            self_signed_certificate: true,
            ..SslConfig::default()
        });
        let tls = SiteTls::for_site(&s, dir.path()).unwrap().unwrap();
        let one = tls.session_configs().unwrap();
        let two = tls.session_configs().unwrap();
        assert!(Arc::ptr_eq(
            &one.control.session_storage,
            &one.data.session_storage
        ));
        assert!(Arc::ptr_eq(&one.control.ticketer, &one.data.ticketer));
        assert!(!Arc::ptr_eq(
            &one.control.session_storage,
            &two.control.session_storage
        ));
        assert!(!Arc::ptr_eq(&one.control.ticketer, &two.control.ticketer));
        assert!(!Arc::ptr_eq(
            &one.control.session_storage,
            &tls.config().control.session_storage
        ));
        assert_eq!(one.data.send_tls13_tickets, 0);
    }

    #[test]
    fn store_selection_by_server_cert_hash() {
        let dir = tempfile::tempdir().unwrap();
        let ck = rcgen::generate_simple_self_signed(vec!["a.example".to_string()]).unwrap();
        std::fs::write(dir.path().join("a.crt"), ck.cert.pem()).unwrap();
        std::fs::write(dir.path().join("a.key"), ck.signing_key.serialize_pem()).unwrap();
        let hash = thumbprint(ck.cert.der());
        let s = site(SslConfig {
            certificate_store: Some(dir.path().to_path_buf()),
            server_cert_hash: Some(hash.to_lowercase()),
            ..SslConfig::default()
        });
        let tls = SiteTls::for_site(&s, dir.path()).unwrap().unwrap();
        assert_eq!(tls.thumbprint(), hash);
    }

    fn load_site(binding: &str, ftp: &str) -> crate::config::Loaded {
        let text = format!(
            r#"<configuration>
  <system.applicationHost>
    <sites>
      <site name="s" id="1">
        <application path="/"><virtualDirectory path="/" physicalPath="/srv/ftp" /></application>
        <bindings>{binding}</bindings>
        <ftpServer><security>{ftp}</security></ftpServer>
      </site>
    </sites>
  </system.applicationHost>
</configuration>"#
        );
        crate::config::load_str(&text, Path::new("/etc/wharf/applicationHost.config"))
    }

    fn messages(loaded: &crate::config::Loaded) -> Vec<String> {
        loaded
            .diagnostics
            .iter()
            .map(|d| d.message.clone())
            .collect()
    }

    const ALLOW: &str = r#"<ssl controlChannelPolicy="SslAllow" dataChannelPolicy="SslAllow" />"#;

    #[test]
    fn config_extensions_are_lowered() {
        let loaded = load_site(
            r#"<binding protocol="ftp" bindingInformation="*:990:" />
               <binding protocol="ftp" bindingInformation="*:2990:" implicitTls="true" />
               <binding protocol="ftp" bindingInformation="*:21:" />"#,
            r#"<ssl controlChannelPolicy="SslRequire" dataChannelPolicy="SslRequire"
                    certificateFile="certs/site.crt" privateKeyFile="/keys/site.key"
                    requireDataChannelResumption="true" ssl128="true" />
               <sslClientCertificates clientCertificatePolicy="CertAllow" caFile="ca.pem" />"#,
        );
        assert!(loaded.diagnostics.is_empty(), "{:#?}", loaded.diagnostics);
        let config = loaded.config.unwrap();
        let site = &config.sites[0];
        let implicit: Vec<bool> = site.bindings.iter().map(|b| b.implicit_tls).collect();
        assert_eq!(implicit, vec![true, true, false]);
        let ssl = &site.ftp.ssl;
        assert_eq!(
            ssl.certificate_file.as_deref(),
            Some(Path::new("/etc/wharf/certs/site.crt"))
        );
        assert_eq!(
            ssl.private_key_file.as_deref(),
            Some(Path::new("/keys/site.key"))
        );
        assert!(ssl.require_data_channel_resumption);
        let cc = &site.ftp.ssl_client_certificates;
        assert_eq!(cc.policy, ClientCertificatePolicy::CertAllow);
        assert_eq!(cc.ca_file.as_deref(), Some(Path::new("/etc/wharf/ca.pem")));
    }

    #[test]
    fn port_990_can_be_made_explicit() {
        let loaded = load_site(
            r#"<binding protocol="ftp" bindingInformation="*:990:" implicitTls="false" />"#,
            ALLOW,
        );
        assert!(!loaded.config.unwrap().sites[0].bindings[0].implicit_tls);
    }

    #[test]
    fn config_diagnostics_for_tls() {
        // An implicit binding without a certificate: warned.
        let loaded = load_site(
            r#"<binding protocol="ftp" bindingInformation="*:990:" />"#,
            ALLOW,
        );
        let m = messages(&loaded);
        assert!(
            m.len() == 1 && m[0].contains("implicit-TLS binding"),
            "{m:#?}"
        );
        // An IIS thumbprint without a store: warned with the reason.
        let loaded = load_site(
            r#"<binding protocol="ftp" bindingInformation="*:21:" />"#,
            r#"<ssl serverCertHash="3A7F0C1E9B2D4C6A8E0F1A2B3C4D5E6F7A8B9C0D" />"#,
        );
        let m = messages(&loaded);
        assert!(
            m.len() == 1 && m[0].contains("no certificateStore"),
            "{m:#?}"
        );
        // Errors: a bad thumbprint, a certificate without key, a client policy without CA.
        let loaded = load_site(
            r#"<binding protocol="ftp" bindingInformation="*:21:" />"#,
            r#"<ssl controlChannelPolicy="SslAllow" dataChannelPolicy="SslAllow" serverCertHash="XYZ" certificateFile="a.crt" />
               <sslClientCertificates clientCertificatePolicy="CertRequire" />"#,
        );
        assert!(loaded.config.is_none());
        let m = messages(&loaded);
        assert!(
            m.iter()
                .any(|m| m.contains("invalid value \"XYZ\" for serverCertHash")),
            "{m:#?}"
        );
        assert!(
            m.iter()
                .any(|m| m.contains("certificateFile and privateKeyFile go together")),
            "{m:#?}"
        );
        assert!(
            m.iter()
                .any(|m| m.contains("needs <sslClientCertificates caFile")),
            "{m:#?}"
        );
    }

    #[test]
    fn mismatched_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let a = rcgen::generate_simple_self_signed(vec!["a.example".to_string()]).unwrap();
        let b = rcgen::generate_simple_self_signed(vec!["b.example".to_string()]).unwrap();
        std::fs::write(dir.path().join("a.crt"), a.cert.pem()).unwrap();
        std::fs::write(dir.path().join("b.key"), b.signing_key.serialize_pem()).unwrap();
        let s = site(SslConfig {
            certificate_file: Some(dir.path().join("a.crt")),
            private_key_file: Some(dir.path().join("b.key")),
            ..SslConfig::default()
        });
        let err = SiteTls::for_site(&s, dir.path()).unwrap_err();
        assert!(matches!(err, TlsError::Rustls(..)), "{err}");
    }
}
