//! Loader tests: whole files in, model values and exact diagnostics out.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use wharf_proto::VirtualPath;

use super::Loaded;
use super::defaults::{DEFAULT_CONFIG, load_default};
use super::diagnostics::Severity;
use super::lower::{load_with_env, parse_binding_information};
use super::model::*;

const ORIGIN: &str = "/etc/wharf/applicationHost.config";

fn test_env(name: &str) -> Option<String> {
    match name {
        "FTPROOT" => Some("/srv/ftp".into()),
        "STATE" => Some("/var/lib/wharf".into()),
        _ => None,
    }
}

fn load(text: &str) -> Loaded {
    load_with_env(text, Path::new(ORIGIN), &test_env)
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(name)
}

/// `(severity, line, column, message)` of every diagnostic.
fn diags(loaded: &Loaded) -> Vec<(Severity, u32, u32, String)> {
    loaded
        .diagnostics
        .iter()
        .map(|d| (d.severity, d.line, d.column, d.message.clone()))
        .collect()
}

/// `(line, column)` of every diagnostic of `severity`.
fn positions(loaded: &Loaded, severity: Severity) -> Vec<(u32, u32)> {
    loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == severity)
        .map(|d| (d.line, d.column))
        .collect()
}

fn loaded_ok(loaded: Loaded) -> Config {
    match loaded.config {
        Some(config) => config,
        None => panic!("expected a configuration, got {:#?}", loaded.diagnostics),
    }
}

fn vp(path: &str) -> VirtualPath {
    VirtualPath::from_segments(path.split('/').filter(|s| !s.is_empty())).unwrap()
}

