//! Configuration templates (with `{ROOT}` / `{HASH:…}` placeholders for [`super::TestServer`]).

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
        let bindings: String = self
            .bindings
            .iter()
            .map(|b| format!("\n          <binding protocol=\"ftp\" bindingInformation=\"{b}\" />"))
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
    /// Extra children of the server-wide `system.ftpServer` (besides `security/users`).
    pub global_extra: String,
    /// Extra `<location>` elements.
    pub locations: String,
}

impl ConfigXml {
    /// One site, the standard users.
    pub fn single(site: SiteXml) -> ConfigXml {
        ConfigXml {
            sites: vec![site],
            global_extra: String::new(),
            locations: String::new(),
        }
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
        let users: String = USERS
            .iter()
            .map(|(n, p, r)| {
                format!("\n        <add name=\"{n}\" password=\"{{HASH:{p}}}\" roles=\"{r}\" />")
            })
            .collect();
        let site_locations: String = self.sites.iter().map(SiteXml::location_xml).collect();
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<configuration>
  <system.applicationHost>
    <sites>{sites}
    </sites>
  </system.applicationHost>
  <system.ftpServer>
    <security>
      <users>{users}
      </users>
    </security>
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

/// The standard single-site configuration (`Test`).
pub fn standard() -> String {
    ConfigXml::single(SiteXml::new("Test")).xml()
}

/// The standard configuration with extra `ftpServer` children.
pub fn with_ftp(ftp_extra: &str) -> String {
    ConfigXml::single(SiteXml::new("Test").ftp(ftp_extra)).xml()
}
