//! The IIS schema as Wharf reads it: one table per element, naming every attribute and child
//! element we know and what Wharf does with it. This is the auditable list of what is
//! supported, what is parsed but not implemented yet, what is Windows-only, and what is
//! ignored because it does not apply to Wharf.
//!
//! The lowering ([`super::lower`]) walks the document along these tables: every item not
//! marked [`Support::Yes`] or [`Support::Checked`] produces a warning with file:line:col,
//! and every name not in the tables produces an "unknown" warning. Children marked
//! `NotYet`/`WindowsOnly`/`Ignored` are not descended into (one warning per subtree).

/// What Wharf does with a known element or attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// Lowered into the model.
    Yes,
    /// Value validated (errors on invalid values) but not implemented yet: warning.
    Checked,
    /// A known IIS item Wharf does not implement yet: warning, ignored.
    NotYet,
    /// Windows-only (accounts, logon types, certificate stores, Active Directory): warning, ignored.
    WindowsOnly,
    /// A known item that has no meaning for Wharf; the text says why: warning, ignored.
    Ignored(&'static str),
}

/// One attribute or child element of a [`Schema`].
#[derive(Debug)]
pub struct Item {
    /// The IIS name (case-sensitive, as in XML).
    pub name: &'static str,
    /// What Wharf does with it.
    pub support: Support,
    /// Child elements only: may repeat (collection entries).
    pub many: bool,
    /// Child elements only: the child's own table when it is descended into.
    pub schema: Option<&'static Schema>,
}

/// The table of one element.
#[derive(Debug)]
pub struct Schema {
    /// The element's path, for messages and docs (`system.ftpServer/security/authorization`).
    pub path: &'static str,
    /// IIS configuration section: may be moved to another file with `configSource`.
    pub section: bool,
    /// Known attributes.
    pub attributes: &'static [Item],
    /// Known child elements.
    pub children: &'static [Item],
}

impl Schema {
    /// The attribute item `name`.
    pub fn attribute(&self, name: &str) -> Option<&'static Item> {
        self.attributes.iter().find(|i| i.name == name)
    }

    /// The child item `name`.
    pub fn child(&self, name: &str) -> Option<&'static Item> {
        self.children.iter().find(|i| i.name == name)
    }
}

/// Attributes IIS accepts on every element (configuration locking); warned as ignored.
pub const LOCKING_ATTRIBUTES: &[&str] = &[
    "lockAttributes",
    "lockAllAttributesExcept",
    "lockElements",
    "lockAllElementsExcept",
    "lockItem",
];

/// Why locking attributes are ignored.
pub const LOCKING: &str = "IIS configuration locking and delegation do not apply to Wharf";
const HTTP: &str = "it configures HTTP, not FTP";
const RUNTIME: &str = "it is runtime state, not configuration";
const SERVER_ONLY: &str = "this section can only be set at server level, outside <location>";

const fn attr(name: &'static str) -> Item {
    Item {
        name,
        support: Support::Yes,
        many: false,
        schema: None,
    }
}

const fn attr_as(name: &'static str, support: Support) -> Item {
    Item {
        name,
        support,
        many: false,
        schema: None,
    }
}

const fn one(name: &'static str, schema: &'static Schema) -> Item {
    Item {
        name,
        support: Support::Yes,
        many: false,
        schema: Some(schema),
    }
}

const fn many(name: &'static str, schema: &'static Schema) -> Item {
    Item {
        name,
        support: Support::Yes,
        many: true,
        schema: Some(schema),
    }
}

const fn skip(name: &'static str, support: Support) -> Item {
    Item {
        name,
        support,
        many: true,
        schema: None,
    }
}

const fn leaf(path: &'static str, attributes: &'static [Item]) -> Schema {
    Schema {
        path,
        section: false,
        attributes,
        children: &[],
    }
}

// ---------------------------------------------------------------------------------------
// configuration (root)

/// `<configuration>`.
pub static CONFIGURATION: Schema = Schema {
    path: "configuration",
    section: false,
    attributes: &[],
    children: &[
        one("system.applicationHost", &APPLICATION_HOST),
        one("system.ftpServer", &FTP_SERVER_GLOBAL),
        many("location", &LOCATION),
        skip(
            "configSections",
            Support::Ignored("Wharf has the section declarations built in"),
        ),
        skip("configProtectedData", Support::NotYet),
        skip("system.webServer", Support::Ignored(HTTP)),
        skip("system.web", Support::Ignored(HTTP)),
    ],
};

