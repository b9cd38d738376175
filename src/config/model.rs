//! The typed, inheritance-resolved configuration. Names follow IIS; each field's doc names
//! the IIS attribute it comes from.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use wharf_proto::VirtualPath;

/// The whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was loaded from (`None` for the embedded default).
    pub source: Option<PathBuf>,
    /// Sites with at least one `ftp` binding, in file order.
    pub sites: Vec<Arc<SiteConfig>>,
    /// `system.ftpServer` server-wide settings.
    pub global: GlobalConfig,
    /// `system.ftpServer/security/users` (Wharf extension): basic-auth accounts.
    pub users: Vec<UserAccount>,
    /// `system.ftpServer/administration` (Wharf extension).
    pub administration: AdministrationConfig,
}

/// Server-wide `system.ftpServer` settings.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GlobalConfig {
    /// `firewallSupport@lowDataChannelPort`..`highDataChannelPort`; `None` for 0-0 (OS picks).
    pub passive_ports: Option<(u16, u16)>,
    /// `caching/credentialsCache`.
    pub credentials_cache: CredentialsCacheConfig,
    /// `serverRuntime/hostNameSupport@useDomainNameAsHostName`: accept `host\user` too.
    pub use_domain_name_as_host_name: bool,
}

/// `system.ftpServer/caching/credentialsCache`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialsCacheConfig {
    /// `enabled` (default true).
    pub enabled: bool,
    /// `flushInterval` in seconds (default 900, range 5–604800).
    pub flush_interval: Duration,
}

/// One basic-auth account (`security/users/add`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAccount {
    /// `name`
    pub name: String,
    /// `password`: a PHC `$argon2id$…` string.
    pub password_hash: String,
    /// `roles`, comma-separated in the file.
    pub roles: Vec<String>,
}

/// `system.ftpServer/administration` (Wharf extension).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdministrationConfig {
    /// `enabled` (default true).
    pub enabled: bool,
    /// `bindingInformation` (default `127.0.0.1:2180`).
    pub binding: SocketAddr,
    /// `tokenFile`: where the bearer token lives (default: `admin.token` in the state directory).
    pub token_file: Option<PathBuf>,
    /// `endedSessionsRetention` (default 1000).
    pub ended_sessions_retention: usize,
    /// `headerReadTimeout` (seconds, default 10): how long a connection may take to send a
    /// request's headers (and its TLS handshake), and how long it may stay idle between
    /// requests; then it is closed.
    pub header_read_timeout: Duration,
    /// `maxConnections` (default 256): admin connections open at once; more are closed at
    /// once.
    pub max_connections: u32,
    /// `maxEventSubscribers` (default 64): `GET /api/v1/events` streams open at once; more
    /// are answered 503.
    pub max_event_subscribers: u32,
    /// `certificateFile` + `privateKeyFile`: serve HTTPS with this certificate.
    pub tls: Option<AdminTls>,
    /// `allowUnencryptedRemote` (default false): allow plain HTTP on a non-loopback binding.
    pub allow_unencrypted_remote: bool,
}

/// The admin listener's certificate (`administration@certificateFile`, `@privateKeyFile`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminTls {
    /// PEM certificate chain, leaf first.
    pub certificate_file: PathBuf,
    /// PEM private key of the certificate.
    pub private_key_file: PathBuf,
}

/// One effective site: `siteDefaults` already merged in.
#[derive(Debug, Clone)]
pub struct SiteConfig {
    /// `site@name`
    pub name: String,
    /// `site@id`
    pub id: u32,
    /// `site@serverAutoStart` combined with `ftpServer@serverAutoStart` (both must be true).
    pub server_auto_start: bool,
    /// `bindings/binding` with `protocol="ftp"`.
    pub bindings: Vec<Binding>,
    /// Every `virtualDirectory` of every `application`, with its full virtual path
    /// (application path + vdir path); always includes `/`.
    pub virtual_directories: Vec<VirtualDirectory>,
    /// `site/ftpServer` (merged with `siteDefaults/ftpServer`).
    pub ftp: FtpServerConfig,
    /// `system.ftpServer/security/authorization` effective per location path.
    pub authorization: AuthorizationRules,
}

