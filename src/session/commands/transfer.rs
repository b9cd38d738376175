//! PORT, EPRT, PASV, EPSV, TYPE, STRU, MODE, REST, RETR, STOR, APPE, STOU, ABOR and the
//! end of a transfer (RFC 959 §4.1.2–4.1.3, RFC 2428, RFC 3659 §5).

use std::io;
use std::net::{IpAddr, SocketAddr};

use wharf_proto::command::{EpsvArg, StructureCode, TransferMode, TypeCode};
use wharf_proto::hostport::{format_epsv, format_pasv};
use wharf_proto::listing::EntryKind;
use wharf_proto::{Reply, VirtualPath};

use super::super::data::{
    DataParams, DataSetup, Payload, RunningTransfer, TransferContext, TransferOutcome, UploadKind,
};
use super::super::outcome::storage_reply;
use super::super::{Flow, Session};
use super::fileops::resolve_or_reply;
use crate::auth::Permission;
use crate::registry::TransferDirection;
use crate::storage::{StorageErrorKind, WriteMode};

/// How long ABOR waits for the cancelled transfer task to stop before it is abandoned.
const ABOR_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

impl Session {
    pub(in crate::session) async fn cmd_port(
        &mut self,
        target: SocketAddr,
        verb: &'static str,
    ) -> io::Result<Flow> {
        if self.epsv_all {
            return self
                .ok(503, format!("{verb} not allowed after EPSV ALL."))
                .await;
        }
        let security = self.site.config.ftp.data_channel_security;
        if security.match_client_address_for_port {
            // Bounce protection (RFC 2577 §3): only the client itself, never a privileged port.
            if target.ip().to_canonical() != self.handle.client.ip().to_canonical() {
                tracing::warn!(%target, "refused {verb} to a foreign address");
                return self
                    .ok(
                        504,
                        format!(
                            "{verb} refused: the data address must be the client's own address."
                        ),
                    )
                    .await;
            }
            if target.port() < 1024 {
                tracing::warn!(%target, "refused {verb} to a privileged port");
                return self
                    .ok(
                        504,
                        format!("{verb} refused: ports below 1024 are not allowed."),
                    )
                    .await;
            }
        }
        self.data = DataSetup::Active(target);
        self.handle.set_data_mode(verb);
        self.ok(200, format!("{verb} command successful.")).await
    }

    pub(in crate::session) async fn cmd_pasv(&mut self) -> io::Result<Flow> {
        if self.epsv_all {
            return self.ok(503, "PASV not allowed after EPSV ALL.").await;
        }
        let local = self.handle.server.ip().to_canonical();
        let advertised = match (self.site.config.ftp.external_ip4_address, local) {
            (Some(external), _) => external,
            (None, IpAddr::V4(v4)) => v4,
            (None, IpAddr::V6(_)) => {
                return self
                    .ok(425, "PASV needs IPv4; use EPSV on an IPv6 connection.")
                    .await;
            }
        };
        let Some(port) = self.open_passive(local).await? else {
            return Ok(Flow::Continue);
        };
        self.handle.set_data_mode("PASV");
        self.ok(227, format_pasv(advertised, port)).await
    }

    pub(in crate::session) async fn cmd_epsv(&mut self, arg: EpsvArg) -> io::Result<Flow> {
        let local = self.handle.server.ip().to_canonical();
        let family = if local.is_ipv4() { 1 } else { 2 };
        match arg {
            EpsvArg::All => {
                self.epsv_all = true;
                return self.ok(200, "EPSV ALL command successful.").await;
            }
            EpsvArg::Protocol(p) if p != family => {
                return self
                    .ok(
                        522,
                        format!("Network protocol not supported, use ({family})."),
                    )
                    .await;
            }
            _ => {}
        }
        let Some(port) = self.open_passive(local).await? else {
            return Ok(Flow::Continue);
        };
        self.handle.set_data_mode("EPSV");
        self.ok(229, format_epsv(port)).await
    }