// ---------------------------------------------------------------------------------------
// system.applicationHost

static APPLICATION_HOST: Schema = Schema {
    path: "system.applicationHost",
    section: false,
    attributes: &[],
    children: &[
        one("sites", &SITES),
        skip("applicationPools", Support::Ignored(HTTP)),
        skip("customMetadata", Support::Ignored(HTTP)),
        skip("listenerAdapters", Support::Ignored(HTTP)),
        skip(
            "log",
            Support::Ignored("it is the HTTP log; FTP logging is site/ftpServer/logFile"),
        ),
        skip("webLimits", Support::Ignored(HTTP)),
        skip(
            "configHistory",
            Support::Ignored("IIS configuration history does not apply to Wharf"),
        ),
    ],
};

/// `system.applicationHost/sites`.
pub static SITES: Schema = Schema {
    path: "system.applicationHost/sites",
    section: true,
    attributes: &[],
    children: &[
        many("site", &SITE),
        one("siteDefaults", &SITE_DEFAULTS),
        skip("applicationDefaults", Support::NotYet),
        skip("virtualDirectoryDefaults", Support::NotYet),
    ],
};

static SITE: Schema = Schema {
    path: "system.applicationHost/sites/site",
    section: false,
    attributes: &[attr("name"), attr("id"), attr("serverAutoStart")],
    children: &[
        one("bindings", &BINDINGS),
        many("application", &APPLICATION),
        one("ftpServer", &FTP_SERVER),
        skip("limits", Support::Ignored(HTTP)),
        skip(
            "logFile",
            Support::Ignored("site/logFile is the HTTP log; FTP logging is ftpServer/logFile"),
        ),
        skip("traceFailedRequestsLogging", Support::Ignored(HTTP)),
        skip("hsts", Support::Ignored(HTTP)),
        skip("applicationDefaults", Support::NotYet),
        skip("virtualDirectoryDefaults", Support::NotYet),
    ],
};

static SITE_DEFAULTS: Schema = Schema {
    path: "system.applicationHost/sites/siteDefaults",
    section: false,
    attributes: &[
        attr("serverAutoStart"),
        attr_as("id", Support::Ignored("only a <site> has an id")),
        attr_as("name", Support::Ignored("only a <site> has a name")),
    ],
    children: &[
        one("ftpServer", &FTP_SERVER),
        skip(
            "bindings",
            Support::Ignored("Wharf does not inherit bindings; give each site its own"),
        ),
        skip("limits", Support::Ignored(HTTP)),
        skip("logFile", Support::Ignored(HTTP)),
        skip("traceFailedRequestsLogging", Support::Ignored(HTTP)),
    ],
};

static BINDINGS: Schema = Schema {
    path: "system.applicationHost/sites/site/bindings",
    section: false,
    attributes: &[],
    children: &[many("binding", &BINDING), many("clear", &CLEAR)],
};

static BINDING: Schema = leaf(
    "system.applicationHost/sites/site/bindings/binding",
    &[
        attr("protocol"),
        attr("bindingInformation"),
        // Wharf extension: implicit FTPS on any port (IIS: only port 990 is implicit).
        attr("implicitTls"),
        attr_as(
            "sslFlags",
            Support::Ignored("it applies to HTTPS bindings only"),
        ),
    ],
);

static CLEAR: Schema = leaf("clear", &[]);

static APPLICATION: Schema = Schema {
    path: "system.applicationHost/sites/site/application",
    section: false,
    attributes: &[
        attr("path"),
        attr_as("applicationPool", Support::Ignored(HTTP)),
        attr_as("enabledProtocols", Support::Ignored(HTTP)),
        attr_as("preloadEnabled", Support::Ignored(HTTP)),
        attr_as("serviceAutoStartEnabled", Support::Ignored(HTTP)),
        attr_as("serviceAutoStartProvider", Support::Ignored(HTTP)),
    ],
    children: &[
        many("virtualDirectory", &VIRTUAL_DIRECTORY),
        skip("virtualDirectoryDefaults", Support::NotYet),
    ],
};

static VIRTUAL_DIRECTORY: Schema = leaf(
    "system.applicationHost/sites/site/application/virtualDirectory",
    &[
        attr("path"),
        attr("physicalPath"),
        attr_as("userName", Support::WindowsOnly),
        attr_as("password", Support::WindowsOnly),
        attr_as("logonMethod", Support::WindowsOnly),
        attr_as(
            "allowSubDirConfig",
            Support::Ignored("web.config lookup does not apply to FTP"),
        ),
    ],
);

