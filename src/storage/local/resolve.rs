//! The jail: resolving a back-end path beneath an open directory without ever letting the
//! kernel follow a link the resolver has not checked.
//!
//! Every step is `openat(dir, one_name, O_PATH | O_NOFOLLOW)` from a directory descriptor
//! this resolver holds, starting at the confinement root. A link is read through its own
//! `O_PATH` handle (`readlinkat(fd, "")`, so the link that was inspected is the link that is
//! read) and its target continues the walk: a relative target from the link's directory, an
//! absolute one from the root when it names a place under the root's real path. `..` pops
//! a descriptor this resolver opened; popping past the root is an escape. So a directory
//! swapped for a link between two steps is seen as a link and resolved like any other: no
//! race can lead outside the root, because the kernel is never asked to resolve more than
//! one name.
//!
//! The outcomes follow the module rules of [`super`]: escapes, dangling links and loops are
//! [`StorageErrorKind::OutsideRoot`]; a missing name of the path itself is `NotFound` (or,
//! for the last one, [`Walked::Missing`], which writes need).

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

use rustix::fs::{AtFlags, Mode, OFlags, StatxFlags};
use rustix::io::Errno;

use super::super::{StorageError, StorageErrorKind};

/// How many links one resolution may follow (Linux's own limit).
const MAX_LINKS: usize = 40;

/// The confinement root of one operation: an open directory and, when a link needs it, its
/// real path (absolute link targets are only understood relative to it).
#[derive(Debug)]
pub(super) struct Root {
    pub fd: OwnedFd,
    real_path: OnceLock<Option<PathBuf>>,
    /// What to canonicalise when `/proc` cannot say where the descriptor is.
    fallback: PathBuf,
}

impl Root {
    pub fn new(fd: OwnedFd, fallback: PathBuf) -> Root {
        Root {
            fd,
            real_path: OnceLock::new(),
            fallback,
        }
    }

    /// Where the root is now: from the descriptor itself (`/proc/self/fd`), else the
    /// canonical configured path. Only used to understand absolute link targets; the walk
    /// itself never goes by path.
    fn real_path(&self) -> Option<&Path> {
        self.real_path
            .get_or_init(|| {
                std::fs::read_link(format!("/proc/self/fd/{}", self.fd.as_raw_fd()))
                    .ok()
                    .filter(|p| p.is_absolute())
                    .or_else(|| std::fs::canonicalize(&self.fallback).ok())
            })
            .as_deref()
    }
}

/// What a path resolved to.
// A short-lived value on the resolving thread's stack: boxing the `statx` buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(super) enum Walked {
    /// An existing object.
    Found(Found),
    /// The last name does not exist in `parent` (a real directory beneath the root).
    Missing { parent: OwnedFd, name: OsString },
}

/// An existing object beneath the root.
#[derive(Debug)]
pub(super) struct Found {
    /// An `O_PATH` handle on the object (on the link itself when the final link was not
    /// followed).
    pub fd: OwnedFd,
    /// The directory that holds it and its name there (after links); `None` for the root.
    pub place: Option<(OwnedFd, OsString)>,
    /// Its `statx` (type, mode, size, times, link count, identity).
    pub stat: rustix::fs::Statx,
}

impl Found {
    pub fn is_dir(&self) -> bool {
        is_kind(&self.stat, libc::S_IFDIR)
    }

    pub fn is_file(&self) -> bool {
        is_kind(&self.stat, libc::S_IFREG)
    }

    pub fn is_link(&self) -> bool {
        is_kind(&self.stat, libc::S_IFLNK)
    }

    /// A file or a directory: the only objects ever served.
    pub fn is_served(&self) -> bool {
        self.is_dir() || self.is_file()
    }

    /// The holding directory and name; the root has none (`WrongKind`).
    pub fn place(&self) -> Result<(&OwnedFd, &OsStr), StorageError> {
        self.place
            .as_ref()
            .map(|(dir, name)| (dir, name.as_os_str()))
            .ok_or(StorageError::new(StorageErrorKind::WrongKind))
    }
}

/// Everything `statx` reports that the back-end uses.
pub(super) const STAT_FACTS: StatxFlags = StatxFlags::TYPE
    .union(StatxFlags::MODE)
    .union(StatxFlags::NLINK)
    .union(StatxFlags::SIZE)
    .union(StatxFlags::MTIME)
    .union(StatxFlags::INO)
    .union(StatxFlags::UID)
    .union(StatxFlags::GID);

pub(super) fn is_kind(st: &rustix::fs::Statx, kind: u32) -> bool {
    u32::from(st.stx_mode) & libc::S_IFMT == kind
}

/// `statx` of an open descriptor.
pub(super) fn statx_fd(fd: &OwnedFd) -> Result<rustix::fs::Statx, StorageError> {
    rustix::fs::statx(fd, "", AtFlags::EMPTY_PATH, STAT_FACTS).map_err(errno)
}