    /// Binds a passive listener on the address the client reached; `None` after replying 425.
    async fn open_passive(&mut self, local: IpAddr) -> io::Result<Option<u16>> {
        // The previous passive listener (if unused) closes here.
        self.data = DataSetup::None;
        match self.shared.passive_ports.bind(local).await {
            Ok(listener) => {
                let port = listener.local_addr()?.port();
                self.data = DataSetup::Passive(listener);
                Ok(Some(port))
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot open a passive port");
                self.reply(Reply::new(425, "Can't open a passive data port."))
                    .await?;
                Ok(None)
            }
        }
    }

    pub(in crate::session) async fn cmd_type(&mut self, code: TypeCode) -> io::Result<Flow> {
        self.type_code = code;
        match code {
            TypeCode::Ascii => self.ok(200, "Type set to A.").await,
            TypeCode::Image => self.ok(200, "Type set to I.").await,
        }
    }

    pub(in crate::session) async fn cmd_stru(&mut self, code: StructureCode) -> io::Result<Flow> {
        match code {
            StructureCode::File => self.ok(200, "Structure set to F.").await,
            _ => self.ok(504, "Only file structure (F) is supported.").await,
        }
    }

    pub(in crate::session) async fn cmd_mode(&mut self, mode: TransferMode) -> io::Result<Flow> {
        match mode {
            TransferMode::Stream => self.ok(200, "Mode set to S.").await,
            _ => self.ok(504, "Only stream mode (S) is supported.").await,
        }
    }

    pub(in crate::session) async fn cmd_rest(&mut self, offset: u64) -> io::Result<Flow> {
        self.rest = offset;
        self.ok(
            350,
            format!("Restarting at {offset}. Send STORE or RETRIEVE to initiate transfer."),
        )
        .await
    }

    /// Checks the data-channel policy and that a data connection was set up; on failure
    /// replies and returns `None`.
    pub(in crate::session) async fn take_data_params(&mut self) -> io::Result<Option<DataParams>> {
        if let Some(refusal) = self.data_policy_refusal() {
            tracing::info!("transfer refused by dataChannelPolicy (substatus 24)");
            self.reply(refusal).await?;
            return Ok(None);
        }
        let setup = std::mem::take(&mut self.data);
        if matches!(setup, DataSetup::None) {
            self.reply(Reply::new(425, "Use PORT, EPRT, PASV or EPSV first."))
                .await?;
            return Ok(None);
        }
        let security = self.site.config.ftp.data_channel_security;
        Ok(Some(DataParams {
            setup,
            client_ip: self.handle.client.ip(),
            match_client_for_pasv: security.match_client_address_for_pasv,
            idle_timeout: self.site.config.ftp.connections.data_channel_timeout,
            tls: self.data_tls(),
        }))
    }

    pub(in crate::session) async fn cmd_retr(&mut self, arg: &str) -> io::Result<Flow> {
        let offset = std::mem::take(&mut self.rest);
        let (client_path, r) = resolve_or_reply!(self, arg, Permission::Read);
        if !self
            .site
            .config
            .ftp
            .file_handling
            .allow_read_uploads_in_progress
            && self.site.is_uploading(&r.site_path)
        {
            return self
                .ok(550, "The file is being uploaded and cannot be read yet.")
                .await;
        }
        // One storage call: opening refuses what is not a plain file (no separate stat,
        // which was a second path walk and thread hop per download).
        let handle = match r.storage.open_read(&r.rel, offset).await {
            Ok(h) => h,
            Err(e) if e.kind == StorageErrorKind::WrongKind => {
                return self.ok(550, "Not a plain file.").await;
            }
            Err(e) => return self.storage_failed(e).await,
        };
        let Some(params) = self.take_data_params().await? else {
            return Ok(Flow::Continue);
        };
        let ascii = self.type_code == TypeCode::Ascii;
        let mode = if ascii { "ASCII" } else { "BINARY" };
        let opening = format!(
            "Opening {mode} mode data connection for {client_path} ({} bytes).",
            handle.size
        );
        let size = Some(handle.size.saturating_sub(offset));
        let context = TransferContext::new("RETR", client_path.to_string());
        let payload = Payload::Download {
            reader: handle.reader,
            ascii,
            zero_copy: handle.zero_copy,
        };
        self.begin_transfer(
            params,
            opening,
            (TransferDirection::Download, size),
            payload,
            context,
        )
        .await
    }

