//! Uploads written aside: STOR and STOU write a hidden temporary in the target's own
//! directory, and the name changes only when the upload completed (one `rename`, atomic for
//! readers: they see the old content or the new, never a part).
//!
//! The temporary is created and renamed through the descriptor of the target's directory
//! that the jail resolved, so it can never land anywhere else, whatever happens to the path
//! meanwhile. A temporary that is dropped without a commit is deleted at once; one left by a
//! killed server is deleted at the next start through the [`UploadJournal`].

use std::ffi::OsString;
use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;

use async_trait::async_trait;
use rustix::fs::{AtFlags, Mode, OFlags, RenameFlags};
use rustix::io::Errno;

use super::super::journal::{JournalEntry, TEMP_PREFIX, UploadJournal};
use super::super::{Completion, StorageError, StorageErrorKind};
use super::resolve::{errno, map_io};

/// An upload in its temporary, not yet published.
#[derive(Debug)]
pub(super) struct PendingUpload {
    /// The target's directory.
    dir: OwnedFd,
    temporary: OsString,
    target: OsString,
    /// STOU: never replace a name that appeared meanwhile.
    no_replace: bool,
    /// Set once the temporary is renamed: nothing left to delete.
    published: bool,
    _record: Option<JournalEntry>,
}

/// The file of a new upload and what publishes it.
pub(super) struct Aside {
    pub file: File,
    pub pending: PendingUpload,
}

/// What the upload replaces, so the new file keeps its mode and owner.
pub(super) struct Replaced {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// Creates the temporary for an upload to `target` in `dir`.
pub(super) fn create(
    dir: OwnedFd,
    target: OsString,
    replaced: Option<Replaced>,
    no_replace: bool,
    journal: Option<&Arc<UploadJournal>>,
) -> Result<Aside, StorageError> {
    let temporary = OsString::from(format!("{TEMP_PREFIX}{}", uuid::Uuid::new_v4().simple()));
    // Recorded first: a crash right after the create still leaves a record to sweep.
    let record = match journal {
        Some(journal) => record(journal, &dir, &temporary),
        None => None,
    };
    let fd = rustix::fs::openat(
        &dir,
        &temporary,
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o666),
    )
    .map_err(errno)?;
    let mut pending = PendingUpload {
        dir,
        temporary,
        target,
        no_replace,
        published: false,
        _record: record,
    };
    if let Some(old) = replaced {
        // Only root may give a file away; anyone else keeps its own ownership (as any
        // editor does). Set-id bits are never carried over: uploaded bytes must not become
        // a set-id program.
        let _ = rustix::fs::fchown(
            &fd,
            Some(rustix::fs::Uid::from_raw(old.uid)),
            Some(rustix::fs::Gid::from_raw(old.gid)),
        );
        if let Err(e) = rustix::fs::fchmod(&fd, Mode::from_raw_mode(old.mode & 0o1777)) {
            pending.discard();
            return Err(errno(e));
        }
    }
    Ok(Aside {
        file: File::from(fd),
        pending,
    })
}

/// Records the temporary's absolute path (where the directory descriptor is now). Without
/// `/proc` the path cannot be known: the upload goes on unrecorded, with a warning.
fn record(journal: &UploadJournal, dir: &OwnedFd, temporary: &OsString) -> Option<JournalEntry> {
    let dir_path = match std::fs::read_link(format!("/proc/self/fd/{}", dir.as_raw_fd())) {
        Ok(path) if path.is_absolute() => path,
        _ => {
            tracing::warn!(
                "cannot tell where an upload's directory is; its temporary is not recorded for removal after a crash"
            );
            return None;
        }
    };
    match journal.record(&dir_path.join(temporary)) {
        Ok(entry) => Some(entry),
        Err(e) => {
            tracing::warn!(error = %e, "cannot record an upload in the state directory");
            None
        }
    }
}

impl PendingUpload {
    fn publish(&mut self) -> Result<(), StorageError> {
        let result = if self.no_replace {
            match rustix::fs::renameat_with(
                &self.dir,
                &self.temporary,
                &self.dir,
                &self.target,
                RenameFlags::NOREPLACE,
            ) {
                // A file system without RENAME_NOREPLACE: look, then rename.
                Err(Errno::INVAL | Errno::NOSYS) => {
                    match rustix::fs::statx(
                        &self.dir,
                        &self.target,
                        AtFlags::SYMLINK_NOFOLLOW,
                        rustix::fs::StatxFlags::TYPE,
                    ) {
                        Ok(_) => Err(Errno::EXIST),
                        Err(_) => rustix::fs::renameat(
                            &self.dir,
                            &self.temporary,
                            &self.dir,
                            &self.target,
                        ),
                    }
                }
                other => other,
            }
        } else {
            rustix::fs::renameat(&self.dir, &self.temporary, &self.dir, &self.target)
        };
        match result {
            Ok(()) => {
                self.published = true;
                Ok(())
            }
            Err(Errno::EXIST) => Err(StorageError::new(StorageErrorKind::AlreadyExists)),
            Err(e) => Err(map_io(e.into())),
        }
    }

    fn discard(&mut self) {
        if self.published {
            return;
        }
        self.published = true;
        if let Err(e) = rustix::fs::unlinkat(&self.dir, &self.temporary, AtFlags::empty())
            && e != Errno::NOENT
        {
            tracing::warn!(error = %e, "cannot remove an upload's temporary");
        }
    }
}

impl Drop for PendingUpload {
    fn drop(&mut self) {
        self.discard();
    }
}

#[async_trait]
impl Completion for PendingUpload {
    async fn commit(self: Box<Self>) -> Result<(), StorageError> {
        let mut pending = self;
        // A rename is metadata work that can wait for the disk: off the async workers.
        tokio::task::spawn_blocking(move || pending.publish())
            .await
            .map_err(|e| StorageError {
                kind: StorageErrorKind::Local,
                source: Some(std::io::Error::other(e)),
            })?
    }
}
