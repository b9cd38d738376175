//! AUTH, PBSZ, PROT, CCC (RFC 2228, RFC 4217) and implicit FTPS; the data-channel policy.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use wharf_proto::Reply;
use wharf_proto::command::ProtLevel;
use wharf_proto::line::LineReader;

use super::super::data::DataTls;
use super::super::{Flow, Session};
use crate::config::model::DataChannelPolicy;
use crate::registry::EndReason;
use crate::tls::ChannelConfigs;
use crate::tls::policy::{self, AuthMechanism};

/// The least time CCC waits for the client's next bytes.
const CCC_MIN_WAIT: Duration = Duration::from_secs(10);

impl Session {
    /// The handshake limit: the login allowance (at least 5 s).
    fn handshake_limit(&self) -> Duration {
        self.site
            .config
            .ftp
            .connections
            .unauthenticated_timeout
            .max(Duration::from_secs(5))
    }

    /// Runs the TLS handshake on the control connection and records the result.
    async fn control_handshake(&mut self, config: Arc<ChannelConfigs>) -> io::Result<()> {
        let limit = self.handshake_limit();
        // Terminate and shutdown are not held up by a slow handshake.
        let cancel = self.handle.cancel_token().clone();
        let drain = self.drain.clone();
        tokio::select! {
            result = self.control.upgrade(config.control.clone(), limit) => result?,
            _ = cancel.cancelled() => return Err(interrupted()),
            _ = drain.cancelled() => return Err(interrupted()),
        }
        let conn = self
            .control
            .tls()
            .ok_or_else(|| io::Error::other("TLS vanished after the handshake"))?;
        let negotiated = crate::tls::negotiated(conn);
        self.tls.client_cert = conn.peer_certificates().and_then(|c| c.first().cloned());
        self.tls.config = Some(config);
        self.tls.record.control_protected = true;
        self.tls.record.protocol_version = negotiated.protocol_version;
        self.tls.record.cipher_suite = negotiated.cipher_suite;
        tracing::info!(
            version = %self.tls.record.protocol_version,
            cipher = %self.tls.record.cipher_suite,
            client_certificate = self.tls.client_cert.is_some(),
            "TLS on the control connection"
        );
        self.publish_tls();
        Ok(())
    }

    /// Shows the TLS state in the session record.
    fn publish_tls(&self) {
        let mut record = self.tls.record.clone();
        record.data_protected = self.tls.prot_private;
        // The data task may have set the resumption flag since.
        if let Some(current) = self.handle.record().tls {
            record.data_channel_resumed = current.data_channel_resumed;
        }
        self.handle.set_tls(Some(record));
    }

    /// Implicit FTPS: the handshake before the banner.
    pub(in crate::session) async fn start_implicit_tls(&mut self) -> Result<(), EndReason> {
        let Some(tls) = self.site.tls.clone() else {
            tracing::warn!(site = %self.site.name, "implicit-TLS binding but the site has no certificate (substatus 31); closing");
            return Err(EndReason::Error);
        };
        let configs = match tls.session_configs() {
            Ok(configs) => configs,
            Err(e) => {
                tracing::error!(error = %e, "no TLS configuration for this session; closing");
                return Err(EndReason::Error);
            }
        };
        if let Err(e) = self.control_handshake(configs).await {
            if e.kind() == io::ErrorKind::Interrupted {
                return Err(match self.handle.terminate_request() {
                    Some(_) => EndReason::Terminated,
                    None => EndReason::ServerShutdown,
                });
            }
            tracing::info!(error = %e, "implicit TLS handshake failed");
            return Err(handshake_end(&e));
        }
        // Implicit FTPS protects data by default (the client need not send PBSZ/PROT),
        // unless the policy denies it.
        self.tls.pbsz = true;
        self.tls.prot_private =
            self.site.config.ftp.ssl.data_channel_policy != DataChannelPolicy::SslDeny;
        self.publish_tls();
        Ok(())
    }

    pub(in crate::session) async fn cmd_auth(&mut self, mechanism: &str) -> io::Result<Flow> {
        let Some(kind) = policy::auth_mechanism(mechanism) else {
            return self
                .ok(
                    504,
                    format!("AUTH {mechanism} is not supported; use AUTH TLS."),
                )
                .await;
        };
        if self.control.is_tls() {
            return self
                .ok(503, "TLS is already active on the control connection.")
                .await;
        }
        let Some(tls) = self.site.tls.clone() else {
            tracing::info!(site = %self.site.name, "AUTH refused: no certificate (substatus 31)");
            return self
                .ok(431, "TLS is not available: this site has no certificate.")
                .await;
        };
        let configs = match tls.session_configs() {
            Ok(configs) => configs,
            Err(e) => {
                tracing::error!(error = %e, "no TLS configuration for this session");
                return self.ok(431, "TLS is not available right now.").await;
            }
        };
        self.reply(Reply::new(
            234,
            format!("AUTH {mechanism} command ok; expecting TLS negotiation."),
        ))
        .await?;
        // Clear-text bytes that followed AUTH are dropped: nothing sent before the handshake
        // may run as if it had been protected (STARTTLS command injection).
        self.pending.clear();
        self.lines = LineReader::new(self.site.config.ftp.max_command_line);
        if let Err(e) = self.control_handshake(configs).await {
            if e.kind() == io::ErrorKind::Interrupted {
                // The control loop sees the terminate or shutdown next and ends the session.
                return Ok(Flow::Continue);
            }
            tracing::info!(error = %e, "TLS handshake after AUTH failed");
            return Ok(Flow::End(handshake_end(&e)));
        }
        // A new security context: PBSZ/PROT start over (RFC 4217 §9).
        self.tls.pbsz = false;
        self.tls.prot_private = kind == AuthMechanism::ControlAndData
            && self.site.config.ftp.ssl.data_channel_policy != DataChannelPolicy::SslDeny;
        self.publish_tls();
        Ok(Flow::Continue)
    }

