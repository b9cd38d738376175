//! CWD, CDUP, PWD and the path resolution every path command goes through.

use std::io;

use wharf_proto::{Reply, VirtualPath};

use super::super::outcome::{denied_reply, path_reply, storage_reply};
use super::super::{Flow, Session};
use crate::auth::{Permission, is_allowed};
use crate::limits::MAX_PATH_LEN;
use crate::storage::StorageError;
use crate::storage::vdirs::Resolved;
use wharf_proto::listing::EntryKind;

/// A resolved client path, or the reply that refuses it.
pub(in crate::session) type Resolution = Result<(VirtualPath, Resolved), Reply>;

impl Session {
    /// Normalises `arg` against the current directory, maps it through the user's view and
    /// checks the authorization rules for `permission` at the resulting site path.
    pub(in crate::session) fn resolve(&self, arg: &str, permission: Permission) -> Resolution {
        let Some(logged) = self.logged_in() else {
            return Err(Reply::new(530, "Please login with USER and PASS."));
        };
        let client_path = self.cwd.join(arg, MAX_PATH_LEN).map_err(path_reply)?;
        let resolved = logged
            .view
            .resolve(&client_path)
            .map_err(|e| self.storage_error(&e))?;
        if !self.permits(&resolved.site_path, permission) {
            tracing::info!(path = %resolved.site_path, ?permission, "denied by authorization rules (substatus 1)");
            return Err(denied_reply());
        }
        Ok((client_path, resolved))
    }

    /// Whether the logged-in user has `permission` at a site path.
    pub(in crate::session) fn permits(
        &self,
        site_path: &VirtualPath,
        permission: Permission,
    ) -> bool {
        let Some(logged) = self.logged_in() else {
            return false;
        };
        is_allowed(
            self.site.config.authorization.effective(site_path),
            &logged.identity,
            permission,
        )
    }

    /// The reply for a storage error, detailed for local clients when the site allows it.
    pub(in crate::session) fn storage_error(&self, error: &StorageError) -> Reply {
        let detailed =
            self.site.config.ftp.messages.allow_local_detailed_errors && self.client_is_local();
        storage_reply(error, detailed)
    }

    pub(in crate::session) async fn cmd_cwd(&mut self, arg: &str) -> io::Result<Flow> {
        let (client_path, resolved) = match self.resolve(arg, Permission::Read) {
            Ok(r) => r,
            Err(reply) => return self.send(reply).await,
        };
        match resolved.storage.metadata(&resolved.rel).await {
            Ok(entry) if entry.kind == EntryKind::Dir => {
                self.cwd = client_path;
                self.handle.set_directory(self.cwd.to_string());
                let text = format!(
                    "CWD command successful; \"{}\" is the current directory.",
                    quote(&self.cwd)
                );
                self.ok(250, text).await
            }
            Ok(_) => self.ok(550, "The directory name is invalid.").await,
            Err(e) => self.storage_failed(e).await,
        }
    }

    pub(in crate::session) async fn cmd_pwd(&mut self) -> io::Result<Flow> {
        let text = format!("\"{}\" is current directory.", quote(&self.cwd));
        self.ok(257, text).await
    }
}

/// A path inside a 257 reply: embedded quotes are doubled (RFC 959 Appendix II).
pub(in crate::session) fn quote(path: &VirtualPath) -> String {
    path.to_string().replace('"', "\"\"")
}
