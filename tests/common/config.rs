//! Configuration XML built from parts ([`ConfigXml`], [`SiteXml`]), the `{ROOT}` /
//! `{HASH:…}` placeholders of templates ([`expand_template`]), and loading a configuration
//! that must have no error ([`load_checked`]).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use wharf::config::{Config, Severity};

/// The accounts of the standard configuration: (name, password, roles).
pub const USERS: &[(&str, &str, &str)] = &[
    ("alice", "alice-pw", "staff"),
    ("bob", "bob-pw", "readers"),
    ("carol", "carol-pw", ""),
    ("dave", "two words  and spaces", ""),
];

/// One `<site>`.
#[derive(Debug, Clone)]
pub struct SiteXml {
    /// `site@name`
    pub name: String,
    /// `site@id`
    pub id: u32,
    /// `bindingInformation` values.
    pub bindings: Vec<String>,
    /// More attributes of every `<binding>` (e.g. `implicitTls="true"`).
    pub binding_attrs: String,
    /// Extra `(virtual path, physical path)` virtual directories (the root is `{ROOT}/site`
    /// unless `root` says otherwise).
    pub vdirs: Vec<(String, String)>,
    /// Physical path of `/`.
    pub root: String,
    /// `anonymousAuthentication@enabled`
    pub anonymous: bool,
    /// `basicAuthentication@enabled`
    pub basic: bool,
    /// `ssl` element; `None` leaves it out (IIS default SslRequire).
    pub ssl: Option<String>,
    /// Extra children of `ftpServer/security`.
    pub security_extra: String,
    /// Extra children of `ftpServer` (messages, connections, …).
    pub ftp_extra: String,
    /// The `authorization` children of `<location path="NAME">`; `None` for no location.
    pub rules: Option<String>,
}

impl SiteXml {
    /// A site on `127.0.0.1:0:` serving `{ROOT}/site`, anonymous and basic logins on,
    /// TLS optional, everybody may read and write.
    pub fn new(name: &str) -> SiteXml {
        SiteXml {
            name: name.to_string(),
            id: 1,
            bindings: vec!["127.0.0.1:0:".to_string()],
            binding_attrs: String::new(),
            vdirs: Vec::new(),
            root: "{ROOT}/site".to_string(),
            anonymous: true,
            basic: true,
            ssl: Some(
                r#"<ssl controlChannelPolicy="SslAllow" dataChannelPolicy="SslAllow" />"#
                    .to_string(),
            ),
            security_extra: String::new(),
            ftp_extra: String::new(),
            rules: Some(
                r#"<add accessType="Allow" users="*" permissions="Read, Write" />"#.to_string(),
            ),
        }
    }

    /// Builder: replaces the extra `ftpServer` children.
    pub fn ftp(mut self, xml: &str) -> SiteXml {
        self.ftp_extra = xml.to_string();
        self
    }

    /// Builder: replaces the authorization rules of the site's location.
    pub fn rules(mut self, xml: &str) -> SiteXml {
        self.rules = Some(xml.to_string());
        self
    }

    /// Builder: no `<location>` for the site (the rules come from elsewhere).
    pub fn no_rules(mut self) -> SiteXml {
        self.rules = None;
        self
    }

    /// Builder: replaces the `ssl` element.
    pub fn ssl(mut self, xml: &str) -> SiteXml {
        self.ssl = Some(xml.to_string());
        self
    }

    /// Builder: `basicAuthentication@enabled`.
    pub fn basic(mut self, enabled: bool) -> SiteXml {
        self.basic = enabled;
        self
    }

    /// Builder: more attributes of every `<binding>`.
    pub fn binding_attrs(mut self, attrs: &str) -> SiteXml {
        self.binding_attrs = attrs.to_string();
        self
    }

    /// Builder: replaces the extra children of `ftpServer/security`.
    pub fn security(mut self, xml: &str) -> SiteXml {
        self.security_extra = xml.to_string();
        self
    }

    /// Builder: site id.
    pub fn id(mut self, id: u32) -> SiteXml {
        self.id = id;
        self
    }

    /// Builder: replaces the bindings.
    pub fn bindings(mut self, bindings: &[&str]) -> SiteXml {
        self.bindings = bindings.iter().map(|b| b.to_string()).collect();
        self
    }

    /// Builder: adds a virtual directory.
    pub fn vdir(mut self, path: &str, physical: &str) -> SiteXml {
        self.vdirs.push((path.to_string(), physical.to_string()));
        self
    }

    /// Builder: physical path of `/`.
    pub fn root(mut self, physical: &str) -> SiteXml {
        self.root = physical.to_string();
        self
    }

    fn site_xml(&self) -> String {
        let attrs = if self.binding_attrs.is_empty() {
            String::new()
        } else {
            format!(" {}", self.binding_attrs)
        };
        let bindings: String = self
            .bindings
            .iter()
            .map(|b| {
                format!(
                    "\n          <binding protocol=\"ftp\" bindingInformation=\"{b}\"{attrs} />"
                )
            })
            .collect();
        let vdirs: String = self
            .vdirs
            .iter()
            .map(|(v, p)| {
                format!("\n          <virtualDirectory path=\"{v}\" physicalPath=\"{p}\" />")
            })
            .collect();
        format!(
            r#"
      <site name="{name}" id="{id}">
        <application path="/">
          <virtualDirectory path="/" physicalPath="{root}" />{vdirs}
        </application>
        <bindings>{bindings}
        </bindings>
        <ftpServer>
          <security>
            {ssl}
            <authentication>
              <anonymousAuthentication enabled="{anon}" />
              <basicAuthentication enabled="{basic}" />
            </authentication>
            {security_extra}
          </security>
          {ftp_extra}
        </ftpServer>
      </site>"#,
            name = self.name,
            id = self.id,
            root = self.root,
            ssl = self.ssl.clone().unwrap_or_default(),
            anon = self.anonymous,
            basic = self.basic,
            security_extra = self.security_extra,
            ftp_extra = self.ftp_extra,
        )
    }

