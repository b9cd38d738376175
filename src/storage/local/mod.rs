//! The local file system back-end, confined beneath its root.
//!
//! # Confinement
//!
//! A back-end path is a [`VirtualPath`] (lexically clean: no `..`, `.`, empty segments or
//! NUL) taken relative to the confinement root: the virtual directory's folder, or beneath
//! it a user's home ([`LocalStorage::jailed`], user isolation). Lexical cleanliness is not
//! enough on a real file system, because a symbolic link inside the root may point anywhere.
//! Every operation therefore resolves its path from a descriptor of the root, one name at a
//! time, never letting the kernel follow a link it has not checked ([`resolve`]), and acts
//! through the descriptor of the directory it found (`openat`, `mkdirat`, `renameat`, …),
//! never through a path that could change meanwhile:
//!
//! - links that stay inside the root are transparent: they are reported as what they point
//!   to (a file or a directory, never [`EntryKind::Symlink`]), reads and writes go to the
//!   target, and `remove_file`/`rename` act on the link itself;
//! - a path that leads through (or ends in) a link pointing outside the root, a dangling
//!   link or a link loop is refused with [`StorageErrorKind::OutsideRoot`] (550), decided
//!   before anything outside the root is looked at, so the answer never depends on what
//!   exists there; for a jailed user, another user's home is outside;
//! - a directory swapped for a link while a command runs is just a link to the resolver:
//!   no race leads outside the root.
//!
//! Listings leave out links that escape the root or dangle (they are never followed), names
//! that are not UTF-8 or contain control characters (a client could not address them), the
//! temporaries of uploads in progress, and objects that are neither regular files nor
//! directories (FIFOs, sockets, devices: they are never opened and every operation on them
//! answers `NotFound`, except that their name counts as taken).
//!
//! Uploads (STOR, STOU) are written aside ([`upload`]): the name changes only when the
//! upload completed. APPE and REST+STOR write in place.
//!
//! The root itself must exist: if it is missing (or not a directory) every operation answers
//! `NotFound`; creating it is the server's job at start-up. For a jail, the home is resolved
//! beneath the virtual directory's folder like any path (links the administrator made
//! there are followed if they stay inside that folder).
//!
//! File system work runs on tokio's blocking pool, with one exception: `open_read`,
//! `metadata` and the open of a directory to list first try [`cached`], an open that the
//! kernel refuses (`RESOLVE_CACHED`) rather than let wait for a disk, so it runs on the async
//! worker; anything it does not take goes to the pool.

mod cached;
mod listing;
mod resolve;
mod upload;

#[cfg(test)]
mod tests;

use std::fs::File;
use std::io::{self, Seek, SeekFrom};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use rustix::fs::{AtFlags, Mode, OFlags, RenameFlags, Timespec, Timestamps};
use rustix::io::Errno;
use tokio::sync::mpsc;
use wharf_proto::VirtualPath;
use wharf_proto::listing::{Entry, EntryKind};

use self::cached::{cached_open, metadata_cached, open_cached};
use self::listing::Listing;
use self::resolve::{Found, Root, Walked, errno, existing, map_io, served, walk};
use super::journal::{TEMP_PREFIX, UploadJournal};
use super::{
    Completion, EntryReceiver, LineReceiver, LineWriters, ReadHandle, Storage, StorageError,
    StorageErrorKind, WriteHandle, WriteMode, format_lines,
};
use crate::limits::LIST_CHANNEL_DEPTH;

/// A directory of the local file system served as a back-end, confined beneath its root.
#[derive(Debug, Clone)]
pub struct LocalStorage {
    root: PathBuf,
    /// The confinement root beneath `root` (a user's home), as names; empty for `root`.
    base: Vec<String>,
    /// Where uploads in progress are recorded (removed after a crash).
    journal: Option<Arc<UploadJournal>>,
}

impl LocalStorage {
    /// A back-end serving `root` (which should be absolute and must exist when used).
    pub fn new(root: PathBuf) -> LocalStorage {
        LocalStorage {
            root,
            base: Vec::new(),
            journal: None,
        }
    }

    /// Records uploads in progress in `journal`.
    pub fn with_journal(mut self, journal: Option<Arc<UploadJournal>>) -> LocalStorage {
        self.journal = journal;
        self
    }

    /// The configured root (as given, not canonicalised).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The same folder with the sub-tree `home` as the confinement root: nothing above or
    /// beside it is reachable, through links or otherwise.
    pub fn jailed(&self, home: &VirtualPath) -> LocalStorage {
        let mut jailed = self.clone();
        jailed
            .base
            .extend(home.segments().iter().map(String::clone));
        jailed
    }