/// `binding@bindingInformation="IP:port:host"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The IP, `None` for `*` (all unassigned).
    pub ip: Option<IpAddr>,
    /// The port.
    pub port: u16,
    /// Virtual host name, lower-cased; `None` when empty.
    pub host: Option<String>,
    /// Implicit FTPS: TLS starts at connect, before the banner. IIS rule: port 990; Wharf
    /// extension `binding@implicitTls="true"` marks any binding.
    pub implicit_tls: bool,
}

/// A virtual directory mapped to a physical folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualDirectory {
    /// Full virtual path (`/`, `/LocalUser/alice`, …).
    pub path: VirtualPath,
    /// `physicalPath`, `%VAR%`-expanded, absolute (relative ones resolved against the config file).
    pub physical_path: PathBuf,
}

/// `site/ftpServer` and its children.
#[derive(Debug, Clone, PartialEq)]
pub struct FtpServerConfig {
    /// `allowUTF8` (default true).
    pub allow_utf8: bool,
    /// `connections`.
    pub connections: Connections,
    /// `security/authentication`.
    pub authentication: Authentication,
    /// `security/ssl`.
    pub ssl: SslConfig,
    /// `security/sslClientCertificates`.
    pub ssl_client_certificates: SslClientCertificates,
    /// `security/dataChannelSecurity`.
    pub data_channel_security: DataChannelSecurity,
    /// `security/commandFiltering@maxCommandLine` (default 4096).
    pub max_command_line: usize,
    /// `messages`.
    pub messages: Messages,
    /// `fileHandling`.
    pub file_handling: FileHandling,
    /// `firewallSupport@externalIp4Address`.
    pub external_ip4_address: Option<Ipv4Addr>,
    /// `directoryBrowse@showFlags`.
    pub directory_browse: ShowFlags,
    /// `userIsolation@mode`.
    pub user_isolation: IsolationMode,
}

/// `connections`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connections {
    /// `controlChannelTimeout` (s, default 120).
    pub control_channel_timeout: Duration,
    /// `dataChannelTimeout` (s, default 30).
    pub data_channel_timeout: Duration,
    /// `unauthenticatedTimeout` (s, default 30).
    pub unauthenticated_timeout: Duration,
    /// `maxConnections` (default 4294967295 = unlimited).
    pub max_connections: u32,
    /// `resetOnMaxConnections` (default false).
    pub reset_on_max_connections: bool,
    /// `serverListenBacklog` (default 60).
    pub server_listen_backlog: u32,
}

/// `security/authentication`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Authentication {
    /// `anonymousAuthentication@enabled` (default false).
    pub anonymous: bool,
    /// `basicAuthentication@enabled` (default false).
    pub basic: bool,
}

/// `controlChannelPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlChannelPolicy {
    /// `SslAllow`
    SslAllow,
    /// `SslRequire` (IIS default)
    SslRequire,
    /// `SslRequireCredentialsOnly`
    SslRequireCredentialsOnly,
}

/// `dataChannelPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataChannelPolicy {
    /// `SslAllow`
    SslAllow,
    /// `SslRequire` (IIS default)
    SslRequire,
    /// `SslDeny`
    SslDeny,
}

/// `security/ssl`, with the Wharf extensions that say where the certificate comes from
/// (IIS names a Windows certificate store; Wharf reads PEM files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SslConfig {
    /// `controlChannelPolicy` (default `SslRequire`).
    pub control_channel_policy: ControlChannelPolicy,
    /// `dataChannelPolicy` (default `SslRequire`).
    pub data_channel_policy: DataChannelPolicy,
    /// `serverCertHash`: SHA-1 thumbprint (hex) selecting a certificate in `certificateStore`.
    pub server_cert_hash: Option<String>,
    /// `ssl128` (default false): only 128-bit-or-better cipher suites.
    pub ssl128: bool,
    /// `certificateFile` (Wharf extension): PEM certificate chain, leaf first.
    pub certificate_file: Option<PathBuf>,
    /// `privateKeyFile` (Wharf extension): PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub private_key_file: Option<PathBuf>,
    /// `certificateStore` (Wharf extension): a directory of PEM certificate/key pairs in
    /// which `serverCertHash` selects the certificate (the role of `serverCertStoreName`).
    pub certificate_store: Option<PathBuf>,
    /// `selfSignedCertificate` (Wharf extension, default false): with no certificate
    /// configured, use a self-signed one generated in the state directory on first start.
    pub self_signed_certificate: bool,
    /// `requireDataChannelResumption` (Wharf extension, default false): refuse a protected
    /// data connection that did not resume a TLS session of this site (vsftpd
    /// `require_ssl_reuse`, ProFTPD without `NoSessionReuseRequired`).
    pub require_data_channel_resumption: bool,
}