    pub(in crate::session) async fn cmd_pbsz(&mut self, _size: u64) -> io::Result<Flow> {
        if self.tls.config.is_none() {
            return self
                .ok(503, "PBSZ needs a TLS session: send AUTH TLS first.")
                .await;
        }
        self.tls.pbsz = true;
        // TLS is a stream: the only buffer size is 0 (RFC 4217 §8).
        self.ok(200, "PBSZ=0").await
    }

    pub(in crate::session) async fn cmd_prot(&mut self, level: ProtLevel) -> io::Result<Flow> {
        let data_policy = self.site.config.ftp.ssl.data_channel_policy;
        match policy::prot(data_policy, self.tls.config.is_some(), self.tls.pbsz, level) {
            Ok(private) => {
                self.tls.prot_private = private;
                self.publish_tls();
                let text = if private {
                    "Protection level set to P (private)."
                } else {
                    "Protection level set to C (clear)."
                };
                self.ok(200, text).await
            }
            Err(refusal) => {
                if refusal.code == 534 {
                    tracing::info!(?level, policy = ?data_policy, "PROT refused by dataChannelPolicy (substatus 24/27)");
                }
                self.reply(refusal).await.map(|_| Flow::Continue)
            }
        }
    }

    pub(in crate::session) async fn cmd_ccc(&mut self) -> io::Result<Flow> {
        if let Some(refusal) = policy::ccc_refusal(
            self.site.config.ftp.ssl.control_channel_policy,
            self.control.is_tls(),
            self.is_logged_in(),
        ) {
            return self.reply(refusal).await.map(|_| Flow::Continue);
        }
        self.reply(Reply::new(
            200,
            "CCC command successful; the control connection continues in clear text.",
        ))
        .await?;
        // The client may stay silent for as long as the idle timeout allows; terminate and
        // shutdown still get through.
        let limit = self
            .site
            .config
            .ftp
            .connections
            .control_channel_timeout
            .max(CCC_MIN_WAIT);
        let cancel = self.handle.cancel_token().clone();
        let drain = self.drain.clone();
        let result = tokio::select! {
            result = self.control.downgrade(limit) => result,
            _ = cancel.cancelled() => return Ok(Flow::Continue),
            _ = drain.cancelled() => return Ok(Flow::Continue),
        };
        if let Err(e) = result {
            tracing::info!(error = %e, "CCC: TLS shutdown failed");
            return Ok(Flow::End(match e.kind() {
                io::ErrorKind::TimedOut => EndReason::ControlTimeout,
                io::ErrorKind::UnexpectedEof => EndReason::ClientClosed,
                _ => EndReason::Error,
            }));
        }
        self.lines = LineReader::new(self.site.config.ftp.max_command_line);
        self.tls.record.control_protected = false;
        self.publish_tls();
        Ok(Flow::Continue)
    }

    /// The data-channel policy for a transfer about to start (`None`: go ahead).
    pub(in crate::session) fn data_policy_refusal(&self) -> Option<Reply> {
        policy::data_refusal(
            self.site.config.ftp.ssl.data_channel_policy,
            self.tls.prot_private && self.tls.config.is_some(),
        )
    }

    /// TLS parameters for the next data connection (`None` with PROT C).
    pub(in crate::session) fn data_tls(&self) -> Option<DataTls> {
        if !self.tls.prot_private {
            return None;
        }
        Some(DataTls {
            config: self.tls.config.as_ref()?.data.clone(),
            require_resumption: self.site.config.ftp.ssl.require_data_channel_resumption,
            client_cert: self.tls.client_cert.clone(),
        })
    }
}

fn interrupted() -> io::Error {
    io::Error::new(
        io::ErrorKind::Interrupted,
        "session ended during the TLS handshake",
    )
}

/// A failed handshake: a client that went away, or a TLS error.
fn handshake_end(e: &io::Error) -> EndReason {
    match e.kind() {
        io::ErrorKind::UnexpectedEof
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::BrokenPipe => EndReason::ClientClosed,
        _ => EndReason::Error,
    }
}