    /// Opens the confinement root of one operation.
    fn open_root(&self) -> Result<Root, StorageError> {
        let fd = match rustix::fs::openat(
            rustix::fs::CWD,
            &self.root,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(Errno::NOTDIR) => return Err(StorageError::new(StorageErrorKind::NotFound)),
            Err(e) => return Err(errno(e)),
        };
        let folder = Root::new(fd, self.root.clone());
        if self.base.is_empty() {
            return Ok(folder);
        }
        let home = existing(&folder, &self.base, true)?;
        if !home.is_dir() {
            return Err(StorageError::new(StorageErrorKind::NotFound));
        }
        let mut fallback = self.root.clone();
        fallback.extend(&self.base);
        Ok(Root::new(home.fd, fallback))
    }

    /// Opens the directory `path` for listing (`WrongKind` for anything else).
    async fn open_listing(&self, path: &VirtualPath) -> Result<Listing, StorageError> {
        let dir: Vec<String> = path.segments().to_vec();
        // O_DIRECTORY refuses anything else before opening it.
        if let Some(fd) = cached_open(
            &self.root,
            &self.base,
            path,
            OFlags::RDONLY | OFlags::DIRECTORY,
        ) {
            return Ok(Listing {
                fd,
                storage: self.clone(),
                dir,
            });
        }
        let storage = self.clone();
        self.run(path, move |root, segments| {
            let found = served(root, segments)?;
            if !found.is_dir() {
                return Err(StorageError::new(StorageErrorKind::WrongKind));
            }
            let fd = reopen_dir(&found)?;
            Ok(Listing { fd, storage, dir })
        })
        .await
    }

    /// Runs `f(root, segments)` on the blocking pool, the segments checked.
    async fn run<T, F>(&self, path: &VirtualPath, f: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&Root, &[String]) -> Result<T, StorageError> + Send + 'static,
    {
        check_path(path)?;
        let storage = self.clone();
        let path = path.clone();
        blocking(move || {
            let root = storage.open_root()?;
            f(&root, path.segments())
        })
        .await
    }
}

#[async_trait]
impl Storage for LocalStorage {
    async fn metadata(&self, path: &VirtualPath) -> Result<Entry, StorageError> {
        if let Some(entry) = metadata_cached(&self.root, &self.base, path) {
            return Ok(entry);
        }
        self.run(path, |root, segments| {
            let found = served(root, segments)?;
            let name = segments.last().map(String::as_str).unwrap_or("");
            entry_from_statx(name.to_string(), &found.stat)
                .ok_or(StorageError::new(StorageErrorKind::NotFound))
        })
        .await
    }

    async fn list(&self, path: &VirtualPath) -> Result<EntryReceiver, StorageError> {
        let listing = self.open_listing(path).await?;
        let (tx, rx) = mpsc::channel(LIST_CHANNEL_DEPTH);
        // Not awaited: the task fills the bounded channel as the reader drains it and stops
        // when the receiver is dropped.
        tokio::task::spawn_blocking(move || {
            listing.fill(&tx, &|| {
                Box::new(|batch| (!batch.is_empty()).then_some(batch))
            })
        });
        Ok(rx)
    }

    /// Formats on the threads that inspect the entries: no hop to a formatting task per
    /// batch, and the formatting is shared by both threads of a large directory.
    async fn list_lines(
        &self,
        path: &VirtualPath,
        writers: LineWriters,
    ) -> Result<LineReceiver, StorageError> {
        let listing = self.open_listing(path).await?;
        let (tx, rx) = mpsc::channel(LIST_CHANNEL_DEPTH);
        tokio::task::spawn_blocking(move || {
            listing.fill(&tx, &|| {
                let mut write = writers();
                Box::new(move |batch| {
                    let lines = format_lines(&batch, &mut write);
                    (!lines.is_empty()).then_some(lines)
                })
            })
        });
        Ok(rx)
    }

