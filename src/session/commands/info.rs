//! FEAT, OPTS, STAT, HELP, SITE (RFC 959 §4.1.3, RFC 2389).

use std::io;

use wharf_proto::Reply;
use wharf_proto::command::{OptsArg, SiteCmd, TypeCode};
use wharf_proto::feat::{FeatOptions, feature_lines};
use wharf_proto::listing::MlstFacts;

use super::super::{Flow, Session};

/// Commands listed by HELP.
const HELP_VERBS: &str = "ABOR ACCT ALLO APPE AUTH CCC CDUP CLNT CWD DELE EPRT EPSV FEAT HELP HOST LIST MDTM MFMT MKD MLSD MLST MODE NLST NOOP OPTS PASS PASV PBSZ PORT PROT PWD QUIT REIN REST RETR RMD RNFR RNTO SITE SIZE STAT STOR STOU STRU SYST TYPE USER XCUP XCWD XMKD XPWD XRMD";

impl Session {
    pub(in crate::session) async fn cmd_feat(&mut self) -> io::Result<Flow> {
        let options = FeatOptions {
            utf8: self.site.config.ftp.allow_utf8,
            tls: self.site.tls.is_some(),
            host: true,
        };
        let mut lines = vec!["Extensions supported:".to_string()];
        lines.extend(
            feature_lines(&options, &self.mlst_facts.feat_line())
                .into_iter()
                .map(|l| format!(" {l}")),
        );
        lines.push("End".to_string());
        self.reply(Reply::multi(211, lines)).await?;
        Ok(Flow::Continue)
    }

    pub(in crate::session) async fn cmd_opts(&mut self, opts: OptsArg) -> io::Result<Flow> {
        match opts {
            OptsArg::Utf8(on) => {
                if !self.site.config.ftp.allow_utf8 {
                    return self.ok(504, "UTF8 is not allowed on this site.").await;
                }
                // Names are always UTF-8 here; OFF is accepted for compatibility.
                self.ok(
                    200,
                    format!(
                        "OPTS UTF8 command successful - UTF8 encoding now {}.",
                        if on { "ON" } else { "OFF" }
                    ),
                )
                .await
            }
            OptsArg::Mlst(names) => {
                self.mlst_facts = MlstFacts::from_names(&names);
                let text = format!("MLST OPTS {}", self.mlst_facts.names());
                self.ok(200, text).await
            }
            OptsArg::Other(name, _) => self.ok(501, format!("Option {name} not understood.")).await,
        }
    }

    pub(in crate::session) async fn cmd_stat(&mut self, path: Option<String>) -> io::Result<Flow> {
        if let Some(path) = path {
            return self.stat_path(&path).await;
        }
        let record = self.handle.record();
        let mut lines = vec![
            "Wharf FTP server status:".to_string(),
            format!("Connected to {}", record.client_ip),
            format!("Session {}", record.session_id),
            if record.user_name.is_empty() {
                "Not logged in".to_string()
            } else {
                format!("Logged in as {}", record.user_name)
            },
            format!(
                "TYPE: {}, STRU: File, MODE: Stream",
                if self.type_code == TypeCode::Ascii {
                    "ASCII"
                } else {
                    "BINARY"
                }
            ),
            format!(
                "Bytes sent {}, bytes received {}",
                record.bytes_sent, record.bytes_received
            ),
        ];
        if let Some(tls) = &record.tls {
            lines.push(format!(
                "TLS: control {}, data {} ({} {})",
                if tls.control_protected {
                    "protected"
                } else {
                    "clear (CCC)"
                },
                if tls.data_protected {
                    "protected (PROT P)"
                } else {
                    "clear (PROT C)"
                },
                tls.protocol_version,
                tls.cipher_suite
            ));
        }
        match &record.transfer {
            Some(t) => lines.push(format!(
                "Transferring {} ({}): {} of {} bytes",
                t.path,
                t.direction.as_str(),
                t.bytes,
                t.size
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "?".to_string())
            )),
            None => lines.push("No data connection".to_string()),
        }
        lines.push("End of status".to_string());
        self.reply(Reply::multi(211, lines)).await?;
        Ok(Flow::Continue)
    }

    pub(in crate::session) async fn cmd_help(&mut self, topic: Option<String>) -> io::Result<Flow> {
        if let Some(topic) = topic {
            let verb = topic.trim().to_ascii_uppercase();
            if HELP_VERBS.split(' ').any(|v| v == verb) {
                return self.ok(214, format!("{verb} is supported.")).await;
            }
            return self.ok(502, format!("Unknown command {verb}.")).await;
        }
        let mut lines = vec!["The following commands are recognized:".to_string()];
        let verbs: Vec<&str> = HELP_VERBS.split(' ').collect();
        lines.extend(verbs.chunks(8).map(|c| format!(" {}", c.join(" "))));
        lines.push("Help OK.".to_string());
        self.reply(Reply::multi(214, lines)).await?;
        Ok(Flow::Continue)
    }

    pub(in crate::session) async fn cmd_site(&mut self, site: SiteCmd) -> io::Result<Flow> {
        match site {
            SiteCmd::Help => self
                .reply(Reply::multi(
                    214,
                    vec![
                        "The following SITE commands are recognized:".to_string(),
                        " HELP".to_string(),
                        "Help OK.".to_string(),
                    ],
                ))
                .await
                .map(|_| Flow::Continue),
            SiteCmd::Other(word, _) => self.ok(504, format!("SITE {word} is not supported.")).await,
        }
    }
}