impl SslConfig {
    /// True when some certificate source is configured.
    pub fn has_certificate(&self) -> bool {
        self.certificate_file.is_some()
            || (self.certificate_store.is_some() && self.server_cert_hash.is_some())
            || self.self_signed_certificate
    }
}

/// `sslClientCertificates@clientCertificatePolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientCertificatePolicy {
    /// `CertIgnore` (default): no certificate is asked for.
    #[default]
    CertIgnore,
    /// `CertAllow`: asked for; if sent it must validate.
    CertAllow,
    /// `CertRequire`: a valid certificate is required for the TLS handshake.
    CertRequire,
}

/// `security/sslClientCertificates`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SslClientCertificates {
    /// `clientCertificatePolicy` (default `CertIgnore`).
    pub policy: ClientCertificatePolicy,
    /// `caFile` (Wharf extension): PEM file of the CAs that client certificates must chain to.
    pub ca_file: Option<PathBuf>,
}

/// `security/dataChannelSecurity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataChannelSecurity {
    /// `matchClientAddressForPort` (default true).
    pub match_client_address_for_port: bool,
    /// `matchClientAddressForPasv` (default true).
    pub match_client_address_for_pasv: bool,
}

/// `messages`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Messages {
    /// `bannerMessage`.
    pub banner_message: Option<String>,
    /// `greetingMessage`.
    pub greeting_message: Option<String>,
    /// `exitMessage`.
    pub exit_message: Option<String>,
    /// `maxClientsMessage`.
    pub max_clients_message: Option<String>,
    /// `suppressDefaultBanner` (default false).
    pub suppress_default_banner: bool,
    /// `allowLocalDetailedErrors` (default true).
    pub allow_local_detailed_errors: bool,
    /// `expandVariables` (default false).
    pub expand_variables: bool,
}

/// `fileHandling`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileHandling {
    /// `keepPartialUploads` (default false).
    pub keep_partial_uploads: bool,
    /// `allowReplaceOnRename` (default false).
    pub allow_replace_on_rename: bool,
    /// `allowReadUploadsInProgress` (default false).
    pub allow_read_uploads_in_progress: bool,
}

/// `directoryBrowse@showFlags`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ShowFlags {
    /// `LongDate`
    pub long_date: bool,
    /// `StyleUnix`
    pub style_unix: bool,
    /// `DisplayAvailableBytes` (parsed; warned as not supported yet)
    pub display_available_bytes: bool,
    /// `DisplayVirtualDirectories`
    pub display_virtual_directories: bool,
    /// `UseGmtTime`
    pub use_gmt_time: bool,
}

/// `userIsolation@mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IsolationMode {
    /// `None` (default): everyone starts at `/`.
    #[default]
    None,
    /// `StartInUsersDirectory`: start in `/<user>` if it exists; not a jail.
    StartInUsersDirectory,
    /// `IsolateRootDirectoryOnly`: jail to the physical `LocalUser/<user>`; root vdirs visible.
    IsolateRootDirectoryOnly,
    /// `IsolateAllDirectories`: jail to `/LocalUser/<user>` (physical or virtual); root vdirs hidden.
    IsolateAllDirectories,
}

/// `authorization/add@accessType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessType {
    /// `Allow`
    Allow,
    /// `Deny`
    Deny,
}

/// `authorization/add@permissions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Permissions {
    /// `Read`
    pub read: bool,
    /// `Write`
    pub write: bool,
}

/// One `authorization/add` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRule {
    /// `accessType`.
    pub access_type: AccessType,
    /// `users`: names, `*` (everybody) or `?` (anonymous).
    pub users: Vec<String>,
    /// `roles`.
    pub roles: Vec<String>,
    /// `permissions`.
    pub permissions: Permissions,
}