// ---------------------------------------------------------------------------------------
// site/ftpServer (and siteDefaults/ftpServer)

/// `site/ftpServer` and `siteDefaults/ftpServer`.
pub static FTP_SERVER: Schema = Schema {
    path: "system.applicationHost/sites/site/ftpServer",
    section: false,
    attributes: &[
        attr("allowUTF8"),
        attr("serverAutoStart"),
        attr_as("state", Support::Ignored(RUNTIME)),
        attr_as("lastStartupStatus", Support::Ignored(RUNTIME)),
    ],
    children: &[
        one("connections", &CONNECTIONS),
        one("security", &SITE_SECURITY),
        one("messages", &MESSAGES),
        one("fileHandling", &FILE_HANDLING),
        one("firewallSupport", &SITE_FIREWALL_SUPPORT),
        one("directoryBrowse", &DIRECTORY_BROWSE),
        one("userIsolation", &USER_ISOLATION),
        skip("logFile", Support::NotYet),
        skip("customFeatures", Support::NotYet),
        skip("sessions", Support::Ignored(RUNTIME)),
    ],
};

static CONNECTIONS: Schema = leaf(
    "site/ftpServer/connections",
    &[
        attr("controlChannelTimeout"),
        attr("dataChannelTimeout"),
        attr("unauthenticatedTimeout"),
        attr("maxConnections"),
        attr("resetOnMaxConnections"),
        attr("serverListenBacklog"),
        attr_as("disableSocketPooling", Support::Checked),
        attr_as("maxBandwidth", Support::Checked),
        attr_as("minBytesPerSecond", Support::Checked),
    ],
);

static SITE_SECURITY: Schema = Schema {
    path: "site/ftpServer/security",
    section: false,
    attributes: &[],
    children: &[
        one("ssl", &SSL),
        one("authentication", &SITE_AUTHENTICATION),
        one("dataChannelSecurity", &DATA_CHANNEL_SECURITY),
        one("commandFiltering", &COMMAND_FILTERING),
        one("sslClientCertificates", &SSL_CLIENT_CERTIFICATES),
        skip("customAuthorization", Support::NotYet),
    ],
};

static SSL: Schema = leaf(
    "site/ftpServer/security/ssl",
    &[
        attr("controlChannelPolicy"),
        attr("dataChannelPolicy"),
        attr("serverCertHash"),
        attr("ssl128"),
        attr_as("serverCertStoreName", Support::WindowsOnly),
        // Wharf extensions: PEM files instead of the Windows certificate store.
        attr("certificateFile"),
        attr("privateKeyFile"),
        attr("certificateStore"),
        attr("selfSignedCertificate"),
        attr("requireDataChannelResumption"),
    ],
);

static SSL_CLIENT_CERTIFICATES: Schema = leaf(
    "site/ftpServer/security/sslClientCertificates",
    &[
        attr("clientCertificatePolicy"),
        attr_as("validationFlags", Support::NotYet),
        attr_as("revocationFreshnessTime", Support::NotYet),
        attr_as("revocationUrlRetrievalTimeout", Support::NotYet),
        attr_as("useActiveDirectoryMapping", Support::WindowsOnly),
        // Wharf extension: the CA certificates (PEM) client certificates must chain to.
        attr("caFile"),
    ],
);

static SITE_AUTHENTICATION: Schema = Schema {
    path: "site/ftpServer/security/authentication",
    section: false,
    attributes: &[],
    children: &[
        one("anonymousAuthentication", &ANONYMOUS_AUTHENTICATION),
        one("basicAuthentication", &BASIC_AUTHENTICATION),
        skip("clientCertAuthentication", Support::NotYet),
        skip("customAuthentication", Support::NotYet),
    ],
};

static ANONYMOUS_AUTHENTICATION: Schema = leaf(
    "site/ftpServer/security/authentication/anonymousAuthentication",
    &[
        attr("enabled"),
        attr_as("userName", Support::WindowsOnly),
        attr_as("password", Support::WindowsOnly),
        attr_as("defaultLogonDomain", Support::WindowsOnly),
        attr_as("logonMethod", Support::WindowsOnly),
    ],
);

static BASIC_AUTHENTICATION: Schema = leaf(
    "site/ftpServer/security/authentication/basicAuthentication",
    &[
        attr("enabled"),
        attr_as("defaultLogonDomain", Support::WindowsOnly),
        attr_as("logonMethod", Support::WindowsOnly),
    ],
);

