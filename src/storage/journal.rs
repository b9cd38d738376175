//! Uploads in progress, recorded in the state directory, so that the temporaries of a
//! server killed mid-upload (`kill -9`, a crash, power loss) are removed at its next start
//! without scanning the served trees.
//!
//! One small file per upload in `<state>/uploads/`, named by a UUID and holding the
//! temporary's absolute path; it is written before the temporary is created and removed
//! after the temporary was published or deleted. At start-up every recorded temporary is
//! deleted (only names that carry the temporary prefix: a record can never remove anything
//! else) and its record dropped.

use std::ffi::OsString;
use std::fs;
use std::io::{self, Read};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Every temporary upload's name starts with this: hidden from listings, refused as a client
/// name (see `storage::local`).
pub const TEMP_PREFIX: &str = ".wharf-upload-";

/// The longest record read back (a path).
const MAX_RECORD: u64 = 64 * 1024;

/// The directory of upload records.
#[derive(Debug)]
pub struct UploadJournal {
    dir: PathBuf,
}

/// What the start-up sweep did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    /// Temporaries deleted.
    pub removed: usize,
    /// Records whose temporary was already gone.
    pub already_gone: usize,
}

impl UploadJournal {
    /// Opens `dir` (created with mode 0700 when missing) and deletes every temporary a
    /// previous run recorded there.
    pub fn open(dir: PathBuf) -> io::Result<(UploadJournal, Swept)> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)?;
        let journal = UploadJournal { dir };
        let swept = journal.sweep()?;
        Ok((journal, swept))
    }

    /// Records a temporary about to be created; dropping the entry forgets it.
    pub fn record(&self, temporary: &Path) -> io::Result<JournalEntry> {
        let path = self.dir.join(uuid::Uuid::new_v4().simple().to_string());
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        io::Write::write_all(&mut file, temporary.as_os_str().as_bytes())?;
        Ok(JournalEntry { path })
    }

    fn sweep(&self) -> io::Result<Swept> {
        let mut swept = Swept::default();
        for entry in fs::read_dir(&self.dir)? {
            let record = entry?.path();
            let Ok(temporary) = read_record(&record) else {
                tracing::warn!(record = %record.display(), "unreadable upload record left in place");
                continue;
            };
            let is_temporary = temporary
                .file_name()
                .is_some_and(|n| n.as_bytes().starts_with(TEMP_PREFIX.as_bytes()));
            if is_temporary {
                match fs::remove_file(&temporary) {
                    Ok(()) => {
                        tracing::info!(path = %temporary.display(), "removed the temporary of an interrupted upload");
                        swept.removed += 1;
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => swept.already_gone += 1,
                    Err(e) => {
                        tracing::warn!(path = %temporary.display(), error = %e, "cannot remove the temporary of an interrupted upload");
                        continue;
                    }
                }
            } else {
                tracing::warn!(record = %record.display(), "upload record names no temporary; ignored");
            }
            let _ = fs::remove_file(&record);
        }
        Ok(swept)
    }
}

fn read_record(record: &Path) -> io::Result<PathBuf> {
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(record)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    let mut bytes = Vec::new();
    file.take(MAX_RECORD).read_to_end(&mut bytes)?;
    let path = PathBuf::from(OsString::from_vec(bytes));
    if path.is_absolute() {
        Ok(path)
    } else {
        Err(io::Error::other("not an absolute path"))
    }
}

/// One recorded upload; dropping it removes the record.
#[derive(Debug)]
pub struct JournalEntry {
    path: PathBuf,
}

impl Drop for JournalEntry {
    fn drop(&mut self) {
        if let Err(e) = fs::remove_file(&self.path)
            && e.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(record = %self.path.display(), error = %e, "cannot remove an upload record");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sweep_removes_recorded_temporaries_only() {
        let tmp = tempfile::tempdir().unwrap();
        let tree = tmp.path().join("tree");
        fs::create_dir(&tree).unwrap();
        let left = tree.join(format!("{TEMP_PREFIX}0001"));
        let innocent = tree.join("report.pdf");
        fs::write(&left, b"partial").unwrap();
        fs::write(&innocent, b"keep").unwrap();
        let dir = tmp.path().join("state/uploads");
        let (journal, swept) = UploadJournal::open(dir.clone()).unwrap();
        assert_eq!(swept, Swept::default());
        // A run that was killed: its records stay behind.
        std::mem::forget(journal.record(&left).unwrap());
        std::mem::forget(journal.record(&innocent).unwrap());
        std::mem::forget(
            journal
                .record(&tree.join(format!("{TEMP_PREFIX}gone")))
                .unwrap(),
        );
        let (_, swept) = UploadJournal::open(dir.clone()).unwrap();
        assert_eq!(
            swept,
            Swept {
                removed: 1,
                already_gone: 1
            }
        );
        assert!(!left.exists());
        assert_eq!(fs::read(&innocent).unwrap(), b"keep");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
    }

    #[test]
    fn a_dropped_entry_forgets_its_record() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("uploads");
        let (journal, _) = UploadJournal::open(dir.clone()).unwrap();
        let entry = journal
            .record(&tmp.path().join(format!("{TEMP_PREFIX}x")))
            .unwrap();
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        drop(entry);
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
    }
}