    pub(in crate::session) async fn cmd_store(
        &mut self,
        arg: &str,
        kind: UploadKind,
    ) -> io::Result<Flow> {
        let offset = std::mem::take(&mut self.rest);
        let (client_path, r) = resolve_or_reply!(self, arg, Permission::Write);
        let mode = match kind {
            UploadKind::Appe => WriteMode::Append,
            UploadKind::Stou => WriteMode::CreateNew,
            UploadKind::Stor if offset > 0 => WriteMode::Resume(offset),
            UploadKind::Stor => WriteMode::Truncate,
        };
        self.start_upload(client_path, r, mode, kind).await
    }

    pub(in crate::session) async fn cmd_stou(&mut self, name: Option<String>) -> io::Result<Flow> {
        self.rest = 0;
        // RFC 1123 §4.1.2.9: the server picks a unique name in the current directory.
        let base = name
            .filter(|n| !n.contains('/'))
            .unwrap_or_else(|| "stou".to_string());
        for attempt in 0..16u32 {
            let candidate = if attempt == 0 && base != "stou" {
                base.clone()
            } else {
                format!("{base}.{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
            };
            let (client_path, r) = resolve_or_reply!(self, &candidate, Permission::Write);
            match r.storage.metadata(&r.rel).await {
                Ok(_) => continue,
                Err(e) if e.kind == crate::storage::StorageErrorKind::NotFound => {
                    return self
                        .start_upload(client_path, r, WriteMode::CreateNew, UploadKind::Stou)
                        .await;
                }
                Err(e) => return self.storage_failed(e).await,
            }
        }
        self.ok(553, "Could not find a unique file name.").await
    }

    async fn start_upload(
        &mut self,
        client_path: VirtualPath,
        r: crate::storage::vdirs::Resolved,
        mode: WriteMode,
        kind: UploadKind,
    ) -> io::Result<Flow> {
        if self.site.is_uploading(&r.site_path) {
            return self
                .ok(450, "Another upload to this file is in progress.")
                .await;
        }
        if matches!(mode, WriteMode::Truncate)
            && let Ok(entry) = r.storage.metadata(&r.rel).await
            && entry.kind != EntryKind::File
        {
            return self.ok(550, "Not a plain file.").await;
        }
        // Check the data connection before touching the file, so a refused transfer
        // does not truncate anything.
        if self.data_policy_refusal().is_some() || matches!(self.data, DataSetup::None) {
            let _ = self.take_data_params().await?;
            return Ok(Flow::Continue);
        }
        let target = match r.storage.open_write(&r.rel, mode).await {
            Ok(target) => target,
            Err(e) => return self.storage_failed(e).await,
        };
        let Some(params) = self.take_data_params().await? else {
            return Ok(Flow::Continue);
        };
        let ascii = self.type_code == TypeCode::Ascii;
        let text = match kind {
            UploadKind::Stou => format!("FILE: {}", client_path.file_name().unwrap_or_default()),
            _ => format!(
                "Opening {} mode data connection for {client_path}.",
                if ascii { "ASCII" } else { "BINARY" }
            ),
        };
        let keep = self.site.config.ftp.file_handling.keep_partial_uploads;
        let verb = match kind {
            UploadKind::Stor => "STOR",
            UploadKind::Appe => "APPE",
            UploadKind::Stou => "STOU",
        };
        let mut context = TransferContext::new(verb, client_path.to_string());
        // STOR and STOU are written aside: the name changes only through this completion.
        // Appends and resumes write in place and never lose what was stored before.
        context.completion = target.completion;
        context.keep_partial = keep;
        context._upload_guard = Some(self.site.begin_upload(r.site_path.clone()));
        let payload = Payload::Upload {
            writer: target.writer,
            ascii,
            direct: target.direct,
        };
        self.begin_transfer(
            params,
            text,
            (TransferDirection::Upload, None),
            payload,
            context,
        )
        .await
    }

    pub(in crate::session) async fn cmd_abor(&mut self) -> io::Result<Flow> {
        match self.transfer.take() {
            Some(mut transfer) => {
                // Stop the transfer and answer now (426 for it, then 226 for ABOR, RFC 959
                // §4.1.3) without waiting for more input: a second ABOR right behind this one
                // then finds no transfer and gets its own reply. Cancellation is seen within
                // one copy step (the download thread polls every 100 ms).
                transfer.context.aborted = true;
                transfer.cancel.cancel();
                let outcome = match tokio::time::timeout(ABOR_WAIT, transfer.wait()).await {
                    Ok(outcome) => outcome,
                    Err(_) => {
                        tracing::warn!("transfer did not stop within {ABOR_WAIT:?} of ABOR");
                        transfer.join.abort();
                        TransferOutcome::Cancelled
                    }
                };
                self.transfer_finished(transfer, outcome).await?;
                Ok(Flow::Continue)
            }
            None => {
                self.data = DataSetup::None;
                self.ok(225, "No transfer to abort.").await
            }
        }
    }

    /// Sends the final reply(ies) of a transfer and cleans up.
    pub(in crate::session) async fn transfer_finished(
        &mut self,
        transfer: RunningTransfer,
        outcome: TransferOutcome,
    ) -> io::Result<()> {
        self.handle.transfer_finished();
        self.handle.set_state(crate::registry::SessionState::Idle);
        // The idle clock counts time without commands or transfers: a long transfer
        // must not time the session out the moment it ends.
        self.last_command_at = tokio::time::Instant::now();
        let mut context = transfer.context;
        let complete = matches!(outcome, TransferOutcome::Complete { .. });
        // Published (or discarded) before the reply: 226 means the name holds the upload.
        let outcome = match context.settle_upload(complete).await {
            Err(e) if complete => TransferOutcome::Storage(e),
            Err(e) => {
                tracing::warn!(error = %e, path = %context.path, "could not keep a partial upload");
                outcome
            }
            Ok(()) => outcome,
        };
        drop(context._upload_guard);
        let reply = match outcome {
            TransferOutcome::Complete { bytes } => {
                tracing::debug!(verb = context.verb, path = %context.path, bytes, "transfer complete");
                Reply::new(226, "Transfer complete.")
            }
            TransferOutcome::NoConnection(message) => Reply::new(425, message),
            TransferOutcome::TlsRefused(message) => Reply::new(522, message),
            TransferOutcome::Cancelled => Reply::new(426, "Connection closed; transfer aborted."),
            TransferOutcome::TimedOut => {
                Reply::new(426, "Data connection timed out; transfer aborted.")
            }
            TransferOutcome::ConnectionLost(e) => {
                tracing::debug!(error = %e, "data connection lost");
                Reply::new(426, "Connection closed; transfer aborted.")
            }
            TransferOutcome::Storage(e) => {
                let detailed = self.site.config.ftp.messages.allow_local_detailed_errors
                    && self.client_is_local();
                let reply = storage_reply(&e, detailed);
                // Mid-transfer storage failures are local errors (451) unless out of space.
                if reply.code == 552 {
                    reply
                } else {
                    Reply::new(451, reply.lines.join(" "))
                }
            }
        };
        self.reply(reply).await?;
        if context.aborted {
            self.reply(Reply::new(226, "ABOR command successful."))
                .await?;
        }
        Ok(())
    }
}