static DATA_CHANNEL_SECURITY: Schema = leaf(
    "site/ftpServer/security/dataChannelSecurity",
    &[
        attr("matchClientAddressForPort"),
        attr("matchClientAddressForPasv"),
    ],
);

static COMMAND_FILTERING: Schema = Schema {
    path: "site/ftpServer/security/commandFiltering",
    section: false,
    attributes: &[
        attr("maxCommandLine"),
        attr_as("allowUnlisted", Support::NotYet),
    ],
    children: &[
        skip("add", Support::NotYet),
        skip("remove", Support::NotYet),
        skip("clear", Support::NotYet),
    ],
};

static MESSAGES: Schema = leaf(
    "site/ftpServer/messages",
    &[
        attr("bannerMessage"),
        attr("greetingMessage"),
        attr("exitMessage"),
        attr("maxClientsMessage"),
        attr("suppressDefaultBanner"),
        attr("allowLocalDetailedErrors"),
        attr("expandVariables"),
    ],
);

static FILE_HANDLING: Schema = leaf(
    "site/ftpServer/fileHandling",
    &[
        attr("keepPartialUploads"),
        attr("allowReplaceOnRename"),
        attr("allowReadUploadsInProgress"),
    ],
);

static SITE_FIREWALL_SUPPORT: Schema = leaf(
    "site/ftpServer/firewallSupport",
    &[attr("externalIp4Address")],
);

static DIRECTORY_BROWSE: Schema = leaf(
    "site/ftpServer/directoryBrowse",
    &[
        attr("showFlags"),
        attr_as("virtualDirectoryTimeout", Support::NotYet),
    ],
);

static USER_ISOLATION: Schema = Schema {
    path: "site/ftpServer/userIsolation",
    section: false,
    attributes: &[attr("mode")],
    children: &[skip("activeDirectory", Support::WindowsOnly)],
};

// ---------------------------------------------------------------------------------------
// system.ftpServer (server level)

/// `system.ftpServer` at server level.
pub static FTP_SERVER_GLOBAL: Schema = Schema {
    path: "system.ftpServer",
    section: false,
    attributes: &[],
    children: &[
        one("firewallSupport", &GLOBAL_FIREWALL_SUPPORT),
        one("caching", &CACHING),
        one("serverRuntime", &SERVER_RUNTIME),
        one("security", &GLOBAL_SECURITY),
        one("administration", &ADMINISTRATION),
        skip("log", Support::NotYet),
        skip("providerDefinitions", Support::NotYet),
    ],
};

static GLOBAL_FIREWALL_SUPPORT: Schema = Schema {
    path: "system.ftpServer/firewallSupport",
    section: true,
    attributes: &[attr("lowDataChannelPort"), attr("highDataChannelPort")],
    children: &[],
};

static CACHING: Schema = Schema {
    path: "system.ftpServer/caching",
    section: true,
    attributes: &[],
    children: &[one("credentialsCache", &CREDENTIALS_CACHE)],
};

static CREDENTIALS_CACHE: Schema = leaf(
    "system.ftpServer/caching/credentialsCache",
    &[attr("enabled"), attr("flushInterval")],
);

static SERVER_RUNTIME: Schema = Schema {
    path: "system.ftpServer/serverRuntime",
    section: true,
    attributes: &[],
    children: &[one("hostNameSupport", &HOST_NAME_SUPPORT)],
};

static HOST_NAME_SUPPORT: Schema = leaf(
    "system.ftpServer/serverRuntime/hostNameSupport",
    &[attr("useDomainNameAsHostName")],
);

static GLOBAL_SECURITY: Schema = Schema {
    path: "system.ftpServer/security",
    section: false,
    attributes: &[],
    children: &[
        one("authorization", &AUTHORIZATION),
        one("users", &USERS),
        one("authentication", &GLOBAL_AUTHENTICATION),
        skip("ipSecurity", Support::NotYet),
        skip("requestFiltering", Support::NotYet),
    ],
};

static GLOBAL_AUTHENTICATION: Schema = Schema {
    path: "system.ftpServer/security/authentication",
    section: true,
    attributes: &[],
    children: &[skip("denyByFailure", Support::NotYet)],
};

/// `system.ftpServer/security/authorization` (server level and inside `<location>`).
pub static AUTHORIZATION: Schema = Schema {
    path: "system.ftpServer/security/authorization",
    section: true,
    attributes: &[],
    children: &[
        many("add", &AUTHORIZATION_ADD),
        many("remove", &AUTHORIZATION_REMOVE),
        many("clear", &CLEAR),
    ],
};