/// One name beneath a directory, never followed if it is a link.
fn open_step(dir: &OwnedFd, name: &OsStr) -> Result<OwnedFd, Errno> {
    rustix::fs::openat(
        dir,
        name,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

/// A component still to resolve, and whether it came from a link's target (a missing one
/// then means a dangling link, which is refused like an escape).
struct Step {
    name: OsString,
    from_link: bool,
}

/// Resolves `segments` beneath `root` (see the module documentation). With `follow_last`
/// a final link is followed (and must lead to something inside); without it the link itself
/// is the result.
pub(super) fn walk<S: AsRef<OsStr>>(
    root: &Root,
    segments: &[S],
    follow_last: bool,
) -> Result<Walked, StorageError> {
    let mut todo: VecDeque<Step> = segments
        .iter()
        .map(|s| Step {
            name: s.as_ref().to_os_string(),
            from_link: false,
        })
        .collect();
    // Directories opened below the root; the current one is the last.
    let mut stack: Vec<(OwnedFd, OsString)> = Vec::new();
    let mut links = 0usize;
    while let Some(step) = todo.pop_front() {
        let name = step.name;
        if name.is_empty() || name == "." {
            continue;
        }
        if name == ".." {
            if stack.pop().is_none() {
                return Err(outside());
            }
            continue;
        }
        let last = todo.is_empty();
        let dir = stack.last().map(|(fd, _)| fd).unwrap_or(&root.fd);
        let fd = match open_step(dir, &name) {
            Ok(fd) => fd,
            // A dangling link: never revealed as missing (it may point outside).
            Err(Errno::NOENT) if step.from_link => return Err(outside()),
            Err(Errno::NOENT) if last => {
                return Ok(Walked::Missing {
                    parent: dup(dir)?,
                    name,
                });
            }
            Err(e) => return Err(errno(e)),
        };
        let stat = statx_fd(&fd)?;
        if is_kind(&stat, libc::S_IFLNK) && (!last || follow_last) {
            links += 1;
            if links > MAX_LINKS {
                return Err(outside());
            }
            let target = rustix::fs::readlinkat(&fd, "", Vec::new()).map_err(errno)?;
            let target = PathBuf::from(OsString::from_vec(target.into_bytes()));
            let rest = if target.is_absolute() {
                // Only a place under the root's real path is inside.
                let base = root.real_path().ok_or_else(outside)?;
                let inside = target.strip_prefix(base).map_err(|_| outside())?;
                stack.clear();
                inside.to_path_buf()
            } else {
                target
            };
            let mut steps: Vec<Step> = Vec::new();
            for component in rest.components() {
                let name = match component {
                    Component::Normal(n) => n.to_os_string(),
                    Component::ParentDir => OsString::from(".."),
                    Component::CurDir | Component::RootDir | Component::Prefix(_) => continue,
                };
                steps.push(Step {
                    name,
                    from_link: true,
                });
            }
            for step in steps.into_iter().rev() {
                todo.push_front(step);
            }
            continue;
        }
        if last {
            return Ok(Walked::Found(Found {
                fd,
                place: Some((dup(dir)?, name)),
                stat,
            }));
        }
        if !is_kind(&stat, libc::S_IFDIR) {
            return Err(StorageError::new(StorageErrorKind::WrongKind));
        }
        stack.push((fd, name));
    }
    // The path ends at a directory reached by `..` or a link to a directory, or is empty.
    let (fd, place) = match stack.pop() {
        Some((fd, name)) => {
            let parent = stack.last().map(|(fd, _)| fd).unwrap_or(&root.fd);
            (fd, Some((dup(parent)?, name)))
        }
        None => (dup(&root.fd)?, None),
    };
    let stat = statx_fd(&fd)?;
    Ok(Walked::Found(Found { fd, place, stat }))
}

/// [`walk`] that wants an existing object.
pub(super) fn existing<S: AsRef<OsStr>>(
    root: &Root,
    segments: &[S],
    follow_last: bool,
) -> Result<Found, StorageError> {
    match walk(root, segments, follow_last)? {
        Walked::Found(found) => Ok(found),
        Walked::Missing { .. } => Err(StorageError::new(StorageErrorKind::NotFound)),
    }
}

/// [`existing`] that wants a file or directory (`NotFound` for the objects never served).
pub(super) fn served<S: AsRef<OsStr>>(root: &Root, segments: &[S]) -> Result<Found, StorageError> {
    let found = existing(root, segments, true)?;
    if found.is_served() {
        Ok(found)
    } else {
        Err(StorageError::new(StorageErrorKind::NotFound))
    }
}

fn dup(fd: &OwnedFd) -> Result<OwnedFd, StorageError> {
    fd.as_fd().try_clone_to_owned().map_err(map_io)
}

pub(super) fn outside() -> StorageError {
    StorageError::new(StorageErrorKind::OutsideRoot)
}

pub(super) fn errno(e: Errno) -> StorageError {
    map_io(e.into())
}

/// `io::Error` → `StorageError`, with `ELOOP` (what `O_NOFOLLOW` reports when a name turned
/// into a link under our feet) as an escape.
pub(super) fn map_io(e: std::io::Error) -> StorageError {
    if e.raw_os_error() == Some(libc::ELOOP) {
        StorageError {
            kind: StorageErrorKind::OutsideRoot,
            source: Some(e),
        }
    } else {
        StorageError::from(e)
    }
}
