//! The embedded default configuration (`wharf config default`, and `wharf serve` without
//! `--config`).
//!
//! Relative paths in it (the site root `ftproot`) are resolved against the **current
//! directory** when it is loaded with [`load_default`]; when an operator saves it with
//! `wharf config default > applicationHost.config`, they resolve against the directory
//! of that file instead, as for any configuration file.

use std::path::PathBuf;

use super::Loaded;

/// The embedded default configuration text.
pub const DEFAULT_CONFIG: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!--
  Wharf default configuration, in the shape of IIS applicationHost.config.

  One FTP site on 127.0.0.1:2121 serving the folder "ftproot" (relative paths are resolved
  against the directory of this file; for the built-in copy, against the current directory).
  Anonymous users may read; accounts from system.ftpServer/security/users may log in with
  basic authentication. The admin API listens on 127.0.0.1:2180.

  Check a configuration with:  wharf config check FILE
-->
<configuration>
  <system.applicationHost>
    <sites>
      <site name="Default FTP Site" id="1" serverAutoStart="true">
        <application path="/">
          <!-- The FTP root. %VAR% is expanded from the environment, e.g. %HOME%/ftp. -->
          <virtualDirectory path="/" physicalPath="ftproot" />
        </application>
        <bindings>
          <!-- IP:port:host. Use *:21: for every address on the standard port (needs the
               right to bind port 21), [::1]:2121: for IPv6. -->
          <binding protocol="ftp" bindingInformation="127.0.0.1:2121:" />
        </bindings>
        <ftpServer allowUTF8="true" serverAutoStart="true">
          <security>
            <!-- FTPS. IIS defaults both policies to SslRequire; here TLS is offered, never
                 forced, with a self-signed certificate generated on first start in the state
                 directory (Wharf extension). For a real certificate use
                 certificateFile="…/fullchain.pem" privateKeyFile="…/privkey.pem". -->
            <ssl controlChannelPolicy="SslAllow" dataChannelPolicy="SslAllow"
                 selfSignedCertificate="true" />
            <authentication>
              <anonymousAuthentication enabled="true" />
              <basicAuthentication enabled="true" />
            </authentication>
          </security>
          <directoryBrowse showFlags="StyleUnix" />
          <userIsolation mode="None" />
        </ftpServer>
      </site>
    </sites>
  </system.applicationHost>

  <system.ftpServer>
    <security>
      <!-- Who may do what. users="*" is everybody, "?" anonymous; permissions Read, Write.
           Narrow it per site or folder with <location path="Default FTP Site/dir">. -->
      <authorization>
        <add accessType="Allow" users="*" permissions="Read" />
      </authorization>
      <!-- Basic-authentication accounts (Wharf extension). Add one with the command
             wharf user add NAME
           (see its help for roles and the file to edit), which writes
             <add name="NAME" password="$argon2id$..." roles="a,b" />
           here. Passwords are stored only as argon2id hashes. -->
      <users>
      </users>
    </security>
    <!-- Admin API and live sessions page (Wharf extension); keep it on loopback, or add
         certificateFile="…" privateKeyFile="…" to serve HTTPS on another address. -->
    <administration enabled="true" bindingInformation="127.0.0.1:2180" />
  </system.ftpServer>
</configuration>
"#;

/// The name the embedded default goes by in diagnostics.
pub const DEFAULT_CONFIG_NAME: &str = "<embedded default>";

/// Loads [`DEFAULT_CONFIG`], resolving relative paths against the current directory.
/// The resulting [`super::Config::source`] is `None`.
pub fn load_default() -> Loaded {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let mut loaded = super::load_str(DEFAULT_CONFIG, &cwd.join(DEFAULT_CONFIG_NAME));
    if let Some(config) = loaded.config.as_mut() {
        config.source = None;
    }
    loaded
}
