//! Directory listings: `getdents` and `statx` relative to the directory, on the blocking
//! pool, with a second thread for large directories; lines formatted where the entries are
//! inspected.

use std::ffi::CString;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{LazyLock, mpsc as std_mpsc};

use rustix::fs::{AtFlags, Dir, Mode, OFlags, StatxFlags};
use tokio::sync::mpsc;
use wharf_proto::listing::Entry;

use super::super::StorageError;
use super::resolve::{errno, is_kind, served};
use super::{LocalStorage, check_segment, entry_from_statx};
use crate::limits::LIST_BATCH;

/// What a listing thread makes of a batch of entries before sending it (`None`: nothing
/// to send): the entries themselves, or their listing lines. Each thread has its own.
pub(super) type Converter<T> = Box<dyn FnMut(Vec<Entry>) -> Option<T> + Send>;

/// A directory opened for listing: read with `getdents` and inspected with `statx`
/// relative to the directory's descriptor (no path walk from the root per entry, one
/// allocation per entry: its name).
pub(super) struct Listing {
    /// Read by [`Dir`]; a second descriptor (`Dir` dups its own) is the base for `statx`.
    pub fd: OwnedFd,
    /// The back-end and the directory's path in it, for following links among its entries
    /// (through the jail, like any other path).
    pub storage: LocalStorage,
    pub dir: Vec<String>,
}

impl Listing {
    /// What the entry `name`, a link, leads to, if that is a file or directory inside the
    /// root.
    fn follow_link(&self, name: &str) -> Option<Entry> {
        let root = self.storage.open_root().ok()?;
        let mut path: Vec<&str> = self.dir.iter().map(String::as_str).collect();
        path.push(name);
        let found = served(&root, &path).ok()?;
        entry_from_statx(name.to_string(), &found.stat)
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
    pub(super) fn fill<T: Send>(
        &self,
        tx: &mpsc::Sender<Result<T, StorageError>>,
        converter: &(dyn Fn() -> Converter<T> + Sync),
    ) -> usize {
        let mut dir = match Dir::read_from(&self.fd) {
            Ok(dir) => dir,
            Err(e) => {
                let _ = tx.blocking_send(Err(errno(e)));
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
                            let _ = tx.blocking_send(Err(errno(e)));
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
            return self.follow_link(&name);
        }
        entry_from_statx(name, &st)
    }
}

/// Whether large listings use a second thread for `stat` (not on a one-core machine).
pub(super) static PARALLEL_STAT_ENABLED: LazyLock<bool> =
    LazyLock::new(|| std::thread::available_parallelism().is_ok_and(|n| n.get() > 1));
