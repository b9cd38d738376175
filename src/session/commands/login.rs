//! USER, PASS, QUIT, REIN, HOST (RFC 959 §4.1.1, RFC 7151).

use std::io;

use wharf_proto::{Reply, VirtualPath};

use super::super::{Flow, LoggedIn, Login, Session};
use crate::auth::Identity;
use crate::limits::FAILED_LOGIN_DELAY;
use crate::registry::{EndReason, SessionState};
use crate::storage::vdirs::UserView;

impl Session {
    pub(in crate::session) async fn cmd_user(&mut self, raw: String) -> io::Result<Flow> {
        if self.is_logged_in() {
            // A new USER starts a new login (RFC 959 allows it); drop the old one.
            self.reset_login();
        }
        let (host, user) = self.split_virtual_host(&raw);
        if let Some(host) = host {
            if self.host_chosen && !self.handle.record().host_name.eq_ignore_ascii_case(host) {
                return self
                    .ok(503, "A different host was already chosen with HOST.")
                    .await;
            }
            match self.endpoint.site_for_host(self.handle.server.ip(), host) {
                Some(site) => self.choose_site(site, host),
                None => {
                    tracing::info!(%host, "USER names an unknown virtual host (substatus 37)");
                    self.login = Login::AwaitingPass {
                        user: String::new(),
                    };
                    return self.ok(331, format!("Password required for {user}.")).await;
                }
            }
        } else if self.endpoint.has_virtual_hosts()
            && !self.host_chosen
            && self
                .endpoint
                .default_site(self.handle.server.ip())
                .is_some_and(|(_, hostless)| !hostless)
        {
            // Only host-named bindings here and no host given: nothing can log in.
            self.login = Login::AwaitingPass {
                user: String::new(),
            };
            return self.ok(331, format!("Password required for {user}.")).await;
        }
        // The site chosen by `host|user` may have a stricter policy than the default one.
        if let Some(refusal) = self.credentials_refusal() {
            return self.reply(refusal).await.map(|_| Flow::Continue);
        }
        let user = user.to_string();
        let text = if is_anonymous_name(&user) {
            "Anonymous access allowed, send identity (e-mail name) as password.".to_string()
        } else {
            format!("Password required for {user}.")
        };
        self.login = Login::AwaitingPass { user };
        self.ok(331, text).await
    }

    pub(in crate::session) async fn cmd_pass(&mut self, password: String) -> io::Result<Flow> {
        let user = match &self.login {
            Login::AwaitingPass { user } => user.clone(),
            Login::LoggedIn(_) => return self.ok(503, "Already logged in.").await,
            Login::AwaitingUser => return self.ok(503, "Login with USER first.").await,
        };
        self.login = Login::AwaitingUser;
        if let Some(refusal) = self.credentials_refusal() {
            return self.reply(refusal).await.map(|_| Flow::Continue);
        }
        let auth = self.site.config.ftp.authentication;
        let identity = if user.is_empty() {
            None
        } else if is_anonymous_name(&user) {
            auth.anonymous.then(Identity::anonymous)
        } else if auth.basic {
            self.shared.authenticator.verify(&user, &password).await
        } else {
            None
        };
        let Some(identity) = identity else {
            self.site.metrics.login(false);
            tracing::info!(%user, "login failed");
            tokio::time::sleep(FAILED_LOGIN_DELAY).await;
            return self.ok(530, "User cannot log in.").await;
        };
        let (view, start) = match UserView::for_user(
            self.site.tree.clone(),
            self.site.config.ftp.user_isolation,
            &identity,
        )
        .await
        {
            Ok(v) => v,
            Err(missing) => {
                self.site.metrics.login(false);
                tracing::warn!(user = %identity.name, home = %missing.expected, "home directory missing (substatus 33)");
                tokio::time::sleep(FAILED_LOGIN_DELAY).await;
                return self
                    .ok(530, "User cannot log in, home directory inaccessible.")
                    .await;
            }
        };
        self.site.metrics.login(true);
        tracing::info!(user = %identity.name, "logged in");
        self.handle.set_user(identity.display_name());
        self.cwd = start;
        self.handle.set_directory(self.cwd.to_string());
        self.handle.set_state(SessionState::Idle);
        self.login = Login::LoggedIn(Box::new(LoggedIn { identity, view }));
        let mut lines = Vec::new();
        if let Some(greeting) = self.site.config.ftp.messages.greeting_message.clone() {
            lines.extend(self.message_lines(&greeting));
        }
        lines.push("User logged in.".to_string());
        self.reply(Reply::multi(230, lines)).await?;
        Ok(Flow::Continue)
    }