    fn location_xml(&self) -> String {
        match &self.rules {
            Some(rules) => location(&self.name, rules),
            None => String::new(),
        }
    }
}

/// `<location path="PATH">` with authorization rules.
pub fn location(path: &str, rules: &str) -> String {
    format!(
        r#"
  <location path="{path}">
    <system.ftpServer>
      <security>
        <authorization>
          {rules}
        </authorization>
      </security>
    </system.ftpServer>
  </location>"#
    )
}

/// A whole configuration.
#[derive(Debug, Clone)]
pub struct ConfigXml {
    /// The sites.
    pub sites: Vec<SiteXml>,
    /// `system.ftpServer/security/users` as (name, password, roles), each password written
    /// as a `{HASH:…}` placeholder; `None` leaves the element out.
    pub users: Option<Vec<(String, String, String)>>,
    /// Server-wide `system.ftpServer/security/authorization` rules; `None` for none.
    pub rules: Option<String>,
    /// Extra children of the server-wide `system.ftpServer` (besides `security/users`).
    pub global_extra: String,
    /// Extra `<location>` elements.
    pub locations: String,
}

impl ConfigXml {
    /// These sites, no users, no server-wide rules.
    pub fn new(sites: Vec<SiteXml>) -> ConfigXml {
        ConfigXml {
            sites,
            users: None,
            rules: None,
            global_extra: String::new(),
            locations: String::new(),
        }
    }

    /// One site, the standard users ([`USERS`]).
    pub fn single(site: SiteXml) -> ConfigXml {
        ConfigXml::new(vec![site]).users(USERS)
    }

    /// Builder: replaces the users (an empty list writes an empty `<users>` element).
    pub fn users(mut self, users: &[(&str, &str, &str)]) -> ConfigXml {
        let users = users
            .iter()
            .map(|(n, p, r)| (n.to_string(), p.to_string(), r.to_string()))
            .collect();
        self.users = Some(users);
        self
    }

    /// Builder: server-wide authorization rules.
    pub fn rules(mut self, xml: &str) -> ConfigXml {
        self.rules = Some(xml.to_string());
        self
    }

    /// Builder: adds `<location>` elements.
    pub fn locations(mut self, xml: &str) -> ConfigXml {
        self.locations.push_str(xml);
        self
    }

    /// Builder: extra server-wide `system.ftpServer` children.
    pub fn global(mut self, xml: &str) -> ConfigXml {
        self.global_extra.push_str(xml);
        self
    }

    /// The XML template.
    pub fn xml(&self) -> String {
        let sites: String = self.sites.iter().map(SiteXml::site_xml).collect();
        let rules = match &self.rules {
            Some(rules) => {
                format!("\n      <authorization>\n        {rules}\n      </authorization>")
            }
            None => String::new(),
        };
        let users = match &self.users {
            Some(users) => {
                let adds: String = users
                    .iter()
                    .map(|(n, p, r)| {
                        format!(
                            "\n        <add name=\"{n}\" password=\"{{HASH:{p}}}\" roles=\"{r}\" />"
                        )
                    })
                    .collect();
                format!("\n      <users>{adds}\n      </users>")
            }
            None => String::new(),
        };
        let security = if rules.is_empty() && users.is_empty() {
            String::new()
        } else {
            format!("\n    <security>{rules}{users}\n    </security>")
        };
        let site_locations: String = self.sites.iter().map(SiteXml::location_xml).collect();
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<configuration>
  <system.applicationHost>
    <sites>{sites}
    </sites>
  </system.applicationHost>
  <system.ftpServer>{security}
    {admin}{global}
  </system.ftpServer>{site_locations}{locations}
</configuration>
"#,
            global = self.global_extra,
            locations = self.locations,
            // The admin API would otherwise take the fixed default port 127.0.0.1:2180;
            // tests that want it name an ephemeral one with `.global(…)`.
            admin = if self.global_extra.contains("<administration") {
                ""
            } else {
                "<administration enabled=\"false\" />\n    "
            },
        )
    }
}

/// Escapes text for an XML attribute value.
pub fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Replaces `{ROOT}` and `{HASH:password}` placeholders.
pub fn expand_template(template: &str, root: &Path) -> String {
    let mut out = template.replace("{ROOT}", &root.display().to_string());
    while let Some(start) = out.find("{HASH:") {
        let end = start
            + out[start..]
                .find('}')
                .expect("unterminated {HASH: placeholder");
        let password = out[start + "{HASH:".len()..end].to_string();
        out.replace_range(start..=end, &hash(&password));
    }
    out
}

/// An argon2id PHC hash of `password` made by Wharf itself, cached per password so a test
/// binary hashes each password once.
pub fn hash(password: &str) -> String {
    static CACHE: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(h) = cache.lock().unwrap().get(password) {
        return h.clone();
    }
    let h = wharf::auth::hash_password(password);
    cache
        .lock()
        .unwrap()
        .insert(password.to_string(), h.clone());
    h
}

/// Loads the configuration file `path`, panicking (with the errors and the file's text) on
/// any error diagnostic.
pub fn load_checked(path: &Path) -> Config {
    let loaded = wharf::config::load_file(path);
    let errors: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "configuration has errors:\n{}\n--- config ---\n{}",
        errors.join("\n"),
        std::fs::read_to_string(path).unwrap_or_default()
    );
    loaded.config.unwrap_or_else(|| {
        panic!(
            "no configuration although no error; diagnostics: {:?}",
            loaded.diagnostics
        )
    })
}