    async fn open_read(&self, path: &VirtualPath, offset: u64) -> Result<ReadHandle, StorageError> {
        let (mut file, size) = match open_cached(&self.root, &self.base, path) {
            Some(opened) => opened,
            None => {
                self.run(path, |root, segments| {
                    let found = served(root, segments)?;
                    if !found.is_file() {
                        return Err(StorageError::new(StorageErrorKind::WrongKind));
                    }
                    let file = reopen(&found, OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY)?;
                    let size = file.metadata().map_err(map_io)?.len();
                    Ok((file, size))
                })
                .await?
            }
        };
        // An offset past the end is not an error: the reader then yields nothing. Seeking a
        // regular file never waits for the disk.
        if offset > 0 {
            file.seek(SeekFrom::Start(offset)).map_err(map_io)?;
        }
        // A second handle on the same open file for zero-copy sends; sendfile takes an
        // explicit offset and leaves the shared position alone.
        let zero_copy = file.try_clone().ok().map(|f| (f, offset));
        Ok(ReadHandle {
            reader: Box::new(tokio::fs::File::from_std(file)),
            size,
            zero_copy,
        })
    }

    /// Opens the upload target. STOR and STOU write a temporary that the handle's
    /// completion publishes; APPE and REST+STOR write in place. The handle's writer is a
    /// `tokio::fs::File`: callers must `flush` (or `shutdown`) it to see write errors before
    /// committing.
    async fn open_write(
        &self,
        path: &VirtualPath,
        mode: WriteMode,
    ) -> Result<WriteHandle, StorageError> {
        let journal = self.journal.clone();
        let (file, start, completion) = self
            .run(path, move |root, segments| {
                if segments.is_empty() {
                    return Err(StorageError::new(StorageErrorKind::WrongKind));
                }
                open_target(root, segments, mode, journal.as_ref())
            })
            .await?;
        // A second handle on the same open file for splice, which writes at explicit
        // offsets; only one of the two is ever used for a transfer.
        let direct = start.and_then(|offset| Some((file.try_clone().ok()?, offset)));
        Ok(WriteHandle {
            writer: Box::new(tokio::fs::File::from_std(file)),
            direct,
            completion,
        })
    }

    async fn remove_file(&self, path: &VirtualPath) -> Result<(), StorageError> {
        self.run(path, |root, segments| {
            let entry = existing(root, segments, false)?;
            let target_is_dir = if entry.is_link() {
                served(root, segments)?.is_dir()
            } else if entry.is_served() {
                entry.is_dir()
            } else {
                return Err(StorageError::new(StorageErrorKind::NotFound));
            };
            if target_is_dir {
                return Err(StorageError::new(StorageErrorKind::WrongKind));
            }
            // The entry, not the target: deleting a link removes the link only.
            let (dir, name) = entry.place()?;
            rustix::fs::unlinkat(dir, name, AtFlags::empty()).map_err(errno)
        })
        .await
    }

    async fn create_dir(&self, path: &VirtualPath) -> Result<(), StorageError> {
        self.run(path, |root, segments| {
            if segments.is_empty() {
                return Err(StorageError::new(StorageErrorKind::AlreadyExists));
            }
            match walk(root, segments, false)? {
                Walked::Found(_) => Err(StorageError::new(StorageErrorKind::AlreadyExists)),
                Walked::Missing { parent, name } => {
                    rustix::fs::mkdirat(&parent, &name, Mode::from_raw_mode(0o777)).map_err(errno)
                }
            }
        })
        .await
    }