static AUTHORIZATION_ADD: Schema = leaf(
    "system.ftpServer/security/authorization/add",
    &[
        attr("accessType"),
        attr("users"),
        attr("roles"),
        attr("permissions"),
    ],
);

static AUTHORIZATION_REMOVE: Schema = leaf(
    "system.ftpServer/security/authorization/remove",
    &[attr("accessType"), attr("users"), attr("roles")],
);

/// `system.ftpServer/security/users` (Wharf extension).
pub static USERS: Schema = Schema {
    path: "system.ftpServer/security/users",
    section: true,
    attributes: &[],
    children: &[many("add", &USER_ADD)],
};

static USER_ADD: Schema = leaf(
    "system.ftpServer/security/users/add",
    &[attr("name"), attr("password"), attr("roles")],
);

/// `system.ftpServer/administration` (Wharf extension).
pub static ADMINISTRATION: Schema = Schema {
    path: "system.ftpServer/administration",
    section: true,
    attributes: &[
        attr("enabled"),
        attr("bindingInformation"),
        attr("tokenFile"),
        attr("endedSessionsRetention"),
        // Bounds on what clients of the admin listener can hold (Wharf extensions too).
        attr("headerReadTimeout"),
        attr("maxConnections"),
        attr("maxEventSubscribers"),
        // HTTPS: PEM files, as on <ssl>; plain HTTP off loopback only when allowed.
        attr("certificateFile"),
        attr("privateKeyFile"),
        attr("allowUnencryptedRemote"),
    ],
    children: &[],
};

// ---------------------------------------------------------------------------------------
// <location path="Site[/dir]">

static LOCATION: Schema = Schema {
    path: "location",
    section: false,
    attributes: &[
        attr("path"),
        attr_as("overrideMode", Support::Ignored(LOCKING)),
        attr_as("allowOverride", Support::Ignored(LOCKING)),
        attr_as(
            "inheritInChildApplications",
            Support::Ignored("FTP has no child applications"),
        ),
    ],
    children: &[
        one("system.ftpServer", &LOCATION_FTP_SERVER),
        skip("system.webServer", Support::Ignored(HTTP)),
        skip("system.web", Support::Ignored(HTTP)),
    ],
};

static LOCATION_FTP_SERVER: Schema = Schema {
    path: "location/system.ftpServer",
    section: false,
    attributes: &[],
    children: &[
        one("security", &LOCATION_SECURITY),
        skip("firewallSupport", Support::Ignored(SERVER_ONLY)),
        skip("caching", Support::Ignored(SERVER_ONLY)),
        skip("serverRuntime", Support::Ignored(SERVER_ONLY)),
        skip("administration", Support::Ignored(SERVER_ONLY)),
        skip("log", Support::Ignored(SERVER_ONLY)),
        skip("providerDefinitions", Support::Ignored(SERVER_ONLY)),
    ],
};

static LOCATION_SECURITY: Schema = Schema {
    path: "location/system.ftpServer/security",
    section: false,
    attributes: &[],
    children: &[
        one("authorization", &AUTHORIZATION),
        skip("ipSecurity", Support::NotYet),
        skip("requestFiltering", Support::NotYet),
        skip("authentication", Support::Ignored(SERVER_ONLY)),
        skip("users", Support::Ignored(SERVER_ONLY)),
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(schema: &'static Schema, seen: &mut Vec<&'static str>) {
        if seen.contains(&schema.path) {
            return;
        }
        seen.push(schema.path);
        for item in schema.children {
            assert_eq!(
                item.support == Support::Yes,
                item.schema.is_some(),
                "{}/{}: supported children have a table, others none",
                schema.path,
                item.name
            );
            if let Some(child) = item.schema {
                walk(child, seen);
            }
        }
        for (i, a) in schema.attributes.iter().enumerate() {
            assert!(
                !schema.attributes[..i].iter().any(|b| b.name == a.name),
                "duplicate attribute {} in {}",
                a.name,
                schema.path
            );
        }
        for (i, c) in schema.children.iter().enumerate() {
            assert!(
                !schema.children[..i].iter().any(|b| b.name == c.name),
                "duplicate child {} in {}",
                c.name,
                schema.path
            );
        }
    }

    #[test]
    fn tables_are_consistent() {
        let mut seen = Vec::new();
        walk(&CONFIGURATION, &mut seen);
        assert!(seen.len() > 30);
    }
}
