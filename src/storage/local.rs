//! The local file system back-end, confined beneath its root.
//!
//! # Confinement
//!
//! A back-end path is a [`VirtualPath`] (lexically clean: no `..`, `.`, empty segments or
//! NUL) taken relative to the root. Lexical cleanliness is not enough on a real file system,
//! because a symbolic link inside the root may point anywhere. Every operation therefore
//! resolves its path with the file system's own resolver (`realpath`) and checks the result:
//!
//! - the parent directory is canonicalised and must lie inside the canonical root (when every
//!   directory below the root is a real directory, not a link, the joined path already is
//!   canonical and `realpath` is skipped);
//! - the final component, when it is a symbolic link, is followed only if it resolves to an
//!   existing object inside the root;
//! - a path that leads through (or ends in) a link pointing outside the root, a dangling link
//!   or a link loop is refused with [`StorageErrorKind::NameNotAllowed`] (553). When the path
//!   does not exist, the deepest existing ancestor is checked the same way, so the answer for
//!   a path through an escaping link never depends on what exists outside the root.
//!
//! Links that stay inside the root are transparent: they are reported as what they point to
//! (a file or a directory, never [`EntryKind::Symlink`]), reads and writes go to the target,
//! and `remove_file`/`rename` act on the link itself. Listings leave out links that escape the
//! root or dangle (they are never followed), names that are not UTF-8 or contain control
//! characters (a client could not address them), and objects that are neither regular files
//! nor directories (FIFOs, sockets, devices: they are never opened and every operation on
//! them answers `NotFound`, except that their name counts as taken).
//!
//! Files are opened by their canonical path with `O_NOFOLLOW`, so a final component swapped
//! for a link between the check and the open fails instead of being followed.
//!
//! **Residual TOCTOU.** A directory component of the canonical path could still be replaced by
//! a link between the check and the use. Clients cannot create links through FTP (there is no
//! such command), so only a local user with write access to the tree could race this. Downloads
//! of plain paths (the common case, see below) are opened with `openat2(RESOLVE_BENEATH |
//! RESOLVE_NO_SYMLINKS)`, where the kernel itself enforces confinement and the window is closed.
//!
//! The root itself must exist: if it is missing (or not a directory) every operation answers
//! `NotFound`; creating it is the server's job at start-up.
//!
//! File system work runs on tokio's blocking pool, with one exception: `open_read`,
//! `metadata` and the open of a directory to list first try `cached_open`, an open that the
//! kernel refuses (`RESOLVE_CACHED`) rather than let wait for a disk, so it runs on the async
//! worker; anything it does not take goes to the pool.

use std::ffi::CString;
use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, Seek, SeekFrom};
use std::os::fd::OwnedFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{LazyLock, mpsc as std_mpsc};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use rustix::fs::{AtFlags, Dir, Mode, OFlags, StatxFlags};
use tokio::sync::mpsc;
use wharf_proto::VirtualPath;
use wharf_proto::listing::{Entry, EntryKind};

use super::{
    EntryReceiver, LineReceiver, LineWriters, ReadHandle, Storage, StorageError, StorageErrorKind,
    WriteHandle, WriteMode, format_lines,
};
use crate::limits::{LIST_BATCH, LIST_CHANNEL_DEPTH};

/// A directory of the local file system served as a back-end, confined beneath its root.
#[derive(Debug, Clone)]
pub struct LocalStorage {
    root: PathBuf,
}

impl LocalStorage {
    /// A back-end serving `root` (which should be absolute and must exist when used).
    pub fn new(root: PathBuf) -> LocalStorage {
        LocalStorage { root }
    }

    /// The configured root (as given, not canonicalised).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Opens the directory `path` for listing (`WrongKind` for anything else).
    async fn open_listing(&self, path: &VirtualPath) -> Result<Listing, StorageError> {
        // O_DIRECTORY refuses anything else before opening it.
        if let Some(fd) = cached_open(&self.root, path, OFlags::RDONLY | OFlags::DIRECTORY) {
            return Ok(Listing {
                fd,
                place: ListingPlace::Beneath {
                    root: self.root.clone(),
                    rel: path.segments().iter().collect(),
                },
            });
        }
        self.run(path, |root, path| {
            let loc = locate(root, path)?;
            let (target, meta) = loc.object()?;
            if !meta.is_dir() {
                return Err(StorageError::new(StorageErrorKind::WrongKind));
            }
            Listing::open(target, loc.root.clone())
        })
        .await
    }

    /// Runs `f(root, path)` on the blocking pool.
    async fn run<T, F>(&self, path: &VirtualPath, f: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&Path, &VirtualPath) -> Result<T, StorageError> + Send + 'static,
    {
        let root = self.root.clone();
        let path = path.clone();
        blocking(move || f(&root, &path)).await
    }
}