    async fn remove_dir(&self, path: &VirtualPath) -> Result<(), StorageError> {
        self.run(path, |root, segments| {
            if segments.is_empty() {
                return Err(StorageError::new(StorageErrorKind::PermissionDenied));
            }
            let entry = existing(root, segments, false)?;
            if entry.is_link() {
                // Refused as what it leads to would be (outside: 550), never followed.
                served(root, segments)?;
                return Err(StorageError::new(StorageErrorKind::WrongKind));
            }
            if !entry.is_served() {
                return Err(StorageError::new(StorageErrorKind::NotFound));
            }
            if !entry.is_dir() {
                return Err(StorageError::new(StorageErrorKind::WrongKind));
            }
            let (dir, name) = entry.place()?;
            rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR).map_err(errno)
        })
        .await
    }

    /// Renames the entries themselves (a link is renamed, not its target). Without
    /// `replace` the rename itself refuses an existing target (`RENAME_NOREPLACE`), so a
    /// target created meanwhile is never replaced, where the file system supports it.
    async fn rename(
        &self,
        from: &VirtualPath,
        to: &VirtualPath,
        replace: bool,
    ) -> Result<(), StorageError> {
        check_path(to)?;
        let to = to.clone();
        self.run(from, move |root, from| {
            if from.is_empty() || to.is_root() {
                return Err(StorageError::new(StorageErrorKind::PermissionDenied));
            }
            let source = existing(root, from, false)?;
            if source.is_link() {
                served(root, from)?;
            } else if !source.is_served() {
                return Err(StorageError::new(StorageErrorKind::NotFound));
            }
            let (from_dir, from_name) = source.place()?;
            match walk(root, to.segments(), false)? {
                Walked::Found(target) => {
                    if !replace {
                        return Err(StorageError::new(StorageErrorKind::AlreadyExists));
                    }
                    let (to_dir, to_name) = target.place()?;
                    rustix::fs::renameat(from_dir, from_name, to_dir, to_name).map_err(errno)
                }
                Walked::Missing { parent, name } => {
                    rename_no_replace(from_dir, from_name, &parent, &name, replace)
                }
            }
        })
        .await
    }

    fn jailed(&self, home: &VirtualPath) -> Arc<dyn Storage> {
        Arc::new(LocalStorage::jailed(self, home))
    }

    async fn set_modified(
        &self,
        path: &VirtualPath,
        unix_seconds: i64,
    ) -> Result<(), StorageError> {
        self.run(path, move |root, segments| {
            if system_time(unix_seconds).is_none() {
                return Err(StorageError {
                    kind: StorageErrorKind::Local,
                    source: Some(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "time out of range",
                    )),
                });
            }
            let found = served(root, segments)?;
            let times = Timestamps {
                last_access: Timespec {
                    tv_sec: 0,
                    tv_nsec: rustix::fs::UTIME_OMIT,
                },
                last_modification: Timespec {
                    tv_sec: unix_seconds,
                    tv_nsec: 0,
                },
            };
            match &found.place {
                Some((dir, name)) => {
                    rustix::fs::utimensat(dir, name, &times, AtFlags::SYMLINK_NOFOLLOW)
                        .map_err(errno)
                }
                None => rustix::fs::futimens(reopen_dir(&found)?, &times).map_err(errno),
            }
        })
        .await
    }
}

/// What `open_write` opens: the file, the offset to write at when explicit (`None` for
/// `O_APPEND`), and the completion of an upload written aside.
type Target = (File, Option<u64>, Option<Box<dyn Completion>>);

fn open_target(
    root: &Root,
    segments: &[String],
    mode: WriteMode,
    journal: Option<&Arc<UploadJournal>>,
) -> Result<Target, StorageError> {
    let walked = walk(root, segments, true)?;
    if let Walked::Found(found) = &walked {
        if found.is_dir() {
            return Err(StorageError::new(StorageErrorKind::WrongKind));
        }
        if !found.is_file() {
            // A FIFO or device: never opened.
            return Err(StorageError::new(if mode == WriteMode::CreateNew {
                StorageErrorKind::AlreadyExists
            } else {
                StorageErrorKind::PermissionDenied
            }));
        }
    }
    match mode {
        WriteMode::Truncate | WriteMode::CreateNew => {
            let (dir, name, replaced) = match walked {
                Walked::Found(_) if mode == WriteMode::CreateNew => {
                    return Err(StorageError::new(StorageErrorKind::AlreadyExists));
                }
                Walked::Found(Found { place, stat, .. }) => {
                    let (dir, name) =
                        place.ok_or(StorageError::new(StorageErrorKind::WrongKind))?;
                    let replaced = upload::Replaced {
                        mode: u32::from(stat.stx_mode),
                        uid: stat.stx_uid,
                        gid: stat.stx_gid,
                    };
                    (dir, name, Some(replaced))
                }
                Walked::Missing { parent, name } => (parent, name, None),
            };
            let aside = upload::create(dir, name, replaced, mode == WriteMode::CreateNew, journal)?;
            Ok((aside.file, Some(0), Some(Box::new(aside.pending))))
        }
        WriteMode::Append => {
            // O_APPEND: no explicit offsets (splice refuses such files).
            let flags = OFlags::WRONLY | OFlags::APPEND | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            let file = match walked {
                Walked::Found(found) => reopen(&found, flags)?,
                Walked::Missing { parent, name } => File::from(
                    rustix::fs::openat(
                        &parent,
                        &name,
                        flags | OFlags::CREATE,
                        Mode::from_raw_mode(0o666),
                    )
                    .map_err(errno)?,
                ),
            };
            Ok((file, None, None))
        }
        WriteMode::Resume(offset) => {
            let Walked::Found(found) = walked else {
                return Err(StorageError::new(StorageErrorKind::NotFound));
            };
            let mut file = reopen(&found, OFlags::WRONLY)?;
            let len = file.metadata().map_err(map_io)?.len();
            if len < offset {
                return Err(StorageError {
                    kind: StorageErrorKind::Local,
                    source: Some(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("resume offset {offset} is past the end ({len})"),
                    )),
                });
            }
            file.set_len(offset).map_err(map_io)?;
            file.seek(SeekFrom::Start(offset)).map_err(map_io)?;
            Ok((file, Some(offset), None))
        }
    }
}