fn rule(access_type: AccessType, users: &str, roles: &str, permissions: &str) -> AuthRule {
    let list = |s: &str| -> Vec<String> {
        s.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    AuthRule {
        access_type,
        users: list(users),
        roles: list(roles),
        permissions: Permissions {
            read: permissions.contains("Read"),
            write: permissions.contains("Write"),
        },
    }
}

use AccessType::{Allow, Deny};

/// One site `s` (id 1, 127.0.0.1:2121, root /srv/ftp) with `ftp_server` inside `<site>` and
/// `rest` after `</system.applicationHost>`.
fn one_site(ftp_server: &str, rest: &str) -> String {
    format!(
        r#"<configuration>
  <system.applicationHost>
    <sites>
      <site name="s" id="1">
        <application path="/">
          <virtualDirectory path="/" physicalPath="/srv/ftp" />
        </application>
        <bindings>
          <binding protocol="ftp" bindingInformation="127.0.0.1:2121:" />
        </bindings>
        {ftp_server}
      </site>
    </sites>
  </system.applicationHost>
  {rest}
</configuration>"#
    )
}

const SSL_ALLOW: &str = r#"<ftpServer><security><ssl controlChannelPolicy="SslAllow" dataChannelPolicy="SslAllow" /></security></ftpServer>"#;

// ---------------------------------------------------------------------------------------
// the embedded default

#[test]
fn embedded_default_loads_without_any_diagnostic() {
    let loaded = load_default();
    assert!(loaded.diagnostics.is_empty(), "{:#?}", loaded.diagnostics);
    let config = loaded_ok(loaded);
    assert_eq!(config.source, None);
    assert_eq!(config.sites.len(), 1);
    let site = &config.sites[0];
    assert_eq!(site.name, "Default FTP Site");
    assert_eq!(site.id, 1);
    assert!(site.server_auto_start);
    assert_eq!(
        site.bindings,
        vec![Binding {
            ip: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            port: 2121,
            host: None,
            implicit_tls: false,
        }]
    );
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(
        site.virtual_directories,
        vec![VirtualDirectory {
            path: VirtualPath::root(),
            physical_path: cwd.join("ftproot"),
        }]
    );
    assert!(site.ftp.authentication.anonymous);
    assert!(site.ftp.authentication.basic);
    assert_eq!(
        site.ftp.ssl.control_channel_policy,
        ControlChannelPolicy::SslAllow
    );
    assert_eq!(
        site.ftp.ssl.data_channel_policy,
        DataChannelPolicy::SslAllow
    );
    assert_eq!(
        site.ftp.directory_browse,
        ShowFlags {
            style_unix: true,
            ..ShowFlags::default()
        }
    );
    assert_eq!(site.ftp.user_isolation, IsolationMode::None);
    assert_eq!(
        site.authorization.by_path,
        vec![(VirtualPath::root(), vec![rule(Allow, "*", "", "Read")])]
    );
    assert!(config.users.is_empty());
    assert_eq!(
        config.administration,
        AdministrationConfig {
            enabled: true,
            binding: "127.0.0.1:2180".parse().unwrap(),
            token_file: None,
            ended_sessions_retention: 1000,
            header_read_timeout: Duration::from_secs(10),
            max_connections: 256,
            max_event_subscribers: 64,
            tls: None,
            allow_unencrypted_remote: false,
        }
    );
    assert_eq!(config.global, GlobalConfig::default());
}

#[test]
fn embedded_default_saved_to_a_file_resolves_against_that_file() {
    let loaded = load(DEFAULT_CONFIG);
    assert!(loaded.diagnostics.is_empty(), "{:#?}", loaded.diagnostics);
    let config = loaded_ok(loaded);
    assert_eq!(config.source, Some(PathBuf::from(ORIGIN)));
    assert_eq!(
        config.sites[0].virtual_directories[0].physical_path,
        PathBuf::from("/etc/wharf/ftproot")
    );
}

// ---------------------------------------------------------------------------------------
// the reference example (iis-ftp-config.md section 8)

#[test]
fn reference_example_loads_with_expected_values_and_only_unsupported_warnings() {
    let path = fixture("iis-example.config");
    let loaded = super::load_file(&path);
    assert!(loaded.diagnostics.iter().all(|d| d.file == path));
    assert_eq!(
        diags(&loaded),
        vec![
            (
                Severity::Warning,
                22,
                18,
                "attribute serverCertStoreName on <ssl> is Windows-only; ignored".into()
            ),
            (
                Severity::Warning,
                26,
                55,
                "attribute userName on <anonymousAuthentication> is Windows-only; ignored".into()
            ),
            (
                Severity::Warning,
                29,
                53,
                "attribute allowUnlisted on <commandFiltering> is not supported yet; ignored"
                    .into()
            ),
            (
                Severity::Warning,
                30,
                15,
                "<add> is not supported yet; ignored".into()
            ),
            (
                Severity::Warning,
                45,
                11,
                "<logFile> is not supported yet; ignored".into()
            ),
            (
                Severity::Warning,
                73,
                11,
                "<logFile> is not supported yet; ignored".into()
            ),
            (
                Severity::Warning,
                86,
                11,
                "<logFile> is not supported yet; ignored".into()
            ),
            (
                Severity::Warning,
                96,
                5,
                "<log> is not supported yet; ignored".into()
            ),
            (
                Severity::Warning,
                105,
                9,
                "<denyByFailure> is not supported yet; ignored".into()
            ),
            (
                Severity::Warning,
                108,
                7,
                "<requestFiltering> is not supported yet; ignored".into()
            ),
            (
                Severity::Warning,
                143,
                9,
                "<ipSecurity> is not supported yet; ignored".into()
            ),
        ]
    );
    let config = loaded_ok(loaded);
    assert_eq!(config.source, Some(path.clone()));
    assert_eq!(config.sites.len(), 2);

    let alpha = &config.sites[0];
    assert_eq!((alpha.name.as_str(), alpha.id), ("alpha-ftp", 21));
    assert!(alpha.server_auto_start);
    assert_eq!(
        alpha.bindings,
        vec![Binding {
            ip: None,
            port: 21,
            host: Some("ftp.alpha.example".into()),
            implicit_tls: false,
        }]
    );
    assert_eq!(
        alpha.virtual_directories,
        vec![
            VirtualDirectory {
                path: VirtualPath::root(),
                physical_path: "/srv/ftp/alpha".into(),
            },
            VirtualDirectory {
                path: vp("/LocalUser/alice"),
                physical_path: "/home/alice/ftp".into(),
            },
            VirtualDirectory {
                path: vp("/LocalUser/Public"),
                physical_path: "/srv/ftp/alpha-public".into(),
            },
        ]
    );
    let ftp = &alpha.ftp;
    assert!(ftp.allow_utf8);
    assert_eq!(
        ftp.ssl,
        SslConfig {
            control_channel_policy: ControlChannelPolicy::SslAllow,
            data_channel_policy: DataChannelPolicy::SslAllow,
            server_cert_hash: Some("3A7F0C1E9B2D4C6A8E0F1A2B3C4D5E6F7A8B9C0D".into()),
            ssl128: false,
            ..SslConfig::default()
        }
    );
    assert_eq!(
        ftp.authentication,
        Authentication {
            anonymous: true,
            basic: true
        }
    );
    assert_eq!(ftp.max_command_line, 4096);
    assert_eq!(ftp.user_isolation, IsolationMode::IsolateAllDirectories);
    assert_eq!(
        ftp.connections,
        Connections {
            control_channel_timeout: Duration::from_secs(300),
            data_channel_timeout: Duration::from_secs(60),
            unauthenticated_timeout: Duration::from_secs(30),
            max_connections: 250,
            reset_on_max_connections: false,
            server_listen_backlog: 60,
        }
    );
    assert_eq!(
        ftp.messages,
        Messages {
            banner_message: Some("Alpha file exchange".into()),
            greeting_message: Some("Welcome %UserName% (session %SessionID%)".into()),
            exit_message: Some("Goodbye %UserName%".into()),
            max_clients_message: Some("Server busy, please retry later.".into()),
            suppress_default_banner: true,
            allow_local_detailed_errors: true,
            expand_variables: true,
        }
    );
    assert_eq!(
        ftp.file_handling,
        FileHandling {
            keep_partial_uploads: true,
            allow_replace_on_rename: false,
            allow_read_uploads_in_progress: false,
        }
    );
    assert_eq!(
        ftp.external_ip4_address,
        Some(Ipv4Addr::new(198, 51, 100, 20))
    );
    assert_eq!(
        ftp.directory_browse,
        ShowFlags {
            long_date: true,
            style_unix: true,
            display_virtual_directories: true,
            ..ShowFlags::default()
        }
    );
    assert_eq!(ftp.data_channel_security, DataChannelSecurity::default());
    assert_eq!(
        alpha.authorization.by_path,
        vec![(
            VirtualPath::root(),
            vec![
                rule(Allow, "?", "", "Read"),
                rule(Allow, "", "ftp-staff", "Read, Write"),
            ]
        )]
    );

    let beta = &config.sites[1];
    assert_eq!((beta.name.as_str(), beta.id), ("beta-ftp", 22));
    assert!(beta.server_auto_start);
    assert_eq!(beta.bindings[0].host.as_deref(), Some("ftp.beta.example"));
    assert_eq!(
        beta.virtual_directories
            .iter()
            .map(|v| (v.path.to_string(), v.physical_path.clone()))
            .collect::<Vec<_>>(),
        vec![
            ("/".to_string(), PathBuf::from("/srv/ftp/beta")),
            ("/shared".to_string(), PathBuf::from("/srv/ftp/beta-shared")),
        ]
    );
    assert_eq!(
        beta.ftp.user_isolation,
        IsolationMode::IsolateRootDirectoryOnly
    );
    assert_eq!(
        beta.ftp.messages.banner_message.as_deref(),
        Some("Beta FTP")
    );
    assert!(!beta.ftp.messages.suppress_default_banner);
    // From siteDefaults.
    assert_eq!(
        beta.ftp.directory_browse,
        ShowFlags {
            style_unix: true,
            ..ShowFlags::default()
        }
    );
    assert_eq!(
        beta.ftp.connections.control_channel_timeout,
        Duration::from_secs(120)
    );
    assert_eq!(
        beta.ftp.connections.max_connections,
        u32::MAX,
        "IIS default"
    );
    assert_eq!(
        beta.authorization.by_path,
        vec![(
            VirtualPath::root(),
            vec![
                rule(Deny, "mallory", "", "Read, Write"),
                rule(Allow, "*", "", "Read"),
                rule(Allow, "bob", "", "Read, Write"),
            ]
        )]
    );

    assert_eq!(
        config.global,
        GlobalConfig {
            passive_ports: Some((50000, 50199)),
            credentials_cache: CredentialsCacheConfig {
                enabled: true,
                flush_interval: Duration::from_secs(300),
            },
            use_domain_name_as_host_name: false,
        }
    );
    assert!(config.users.is_empty());
    assert_eq!(config.administration, AdministrationConfig::default());
}

// ---------------------------------------------------------------------------------------
// defaults and siteDefaults

#[test]
fn iis_defaults_apply_when_nothing_is_set() {
    let loaded = load(&one_site("", ""));
    // IIS defaults both SSL policies to SslRequire: a site without <ssl> demands TLS.
    assert_eq!(
        diags(&loaded),
        vec![(
            Severity::Warning,
            4,
            7,
            "site \"s\" requires TLS (controlChannelPolicy SslRequire, dataChannelPolicy \
             SslRequire; SslRequire is the IIS default when <ssl> does not set them) but no certificate is configured: clients will be refused (AUTH 431, USER 534); \
             set certificateFile and privateKeyFile on <ssl> (or certificateStore with \
             serverCertHash), or set both policies to SslAllow"
                .into()
        )]
    );
    let config = loaded_ok(loaded);
    let site = &config.sites[0];
    assert!(site.server_auto_start);
    assert_eq!(site.ftp, FtpServerConfig::default());
    let ftp = &site.ftp;
    assert!(ftp.allow_utf8);
    assert_eq!(
        ftp.connections.control_channel_timeout,
        Duration::from_secs(120)
    );
    assert_eq!(
        ftp.connections.data_channel_timeout,
        Duration::from_secs(30)
    );
    assert_eq!(
        ftp.connections.unauthenticated_timeout,
        Duration::from_secs(30)
    );
    assert_eq!(ftp.connections.max_connections, 4_294_967_295);
    assert!(!ftp.connections.reset_on_max_connections);
    assert_eq!(ftp.connections.server_listen_backlog, 60);
    assert_eq!(ftp.authentication, Authentication::default());
    assert!(!ftp.authentication.anonymous && !ftp.authentication.basic);
    assert_eq!(
        ftp.ssl.control_channel_policy,
        ControlChannelPolicy::SslRequire
    );
    assert_eq!(ftp.ssl.data_channel_policy, DataChannelPolicy::SslRequire);
    assert!(ftp.data_channel_security.match_client_address_for_port);
    assert!(ftp.data_channel_security.match_client_address_for_pasv);
    assert_eq!(ftp.max_command_line, 4096);
    assert!(ftp.messages.allow_local_detailed_errors);
    assert!(!ftp.messages.expand_variables);
    assert_eq!(ftp.messages.banner_message, None);
    assert_eq!(ftp.file_handling, FileHandling::default());
    assert_eq!(ftp.directory_browse, ShowFlags::default());
    assert_eq!(ftp.user_isolation, IsolationMode::None);
    assert_eq!(ftp.external_ip4_address, None);
    assert_eq!(
        site.authorization.by_path,
        vec![(VirtualPath::root(), vec![])]
    );
    assert_eq!(config.global.passive_ports, None);
    assert_eq!(
        config.global.credentials_cache,
        CredentialsCacheConfig {
            enabled: true,
            flush_interval: Duration::from_secs(900),
        }
    );
    assert_eq!(config.administration, AdministrationConfig::default());
    assert_eq!(
        config.administration.binding,
        SocketAddr::from(([127, 0, 0, 1], 2180))
    );
}

#[test]
fn site_defaults_are_inherited_attribute_by_attribute() {
    let text = r#"<configuration>
  <system.applicationHost>
    <sites>
      <site name="a" id="1" serverAutoStart="true">
        <application path="/"><virtualDirectory path="/" physicalPath="/a" /></application>
        <bindings><binding protocol="ftp" bindingInformation="*:21:a" /></bindings>
        <ftpServer allowUTF8="true">
          <connections controlChannelTimeout="60" />
          <messages exitMessage="" greetingMessage="hi a" />
          <security>
            <authentication><basicAuthentication enabled="false" /></authentication>
          </security>
        </ftpServer>
      </site>
      <site name="b" id="2">
        <application path="/"><virtualDirectory path="/" physicalPath="/b" /></application>
        <bindings><binding protocol="ftp" bindingInformation="*:21:b" /></bindings>
        <ftpServer serverAutoStart="true" />
      </site>
      <siteDefaults serverAutoStart="false">
        <ftpServer allowUTF8="false" serverAutoStart="false">
          <connections controlChannelTimeout="300" dataChannelTimeout="10" />
          <messages bannerMessage="Welcome to %SiteName%" exitMessage="bye" />
          <security>
            <ssl controlChannelPolicy="SslAllow" dataChannelPolicy="SslDeny" />
            <authentication>
              <anonymousAuthentication enabled="true" />
              <basicAuthentication enabled="true" />
            </authentication>
          </security>
          <userIsolation mode="StartInUsersDirectory" />
        </ftpServer>
      </siteDefaults>
    </sites>
  </system.applicationHost>
</configuration>"#;
    let loaded = load(text);
    assert!(loaded.diagnostics.is_empty(), "{:#?}", loaded.diagnostics);
    let config = loaded_ok(loaded);
    let (a, b) = (&config.sites[0], &config.sites[1]);

    // a overrides some attributes and inherits the rest.
    assert!(a.ftp.allow_utf8);
    assert_eq!(
        a.ftp.connections.control_channel_timeout,
        Duration::from_secs(60)
    );
    assert_eq!(
        a.ftp.connections.data_channel_timeout,
        Duration::from_secs(10)
    );
    assert_eq!(
        a.ftp.messages.banner_message.as_deref(),
        Some("Welcome to %SiteName%")
    );
    assert_eq!(a.ftp.messages.greeting_message.as_deref(), Some("hi a"));
    assert_eq!(
        a.ftp.messages.exit_message, None,
        "empty overrides the default"
    );
    assert!(a.ftp.authentication.anonymous);
    assert!(!a.ftp.authentication.basic);
    assert_eq!(a.ftp.ssl.data_channel_policy, DataChannelPolicy::SslDeny);
    assert_eq!(a.ftp.user_isolation, IsolationMode::StartInUsersDirectory);
    // site@serverAutoStart=true but the inherited ftpServer@serverAutoStart=false.
    assert!(!a.server_auto_start);

    // b inherits everything but sets ftpServer@serverAutoStart; site@serverAutoStart is
    // inherited from siteDefaults (false).
    assert!(!b.ftp.allow_utf8);
    assert_eq!(
        b.ftp.connections.control_channel_timeout,
        Duration::from_secs(300)
    );
    assert_eq!(b.ftp.messages.exit_message.as_deref(), Some("bye"));
    assert!(b.ftp.authentication.basic);
    assert!(!b.server_auto_start);
}

#[test]
fn site_defaults_bindings_are_ignored_with_a_warning() {
    let text = one_site(
        SSL_ALLOW,
        "",
    )
    .replace(
        "    </sites>",
        "      <siteDefaults>\n        <bindings><binding protocol=\"ftp\" bindingInformation=\"*:21:\" /></bindings>\n      </siteDefaults>\n    </sites>",
    );
    let loaded = load(&text);
    assert_eq!(
        diags(&loaded),
        vec![(
            Severity::Warning,
            14,
            9,
            "<bindings> is ignored: Wharf does not inherit bindings; give each site its own".into()
        )]
    );
    assert_eq!(loaded_ok(loaded).sites[0].bindings.len(), 1);
}

// ---------------------------------------------------------------------------------------
// invalid values: errors with exact positions and accepted values

const INVALID: &str = r#"<configuration>
  <system.applicationHost>
    <sites>
      <site name="s" id="1">
        <application path="/">
          <virtualDirectory path="/" physicalPath="/srv/ftp" />
        </application>
        <bindings>
          <binding protocol="ftp" bindingInformation="*:70000:" />
        </bindings>
        <ftpServer allowUTF8="yes">
          <connections controlChannelTimeout="abc"
                       serverListenBacklog="0"
                       maxConnections="-1"
                       disableSocketPooling="maybe" />
          <security>
            <ssl controlChannelPolicy="SslMaybe"
                 dataChannelPolicy="SslRequireCredentialsOnly"
                 ssl128="1" />
            <authentication>
              <anonymousAuthentication enabled="True" />
              <basicAuthentication enabled=" FALSE " />
            </authentication>
          </security>
          <firewallSupport externalIp4Address="::1" />
          <directoryBrowse showFlags="StyleUnix, Fancy" />
          <userIsolation mode="ActiveDirectory" />
        </ftpServer>
      </site>
    </sites>
  </system.applicationHost>
  <system.ftpServer>
    <firewallSupport lowDataChannelPort="80" highDataChannelPort="50199" />
    <caching>
      <credentialsCache flushInterval="4" />
    </caching>
    <security>
      <authorization>
        <add users="*" permissions="Read" />
        <add accessType="Maybe" users="*" />
        <add accessType="Allow" users="bob" permissions="Read, Execute" />
      </authorization>
      <users>
        <add name="alice" password="secret" />
      </users>
    </security>
    <administration bindingInformation="localhost:2180" endedSessionsRetention="x" />
  </system.ftpServer>
</configuration>"#;

#[test]
fn invalid_values_are_errors_with_positions_and_accepted_values() {
    let loaded = load(INVALID);
    assert!(loaded.config.is_none());
    let expected: Vec<(Severity, u32, u32, &str)> = vec![
        (
            Severity::Warning,
            4,
            7,
            "site \"s\" requires TLS (controlChannelPolicy SslRequire, dataChannelPolicy \
             SslRequire; SslRequire is the IIS default when <ssl> does not set them) but no certificate is configured: clients will be refused (AUTH 431, USER 534); \
             set certificateFile and privateKeyFile on <ssl> (or certificateStore with \
             serverCertHash), or set both policies to SslAllow",
        ),
        (
            Severity::Error,
            9,
            35,
            "invalid value \"*:70000:\" for bindingInformation (port 70000 is out of range); \
             accepted: IP:port:host where IP is an address, * or a bracketed IPv6 address, port \
             0-65535 and host optional, e.g. *:21: or [::1]:21:ftp.example.com",
        ),
        (
            Severity::Error,
            11,
            20,
            "invalid value \"yes\" for allowUTF8; accepted: true, false",
        ),
        (
            Severity::Error,
            12,
            24,
            "invalid value \"abc\" for controlChannelTimeout; accepted: an integer from 0 to \
             4294967295",
        ),
        (
            Severity::Error,
            13,
            24,
            "invalid value \"0\" for serverListenBacklog; accepted: an integer from 1 to 65535",
        ),
        (
            Severity::Error,
            14,
            24,
            "invalid value \"-1\" for maxConnections; accepted: an integer from 0 to 4294967295",
        ),
        (
            Severity::Warning,
            15,
            24,
            "attribute disableSocketPooling on <connections> is not supported yet; its value is \
             checked but has no effect",
        ),
        (
            Severity::Error,
            15,
            24,
            "invalid value \"maybe\" for disableSocketPooling; accepted: true, false",
        ),
        (
            Severity::Error,
            17,
            18,
            "invalid value \"SslMaybe\" for controlChannelPolicy; accepted: SslAllow, SslRequire, \
             SslRequireCredentialsOnly",
        ),
        (
            Severity::Error,
            18,
            18,
            "invalid value \"SslRequireCredentialsOnly\" for dataChannelPolicy; accepted: \
             SslAllow, SslRequire, SslDeny",
        ),
        (
            Severity::Error,
            19,
            18,
            "invalid value \"1\" for ssl128; accepted: true, false",
        ),
        (
            Severity::Error,
            25,
            28,
            "invalid value \"::1\" for externalIp4Address; accepted: an IPv4 address, e.g. \
             198.51.100.20",
        ),
        (
            Severity::Error,
            26,
            28,
            "invalid value \"StyleUnix, Fancy\" for showFlags: unknown flag \"Fancy\"; accepted: \
             a comma-separated list of LongDate, StyleUnix, DisplayAvailableBytes, \
             DisplayVirtualDirectories, UseGmtTime",
        ),
        (
            Severity::Error,
            27,
            26,
            "userIsolation mode \"ActiveDirectory\" is not supported; accepted: None, \
             StartInUsersDirectory, IsolateRootDirectoryOnly, IsolateAllDirectories",
        ),
        (
            Severity::Error,
            33,
            22,
            "invalid value \"80\" for lowDataChannelPort; accepted: 0 (with the other port 0 \
             too: the OS picks) or a port from 1024 to 65535",
        ),
        (
            Severity::Error,
            35,
            25,
            "invalid value \"4\" for flushInterval; accepted: an integer from 5 to 604800",
        ),
        (
            Severity::Error,
            39,
            9,
            "authorization <add> needs accessType; accepted: Allow, Deny",
        ),
        (
            Severity::Error,
            40,
            14,
            "invalid value \"Maybe\" for accessType; accepted: Allow, Deny",
        ),
        (
            Severity::Error,
            41,
            45,
            "invalid value \"Read, Execute\" for permissions: unknown flag \"Execute\"; accepted: \
             a comma-separated list of Read, Write",
        ),
        (
            Severity::Error,
            44,
            27,
            "password of user \"alice\" does not start with \"$argon2id$\"; it must be an \
             argon2id PHC hash ($argon2id$…), which \"wharf user add\" writes",
        ),
        (
            Severity::Error,
            47,
            21,
            "invalid value \"localhost:2180\" for bindingInformation; accepted: IP:port, e.g. \
             127.0.0.1:2180 or [::1]:2180",
        ),
        (
            Severity::Error,
            47,
            57,
            "invalid value \"x\" for endedSessionsRetention; accepted: an integer from 0 to \
             1000000",
        ),
    ];
    let expected: Vec<(Severity, u32, u32, String)> = expected
        .into_iter()
        .map(|(s, l, c, m)| (s, l, c, m.to_string()))
        .collect();
    assert_eq!(diags(&loaded), expected);
    // The clear-text password is never echoed.
    assert!(
        loaded
            .diagnostics
            .iter()
            .all(|d| !d.message.contains("secret"))
    );
    assert_eq!(
        loaded.diagnostics[2].to_string(),
        format!(
            "{ORIGIN}:11:20: error: invalid value \"yes\" for allowUTF8; accepted: true, false"
        )
    );
}

#[test]
fn enum_and_bool_spellings_are_case_insensitive() {
    let loaded = load(&one_site(
        r#"<ftpServer allowUTF8="FALSE">
          <security><ssl controlChannelPolicy="sslrequirecredentialsonly" dataChannelPolicy="SSLDENY" serverCertHash="ab cd ef 01 23 45 67 89 ab cd ef 01 23 45 67 89 ab cd ef 01" certificateStore="certs" /></security>
          <userIsolation mode="isolateALLdirectories" />
          <directoryBrowse showFlags="usegmttime,longdate" />
        </ftpServer>"#,
        r#"<system.ftpServer><security><authorization><add accessType="deny" users="x" permissions="write" /></authorization></security></system.ftpServer>"#,
    ));
    assert!(loaded.diagnostics.is_empty(), "{:#?}", loaded.diagnostics);
    let config = loaded_ok(loaded);
    let ftp = &config.sites[0].ftp;
    assert!(!ftp.allow_utf8);
    assert_eq!(
        ftp.ssl.control_channel_policy,
        ControlChannelPolicy::SslRequireCredentialsOnly
    );
    assert_eq!(ftp.ssl.data_channel_policy, DataChannelPolicy::SslDeny);
    assert_eq!(ftp.user_isolation, IsolationMode::IsolateAllDirectories);
    assert_eq!(
        ftp.directory_browse,
        ShowFlags {
            use_gmt_time: true,
            long_date: true,
            ..ShowFlags::default()
        }
    );
    assert_eq!(
        config.sites[0].authorization.by_path[0].1,
        vec![rule(Deny, "x", "", "Write")]
    );
}

#[test]
fn custom_isolation_is_refused_and_unknown_modes_list_the_accepted_ones() {
    let loaded = load(&one_site(
        r#"<ftpServer><userIsolation mode="Custom" /></ftpServer>"#,
        "",
    ));
    assert_eq!(positions(&loaded, Severity::Error), vec![(11, 35)]);
    assert!(loaded.diagnostics.iter().any(|d| d.message
        == "userIsolation mode \"Custom\" is not supported; accepted: None, StartInUsersDirectory, \
            IsolateRootDirectoryOnly, IsolateAllDirectories"));
    let loaded = load(&one_site(
        r#"<ftpServer><userIsolation mode="Jail" /></ftpServer>"#,
        "",
    ));
    assert!(loaded.diagnostics.iter().any(|d| d.message
        == "invalid value \"Jail\" for mode; accepted: None, StartInUsersDirectory, \
            IsolateRootDirectoryOnly, IsolateAllDirectories"));
}

#[test]
fn passive_port_range_rules() {
    let with = |attrs: &str| {
        load(&one_site(
            SSL_ALLOW,
            &format!("<system.ftpServer><firewallSupport {attrs} /></system.ftpServer>"),
        ))
    };
    let ok = |attrs: &str| loaded_ok(with(attrs)).global.passive_ports;
    assert_eq!(
        ok(r#"lowDataChannelPort="0" highDataChannelPort="0""#),
        None
    );
    assert_eq!(ok(""), None);
    assert_eq!(
        ok(r#"lowDataChannelPort="1024" highDataChannelPort="65535""#),
        Some((1024, 65535))
    );
    assert_eq!(
        ok(r#"lowDataChannelPort="5000" highDataChannelPort="5000""#),
        Some((5000, 5000))
    );
    let errors = |attrs: &str| -> Vec<String> {
        with(attrs)
            .diagnostics
            .into_iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| format!("{}: {}", d.column, d.message))
            .collect()
    };
    assert_eq!(
        errors(r#"lowDataChannelPort="6000" highDataChannelPort="5000""#),
        ["21: lowDataChannelPort 6000 is greater than highDataChannelPort 5000"]
    );
    assert_eq!(
        errors(r#"lowDataChannelPort="5000""#),
        ["21: lowDataChannelPort is set, so highDataChannelPort must be set too (1024 to 65535)"]
    );
    assert_eq!(
        errors(r#"lowDataChannelPort="5000" highDataChannelPort="65536""#),
        [
            "64: invalid value \"65536\" for highDataChannelPort; accepted: an integer from 0 to 65535"
        ]
    );
    assert_eq!(
        errors(r#"lowDataChannelPort="0" highDataChannelPort="2000""#),
        [
            "38: invalid value \"0\" for lowDataChannelPort; accepted: 0 (with the other port 0 too: the OS picks) or a port from 1024 to 65535"
        ]
    );
}

#[test]
fn credentials_cache_host_name_support_and_administration() {
    let config = loaded_ok(load(&one_site(
        SSL_ALLOW,
        r#"<system.ftpServer>
    <caching><credentialsCache enabled="false" flushInterval="604800" /></caching>
    <serverRuntime><hostNameSupport useDomainNameAsHostName="true" /></serverRuntime>
    <administration enabled="false" bindingInformation="[::1]:9000" tokenFile="run/admin.token" endedSessionsRetention="0"
                    headerReadTimeout="30" maxConnections="10" maxEventSubscribers="0"
                    certificateFile="admin.crt" privateKeyFile="/keys/admin.key" allowUnencryptedRemote="true" />
  </system.ftpServer>"#,
    )));
    assert_eq!(
        config.global.credentials_cache,
        CredentialsCacheConfig {
            enabled: false,
            flush_interval: Duration::from_secs(604_800),
        }
    );
    assert!(config.global.use_domain_name_as_host_name);
    assert_eq!(
        config.administration,
        AdministrationConfig {
            enabled: false,
            binding: SocketAddr::from((Ipv6Addr::LOCALHOST, 9000)),
            token_file: Some("/etc/wharf/run/admin.token".into()),
            ended_sessions_retention: 0,
            header_read_timeout: Duration::from_secs(30),
            max_connections: 10,
            max_event_subscribers: 0,
            tls: Some(AdminTls {
                certificate_file: "/etc/wharf/admin.crt".into(),
                private_key_file: "/keys/admin.key".into(),
            }),
            allow_unencrypted_remote: true,
        }
    );
}

// ---------------------------------------------------------------------------------------
// unknown and unsupported items: warnings with positions, never failures

const UNKNOWN: &str = r#"<configuration>
  <system.applicationHost>
    <sites>
      <site name="s" id="1" color="blue">
        <application path="/">
          <virtualDirectory path="/" physicalPath="/srv/ftp" userName="bob" />
        </application>
        <bindings>
          <binding protocol="ftp" bindingInformation="*:21:" sslFlags="0" />
          <binding protocol="https" bindingInformation="*:443:" sslFlags="1" />
        </bindings>
        <ftpServer allowUtf8="false">
          <security>
            <ssl controlChannelPolicy="SslAllow" dataChannelPolicy="SslAllow" />
          </security>
          <fancy />
          <logFile />
          <connections maxBandwidth="100" />
          <directoryBrowse showFlags="DisplayAvailableBytes" virtualDirectoryTimeout="5"/>
        </ftpServer>
        <limits maxBandwidth="1" />
      </site>
    </sites>
  </system.applicationHost>
  <system.webServer />
  <configSections />
  <system.ftpServer lockElements="security">
    stray text
    <providerDefinitions />
  </system.ftpServer>
  <location path="s/pub" overrideMode="Allow">
    <system.ftpServer>
      <security>
        <ipSecurity />
      </security>
    </system.ftpServer>
  </location>
  <location path="nosuchsite">
    <system.ftpServer />
  </location>
  <location path="web-only-site">
    <system.webServer />
  </location>
</configuration>"#;

#[test]
fn unknown_and_unsupported_items_are_positioned_warnings() {
    let loaded = load(UNKNOWN);
    let expected: Vec<(u32, u32, &str)> = vec![
        (4, 29, "unknown attribute color on <site>"),
        (
            6,
            62,
            "attribute userName on <virtualDirectory> is Windows-only; ignored",
        ),
        (
            9,
            62,
            "attribute sslFlags on <binding> is ignored: it applies to HTTPS bindings only",
        ),
        (
            12,
            20,
            "unknown attribute allowUtf8 on <ftpServer> (did you mean \"allowUTF8\"? names are \
             case-sensitive)",
        ),
        (16, 11, "unknown element <fancy> in <ftpServer>"),
        (17, 11, "<logFile> is not supported yet; ignored"),
        (
            18,
            24,
            "attribute maxBandwidth on <connections> is not supported yet; its value is checked \
             but has no effect",
        ),
        (
            19,
            28,
            "showFlags DisplayAvailableBytes is not supported yet; ignored",
        ),
        (
            19,
            62,
            "attribute virtualDirectoryTimeout on <directoryBrowse> is not supported yet; \
             ignored",
        ),
        (21, 9, "<limits> is ignored: it configures HTTP, not FTP"),
        (
            25,
            3,
            "<system.webServer> is ignored: it configures HTTP, not FTP",
        ),
        (
            26,
            3,
            "<configSections> is ignored: Wharf has the section declarations built in",
        ),
        (
            27,
            21,
            "attribute lockElements on <system.ftpServer> is ignored: IIS configuration locking \
             and delegation do not apply to Wharf",
        ),
        (28, 5, "unexpected text in <system.ftpServer>; ignored"),
        (29, 5, "<providerDefinitions> is not supported yet; ignored"),
        (
            31,
            26,
            "attribute overrideMode on <location> is ignored: IIS configuration locking and \
             delegation do not apply to Wharf",
        ),
        (34, 9, "<ipSecurity> is not supported yet; ignored"),
        (
            38,
            13,
            "location path \"nosuchsite\" names no FTP site (\"nosuchsite\"); ignored",
        ),
        (
            42,
            5,
            "<system.webServer> is ignored: it configures HTTP, not FTP",
        ),
    ];
    let expected: Vec<(Severity, u32, u32, String)> = expected
        .into_iter()
        .map(|(l, c, m)| (Severity::Warning, l, c, m.to_string()))
        .collect();
    assert_eq!(diags(&loaded), expected);
    let config = loaded_ok(loaded);
    let site = &config.sites[0];
    assert!(site.ftp.allow_utf8, "the misspelled attribute was ignored");
    assert_eq!(
        site.bindings.len(),
        1,
        "https binding is not an FTP binding"
    );
    assert!(site.ftp.directory_browse.display_available_bytes);
    assert_eq!(
        site.authorization.by_path,
        vec![(VirtualPath::root(), vec![]), (vp("/pub"), vec![])]
    );
}

#[test]
fn xml_syntax_error_is_one_positioned_error() {
    let loaded =
        load("<configuration>\n  <system.ftpServer>\n  </system.ftpserver>\n</configuration>\n");
    assert!(loaded.config.is_none());
    assert_eq!(
        diags(&loaded),
        vec![(
            Severity::Error,
            3,
            3,
            "XML syntax error: expected 'system.ftpServer' tag, not 'system.ftpserver'".into()
        )]
    );
    assert_eq!(loaded.diagnostics[0].file, PathBuf::from(ORIGIN));
}

#[test]
fn wrong_root_and_missing_sites_are_errors() {
    let loaded = load("<config />");
    assert_eq!(
        diags(&loaded),
        vec![(
            Severity::Error,
            1,
            1,
            "the root element must be <configuration>, found <config>".into()
        )]
    );
    let loaded = load("<configuration>\n  <system.ftpServer />\n</configuration>");
    assert_eq!(
        diags(&loaded),
        vec![(
            Severity::Error,
            1,
            1,
            "no FTP site is configured: add a <site> with a <binding protocol=\"ftp\"> under \
             system.applicationHost/sites"
                .into()
        )]
    );
    // A web-only site is not an FTP site: skipped silently, so there is still no FTP site.
    let loaded = load(
        r#"<configuration>
  <system.applicationHost>
    <sites>
      <site name="web" id="1" whatever="x">
        <bindings><binding protocol="http" bindingInformation="*:80:" /></bindings>
        <application path="/" applicationPool="DefaultAppPool" />
      </site>
    </sites>
  </system.applicationHost>
</configuration>"#,
    );
    assert_eq!(positions(&loaded, Severity::Error), vec![(3, 5)]);
    assert_eq!(loaded.diagnostics.len(), 1);
}

// ---------------------------------------------------------------------------------------
// bindings

#[test]
fn binding_information_forms() {
    let b = |s: &str| parse_binding_information(s).unwrap();
    assert_eq!(
        b("*:21:"),
        Binding {
            ip: None,
            port: 21,
            host: None,
            implicit_tls: false,
        }
    );
    assert_eq!(b(":21:").ip, None);
    assert_eq!(
        b("127.0.0.1:21:FTP.Example.COM"),
        Binding {
            ip: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            port: 21,
            host: Some("ftp.example.com".into()),
            implicit_tls: false,
        }
    );
    assert_eq!(
        b("[::1]:21:host"),
        Binding {
            ip: Some(IpAddr::V6(Ipv6Addr::LOCALHOST)),
            port: 21,
            host: Some("host".into()),
            implicit_tls: false,
        }
    );
    assert_eq!(
        b("[2001:db8::1]:990:").ip,
        Some("2001:db8::1".parse().unwrap())
    );
    assert_eq!(b("*:0:").port, 0, "0 = ephemeral, used by tests");
    assert_eq!(b("*:65535:").port, 65535);
    for bad in [
        "::1:21:",
        "*:21",
        "*:70000:",
        "*::",
        "*:-1:",
        "*:+21:",
        "localhost:21:",
        "[::1:21:",
        "[::1]21:",
        "[127.0.0.1]:21:",
        "*:21:a b",
        "*:21:a|b",
        "",
    ] {
        assert!(parse_binding_information(bad).is_err(), "{bad:?} accepted");
    }
    assert_eq!(
        parse_binding_information("::1:21:").unwrap_err(),
        "too many \":\" (IPv6 addresses must be in brackets)"
    );
    assert_eq!(
        parse_binding_information("1:2:3:4").unwrap_err(),
        "\"1\" is not an IPv4 address, * or a bracketed IPv6 address"
    );
}

const TWO_SITES: &str = r#"<configuration>
  <system.applicationHost>
    <sites>
      <site name="One" id="1">
        <application path="/"><virtualDirectory path="/" physicalPath="/one" /></application>
        <bindings>
          <binding protocol="http" bindingInformation="*:80:" />
          <binding protocol="ftp" bindingInformation="*:21:Example.com" />
          <binding protocol="ftp" bindingInformation="[::]:21:" />
        </bindings>
      </site>
      <site name="one" id="1">
        <application path="/"><virtualDirectory path="/" physicalPath="/two" /></application>
        <bindings>
          <binding protocol="ftp" bindingInformation="*:21:example.COM" />
          <binding protocol="ftp" bindingInformation="*:2121:" />
          <binding protocol="ftp" bindingInformation="*:2121:" />
        </bindings>
      </site>
    </sites>
  </system.applicationHost>
</configuration>"#;

#[test]
fn duplicate_names_ids_and_bindings_are_errors() {
    let loaded = load(TWO_SITES);
    assert_eq!(
        diags(&loaded)
            .into_iter()
            .filter(|d| d.0 == Severity::Error)
            .collect::<Vec<_>>(),
        vec![
            (
                Severity::Error,
                12,
                13,
                "duplicate site name \"one\" (also used by the site at line 4)".into()
            ),
            (
                Severity::Error,
                12,
                24,
                "duplicate site id 1 (also used by the site at line 4)".into()
            ),
            (
                Severity::Error,
                15,
                35,
                "binding \"*:21:example.COM\" is already used by site \"One\"".into()
            ),
            (
                Severity::Error,
                17,
                35,
                "binding \"*:2121:\" is listed twice in this site".into()
            ),
        ]
    );
}

#[test]
fn bindings_clear_and_non_ftp_protocols() {
    let text = one_site(SSL_ALLOW, "").replace(
        r#"<binding protocol="ftp" bindingInformation="127.0.0.1:2121:" />"#,
        r#"<binding protocol="ftp" bindingInformation="127.0.0.1:2121:" />
          <clear />
          <binding protocol="https" bindingInformation="*:443:" />
          <binding protocol="FTP" bindingInformation="[::1]:0:Files.Example" />
          <binding protocol="ftp" bindingInformation="*:2121:" />"#,
    );
    let config = loaded_ok(load(&text));
    assert_eq!(
        config.sites[0].bindings,
        vec![
            Binding {
                ip: Some(IpAddr::V6(Ipv6Addr::LOCALHOST)),
                port: 0,
                host: Some("files.example".into()),
                implicit_tls: false,
            },
            Binding {
                ip: None,
                port: 2121,
                host: None,
                implicit_tls: false,
            },
        ]
    );
    // A site whose only ftp binding is cleared is not an FTP site.
    let text = one_site(SSL_ALLOW, "").replace(
        r#"<binding protocol="ftp" bindingInformation="127.0.0.1:2121:" />"#,
        r#"<binding protocol="ftp" bindingInformation="127.0.0.1:2121:" /><clear />"#,
    );
    assert_eq!(positions(&load(&text), Severity::Error), vec![(3, 5)]);
}

// ---------------------------------------------------------------------------------------
// applications, virtual directories, paths and %VAR%

#[test]
fn virtual_paths_join_application_and_vdir() {
    let text = r#"<configuration>
  <system.applicationHost>
    <sites>
      <site name="s" id="1">
        <application path="/">
          <virtualDirectory path="/" physicalPath="%FTPROOT%/root" />
          <virtualDirectory path="/LocalUser/alice/" physicalPath="homes/alice" />
        </application>
        <application path="/app">
          <virtualDirectory path="/" physicalPath="./app/./data" />
          <virtualDirectory path="/sub" physicalPath="/srv/app-sub" />
        </application>
        <bindings><binding protocol="ftp" bindingInformation="*:21:" /></bindings>
        <ftpServer><security><ssl controlChannelPolicy="SslAllow" dataChannelPolicy="SslAllow" /></security></ftpServer>
      </site>
    </sites>
  </system.applicationHost>
</configuration>"#;
    let loaded = load(text);
    assert!(loaded.diagnostics.is_empty(), "{:#?}", loaded.diagnostics);
    let config = loaded_ok(loaded);
    assert_eq!(
        config.sites[0]
            .virtual_directories
            .iter()
            .map(|v| (v.path.to_string(), v.physical_path.clone()))
            .collect::<Vec<_>>(),
        vec![
            ("/".into(), PathBuf::from("/srv/ftp/root")),
            (
                "/LocalUser/alice".into(),
                PathBuf::from("/etc/wharf/homes/alice")
            ),
            ("/app".into(), PathBuf::from("/etc/wharf/app/data")),
            ("/app/sub".into(), PathBuf::from("/srv/app-sub")),
        ]
    );
}

#[test]
fn path_errors_and_windows_paths() {
    let text = r#"<configuration>
  <system.applicationHost>
    <sites>
      <site name="s" id="1">
        <application path="/app">
          <virtualDirectory path="/" physicalPath="%NOPE%/x" />
          <virtualDirectory path="/a/../b" physicalPath="/b" />
          <virtualDirectory path="c" physicalPath="/c" />
          <virtualDirectory path="/d" physicalPath="D:\ftp\d" />
          <virtualDirectory path="/d/" physicalPath="/d2" />
          <virtualDirectory path="/e" />
        </application>
        <bindings><binding protocol="ftp" bindingInformation="*:21:" /></bindings>
        <ftpServer><security><ssl controlChannelPolicy="SslAllow" dataChannelPolicy="SslAllow" /></security></ftpServer>
      </site>
    </sites>
  </system.applicationHost>
</configuration>"#;
    let loaded = load(text);
    assert!(loaded.config.is_none());
    assert_eq!(
        diags(&loaded),
        vec![
            (
                Severity::Error,
                4,
                7,
                "site \"s\" has no root virtual directory: add <application path=\"/\"> with \
                 <virtualDirectory path=\"/\" physicalPath=\"…\" />"
                    .into()
            ),
            (
                Severity::Error,
                6,
                38,
                "physicalPath \"%NOPE%/x\": environment variable %NOPE% is not set".into()
            ),
            (
                Severity::Error,
                7,
                29,
                "invalid virtual directory path \"/a/../b\": \".\" and \"..\" are not allowed"
                    .into()
            ),
            (
                Severity::Error,
                8,
                29,
                "invalid virtual directory path \"c\": it must start with \"/\"".into()
            ),
            (
                Severity::Warning,
                9,
                39,
                "physicalPath \"D:\\\\ftp\\\\d\" looks like a Windows path; Wharf uses it as a \
                 Linux path: /etc/wharf/D:\\ftp\\d"
                    .into()
            ),
            (
                Severity::Error,
                10,
                29,
                "virtual directory /app/d is defined twice in this site".into()
            ),
            (
                Severity::Error,
                11,
                11,
                "<virtualDirectory> needs a physicalPath attribute".into()
            ),
        ]
    );
}

// ---------------------------------------------------------------------------------------
// authorization: server → site → directories

const AUTHORIZATION: &str = r#"<configuration>
  <system.applicationHost>
    <sites>
      <site name="Main Site" id="1">
        <application path="/"><virtualDirectory path="/" physicalPath="/main" /></application>
        <bindings><binding protocol="ftp" bindingInformation="*:21:" /></bindings>
        <ftpServer><security><ssl controlChannelPolicy="SslAllow" dataChannelPolicy="SslAllow" /></security></ftpServer>
      </site>
      <site name="other" id="2">
        <application path="/"><virtualDirectory path="/" physicalPath="/other" /></application>
        <bindings><binding protocol="ftp" bindingInformation="*:2121:" /></bindings>
        <ftpServer><security><ssl controlChannelPolicy="SslAllow" dataChannelPolicy="SslAllow" /></security></ftpServer>
      </site>
    </sites>
  </system.applicationHost>
  <system.ftpServer>
    <security>
      <authorization>
        <add accessType="Allow" users="*" permissions="Read" />
        <add accessType="Deny" users="bob" permissions="Write" />
      </authorization>
    </security>
  </system.ftpServer>
  <location path="main site/pub/incoming">
    <system.ftpServer><security><authorization>
      <remove users="?" accessType="Allow" />
      <add accessType="Allow" users="?" permissions="Read, Write" />
    </authorization></security></system.ftpServer>
  </location>
  <location path="Main Site">
    <system.ftpServer><security><authorization>
      <remove users="bob" />
      <add accessType="Allow" users="alice, carol" roles="staff" permissions="Read, Write" />
    </authorization></security></system.ftpServer>
  </location>
  <location path="Main Site/pub">
    <system.ftpServer><security><authorization>
      <clear />
      <add accessType="Allow" users="?" permissions="Read" />
    </authorization></security></system.ftpServer>
  </location>
  <location path="Main Site/docs/">
    <system.ftpServer />
  </location>
</configuration>"#;

#[test]
fn authorization_inherits_server_site_dir_with_add_remove_clear() {
    let loaded = load(AUTHORIZATION);
    assert!(loaded.diagnostics.is_empty(), "{:#?}", loaded.diagnostics);
    let config = loaded_ok(loaded);
    let main = &config.sites[0];
    let site_rules = vec![
        rule(Allow, "*", "", "Read"),
        rule(Allow, "alice, carol", "staff", "Read, Write"),
    ];
    assert_eq!(
        main.authorization.by_path,
        vec![
            (VirtualPath::root(), site_rules.clone()),
            (vp("/pub"), vec![rule(Allow, "?", "", "Read")]),
            (vp("/docs"), site_rules.clone()),
            (
                vp("/pub/incoming"),
                vec![rule(Allow, "?", "", "Read, Write")]
            ),
        ]
    );
    assert_eq!(
        main.authorization.effective(&vp("/pub/incoming/today")),
        &[rule(Allow, "?", "", "Read, Write")]
    );
    assert_eq!(
        main.authorization.effective(&vp("/pub/readme.txt")),
        &[rule(Allow, "?", "", "Read")]
    );
    assert_eq!(
        main.authorization.effective(&vp("/elsewhere")),
        &site_rules[..]
    );
    // The other site only has the server-level rules.
    assert_eq!(
        config.sites[1].authorization.by_path,
        vec![(
            VirtualPath::root(),
            vec![rule(Allow, "*", "", "Read"), rule(Deny, "bob", "", "Write")]
        )]
    );
}

#[test]
fn authorization_duplicates_and_useless_removes() {
    let loaded = load(&one_site(
        SSL_ALLOW,
        r#"<system.ftpServer><security><authorization>
    <add accessType="Allow" users="*" permissions="Read" />
  </authorization></security></system.ftpServer>
  <location path="s">
    <system.ftpServer><security><authorization>
      <add accessType="Allow" users="*" permissions="Read, Write" />
      <remove users="nobody" />
      <add accessType="Allow" roles="" />
    </authorization></security></system.ftpServer>
  </location>"#,
    ));
    assert_eq!(
        diags(&loaded),
        vec![
            (
                Severity::Error,
                20,
                7,
                "duplicate authorization rule: accessType=Allow users=\"*\" roles=\"\" is already \
                 in effect here (inherited or earlier); <remove> it or <clear/> first"
                    .into()
            ),
            (
                Severity::Warning,
                21,
                7,
                "<remove> matches no authorization rule in effect here".into()
            ),
            (
                Severity::Warning,
                22,
                7,
                "this authorization rule names no users and no roles, so it matches nobody".into()
            ),
        ]
    );
}

// ---------------------------------------------------------------------------------------
// Wharf extension: security/users

#[test]
fn users_are_read_and_checked() {
    const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Zm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFy";
    let users = |body: &str| {
        load(&one_site(
            SSL_ALLOW,
            &format!(
                "<system.ftpServer><security><users>\n{body}\n</users></security></system.ftpServer>"
            ),
        ))
    };
    let config = loaded_ok(users(&format!(
        r#"<add name="alice" password="{HASH}" roles=" staff, ops ,," />
<add name="bob" password="{HASH}" />"#
    )));
    assert_eq!(
        config.users,
        vec![
            UserAccount {
                name: "alice".into(),
                password_hash: HASH.into(),
                roles: vec!["staff".into(), "ops".into()],
            },
            UserAccount {
                name: "bob".into(),
                password_hash: HASH.into(),
                roles: vec![],
            },
        ]
    );
    let loaded = users(&format!(
        r#"<add name="alice" password="{HASH}" />
<add name="Alice" password="{HASH}" />
<add name="a|b" password="{HASH}" />
<add name="carol" password="$argon2id$broken" />
<add name="dave" />"#
    ));
    assert_eq!(
        diags(&loaded),
        vec![
            (
                Severity::Error,
                17,
                6,
                "user \"Alice\" is defined twice".into()
            ),
            (
                Severity::Error,
                18,
                6,
                "invalid user name \"a|b\": it contains \"|\", the host|user separator".into()
            ),
            (
                Severity::Error,
                19,
                19,
                "password of user \"carol\" has no salt or no hash part; it must be an \
                 argon2id PHC hash ($argon2id$…), which \"wharf user add\" writes"
                    .into()
            ),
            (
                Severity::Error,
                20,
                1,
                "user \"dave\" needs a password attribute ($argon2id$…)".into()
            ),
        ]
    );
}

// ---------------------------------------------------------------------------------------
// configSource

#[test]
fn config_source_moves_sections_to_other_files() {
    let path = fixture("with-config-source.config");
    let loaded = super::load_file(&path);
    let sites_file = fixture("sites.config");
    assert_eq!(loaded.diagnostics.len(), 1, "{:#?}", loaded.diagnostics);
    let d = &loaded.diagnostics[0];
    assert_eq!(
        (
            d.severity,
            d.file.clone(),
            d.line,
            d.column,
            d.message.as_str()
        ),
        (
            Severity::Warning,
            sites_file,
            14,
            7,
            "<customFeatures> is not supported yet; ignored"
        )
    );
    let config = loaded_ok(loaded);
    let site = &config.sites[0];
    assert_eq!((site.name.as_str(), site.id), ("included", 7));
    assert_eq!(site.bindings[0].port, 0);
    assert_eq!(
        site.virtual_directories[0].physical_path,
        fixture("root"),
        "relative to the included file"
    );
    assert_eq!(
        site.authorization.by_path[0].1,
        vec![rule(Allow, "*", "", "Read")]
    );
}

#[test]
fn config_source_errors_name_the_right_file() {
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("applicationHost.config");
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    write(
        "applicationHost.config",
        r#"<configuration>
  <system.applicationHost>
    <sites configSource="sites.config" />
  </system.applicationHost>
  <system.ftpServer>
    <caching configSource="missing.config" />
    <serverRuntime configSource="wrong-root.config" />
    <security>
      <users configSource="broken.config"><add name="x" /></users>
    </security>
    <administration configSource="" />
  </system.ftpServer>
</configuration>"#,
    );
    write(
        "sites.config",
        r#"<sites>
  <site name="s" id="1">
    <application path="/"><virtualDirectory path="/" physicalPath="/srv" /></application>
    <bindings><binding protocol="ftp" bindingInformation="*:21:" /></bindings>
    <ftpServer allowUTF8="maybe" />
  </site>
</sites>"#,
    );
    write("wrong-root.config", "<caching />");
    write("broken.config", "<users>\n  <add name=\"x\">\n</users>");
    let loaded = super::load_file(&main);
    assert!(loaded.config.is_none());
    let found: Vec<(String, u32, u32, Severity, String)> = loaded
        .diagnostics
        .iter()
        .map(|d| {
            (
                d.file.file_name().unwrap().to_string_lossy().into_owned(),
                d.line,
                d.column,
                d.severity,
                d.message.clone(),
            )
        })
        .collect();
    let missing = dir.path().join("missing.config");
    let expected: Vec<(String, u32, u32, Severity, String)> = vec![
        (
            "applicationHost.config".into(),
            6,
            14,
            Severity::Error,
            format!(
                "cannot read configSource file \"{}\": No such file or directory (os error 2)",
                missing.display()
            ),
        ),
        (
            "applicationHost.config".into(),
            9,
            14,
            Severity::Error,
            "<users> has configSource, so it must have no other attributes or child elements \
             (they belong in \"broken.config\")"
                .into(),
        ),
        (
            "applicationHost.config".into(),
            11,
            21,
            Severity::Error,
            "configSource is empty; name the file that holds this section".into(),
        ),
        (
            "sites.config".into(),
            2,
            3,
            Severity::Warning,
            "site \"s\" requires TLS (controlChannelPolicy SslRequire, dataChannelPolicy \
             SslRequire; SslRequire is the IIS default when <ssl> does not set them) but no certificate is configured: clients will be refused (AUTH 431, USER 534); \
             set certificateFile and privateKeyFile on <ssl> (or certificateStore with \
             serverCertHash), or set both policies to SslAllow"
                .into(),
        ),
        (
            "sites.config".into(),
            5,
            16,
            Severity::Error,
            "invalid value \"maybe\" for allowUTF8; accepted: true, false".into(),
        ),
        (
            "wrong-root.config".into(),
            1,
            1,
            Severity::Error,
            "the root element of a configSource file must be <serverRuntime>, the section that \
             references it; found <caching>"
                .into(),
        ),
        (
            "broken.config".into(),
            3,
            1,
            Severity::Error,
            "XML syntax error: expected 'add' tag, not 'users'".into(),
        ),
    ];
    assert_eq!(found, expected);
}

#[test]
fn config_source_on_a_non_section_is_ignored_with_a_warning() {
    let loaded = load(&one_site(
        r#"<ftpServer configSource="ftp.config"><security><ssl controlChannelPolicy="SslAllow" dataChannelPolicy="SslAllow" /></security></ftpServer>"#,
        "",
    ));
    assert_eq!(
        diags(&loaded),
        vec![(
            Severity::Warning,
            11,
            20,
            "configSource on <ftpServer> is ignored: only configuration sections can be moved \
             to another file"
                .into()
        )]
    );
}

// ---------------------------------------------------------------------------------------
// environment and relative paths from load_file / load_str

#[test]
fn process_environment_and_relative_origin() {
    // load_str uses the process environment; cargo sets CARGO_PKG_NAME for tests.
    let text = one_site(SSL_ALLOW, "").replace("/srv/ftp", "/srv/%CARGO_PKG_NAME%");
    let config = loaded_ok(super::load_str(&text, Path::new("conf/app.config")));
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(
        config.sites[0].virtual_directories[0].physical_path,
        PathBuf::from("/srv/wharf")
    );
    let text = one_site(SSL_ALLOW, "").replace("/srv/ftp", "ftp");
    let config = loaded_ok(super::load_str(&text, Path::new("conf/app.config")));
    assert_eq!(
        config.sites[0].virtual_directories[0].physical_path,
        cwd.join("conf/ftp")
    );
    let config = loaded_ok(super::load_str(&text, Path::new("app.config")));
    assert_eq!(
        config.sites[0].virtual_directories[0].physical_path,
        cwd.join("ftp")
    );
}

#[test]
fn missing_file_is_an_error() {
    let loaded = super::load_file(Path::new("/nonexistent/wharf/applicationHost.config"));
    assert!(loaded.config.is_none());
    assert_eq!(loaded.diagnostics.len(), 1);
    assert!(
        loaded.diagnostics[0]
            .message
            .starts_with("cannot read the configuration file: "),
        "{}",
        loaded.diagnostics[0]
    );
}

// ---------------------------------------------------------------------------------------
// what start-up would refuse: reported by the loader, positioned

/// Sites `a` and `b`, one binding each.
fn two_sites(a: &str, b: &str) -> String {
    format!(
        r#"<configuration>
  <system.applicationHost>
    <sites>
      <site name="a" id="1">
        <application path="/"><virtualDirectory path="/" physicalPath="/srv/a" /></application>
        <bindings>{a}</bindings>
      </site>
      <site name="b" id="2">
        <application path="/"><virtualDirectory path="/" physicalPath="/srv/b" /></application>
        <bindings>{b}</bindings>
      </site>
      <siteDefaults><ftpServer><security>
        <ssl controlChannelPolicy="SslAllow" dataChannelPolicy="SslAllow" selfSignedCertificate="true" />
      </security></ftpServer></siteDefaults>
    </sites>
  </system.applicationHost>
</configuration>"#
    )
}

#[test]
fn implicit_and_explicit_tls_on_one_socket_is_an_error_at_the_binding() {
    // `*:2121:` takes in `127.0.0.1:2121:` (one socket), and one of them is implicit.
    let loaded = load(&two_sites(
        r#"<binding protocol="ftp" bindingInformation="*:2121:" />"#,
        r#"<binding protocol="ftp" bindingInformation="127.0.0.1:2121:ftp.b" implicitTls="true" />"#,
    ));
    assert!(loaded.config.is_none());
    assert_eq!(
        diags(&loaded),
        vec![(
            Severity::Error,
            10,
            43,
            "binding \"127.0.0.1:2121:ftp.b\" of site \"b\" is implicit TLS but shares port \
             2121 with the explicit binding \"*:2121:\" of site \"a\" (line 6); one port \
             cannot be both: implicit TLS is port 990 or implicitTls=\"true\""
                .to_string()
        )]
    );
    // Different sockets (two addresses, no wildcard) may differ; so may a stopped site.
    let loaded = load(&two_sites(
        r#"<binding protocol="ftp" bindingInformation="127.0.0.1:2121:" />"#,
        r#"<binding protocol="ftp" bindingInformation="127.0.0.2:2121:" implicitTls="true" />"#,
    ));
    assert!(loaded.diagnostics.is_empty(), "{:#?}", loaded.diagnostics);
    let stopped = two_sites(
        r#"<binding protocol="ftp" bindingInformation="*:2121:" />"#,
        r#"<binding protocol="ftp" bindingInformation="*:2121:ftp.b" implicitTls="true" />"#,
    )
    .replace(r#"id="2">"#, r#"id="2" serverAutoStart="false">"#);
    let loaded = load(&stopped);
    assert!(loaded.diagnostics.is_empty(), "{:#?}", loaded.diagnostics);
}

fn with_admin(attributes: &str) -> Loaded {
    load(&one_site(
        SSL_ALLOW,
        &format!("<system.ftpServer>\n    <administration {attributes} />\n  </system.ftpServer>"),
    ))
}

#[test]
fn plain_http_admin_off_loopback_is_an_error_unless_allowed() {
    let loaded = with_admin(r#"bindingInformation="0.0.0.0:2180""#);
    assert!(loaded.config.is_none());
    let d = diags(&loaded);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!((d[0].0, d[0].1, d[0].2), (Severity::Error, 16, 21));
    assert!(
        d[0].3
            .starts_with("the admin API would listen on 0.0.0.0:2180 (not loopback) in plain HTTP")
            && d[0].3.contains("allowUnencryptedRemote"),
        "{}",
        d[0].3
    );
    // Allowed explicitly, served over HTTPS, on loopback (v4, v6, mapped) or disabled: fine.
    for ok in [
        r#"bindingInformation="0.0.0.0:2180" allowUnencryptedRemote="true""#,
        r#"bindingInformation="[::]:2180" certificateFile="a.crt" privateKeyFile="a.key""#,
        r#"bindingInformation="127.0.0.5:2180""#,
        r#"bindingInformation="[::1]:2180""#,
        r#"bindingInformation="[::ffff:127.0.0.1]:2180""#,
        r#"bindingInformation="192.0.2.1:2180" enabled="false""#,
    ] {
        let loaded = with_admin(ok);
        assert!(
            loaded.diagnostics.is_empty(),
            "{ok}: {:#?}",
            loaded.diagnostics
        );
    }
    let config = loaded_ok(with_admin(
        r#"bindingInformation="[::]:2180" certificateFile="a.crt" privateKeyFile="a.key""#,
    ));
    assert_eq!(
        config.administration.tls,
        Some(AdminTls {
            certificate_file: "/etc/wharf/a.crt".into(),
            private_key_file: "/etc/wharf/a.key".into(),
        })
    );
}

#[test]
fn admin_limits_are_checked() {
    let loaded = with_admin(r#"certificateFile="a.crt" headerReadTimeout="0" maxConnections="0""#);
    let d: Vec<String> = diags(&loaded).into_iter().map(|d| d.3).collect();
    assert_eq!(
        d,
        vec![
            "<administration> certificateFile and privateKeyFile go together; set both",
            "invalid value \"0\" for headerReadTimeout; accepted: an integer from 1 to 3600",
            "invalid value \"0\" for maxConnections; accepted: an integer from 1 to 1000000",
        ]
    );
}

// ---------------------------------------------------------------------------------------
// files the configuration names (load_file opens them; see config::files)

/// Writes `text` as `applicationHost.config` in `dir` and loads it from the file, on a thread
/// that must finish within seconds (a FIFO must not hang the loader).
fn load_file_within_seconds(dir: &Path, text: &str) -> Loaded {
    let path = dir.join("applicationHost.config");
    std::fs::write(&path, text).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(super::load_file(&path));
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("loading the configuration hung")
}

fn mkfifo(path: &Path) {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
}

#[test]
fn named_files_must_be_regular_and_small() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let big = dir.path().join("big.config");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(super::files::CONFIG_FILE_MAX + 1)
        .unwrap();
    for (source, why) in [
        (
            "/dev/zero".to_string(),
            "not a regular file (a character device)",
        ),
        (fifo.display().to_string(), "not a regular file (a FIFO)"),
        (big.display().to_string(), "larger than the 16 MiB limit"),
    ] {
        let text = one_site(
            SSL_ALLOW,
            &format!(
                "<system.ftpServer>\n    <firewallSupport configSource=\"{source}\" />\n  </system.ftpServer>"
            ),
        );
        let loaded = load_file_within_seconds(dir.path(), &text);
        assert_eq!(
            diags(&loaded),
            vec![(
                Severity::Error,
                16,
                22,
                format!("cannot read configSource file \"{source}\": {why}")
            )]
        );
    }
    // The same for the main file itself.
    let loaded = super::load_file(Path::new("/dev/zero"));
    assert_eq!(
        loaded.diagnostics[0].message,
        "cannot read the configuration file: not a regular file (a character device)"
    );
}

#[test]
fn certificate_files_are_loaded_and_reported_at_their_attribute() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.pem");
    mkfifo(&fifo);
    let ck = rcgen::generate_simple_self_signed(vec!["a.example".to_string()]).unwrap();
    let other = rcgen::generate_simple_self_signed(vec!["b.example".to_string()]).unwrap();
    std::fs::write(dir.path().join("a.crt"), ck.cert.pem()).unwrap();
    std::fs::write(dir.path().join("a.key"), ck.signing_key.serialize_pem()).unwrap();
    std::fs::write(dir.path().join("b.key"), other.signing_key.serialize_pem()).unwrap();
    let site_ssl = |cert: &str, key: &str| {
        format!(
            r#"<ftpServer><security><ssl controlChannelPolicy="SslAllow" dataChannelPolicy="SslAllow" certificateFile="{cert}" privateKeyFile="{key}" /></security></ftpServer>"#
        )
    };
    let fifo_shown = fifo.display().to_string();
    let cases = [
        (
            site_ssl("/dev/zero", "a.key"),
            (11, 96),
            "cannot read /dev/zero: not a regular file (a character device)".to_string(),
        ),
        (
            site_ssl("a.crt", &fifo_shown),
            (11, 120),
            format!("cannot read {fifo_shown}: not a regular file (a FIFO)"),
        ),
        (
            site_ssl("a.crt", "b.key"),
            (11, 120),
            format!("{}: ", dir.path().join("b.key").display()),
        ),
    ];
    for (ftp_server, (line, column), why) in cases {
        let loaded = load_file_within_seconds(dir.path(), &one_site(&ftp_server, ""));
        let d = diags(&loaded);
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(
            (d[0].0, d[0].1, d[0].2),
            (Severity::Error, line, column),
            "{d:#?}"
        );
        assert!(
            d[0].3.starts_with(&format!("site \"s\": TLS: {why}")),
            "{}",
            d[0].3
        );
    }
    // Good files load; the admin listener's certificate is checked the same way.
    let good = load_file_within_seconds(dir.path(), &one_site(&site_ssl("a.crt", "a.key"), ""));
    assert!(good.diagnostics.is_empty(), "{:#?}", good.diagnostics);
    let admin = one_site(
        SSL_ALLOW,
        r#"<system.ftpServer><administration certificateFile="a.crt" privateKeyFile="/dev/zero" /></system.ftpServer>"#,
    );
    let loaded = load_file_within_seconds(dir.path(), &admin);
    let d = diags(&loaded);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!((d[0].1, d[0].2), (15, 61), "{d:#?}");
    assert_eq!(
        d[0].3,
        "administration: HTTPS certificate: cannot read /dev/zero: not a regular file (a \
         character device)"
    );
}
