//! Opens that run on the async worker: the plain case only, answered from the kernel's
//! lookup caches.
//!
//! A small-file download spent a quarter of its time on the hand-off to the blocking pool
//! and back (two thread switches, BENCHMARKS.md). `openat2` with `RESOLVE_CACHED` makes the
//! kernel fail with `EAGAIN` instead of reading a directory from disk, so the open only ever
//! touches memory. The fast path takes just the plain case: no link anywhere on the path
//! (`RESOLVE_NO_SYMLINKS`), beneath the configured root (`RESOLVE_BENEATH`). A path of clean
//! names (no `..`) without links cannot leave the jail prefix either, so the kernel enforces
//! the confinement here too. Anything else returns `None` and goes to the blocking pool and
//! the resolver of [`super::resolve`], which stays the authority on what each failure means.

use std::fs::File;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::fs::{Mode, OFlags, ResolveFlags, openat2};
use wharf_proto::VirtualPath;
use wharf_proto::listing::Entry;

use super::resolve::{is_kind, statx_fd};
use super::{check_segment, entry_from_statx};

/// Cleared when the kernel lacks `openat2` or `RESOLVE_CACHED` (before Linux 5.12): every
/// open then takes the blocking pool.
static OPENAT2_CACHED_USABLE: AtomicBool = AtomicBool::new(true);

/// Opens `root/base/path` with `flags`, or `None` (see the module documentation).
pub(super) fn cached_open(
    root: &Path,
    base: &[String],
    path: &VirtualPath,
    flags: OFlags,
) -> Option<OwnedFd> {
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
    let segments: Vec<&str> = base
        .iter()
        .map(String::as_str)
        .chain(path.segments().iter().map(String::as_str))
        .collect();
    let rel = if segments.is_empty() {
        ".".to_string()
    } else {
        segments.join("/")
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

/// [`cached_open`] for a download: a regular file only. It looks before it opens (an
/// `O_PATH` handle and its `statx`), so a device or FIFO is never opened here, and opens
/// `O_NONBLOCK`, so a file held by a lease gives `EAGAIN` instead of a wait.
pub(super) fn open_cached(root: &Path, base: &[String], path: &VirtualPath) -> Option<(File, u64)> {
    let identity = |fd: &OwnedFd| {
        let st = statx_fd(fd).ok()?;
        is_kind(&st, libc::S_IFREG).then_some((
            (st.stx_dev_major, st.stx_dev_minor, st.stx_ino),
            st.stx_size,
        ))
    };
    if path.segments().is_empty() {
        return None;
    }
    let (seen, _) = identity(&cached_open(root, base, path, OFlags::PATH)?)?;
    let fd = cached_open(
        root,
        base,
        path,
        OFlags::RDONLY | OFlags::NOCTTY | OFlags::NONBLOCK,
    )?;
    let (opened, size) = identity(&fd)?;
    // Replaced between the look and the open: let the slow path decide.
    (opened == seen).then(|| (File::from(fd), size))
}

/// [`cached_open`] for `metadata`: a plain file or directory, looked at through an `O_PATH`
/// handle.
pub(super) fn metadata_cached(root: &Path, base: &[String], path: &VirtualPath) -> Option<Entry> {
    let fd = cached_open(root, base, path, OFlags::PATH)?;
    let st = statx_fd(&fd).ok()?;
    entry_from_statx(path.file_name().unwrap_or("").to_string(), &st)
}