/// Opens the object `found` names through its directory, refusing a link that took its
/// place meanwhile (`O_NOFOLLOW`) or another object (identity check).
fn reopen(found: &Found, flags: OFlags) -> Result<File, StorageError> {
    let (dir, name) = found.place()?;
    let fd = rustix::fs::openat(
        dir,
        name,
        flags | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(errno)?;
    let now = resolve::statx_fd(&fd)?;
    let same = (now.stx_dev_major, now.stx_dev_minor, now.stx_ino)
        == (
            found.stat.stx_dev_major,
            found.stat.stx_dev_minor,
            found.stat.stx_ino,
        );
    if !same {
        return Err(StorageError::new(StorageErrorKind::Transient));
    }
    Ok(File::from(fd))
}

/// A readable descriptor of the directory `found`.
fn reopen_dir(found: &Found) -> Result<OwnedFd, StorageError> {
    rustix::fs::openat(
        &found.fd,
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(errno)
}

/// Renames to a name that did not exist when looked up; without `replace`, one that
/// appeared meanwhile is not replaced (where the file system supports `RENAME_NOREPLACE`).
fn rename_no_replace(
    from_dir: &OwnedFd,
    from_name: &std::ffi::OsStr,
    to_dir: &OwnedFd,
    to_name: &std::ffi::OsStr,
    replace: bool,
) -> Result<(), StorageError> {
    let result = if replace {
        rustix::fs::renameat(from_dir, from_name, to_dir, to_name)
    } else {
        match rustix::fs::renameat_with(
            from_dir,
            from_name,
            to_dir,
            to_name,
            RenameFlags::NOREPLACE,
        ) {
            Err(Errno::INVAL | Errno::NOSYS) => {
                rustix::fs::renameat(from_dir, from_name, to_dir, to_name)
            }
            other => other,
        }
    };
    result.map_err(|e| match e {
        Errno::EXIST => StorageError::new(StorageErrorKind::AlreadyExists),
        e => errno(e),
    })
}

/// Every segment of a client path must be a name this back-end serves.
fn check_path(path: &VirtualPath) -> Result<(), StorageError> {
    path.segments()
        .iter()
        .try_for_each(|segment| check_segment(segment))
}

/// Defence in depth: a `VirtualPath` segment is already clean, but a segment that is not
/// must never reach a system call (an absolute one would replace the whole path). The
/// temporaries of uploads in progress are no client's name.
fn check_segment(segment: &str) -> Result<(), StorageError> {
    if segment.is_empty()
        || segment == "."
        || segment == ".."
        || segment.contains('/')
        || segment.starts_with(TEMP_PREFIX)
        // Printable ASCII (nearly every name) needs no decoding to rule out controls.
        || (!segment.bytes().all(|b| (0x20..0x7f).contains(&b))
            && segment.chars().any(char::is_control))
    {
        Err(StorageError::new(StorageErrorKind::NameNotAllowed))
    } else {
        Ok(())
    }
}

/// A neutral entry for a file or directory from its `statx` (`None` for other objects).
/// Directories report size 0.
fn entry_from_statx(name: String, st: &rustix::fs::Statx) -> Option<Entry> {
    let (kind, size) = if resolve::is_kind(st, libc::S_IFDIR) {
        (EntryKind::Dir, 0)
    } else if resolve::is_kind(st, libc::S_IFREG) {
        (EntryKind::File, st.stx_size)
    } else {
        return None;
    };
    Some(Entry {
        name,
        kind,
        size,
        modified: st.stx_mtime.tv_sec,
        mode: u32::from(st.stx_mode) & 0o7777,
        nlink: u64::from(st.stx_nlink),
    })
}

fn system_time(unix_seconds: i64) -> Option<SystemTime> {
    let magnitude = Duration::from_secs(unix_seconds.unsigned_abs());
    if unix_seconds >= 0 {
        UNIX_EPOCH.checked_add(magnitude)
    } else {
        UNIX_EPOCH.checked_sub(magnitude)
    }
}

/// Runs blocking file system work on tokio's blocking pool.
async fn blocking<T, F>(f: F) -> Result<T, StorageError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, StorageError> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StorageError {
            kind: StorageErrorKind::Local,
            source: Some(io::Error::other(e)),
        })?
}