/// Effective authorization rules of one site, per location path.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthorizationRules {
    /// `(location path inside the site, effective rule list)`, with `/` always present;
    /// each list is the fully inherited result (server → site → dir, add/remove/clear applied).
    pub by_path: Vec<(VirtualPath, Vec<AuthRule>)>,
}

impl AuthorizationRules {
    /// The rules in force for `path`: those of the longest location prefix.
    pub fn effective(&self, path: &VirtualPath) -> &[AuthRule] {
        self.by_path
            .iter()
            .filter(|(prefix, _)| path.starts_with(prefix))
            .max_by_key(|(prefix, _)| prefix.segments().len())
            .map(|(_, rules)| rules.as_slice())
            .unwrap_or(&[])
    }
}

// ---------------------------------------------------------------------------------------
// Defaults: what a configuration gets for everything it does not set (IIS defaults, and
// Wharf's for the extensions). The loader starts from these.

impl Default for CredentialsCacheConfig {
    /// `enabled="true" flushInterval="900"`.
    fn default() -> Self {
        CredentialsCacheConfig {
            enabled: true,
            flush_interval: Duration::from_secs(900),
        }
    }
}

impl Default for AdministrationConfig {
    /// Enabled on `127.0.0.1:2180`, token file chosen by the server, 1000 ended sessions,
    /// 10 s to send headers, 256 connections, 64 event streams, plain HTTP (loopback only).
    fn default() -> Self {
        AdministrationConfig {
            enabled: true,
            binding: SocketAddr::from((Ipv4Addr::LOCALHOST, 2180)),
            token_file: None,
            ended_sessions_retention: crate::limits::DEFAULT_ENDED_SESSIONS_RETENTION,
            header_read_timeout: crate::limits::DEFAULT_ADMIN_HEADER_READ_TIMEOUT,
            max_connections: crate::limits::DEFAULT_ADMIN_MAX_CONNECTIONS,
            max_event_subscribers: crate::limits::DEFAULT_ADMIN_MAX_EVENT_SUBSCRIBERS,
            tls: None,
            allow_unencrypted_remote: false,
        }
    }
}

impl Default for FtpServerConfig {
    /// The IIS defaults of `site/ftpServer` (note: both SSL policies default to `SslRequire`
    /// and both authentication methods to disabled, as in IIS).
    fn default() -> Self {
        FtpServerConfig {
            allow_utf8: true,
            connections: Connections::default(),
            authentication: Authentication::default(),
            ssl: SslConfig::default(),
            ssl_client_certificates: SslClientCertificates::default(),
            data_channel_security: DataChannelSecurity::default(),
            max_command_line: crate::limits::DEFAULT_MAX_COMMAND_LINE,
            messages: Messages {
                allow_local_detailed_errors: true,
                ..Messages::default()
            },
            file_handling: FileHandling::default(),
            external_ip4_address: None,
            directory_browse: ShowFlags::default(),
            user_isolation: IsolationMode::None,
        }
    }
}

impl Default for Connections {
    /// 120 s / 30 s / 30 s, unlimited connections, no reset, backlog 60.
    fn default() -> Self {
        Connections {
            control_channel_timeout: Duration::from_secs(120),
            data_channel_timeout: Duration::from_secs(30),
            unauthenticated_timeout: Duration::from_secs(30),
            max_connections: u32::MAX,
            reset_on_max_connections: false,
            server_listen_backlog: 60,
        }
    }
}

impl Default for SslConfig {
    /// `SslRequire` for both channels, no certificate, `ssl128="false"` (IIS).
    fn default() -> Self {
        SslConfig {
            control_channel_policy: ControlChannelPolicy::SslRequire,
            data_channel_policy: DataChannelPolicy::SslRequire,
            server_cert_hash: None,
            ssl128: false,
            certificate_file: None,
            private_key_file: None,
            certificate_store: None,
            self_signed_certificate: false,
            require_data_channel_resumption: false,
        }
    }
}

impl Default for DataChannelSecurity {
    /// Both checks on (IIS; Microsoft recommends never turning them off).
    fn default() -> Self {
        DataChannelSecurity {
            match_client_address_for_port: true,
            match_client_address_for_pasv: true,
        }
    }
}