    pub(in crate::session) async fn cmd_quit(&mut self) -> io::Result<Flow> {
        let mut lines = Vec::new();
        if let Some(exit) = self.site.config.ftp.messages.exit_message.clone() {
            lines.extend(self.message_lines(&exit));
        }
        lines.push("Goodbye.".to_string());
        self.reply(Reply::multi(221, lines)).await?;
        Ok(Flow::End(EndReason::Quit))
    }

    pub(in crate::session) async fn cmd_rein(&mut self) -> io::Result<Flow> {
        if self.control.is_tls() {
            // RFC 2228 has REIN reset the security state too; tearing TLS down in place is
            // what CCC is for, so REIN is refused on a protected channel.
            return self
                .ok(
                    502,
                    "REIN is not available on a TLS session; reconnect to start over.",
                )
                .await;
        }
        self.reset_login();
        // REIN also forgets the virtual host (RFC 7151 §3.2).
        if let Some((site, _)) = self.endpoint.default_site(self.handle.server.ip()) {
            self.site = site;
            self.handle.set_site(self.site.name.clone(), "");
        }
        self.host_chosen = false;
        self.ok(220, "Service ready for new user.").await
    }

    pub(in crate::session) async fn cmd_host(&mut self, host: String) -> io::Result<Flow> {
        if self.is_logged_in() || matches!(self.login, Login::AwaitingPass { .. }) {
            return self.ok(503, "HOST must be sent before USER.").await;
        }
        let name = host.trim_start_matches('[').trim_end_matches(']');
        match self.endpoint.site_for_host(self.handle.server.ip(), name) {
            Some(site) => {
                self.choose_site(site, name);
                let reply = self.banner();
                self.reply(Reply {
                    code: 220,
                    lines: reply.lines,
                })
                .await?;
                Ok(Flow::Continue)
            }
            None => {
                tracing::info!(host = %name, "HOST names an unknown virtual host (substatus 37)");
                self.ok(504, format!("Unknown host: {name}.")).await
            }
        }
    }

    fn choose_site(&mut self, site: std::sync::Arc<crate::server::site::SiteRuntime>, host: &str) {
        self.handle
            .set_site(site.name.clone(), &host.to_ascii_lowercase());
        if site.config.ftp.max_command_line != self.site.config.ftp.max_command_line {
            // Complete lines are already queued; only an unfinished line is dropped.
            self.lines = wharf_proto::line::LineReader::new(site.config.ftp.max_command_line);
        }
        self.site = site;
        self.host_chosen = true;
    }

    /// Splits `host|user` (and `host\user` with `useDomainNameAsHostName`).
    fn split_virtual_host<'a>(&self, raw: &'a str) -> (Option<&'a str>, &'a str) {
        if let Some((host, user)) = raw.split_once('|') {
            return (Some(host), user);
        }
        if self.shared.config.global.use_domain_name_as_host_name
            && let Some((host, user)) = raw.split_once('\\')
            && self
                .endpoint
                .site_for_host(self.handle.server.ip(), host)
                .is_some()
        {
            return (Some(host), user);
        }
        (None, raw)
    }

    fn reset_login(&mut self) {
        self.login = Login::AwaitingUser;
        self.handle.set_user("");
        self.cwd = VirtualPath::root();
        self.handle.set_directory("/".to_string());
        self.rename_from = None;
        self.rest = 0;
        self.data = Default::default();
        self.handle.set_state(SessionState::Authenticating);
    }

    /// Under `SslRequire` / `SslRequireCredentialsOnly` credentials must travel over TLS
    /// (RFC 4217 reply 534, IIS substatus 26).
    fn credentials_refusal(&self) -> Option<Reply> {
        crate::tls::policy::control_refusal(
            self.site.config.ftp.ssl.control_channel_policy,
            self.control.is_tls(),
            &wharf_proto::command::Command::Pass(wharf_proto::command::Password(String::new())),
        )
    }
}

/// `anonymous` and `ftp` are the anonymous login names (case-insensitive).
fn is_anonymous_name(user: &str) -> bool {
    user.eq_ignore_ascii_case("anonymous") || user.eq_ignore_ascii_case("ftp")
}