#[async_trait]
impl Storage for LocalStorage {
    async fn metadata(&self, path: &VirtualPath) -> Result<Entry, StorageError> {
        if let Some(entry) = metadata_cached(&self.root, path) {
            return Ok(entry);
        }
        self.run(path, |root, path| {
            let loc = locate(root, path)?;
            let (_, meta) = loc.object()?;
            let name = path.file_name().unwrap_or("");
            entry_from_metadata(name, meta).ok_or(StorageError::new(StorageErrorKind::NotFound))
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
        let (mut file, size) = match open_cached(&self.root, path) {
            Some(opened) => opened,
            None => {
                self.run(path, move |root, path| {
                    let loc = locate(root, path)?;
                    let (target, meta) = loc.object()?;
                    if !meta.is_file() {
                        return Err(StorageError::new(StorageErrorKind::WrongKind));
                    }
                    let file = OpenOptions::new()
                        .read(true)
                        .custom_flags(libc::O_NOFOLLOW)
                        .open(target)
                        .map_err(map_io)?;
                    let meta = file.metadata().map_err(map_io)?;
                    if !meta.is_file() {
                        return Err(StorageError::new(StorageErrorKind::WrongKind));
                    }
                    Ok((file, meta.len()))
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

    /// Opens the upload target. The handle's writer is a `tokio::fs::File`: callers must
    /// `flush` (or `shutdown`) it to see write errors before reporting success.
    async fn open_write(
        &self,
        path: &VirtualPath,
        mode: WriteMode,
    ) -> Result<WriteHandle, StorageError> {
        let (file, start) = self
            .run(path, move |root, path| {
                if path.is_root() {
                    return Err(StorageError::new(StorageErrorKind::WrongKind));
                }
                let loc = locate(root, path)?;
                if let Some((_, meta)) = &loc.target {
                    if meta.is_dir() {
                        return Err(StorageError::new(StorageErrorKind::WrongKind));
                    }
                    if !meta.is_file() {
                        // A FIFO or device: never opened.
                        return Err(StorageError::new(if mode == WriteMode::CreateNew {
                            StorageErrorKind::AlreadyExists
                        } else {
                            StorageErrorKind::PermissionDenied
                        }));
                    }
                }
                let target = loc.target.as_ref().map(|(p, _)| p.as_path());
                let mut opts = OpenOptions::new();
                opts.custom_flags(libc::O_NOFOLLOW);
                match mode {
                    WriteMode::Truncate => {
                        opts.write(true).create(true).truncate(true);
                        let file = opts.open(target.unwrap_or(&loc.entry)).map_err(map_io)?;
                        Ok((file, Some(0)))
                    }
                    WriteMode::Append => {
                        // O_APPEND: no explicit offsets (splice refuses such files).
                        opts.append(true).create(true);
                        let file = opts.open(target.unwrap_or(&loc.entry)).map_err(map_io)?;
                        Ok((file, None))
                    }
                    WriteMode::CreateNew => {
                        if target.is_some() {
                            return Err(StorageError::new(StorageErrorKind::AlreadyExists));
                        }
                        opts.write(true).create_new(true);
                        let file = opts.open(&loc.entry).map_err(map_io)?;
                        Ok((file, Some(0)))
                    }
                    WriteMode::Resume(offset) => {
                        let target = target.ok_or(StorageError::new(StorageErrorKind::NotFound))?;
                        let mut file = opts.write(true).open(target).map_err(map_io)?;
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
                        Ok((file, Some(offset)))
                    }
                }
            })
            .await?;
        // A second handle on the same open file for splice, which writes at explicit
        // offsets; only one of the two is ever used for a transfer.
        let direct = start.and_then(|offset| Some((file.try_clone().ok()?, offset)));
        Ok(WriteHandle {
            writer: Box::new(tokio::fs::File::from_std(file)),
            direct,
        })
    }

    async fn remove_file(&self, path: &VirtualPath) -> Result<(), StorageError> {
        self.run(path, |root, path| {
            let loc = locate(root, path)?;
            let (_, meta) = loc.object()?;
            if meta.is_dir() {
                return Err(StorageError::new(StorageErrorKind::WrongKind));
            }
            // The entry, not the target: deleting a link removes the link only.
            fs::remove_file(&loc.entry).map_err(map_io)
        })
        .await
    }

    async fn create_dir(&self, path: &VirtualPath) -> Result<(), StorageError> {
        self.run(path, |root, path| {
            let loc = locate(root, path)?;
            if path.is_root() || loc.target.is_some() {
                return Err(StorageError::new(StorageErrorKind::AlreadyExists));
            }
            fs::create_dir(&loc.entry).map_err(map_io)
        })
        .await
    }

    async fn remove_dir(&self, path: &VirtualPath) -> Result<(), StorageError> {
        self.run(path, |root, path| {
            if path.is_root() {
                return Err(StorageError::new(StorageErrorKind::PermissionDenied));
            }
            let loc = locate(root, path)?;
            let (_, meta) = loc.object()?;
            if !meta.is_dir() || loc.is_link {
                return Err(StorageError::new(StorageErrorKind::WrongKind));
            }
            fs::remove_dir(&loc.entry).map_err(map_io)
        })
        .await
    }

    /// Renames the entries themselves (a link is renamed, not its target). Without `replace`
    /// the existence check and the rename are two steps: a target created in between by
    /// someone else is replaced (`renameat2(RENAME_NOREPLACE)` would need `unsafe` FFI).
    async fn rename(
        &self,
        from: &VirtualPath,
        to: &VirtualPath,
        replace: bool,
    ) -> Result<(), StorageError> {
        let to = to.clone();
        self.run(from, move |root, from| {
            if from.is_root() || to.is_root() {
                return Err(StorageError::new(StorageErrorKind::PermissionDenied));
            }
            let source = locate(root, from)?;
            source.object()?;
            let target = locate(root, &to)?;
            if target.target.is_some() && !replace {
                return Err(StorageError::new(StorageErrorKind::AlreadyExists));
            }
            fs::rename(&source.entry, &target.entry).map_err(map_io)
        })
        .await
    }

    async fn set_modified(
        &self,
        path: &VirtualPath,
        unix_seconds: i64,
    ) -> Result<(), StorageError> {
        self.run(path, move |root, path| {
            let time = system_time(unix_seconds).ok_or_else(|| StorageError {
                kind: StorageErrorKind::Local,
                source: Some(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "time out of range",
                )),
            })?;
            let loc = locate(root, path)?;
            let (target, _) = loc.object()?;
            let file = OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(target)
                .map_err(map_io)?;
            file.set_modified(time).map_err(map_io)
        })
        .await
    }
}

/// Where a back-end path lives on disk, after the confinement checks.
struct Located {
    /// The canonical root.
    root: PathBuf,
    /// The entry itself: canonical parent joined with the final name, the final component not
    /// followed (the canonical root for `/`).
    entry: PathBuf,
    /// What the entry denotes, its final link followed: a canonical path inside the root and
    /// its metadata. `None` when the entry does not exist.
    target: Option<(PathBuf, Metadata)>,
    /// The entry is a link (to something inside the root).
    is_link: bool,
}

impl Located {
    /// The existing file or directory the path names; `NotFound` for nothing or for
    /// objects that are never served (FIFOs, sockets, devices).
    fn object(&self) -> Result<(&Path, &Metadata), StorageError> {
        match &self.target {
            Some((path, meta)) if meta.is_file() || meta.is_dir() => Ok((path, meta)),
            _ => Err(StorageError::new(StorageErrorKind::NotFound)),
        }
    }
}

/// Resolves `path` beneath `root` (see the module documentation for the rules).
fn locate(root: &Path, path: &VirtualPath) -> Result<Located, StorageError> {
    let segments = path.segments();
    for segment in segments {
        check_segment(segment)?;
    }
    let root = canonical_root(root)?;
    let Some((name, parents)) = segments.split_last() else {
        let meta = fs::metadata(&root).map_err(map_io)?;
        return Ok(Located {
            entry: root.clone(),
            target: Some((root.clone(), meta)),
            is_link: false,
            root,
        });
    };
    let parent = confine_dir(&root, parents)?;
    let entry = parent.join(name);
    match fs::symlink_metadata(&entry) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Located {
            root,
            entry,
            target: None,
            is_link: false,
        }),
        Err(e) => Err(map_io(e)),
        Ok(meta) if meta.file_type().is_symlink() => {
            let target = follow_inside(&root, &entry).ok_or_else(escape)?;
            Ok(Located {
                root,
                entry,
                target: Some(target),
                is_link: true,
            })
        }
        Ok(meta) => Ok(Located {
            root,
            target: Some((entry.clone(), meta)),
            entry,
            is_link: false,
        }),
    }
}

/// Cleared when the kernel lacks `openat2` or `RESOLVE_CACHED` (before Linux 5.12): every
/// open then takes the blocking pool.
static OPENAT2_CACHED_USABLE: AtomicBool = AtomicBool::new(true);

/// Opens `root/path` with `flags` right here on the async worker when that cannot block, or
/// returns `None` to send the work to the blocking pool (`locate` and friends, which stay the
/// authority on confinement and on what each failure means).
///
/// A small-file download spent a quarter of its time on the hand-off to the blocking pool
/// and back (two thread switches, BENCHMARKS.md). `RESOLVE_CACHED` makes the kernel fail
/// with `EAGAIN` instead of reading a directory from disk, so the open only ever touches
/// memory. The fast path takes just the plain case: no link anywhere on the path
/// (`RESOLVE_NO_SYMLINKS`), beneath the root (`RESOLVE_BENEATH`). The root itself is `.`.
fn cached_open(root: &Path, path: &VirtualPath, flags: OFlags) -> Option<OwnedFd> {
    use rustix::fs::{ResolveFlags, openat2};
    if !OPENAT2_CACHED_USABLE.load(Ordering::Relaxed) {
        return None;
    }
    for segment in path.segments() {
        check_segment(segment).ok()?;
    }
    let root_fd = match openat2(
        rustix::fs::CWD,
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::CACHED,
    ) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOSYS | rustix::io::Errno::INVAL) => {
            OPENAT2_CACHED_USABLE.store(false, Ordering::Relaxed);
            return None;
        }
        Err(_) => return None,
    };
    let rel = if path.segments().is_empty() {
        ".".to_string()
    } else {
        path.segments().join("/")
    };
    openat2(
        &root_fd,
        rel.as_str(),
        flags | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::BENEATH
            | ResolveFlags::NO_SYMLINKS
            | ResolveFlags::NO_MAGICLINKS
            | ResolveFlags::CACHED,
    )
    .ok()
}

/// `statx` of an open descriptor.
fn statx_fd(fd: &OwnedFd, facts: StatxFlags) -> Option<rustix::fs::Statx> {
    rustix::fs::statx(fd, "", AtFlags::EMPTY_PATH, facts).ok()
}

fn is_kind(st: &rustix::fs::Statx, kind: u32) -> bool {
    u32::from(st.stx_mode) & libc::S_IFMT == kind
}

/// [`cached_open`] for a download: a regular file only. It looks before it opens (an
/// `O_PATH` handle and its `statx`), so a device or FIFO is never opened here, and opens
/// `O_NONBLOCK`, so a file held by a lease gives `EAGAIN` instead of a wait.
fn open_cached(root: &Path, path: &VirtualPath) -> Option<(File, u64)> {
    let identity = |fd: &OwnedFd| {
        let st = statx_fd(fd, StatxFlags::TYPE | StatxFlags::INO | StatxFlags::SIZE)?;
        is_kind(&st, libc::S_IFREG).then_some((
            (st.stx_dev_major, st.stx_dev_minor, st.stx_ino),
            st.stx_size,
        ))
    };
    if path.segments().is_empty() {
        return None;
    }
    let (seen, _) = identity(&cached_open(root, path, OFlags::PATH)?)?;
    let fd = cached_open(
        root,
        path,
        OFlags::RDONLY | OFlags::NOCTTY | OFlags::NONBLOCK,
    )?;
    let (opened, size) = identity(&fd)?;
    // Replaced between the look and the open: let the slow path decide.
    (opened == seen).then(|| (File::from(fd), size))
}

/// [`cached_open`] for `metadata`: a plain file or directory, looked at through an `O_PATH`
/// handle.
fn metadata_cached(root: &Path, path: &VirtualPath) -> Option<Entry> {
    let fd = cached_open(root, path, OFlags::PATH)?;
    let st = statx_fd(
        &fd,
        StatxFlags::TYPE
            | StatxFlags::MODE
            | StatxFlags::NLINK
            | StatxFlags::SIZE
            | StatxFlags::MTIME,
    )?;
    entry_from_statx(path.file_name().unwrap_or("").to_string(), &st)
}

/// A neutral entry for a file or directory from its `statx` (`None` for other objects);
/// the twin of [`entry_from_metadata`]. Directories report size 0.
fn entry_from_statx(name: String, st: &rustix::fs::Statx) -> Option<Entry> {
    let (kind, size) = if is_kind(st, libc::S_IFDIR) {
        (EntryKind::Dir, 0)
    } else if is_kind(st, libc::S_IFREG) {
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

/// The canonical root; `NotFound` when it is missing or not a directory.
fn canonical_root(root: &Path) -> Result<PathBuf, StorageError> {
    let canonical = fs::canonicalize(root).map_err(map_io)?;
    if fs::metadata(&canonical).map_err(map_io)?.is_dir() {
        Ok(canonical)
    } else {
        Err(StorageError::new(StorageErrorKind::NotFound))
    }
}

/// The canonical directory `root/segments…`, which must exist inside the root.
fn confine_dir(root: &Path, segments: &[String]) -> Result<PathBuf, StorageError> {
    if segments.is_empty() {
        return Ok(root.to_path_buf());
    }
    // Fast path: the canonical root followed by real directories (no link among them) is
    // already canonical and inside the root. One `lstat` per segment instead of
    // `realpath`'s `readlink` for every component from `/` (7 system calls per download of
    // `/dir/file` under a three-level root, of ~40 in all).
    let mut dir = root.to_path_buf();
    let plain = segments.iter().all(|segment| {
        dir.push(segment);
        fs::symlink_metadata(&dir).is_ok_and(|meta| meta.is_dir())
    });
    if plain {
        return Ok(dir);
    }
    match fs::canonicalize(join(root, segments)) {
        Ok(dir) if !dir.starts_with(root) => Err(escape()),
        Ok(dir) => {
            if fs::metadata(&dir).map_err(map_io)?.is_dir() {
                Ok(dir)
            } else {
                Err(StorageError::new(StorageErrorKind::WrongKind))
            }
        }
        Err(e) => Err(explain_unresolved(root, segments, e)),
    }
}

/// `root/segments…` does not resolve: usually `NotFound` (or `WrongKind`), but
/// `NameNotAllowed` when the deepest existing ancestor lies outside the root or the next
/// component is a link that does not resolve — so the answer never reveals whether
/// something exists outside the root.
fn explain_unresolved(root: &Path, segments: &[String], err: io::Error) -> StorageError {
    for depth in (0..segments.len()).rev() {
        let Ok(ancestor) = fs::canonicalize(join(root, &segments[..depth])) else {
            continue;
        };
        if !ancestor.starts_with(root) {
            return escape();
        }
        let next = ancestor.join(&segments[depth]);
        if fs::symlink_metadata(next).is_ok_and(|m| m.file_type().is_symlink()) {
            return escape();
        }
        break;
    }
    map_io(err)
}

/// Follows the link `path` if it resolves to an existing object inside `root`.
fn follow_inside(root: &Path, path: &Path) -> Option<(PathBuf, Metadata)> {
    let target = fs::canonicalize(path).ok()?;
    if !target.starts_with(root) {
        return None;
    }
    let meta = fs::metadata(&target).ok()?;
    Some((target, meta))
}

/// Defence in depth: a `VirtualPath` segment is already clean, but a segment that is not
/// must never reach `Path::push` (an absolute one would replace the whole path).
fn check_segment(segment: &str) -> Result<(), StorageError> {
    if segment.is_empty()
        || segment == "."
        || segment == ".."
        || segment.contains('/')
        // Printable ASCII (nearly every name) needs no decoding to rule out controls.
        || (!segment.bytes().all(|b| (0x20..0x7f).contains(&b))
            && segment.chars().any(char::is_control))
    {
        Err(StorageError::new(StorageErrorKind::NameNotAllowed))
    } else {
        Ok(())
    }
}

fn join(root: &Path, segments: &[String]) -> PathBuf {
    let mut path = root.to_path_buf();
    path.extend(segments);
    path
}

fn escape() -> StorageError {
    StorageError::new(StorageErrorKind::NameNotAllowed)
}

/// `io::Error` → `StorageError`, with `ELOOP` (what `O_NOFOLLOW` reports for a link) as
/// `NameNotAllowed`.
fn map_io(e: io::Error) -> StorageError {
    if e.raw_os_error() == Some(libc::ELOOP) {
        StorageError {
            kind: StorageErrorKind::NameNotAllowed,
            source: Some(e),
        }
    } else {
        StorageError::from(e)
    }
}

/// A neutral entry for a file or directory (`None` for other objects). Directories report
/// size 0.
fn entry_from_metadata(name: &str, meta: &Metadata) -> Option<Entry> {
    let (kind, size) = if meta.is_dir() {
        (EntryKind::Dir, 0)
    } else if meta.is_file() {
        (EntryKind::File, meta.len())
    } else {
        return None;
    };
    Some(Entry {
        name: name.to_string(),
        kind,
        size,
        modified: meta.mtime(),
        mode: meta.mode() & 0o7777,
        nlink: meta.nlink(),
    })
}

/// What a listing thread makes of a batch of entries before sending it (`None`: nothing
/// to send): the entries themselves, or their listing lines. Each thread has its own.
type Converter<T> = Box<dyn FnMut(Vec<Entry>) -> Option<T> + Send>;

/// A directory opened for listing: read with `getdents` and inspected with `statx`
/// relative to the directory's descriptor (no path walk from the root per entry, one
/// allocation per entry: its name).
struct Listing {
    /// Read by [`Dir`]; a second descriptor (`Dir` dups its own) is the base for `statx`.
    fd: OwnedFd,
    /// Where the directory is, for following links among its entries.
    place: ListingPlace,
}

/// Where a listed directory is.
enum ListingPlace {
    /// Found by the canonicalising walk: its real path and the canonical root.
    Resolved { path: PathBuf, root: PathBuf },
    /// Opened by [`cached_open`]: `rel` (no link on it) beneath the configured root, which is
    /// canonicalised only if an entry is a link.
    Beneath { root: PathBuf, rel: PathBuf },
}

impl Listing {
    fn open(path: &Path, root: PathBuf) -> Result<Listing, StorageError> {
        let fd = rustix::fs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| map_io(e.into()))?;
        Ok(Listing {
            fd,
            place: ListingPlace::Resolved {
                path: path.to_path_buf(),
                root,
            },
        })
    }

    /// What the entry `name`, a link, leads to, if that is inside the root.
    fn follow_link(&self, name: &str) -> Option<Metadata> {
        match &self.place {
            ListingPlace::Resolved { path, root } => follow_inside(root, &path.join(name)),
            ListingPlace::Beneath { root, rel } => {
                let root = canonical_root(root).ok()?;
                follow_inside(&root, &root.join(rel).join(name))
            }
        }
        .map(|(_, meta)| meta)
    }

    /// Streams the entries into `tx` in batches (runs on the blocking pool); returns how
    /// many were delivered.
    ///
    /// `statx` per entry is most of a listing's time, all of it in the kernel: once a
    /// directory proves larger than one batch, a second thread inspects batches too. The
    /// reader queues a batch for the helper when the helper's one-batch queue is free and
    /// inspects it itself otherwise, so the helper never waits while the reader also pays
    /// for `getdents` (strict alternation left the reader ~50% more work and the listing
    /// ~20% slower). Entries arrive interleaved by batch; listings have no order anyway (the
    /// directory's own order is arbitrary).
    fn fill<T: Send>(
        &self,
        tx: &mpsc::Sender<Result<T, StorageError>>,
        converter: &(dyn Fn() -> Converter<T> + Sync),
    ) -> usize {
        let mut dir = match Dir::read_from(&self.fd) {
            Ok(dir) => dir,
            Err(e) => {
                let _ = tx.blocking_send(Err(map_io(e.into())));
                return 0;
            }
        };
        let sent = AtomicUsize::new(0);
        let deliver = |base: &OwnedFd, convert: &mut Converter<T>, names: Vec<CString>| -> bool {
            let batch: Vec<Entry> = names
                .into_iter()
                .filter_map(|name| self.entry(base, name))
                .collect();
            let len = batch.len();
            // The reader went away (transfer aborted): stop reading the directory.
            if let Some(message) = convert(batch)
                && tx.blocking_send(Ok(message)).is_err()
            {
                return false;
            }
            sent.fetch_add(len, Ordering::Relaxed);
            true
        };
        let mut convert = converter();
        std::thread::scope(|scope| {
            let mut helper: Option<std_mpsc::SyncSender<Vec<CString>>> = None;
            let mut names = Vec::with_capacity(LIST_BATCH);
            let mut batches = 0usize;
            while let Some(item) = dir.read() {
                match item {
                    Ok(item) => names.push(item.file_name().to_owned()),
                    Err(e) => {
                        drop(helper.take());
                        // What was read goes first, then the error (the transfer ends 451).
                        if deliver(&self.fd, &mut convert, std::mem::take(&mut names)) {
                            let _ = tx.blocking_send(Err(map_io(e.into())));
                        }
                        return;
                    }
                }
                if names.len() < LIST_BATCH {
                    continue;
                }
                let mut full = std::mem::replace(&mut names, Vec::with_capacity(LIST_BATCH));
                batches += 1;
                if batches == 2 && *PARALLEL_STAT_ENABLED {
                    helper = self.spawn_helper(scope, &deliver, converter);
                }
                if let Some(hand) = &helper {
                    match hand.try_send(full) {
                        Ok(()) => continue,
                        // The helper has a batch waiting: this thread inspects this one.
                        Err(std_mpsc::TrySendError::Full(back)) => full = back,
                        // The helper stopped because the reader went away.
                        Err(std_mpsc::TrySendError::Disconnected(_)) => return,
                    }
                }
                if !deliver(&self.fd, &mut convert, full) {
                    return;
                }
            }
            drop(helper);
            deliver(&self.fd, &mut convert, names);
        });
        sent.into_inner()
    }

    /// Starts the second `statx` thread, on a descriptor of its own: on a shared one every
    /// `statx` of both threads bumps the same open file's reference count. `None` (the reader
    /// then inspects every batch) when the directory cannot be opened again.
    fn spawn_helper<'scope, 'env, T, F>(
        &'env self,
        scope: &'scope std::thread::Scope<'scope, 'env>,
        deliver: &'env F,
        converter: &'env (dyn Fn() -> Converter<T> + Sync),
    ) -> Option<std_mpsc::SyncSender<Vec<CString>>>
    where
        T: Send,
        F: Fn(&OwnedFd, &mut Converter<T>, Vec<CString>) -> bool + Sync,
    {
        let base = rustix::fs::openat(
            &self.fd,
            ".",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .ok()?;
        let (hand, take) = std_mpsc::sync_channel::<Vec<CString>>(1);
        scope.spawn(move || {
            let mut convert = converter();
            for names in take {
                if !deliver(&base, &mut convert, names) {
                    return;
                }
            }
        });
        Some(hand)
    }

    /// One listing entry, or `None` for what listings leave out (see the module
    /// documentation): `.` and `..`, names that are not clean UTF-8 segments, objects other
    /// than files and directories, links leading outside the root. An entry that vanished or
    /// cannot be inspected is left out too (it raced with a delete, or the file system
    /// refuses to say what it is).
    fn entry(&self, base: &OwnedFd, name: CString) -> Option<Entry> {
        // One UTF-8 check, and the name's buffer becomes the entry's.
        let name = name.into_string().ok()?;
        check_segment(&name).ok()?;
        let st = match rustix::fs::statx(
            base,
            &name,
            AtFlags::SYMLINK_NOFOLLOW,
            StatxFlags::TYPE
                | StatxFlags::MODE
                | StatxFlags::NLINK
                | StatxFlags::SIZE
                | StatxFlags::MTIME,
        ) {
            Ok(st) => st,
            Err(e) => {
                tracing::debug!(?name, error = %e, "directory entry left out of a listing");
                return None;
            }
        };
        if is_kind(&st, libc::S_IFLNK) {
            let meta = self.follow_link(&name)?;
            return entry_from_metadata(&name, &meta);
        }
        entry_from_statx(name, &st)
    }
}

/// Whether large listings use a second thread for `stat` (not on a one-core machine).
static PARALLEL_STAT_ENABLED: LazyLock<bool> =
    LazyLock::new(|| std::thread::available_parallelism().is_ok_and(|n| n.get() > 1));

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

#[cfg(test)]
mod tests {
    use std::fs::File;
    use std::os::unix::fs::symlink;
    use std::sync::Arc;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::super::LineWriter;
    use super::*;

    /// A root with `dir/inner.txt`, `file.txt`, and a sibling "outside" folder holding a
    /// secret, linked from inside the root as `out` (directory), `secret` (file) and `etc`.
    struct Fixture {
        _tmp: tempfile::TempDir,
        root: PathBuf,
        outside: PathBuf,
        storage: LocalStorage,
    }

    fn fixture() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        let outside = tmp.path().join("outside");
        fs::create_dir_all(root.join("dir")).unwrap();
        fs::create_dir_all(&outside).unwrap();
        fs::write(root.join("file.txt"), b"hello world").unwrap();
        fs::write(root.join("dir/inner.txt"), b"inner").unwrap();
        fs::write(outside.join("secret.txt"), b"top secret").unwrap();
        symlink(&outside, root.join("out")).unwrap();
        symlink(outside.join("secret.txt"), root.join("secret")).unwrap();
        symlink("/etc", root.join("etc")).unwrap();
        let storage = LocalStorage::new(root.clone());
        Fixture {
            _tmp: tmp,
            root,
            outside,
            storage,
        }
    }

    fn vp(path: &str) -> VirtualPath {
        VirtualPath::from_segments(path.split('/').filter(|s| !s.is_empty())).unwrap()
    }

    fn kind<T>(result: Result<T, StorageError>) -> StorageErrorKind {
        match result {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.kind,
        }
    }

    async fn read_all(storage: &LocalStorage, path: &str, offset: u64) -> (Vec<u8>, u64) {
        let mut handle = storage.open_read(&vp(path), offset).await.unwrap();
        let mut bytes = Vec::new();
        handle.reader.read_to_end(&mut bytes).await.unwrap();
        (bytes, handle.size)
    }

    async fn write_all(storage: &LocalStorage, path: &str, mode: WriteMode, data: &[u8]) {
        let mut w = storage.open_write(&vp(path), mode).await.unwrap();
        w.write_all(data).await.unwrap();
        w.shutdown().await.unwrap();
    }

    async fn names(storage: &LocalStorage, path: &str) -> Vec<String> {
        let mut rx = storage.list(&vp(path)).await.unwrap();
        let mut names = Vec::new();
        while let Some(batch) = rx.recv().await {
            names.extend(batch.unwrap().into_iter().map(|e| e.name));
        }
        names.sort();
        names
    }

    const OUTWARD: [&str; 5] = ["out", "out/secret.txt", "secret", "etc", "etc/passwd"];

    #[tokio::test]
    async fn links_pointing_outside_are_refused_for_reads() {
        let f = fixture();
        for path in OUTWARD {
            let p = vp(path);
            let name_not_allowed = StorageErrorKind::NameNotAllowed;
            assert_eq!(
                kind(f.storage.metadata(&p).await),
                name_not_allowed,
                "{path}"
            );
            assert_eq!(
                kind(f.storage.open_read(&p, 0).await),
                name_not_allowed,
                "{path}"
            );
            assert_eq!(kind(f.storage.list(&p).await), name_not_allowed, "{path}");
            assert_eq!(kind(f.storage.set_modified(&p, 0).await), name_not_allowed);
        }
    }

    #[tokio::test]
    async fn missing_paths_behind_outward_links_are_refused_the_same_way() {
        let f = fixture();
        // Whether the name exists outside must not change the answer.
        for path in [
            "out/nothing",
            "out/nothing/deeper",
            "etc/no-such-file",
            "etc/passwd/x",
        ] {
            let p = vp(path);
            assert_eq!(
                kind(f.storage.metadata(&p).await),
                StorageErrorKind::NameNotAllowed,
                "{path}"
            );
        }
    }

    #[tokio::test]
    async fn links_pointing_outside_are_refused_for_writes() {
        let f = fixture();
        for mode in [
            WriteMode::Truncate,
            WriteMode::Append,
            WriteMode::CreateNew,
            WriteMode::Resume(0),
        ] {
            for path in ["out/new.txt", "out/secret.txt", "secret", "etc/wharf-test"] {
                assert_eq!(
                    kind(f.storage.open_write(&vp(path), mode).await),
                    StorageErrorKind::NameNotAllowed,
                    "{path} {mode:?}"
                );
            }
        }
        for path in ["out/sub", "etc/wharf-test"] {
            assert_eq!(
                kind(f.storage.create_dir(&vp(path)).await),
                StorageErrorKind::NameNotAllowed
            );
        }
        assert_eq!(
            kind(f.storage.remove_file(&vp("out/secret.txt")).await),
            StorageErrorKind::NameNotAllowed
        );
        assert_eq!(
            kind(
                f.storage
                    .rename(&vp("file.txt"), &vp("out/stolen"), false)
                    .await
            ),
            StorageErrorKind::NameNotAllowed
        );
        assert_eq!(
            kind(
                f.storage
                    .rename(&vp("out/secret.txt"), &vp("mine"), false)
                    .await
            ),
            StorageErrorKind::NameNotAllowed
        );
        // Nothing changed outside.
        assert_eq!(
            fs::read(f.outside.join("secret.txt")).unwrap(),
            b"top secret"
        );
        assert_eq!(fs::read_dir(&f.outside).unwrap().count(), 1);
        assert!(f.root.join("file.txt").exists());
    }

    #[tokio::test]
    async fn dangling_links_are_never_followed() {
        let f = fixture();
        let target = f.outside.join("created-through-link");
        symlink(&target, f.root.join("dangling")).unwrap();
        for mode in [WriteMode::Truncate, WriteMode::Append, WriteMode::CreateNew] {
            assert_eq!(
                kind(f.storage.open_write(&vp("dangling"), mode).await),
                StorageErrorKind::NameNotAllowed
            );
        }
        assert_eq!(
            kind(f.storage.metadata(&vp("dangling")).await),
            StorageErrorKind::NameNotAllowed
        );
        assert!(!target.exists());
    }

    #[tokio::test]
    async fn listings_leave_out_links_that_escape() {
        let f = fixture();
        symlink(f.outside.join("nowhere"), f.root.join("dangling")).unwrap();
        assert_eq!(names(&f.storage, "/").await, ["dir", "file.txt"]);
    }

    #[tokio::test]
    async fn links_inside_the_root_are_transparent() {
        let f = fixture();
        symlink(f.root.join("dir"), f.root.join("dirlink")).unwrap();
        symlink("file.txt", f.root.join("filelink")).unwrap();
        let meta = f.storage.metadata(&vp("filelink")).await.unwrap();
        assert_eq!(
            (meta.name.as_str(), meta.kind, meta.size),
            ("filelink", EntryKind::File, 11)
        );
        assert_eq!(
            read_all(&f.storage, "dirlink/inner.txt", 0).await.0,
            b"inner"
        );
        assert_eq!(read_all(&f.storage, "filelink", 6).await.0, b"world");
        assert_eq!(names(&f.storage, "dirlink").await, ["inner.txt"]);
        let mut rx = f.storage.list(&VirtualPath::root()).await.unwrap();
        let mut entries = Vec::new();
        while let Some(batch) = rx.recv().await {
            entries.extend(batch.unwrap());
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        let kinds: Vec<_> = entries.iter().map(|e| (e.name.as_str(), e.kind)).collect();
        assert_eq!(
            kinds,
            [
                ("dir", EntryKind::Dir),
                ("dirlink", EntryKind::Dir),
                ("file.txt", EntryKind::File),
                ("filelink", EntryKind::File),
            ]
        );
        // Writing through a link writes the target; deleting the link keeps the target.
        write_all(&f.storage, "dirlink/new.txt", WriteMode::Truncate, b"n").await;
        assert_eq!(fs::read(f.root.join("dir/new.txt")).unwrap(), b"n");
        f.storage.remove_file(&vp("filelink")).await.unwrap();
        assert!(f.root.join("file.txt").exists());
        assert!(fs::symlink_metadata(f.root.join("filelink")).is_err());
    }

    #[tokio::test]
    async fn metadata_reports_kind_size_time_mode_and_links() {
        let f = fixture();
        let file = f.storage.metadata(&vp("file.txt")).await.unwrap();
        let disk = fs::metadata(f.root.join("file.txt")).unwrap();
        assert_eq!(file.name, "file.txt");
        assert_eq!(file.kind, EntryKind::File);
        assert_eq!(file.size, 11);
        assert_eq!(file.modified, disk.mtime());
        assert_eq!(file.mode, disk.mode() & 0o7777);
        assert_eq!(file.nlink, 1);
        let dir = f.storage.metadata(&vp("dir")).await.unwrap();
        assert_eq!((dir.kind, dir.size), (EntryKind::Dir, 0));
        let root = f.storage.metadata(&VirtualPath::root()).await.unwrap();
        assert_eq!((root.name.as_str(), root.kind), ("", EntryKind::Dir));
        assert_eq!(
            kind(f.storage.metadata(&vp("missing")).await),
            StorageErrorKind::NotFound
        );
        assert_eq!(
            kind(f.storage.metadata(&vp("file.txt/below")).await),
            StorageErrorKind::WrongKind
        );
    }

    #[tokio::test]
    async fn missing_root_is_not_found() {
        let tmp = tempfile::tempdir().unwrap();
        let storage = LocalStorage::new(tmp.path().join("absent"));
        assert_eq!(
            kind(storage.metadata(&VirtualPath::root()).await),
            StorageErrorKind::NotFound
        );
        assert_eq!(
            kind(storage.list(&VirtualPath::root()).await),
            StorageErrorKind::NotFound
        );
        assert_eq!(
            kind(storage.open_write(&vp("x"), WriteMode::Truncate).await),
            StorageErrorKind::NotFound
        );
        assert!(!tmp.path().join("absent").exists());
    }

    /// Listing entries carry what `stat` says, and names a listing could not show safely
    /// (not UTF-8, control characters such as a line break) are left out.
    #[tokio::test]
    async fn listing_reports_stat_facts_and_omits_unsafe_names() {
        use std::os::unix::ffi::OsStrExt;
        let f = fixture();
        fs::write(f.root.join("line\nbreak"), b"x").unwrap();
        fs::write(f.root.join(std::ffi::OsStr::from_bytes(b"latin\xe9")), b"x").unwrap();
        fs::hard_link(f.root.join("file.txt"), f.root.join("hard.txt")).unwrap();
        let mut rx = f.storage.list(&VirtualPath::root()).await.unwrap();
        let mut entries = Vec::new();
        while let Some(batch) = rx.recv().await {
            entries.extend(batch.unwrap());
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        let names: Vec<_> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["dir", "file.txt", "hard.txt"]);
        for e in &entries {
            let meta = fs::symlink_metadata(f.root.join(&e.name)).unwrap();
            assert_eq!(e.modified, meta.mtime(), "{}", e.name);
            assert_eq!(e.mode, meta.mode() & 0o7777, "{}", e.name);
            assert_eq!(e.nlink, meta.nlink(), "{}", e.name);
            let (kind, size) = if meta.is_dir() {
                (EntryKind::Dir, 0)
            } else {
                (EntryKind::File, meta.len())
            };
            assert_eq!((e.kind, e.size), (kind, size), "{}", e.name);
        }
        assert_eq!(entries[1].nlink, 2);
    }

    #[tokio::test]
    async fn special_files_are_hidden_and_never_opened() {
        let f = fixture();
        let socket = std::os::unix::net::UnixListener::bind(f.root.join("sock")).unwrap();
        assert_eq!(names(&f.storage, "/").await, ["dir", "file.txt"]);
        assert_eq!(
            kind(f.storage.metadata(&vp("sock")).await),
            StorageErrorKind::NotFound
        );
        assert_eq!(
            kind(f.storage.open_read(&vp("sock"), 0).await),
            StorageErrorKind::NotFound
        );
        assert_eq!(
            kind(
                f.storage
                    .open_write(&vp("sock"), WriteMode::CreateNew)
                    .await
            ),
            StorageErrorKind::AlreadyExists
        );
        assert_eq!(
            kind(f.storage.open_write(&vp("sock"), WriteMode::Truncate).await),
            StorageErrorKind::PermissionDenied
        );
        drop(socket);
    }

    /// The non-blocking open takes only plain, cached, regular files beneath the root and
    /// leaves everything else to the blocking path, which still serves it as before.
    #[tokio::test]
    async fn cached_open_takes_only_the_plain_case() {
        let f = fixture();
        // A first stat puts the names in the kernel's lookup cache.
        for name in [
            "file.txt",
            "dir/inner.txt",
            "dir",
            "secret",
            "out/secret.txt",
        ] {
            let _ = fs::symlink_metadata(f.root.join(name));
        }
        let (mut file, size) = open_cached(&f.root, &vp("dir/inner.txt")).expect("plain file");
        assert_eq!(size, 5);
        let mut text = String::new();
        std::io::Read::read_to_string(&mut file, &mut text).unwrap();
        assert_eq!(text, "inner");
        // A directory, a link (even one leading inside), a path through a link, a missing
        // name, the root itself: not here.
        symlink(f.root.join("file.txt"), f.root.join("inside")).unwrap();
        for path in ["dir", "inside", "secret", "out/secret.txt", "missing.txt"] {
            assert!(open_cached(&f.root, &vp(path)).is_none(), "{path}");
        }
        assert!(open_cached(&f.root, &VirtualPath::root()).is_none());
        // The blocking path still serves the link inside and refuses the one outside.
        assert_eq!(read_all(&f.storage, "inside", 0).await.0, b"hello world");
        assert_eq!(
            kind(f.storage.open_read(&vp("secret"), 0).await),
            StorageErrorKind::NameNotAllowed
        );
    }

    /// `metadata` answers plain files and directories (the root too) without the blocking
    /// pool, and leaves links and special files to the canonicalising path.
    #[tokio::test]
    async fn cached_metadata_takes_only_plain_files_and_directories() {
        let f = fixture();
        for name in ["file.txt", "dir", "secret"] {
            let _ = fs::symlink_metadata(f.root.join(name));
        }
        let file = metadata_cached(&f.root, &vp("file.txt")).expect("plain file");
        assert_eq!(
            (file.name.as_str(), file.kind, file.size),
            ("file.txt", EntryKind::File, 11)
        );
        let dir = metadata_cached(&f.root, &vp("dir")).expect("directory");
        assert_eq!(dir.kind, EntryKind::Dir);
        let root = metadata_cached(&f.root, &VirtualPath::root()).expect("the root");
        assert_eq!((root.name.as_str(), root.kind), ("", EntryKind::Dir));
        assert!(metadata_cached(&f.root, &vp("secret")).is_none());
        assert!(metadata_cached(&f.root, &vp("missing")).is_none());
        // The same answers as the canonicalising path.
        let slow = f.storage.metadata(&vp("file.txt")).await.unwrap();
        assert_eq!(
            (slow.size, slow.modified, slow.mode),
            (file.size, file.modified, file.mode)
        );
    }

    /// A FIFO is looked at, never opened (opening one for reading waits for a writer).
    #[tokio::test]
    async fn cached_open_never_opens_a_fifo() {
        let f = fixture();
        let fifo = f.root.join("pipe");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        let _ = fs::symlink_metadata(&fifo);
        assert!(open_cached(&f.root, &vp("pipe")).is_none());
        assert!(metadata_cached(&f.root, &vp("pipe")).is_none());
        assert_eq!(
            kind(f.storage.open_read(&vp("pipe"), 0).await),
            StorageErrorKind::NotFound
        );
    }

    #[tokio::test]
    async fn open_read_seeks_and_reports_total_size() {
        let f = fixture();
        assert_eq!(
            read_all(&f.storage, "file.txt", 0).await,
            (b"hello world".to_vec(), 11)
        );
        assert_eq!(
            read_all(&f.storage, "file.txt", 6).await,
            (b"world".to_vec(), 11)
        );
        assert_eq!(read_all(&f.storage, "file.txt", 11).await, (Vec::new(), 11));
        assert_eq!(read_all(&f.storage, "file.txt", 50).await, (Vec::new(), 11));
        assert_eq!(
            kind(f.storage.open_read(&vp("dir"), 0).await),
            StorageErrorKind::WrongKind
        );
        assert_eq!(
            kind(f.storage.open_read(&VirtualPath::root(), 0).await),
            StorageErrorKind::WrongKind
        );
        assert_eq!(
            kind(f.storage.open_read(&vp("nope"), 0).await),
            StorageErrorKind::NotFound
        );
    }

    #[tokio::test]
    async fn truncate_creates_and_replaces() {
        let f = fixture();
        write_all(
            &f.storage,
            "dir/new.bin",
            WriteMode::Truncate,
            b"first version",
        )
        .await;
        assert_eq!(
            fs::read(f.root.join("dir/new.bin")).unwrap(),
            b"first version"
        );
        write_all(&f.storage, "dir/new.bin", WriteMode::Truncate, b"v2").await;
        assert_eq!(fs::read(f.root.join("dir/new.bin")).unwrap(), b"v2");
        assert_eq!(
            kind(
                f.storage
                    .open_write(&vp("no-dir/x"), WriteMode::Truncate)
                    .await
            ),
            StorageErrorKind::NotFound
        );
    }

    #[tokio::test]
    async fn append_creates_or_appends() {
        let f = fixture();
        write_all(&f.storage, "file.txt", WriteMode::Append, b"!!").await;
        assert_eq!(fs::read(f.root.join("file.txt")).unwrap(), b"hello world!!");
        write_all(&f.storage, "log", WriteMode::Append, b"a").await;
        write_all(&f.storage, "log", WriteMode::Append, b"b").await;
        assert_eq!(fs::read(f.root.join("log")).unwrap(), b"ab");
    }

    #[tokio::test]
    async fn create_new_refuses_existing_names() {
        let f = fixture();
        write_all(&f.storage, "unique", WriteMode::CreateNew, b"u").await;
        assert_eq!(fs::read(f.root.join("unique")).unwrap(), b"u");
        for existing in ["unique", "file.txt"] {
            assert_eq!(
                kind(
                    f.storage
                        .open_write(&vp(existing), WriteMode::CreateNew)
                        .await
                ),
                StorageErrorKind::AlreadyExists
            );
        }
        assert_eq!(fs::read(f.root.join("file.txt")).unwrap(), b"hello world");
    }

    #[tokio::test]
    async fn resume_keeps_the_prefix_and_writes_from_the_offset() {
        let f = fixture();
        write_all(&f.storage, "file.txt", WriteMode::Resume(6), b"there").await;
        assert_eq!(fs::read(f.root.join("file.txt")).unwrap(), b"hello there");
        // Bytes after the offset are dropped even when the new data is shorter.
        write_all(&f.storage, "file.txt", WriteMode::Resume(5), b"!").await;
        assert_eq!(fs::read(f.root.join("file.txt")).unwrap(), b"hello!");
        // Offset equal to the size appends.
        write_all(&f.storage, "file.txt", WriteMode::Resume(6), b"?").await;
        assert_eq!(fs::read(f.root.join("file.txt")).unwrap(), b"hello!?");
        write_all(&f.storage, "file.txt", WriteMode::Resume(0), b"x").await;
        assert_eq!(fs::read(f.root.join("file.txt")).unwrap(), b"x");
    }

    #[tokio::test]
    async fn resume_needs_an_existing_long_enough_file() {
        let f = fixture();
        assert_eq!(
            kind(
                f.storage
                    .open_write(&vp("absent"), WriteMode::Resume(0))
                    .await
            ),
            StorageErrorKind::NotFound
        );
        assert_eq!(
            kind(
                f.storage
                    .open_write(&vp("file.txt"), WriteMode::Resume(12))
                    .await
            ),
            StorageErrorKind::Local
        );
        assert_eq!(fs::read(f.root.join("file.txt")).unwrap(), b"hello world");
    }

    #[tokio::test]
    async fn writes_to_directories_are_refused() {
        let f = fixture();
        for mode in [
            WriteMode::Truncate,
            WriteMode::Append,
            WriteMode::Resume(0),
            WriteMode::CreateNew,
        ] {
            assert_eq!(
                kind(f.storage.open_write(&vp("dir"), mode).await),
                StorageErrorKind::WrongKind
            );
            assert_eq!(
                kind(f.storage.open_write(&VirtualPath::root(), mode).await),
                StorageErrorKind::WrongKind
            );
        }
        assert!(f.root.join("dir").is_dir());
    }

    #[tokio::test]
    async fn remove_file_deletes_files_only() {
        let f = fixture();
        f.storage.remove_file(&vp("dir/inner.txt")).await.unwrap();
        assert!(!f.root.join("dir/inner.txt").exists());
        assert_eq!(
            kind(f.storage.remove_file(&vp("dir/inner.txt")).await),
            StorageErrorKind::NotFound
        );
        assert_eq!(
            kind(f.storage.remove_file(&vp("dir")).await),
            StorageErrorKind::WrongKind
        );
        assert!(f.root.join("dir").is_dir());
    }

    #[tokio::test]
    async fn create_and_remove_directories() {
        let f = fixture();
        f.storage.create_dir(&vp("dir/sub")).await.unwrap();
        assert!(f.root.join("dir/sub").is_dir());
        assert_eq!(
            kind(f.storage.create_dir(&vp("dir/sub")).await),
            StorageErrorKind::AlreadyExists
        );
        assert_eq!(
            kind(f.storage.create_dir(&vp("file.txt")).await),
            StorageErrorKind::AlreadyExists
        );
        assert_eq!(
            kind(f.storage.create_dir(&vp("a/b")).await),
            StorageErrorKind::NotFound
        );
        assert_eq!(
            kind(f.storage.create_dir(&VirtualPath::root()).await),
            StorageErrorKind::AlreadyExists
        );
        assert_eq!(
            kind(f.storage.remove_dir(&vp("dir")).await),
            StorageErrorKind::NotEmpty
        );
        assert_eq!(
            kind(f.storage.remove_dir(&vp("file.txt")).await),
            StorageErrorKind::WrongKind
        );
        f.storage.remove_dir(&vp("dir/sub")).await.unwrap();
        assert!(!f.root.join("dir/sub").exists());
        assert_eq!(
            kind(f.storage.remove_dir(&vp("dir/sub")).await),
            StorageErrorKind::NotFound
        );
        assert_eq!(
            kind(f.storage.remove_dir(&VirtualPath::root()).await),
            StorageErrorKind::PermissionDenied
        );
        assert!(f.root.is_dir());
    }

    #[tokio::test]
    async fn rename_moves_and_respects_replace() {
        let f = fixture();
        f.storage
            .rename(&vp("file.txt"), &vp("dir/moved.txt"), false)
            .await
            .unwrap();
        assert_eq!(
            fs::read(f.root.join("dir/moved.txt")).unwrap(),
            b"hello world"
        );
        assert!(!f.root.join("file.txt").exists());

        fs::write(f.root.join("other"), b"other").unwrap();
        assert_eq!(
            kind(
                f.storage
                    .rename(&vp("other"), &vp("dir/moved.txt"), false)
                    .await
            ),
            StorageErrorKind::AlreadyExists
        );
        assert_eq!(
            fs::read(f.root.join("dir/moved.txt")).unwrap(),
            b"hello world"
        );
        f.storage
            .rename(&vp("other"), &vp("dir/moved.txt"), true)
            .await
            .unwrap();
        assert_eq!(fs::read(f.root.join("dir/moved.txt")).unwrap(), b"other");
        assert!(!f.root.join("other").exists());

        // Directories move too.
        f.storage
            .rename(&vp("dir"), &vp("renamed"), false)
            .await
            .unwrap();
        assert!(f.root.join("renamed/moved.txt").exists());
        assert_eq!(
            kind(f.storage.rename(&vp("missing"), &vp("x"), true).await),
            StorageErrorKind::NotFound
        );
    }

    #[tokio::test]
    async fn the_root_is_never_renamed() {
        let f = fixture();
        assert_eq!(
            kind(f.storage.rename(&VirtualPath::root(), &vp("x"), true).await),
            StorageErrorKind::PermissionDenied
        );
        assert_eq!(
            kind(
                f.storage
                    .rename(&vp("dir"), &VirtualPath::root(), true)
                    .await
            ),
            StorageErrorKind::PermissionDenied
        );
        assert!(f.root.join("dir").is_dir());
    }

    #[tokio::test]
    async fn set_modified_changes_mtime() {
        let f = fixture();
        f.storage
            .set_modified(&vp("file.txt"), 1_600_000_000)
            .await
            .unwrap();
        assert_eq!(
            fs::metadata(f.root.join("file.txt")).unwrap().mtime(),
            1_600_000_000
        );
        f.storage
            .set_modified(&vp("dir"), 1_000_000_000)
            .await
            .unwrap();
        let entry = f.storage.metadata(&vp("dir")).await.unwrap();
        assert_eq!(entry.modified, 1_000_000_000);
        assert_eq!(
            kind(f.storage.set_modified(&vp("missing"), 0).await),
            StorageErrorKind::NotFound
        );
    }

    #[tokio::test]
    async fn list_of_a_file_is_wrong_kind() {
        let f = fixture();
        assert_eq!(
            kind(f.storage.list(&vp("file.txt")).await),
            StorageErrorKind::WrongKind
        );
        assert_eq!(
            kind(f.storage.list(&vp("missing")).await),
            StorageErrorKind::NotFound
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn listing_streams_a_hundred_thousand_entries() {
        const COUNT: usize = 100_000;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("big");
        let dir2 = dir.clone();
        tokio::task::spawn_blocking(move || {
            fs::create_dir(&dir2).unwrap();
            for i in 0..COUNT {
                File::create(dir2.join(format!("f{i:06}"))).unwrap();
            }
        })
        .await
        .unwrap();
        let storage = LocalStorage::new(tmp.path().to_path_buf());
        let mut rx = storage.list(&vp("big")).await.unwrap();
        assert_eq!(rx.max_capacity(), LIST_CHANNEL_DEPTH);
        let mut seen = vec![false; COUNT];
        let mut count = 0;
        while let Some(batch) = rx.recv().await {
            let batch = batch.unwrap();
            assert!(!batch.is_empty() && batch.len() <= LIST_BATCH);
            for entry in batch {
                let index: usize = entry.name[1..].parse().unwrap();
                assert!(!seen[index], "duplicate {}", entry.name);
                seen[index] = true;
                count += 1;
            }
        }
        assert_eq!(count, COUNT);
        assert!(seen.iter().all(|s| *s));
    }

    /// A directory of several batches is formatted on both listing threads, each with a
    /// writer of its own, and every entry comes out exactly once.
    #[tokio::test]
    async fn list_lines_formats_every_entry_once_with_a_writer_per_thread() {
        let count = LIST_BATCH * 6 + 7;
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir(tmp.path().join("big")).unwrap();
        for i in 0..count {
            fs::write(tmp.path().join(format!("big/f{i:06}")), b"").unwrap();
        }
        let storage = LocalStorage::new(tmp.path().to_path_buf());
        let made = Arc::new(AtomicUsize::new(0));
        let counter = made.clone();
        let writers: LineWriters = Arc::new(move || -> LineWriter {
            counter.fetch_add(1, Ordering::Relaxed);
            Box::new(|e: &Entry, out: &mut String| out.push_str(&e.name))
        });
        let mut rx = storage.list_lines(&vp("big"), writers).await.unwrap();
        let mut text = Vec::new();
        while let Some(chunk) = rx.recv().await {
            let chunk = chunk.unwrap();
            assert!(!chunk.is_empty() && chunk.ends_with(b"\r\n"));
            text.extend_from_slice(&chunk);
        }
        let text = String::from_utf8(text).unwrap();
        let mut names: Vec<&str> = text.split_terminator("\r\n").collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
        assert_eq!(names.first(), Some(&"f000000"));
        let expected = if *PARALLEL_STAT_ENABLED { 2 } else { 1 };
        assert_eq!(made.load(Ordering::Relaxed), expected);
    }

    #[tokio::test]
    async fn the_producer_stays_bounded_and_stops_when_the_reader_leaves() {
        let total = LIST_CHANNEL_DEPTH * LIST_BATCH * 4;
        let tmp = tempfile::tempdir().unwrap();
        for i in 0..total {
            fs::write(tmp.path().join(format!("f{i}")), b"").unwrap();
        }
        let root = fs::canonicalize(tmp.path()).unwrap();
        let listing = Listing::open(&root, root.clone()).unwrap();
        let (tx, mut rx) = mpsc::channel(LIST_CHANNEL_DEPTH);
        let producer = tokio::task::spawn_blocking(move || {
            listing.fill(&tx, &|| {
                Box::new(|batch| (!batch.is_empty()).then_some(batch))
            })
        });
        assert!(rx.recv().await.unwrap().is_ok());
        // Let the producer fill the channel and block on it.
        tokio::time::sleep(Duration::from_millis(100)).await;
        drop(rx);
        let sent = producer.await.unwrap();
        // The batch received and those the channel holds; the next send fails.
        assert!(
            sent <= (LIST_CHANNEL_DEPTH + 1) * LIST_BATCH,
            "sent {sent} of {total}"
        );
    }
}
