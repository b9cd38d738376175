//! MKD, RMD, DELE, RNFR/RNTO, SIZE, MDTM, MFMT.

use std::io;
use std::sync::Arc;

use wharf_proto::listing::{EntryKind, format_timeval};

use super::super::{Flow, Session};
use super::navigate::quote;
use crate::auth::Permission;

/// Early return with the refusing reply.
macro_rules! resolve_or_reply {
    ($self:ident, $arg:expr, $perm:expr) => {
        match $self.resolve($arg, $perm) {
            Ok(r) => r,
            Err(reply) => return $self.send(reply).await,
        }
    };
}
pub(in crate::session) use resolve_or_reply;

impl Session {
    pub(in crate::session) async fn cmd_mkd(&mut self, arg: &str) -> io::Result<Flow> {
        let (client_path, r) = resolve_or_reply!(self, arg, Permission::Write);
        match r.storage.create_dir(&r.rel).await {
            Ok(()) => {
                self.ok(
                    257,
                    format!("\"{}\" directory created.", quote(&client_path)),
                )
                .await
            }
            Err(e) => self.storage_failed(e).await,
        }
    }

    pub(in crate::session) async fn cmd_rmd(&mut self, arg: &str) -> io::Result<Flow> {
        let (_, r) = resolve_or_reply!(self, arg, Permission::Write);
        if r.rel.is_root() {
            // The root of a virtual directory is configuration, not content (IIS substatus 5).
            return self
                .ok(
                    550,
                    "Access is denied: cannot remove the root of a virtual directory.",
                )
                .await;
        }
        match r.storage.remove_dir(&r.rel).await {
            Ok(()) => self.ok(250, "RMD command successful.").await,
            Err(e) => self.storage_failed(e).await,
        }
    }

    pub(in crate::session) async fn cmd_dele(&mut self, arg: &str) -> io::Result<Flow> {
        let (_, r) = resolve_or_reply!(self, arg, Permission::Write);
        if self.site.is_uploading(&r.site_path) {
            return self
                .ok(450, "The file is being uploaded, try again later.")
                .await;
        }
        match r.storage.remove_file(&r.rel).await {
            Ok(()) => self.ok(250, "DELE command successful.").await,
            Err(e) => self.storage_failed(e).await,
        }
    }

    pub(in crate::session) async fn cmd_rnfr(&mut self, arg: &str) -> io::Result<Flow> {
        let (_, r) = resolve_or_reply!(self, arg, Permission::Write);
        if r.rel.is_root() {
            return self
                .ok(
                    550,
                    "Access is denied: cannot rename the root of a virtual directory.",
                )
                .await;
        }
        match r.storage.metadata(&r.rel).await {
            Ok(_) => {
                self.rename_from = Some(r);
                self.ok(350, "Requested file action pending further information.")
                    .await
            }
            Err(e) => self.storage_failed(e).await,
        }
    }

    pub(in crate::session) async fn cmd_rnto(&mut self, arg: &str) -> io::Result<Flow> {
        let Some(from) = self.rename_from.take() else {
            return self.ok(503, "RNFR must come first.").await;
        };
        let (_, to) = resolve_or_reply!(self, arg, Permission::Write);
        if !Arc::ptr_eq(&from.storage, &to.storage) {
            return self
                .ok(553, "Cannot rename across virtual directories.")
                .await;
        }
        if to.rel.is_root() {
            return self.ok(553, "File name not allowed.").await;
        }
        let replace = self.site.config.ftp.file_handling.allow_replace_on_rename;
        match from.storage.rename(&from.rel, &to.rel, replace).await {
            Ok(()) => self.ok(250, "RNTO command successful.").await,
            Err(e) => self.storage_failed(e).await,
        }
    }

    pub(in crate::session) async fn cmd_size(&mut self, arg: &str) -> io::Result<Flow> {
        let (_, r) = resolve_or_reply!(self, arg, Permission::Read);
        match r.storage.metadata(&r.rel).await {
            // The stored size, also in TYPE A (documented: no conversion pass to count CRs).
            Ok(entry) if entry.kind == EntryKind::File => {
                self.ok(213, entry.size.to_string()).await
            }
            Ok(_) => self.ok(550, "Not a plain file.").await,
            Err(e) => self.storage_failed(e).await,
        }
    }

    pub(in crate::session) async fn cmd_mdtm(&mut self, arg: &str) -> io::Result<Flow> {
        let (_, r) = resolve_or_reply!(self, arg, Permission::Read);
        match r.storage.metadata(&r.rel).await {
            Ok(entry) if entry.kind == EntryKind::File => {
                self.ok(213, format_timeval(entry.modified)).await
            }
            Ok(_) => self.ok(550, "Not a plain file.").await,
            Err(e) => self.storage_failed(e).await,
        }
    }

    pub(in crate::session) async fn cmd_mfmt(
        &mut self,
        unix_seconds: i64,
        arg: &str,
    ) -> io::Result<Flow> {
        let (client_path, r) = resolve_or_reply!(self, arg, Permission::Write);
        match r.storage.set_modified(&r.rel, unix_seconds).await {
            Ok(()) => {
                self.ok(
                    213,
                    format!("Modify={}; {}", format_timeval(unix_seconds), client_path),
                )
                .await
            }
            Err(e) => self.storage_failed(e).await,
        }
    }
}
