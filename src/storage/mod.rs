//! Storage behind a small trait, phrased in FTP's needs.
//!
//! [`local`] is the only module that touches the file system for client data, with strict
//! confinement beneath its root. [`vdirs`] maps a site's virtual tree (virtual directories,
//! user isolation) onto back-ends.

pub mod journal;
pub mod local;
pub mod vdirs;

use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_trait::async_trait;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use wharf_proto::VirtualPath;
use wharf_proto::listing::Entry;

/// Which reply class a storage failure maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageErrorKind {
    /// Transient (450): try again later, e.g. the file is busy.
    Transient,
    /// Not found (550).
    NotFound,
    /// Permission denied by the file system (550).
    PermissionDenied,
    /// Exists already (550/553), e.g. MKD of an existing name, rename without replace.
    AlreadyExists,
    /// Not a directory / is a directory where the other was needed (550).
    WrongKind,
    /// Directory not empty (550).
    NotEmpty,
    /// Out of space or quota (552).
    InsufficientStorage,
    /// The name is not allowed (553): bad characters, a reserved name.
    NameNotAllowed,
    /// The path leads outside the confinement root (the user's jail, the virtual
    /// directory's folder) through a link, or through a dangling or looping link (550).
    OutsideRoot,
    /// Anything else (451 local error).
    Local,
}

/// A storage failure: a kind (for the reply) and the cause (for the log, never the client).
#[derive(Debug)]
pub struct StorageError {
    /// Reply class.
    pub kind: StorageErrorKind,
    /// Underlying cause.
    pub source: Option<io::Error>,
}

impl StorageError {
    /// An error of `kind` with no underlying cause.
    pub fn new(kind: StorageErrorKind) -> Self {
        StorageError { kind, source: None }
    }
}

impl From<io::Error> for StorageError {
    fn from(e: io::Error) -> Self {
        use io::ErrorKind as K;
        let kind = match e.kind() {
            K::NotFound => StorageErrorKind::NotFound,
            K::PermissionDenied => StorageErrorKind::PermissionDenied,
            K::AlreadyExists => StorageErrorKind::AlreadyExists,
            K::NotADirectory | K::IsADirectory => StorageErrorKind::WrongKind,
            K::DirectoryNotEmpty => StorageErrorKind::NotEmpty,
            K::StorageFull | K::QuotaExceeded | K::FileTooLarge => {
                StorageErrorKind::InsufficientStorage
            }
            K::InvalidFilename | K::InvalidInput => StorageErrorKind::NameNotAllowed,
            K::WouldBlock | K::Interrupted | K::ResourceBusy => StorageErrorKind::Transient,
            _ => StorageErrorKind::Local,
        };
        StorageError {
            kind,
            source: Some(e),
        }
    }
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(e) => write!(f, "{:?}: {e}", self.kind),
            None => write!(f, "{:?}", self.kind),
        }
    }
}

impl std::error::Error for StorageError {}

/// How an upload opens its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// STOR: create or truncate.
    Truncate,
    /// STOR after REST n: keep the first n bytes, write from n (file must exist and be ≥ n).
    Resume(u64),
    /// APPE: append, creating if missing.
    Append,
    /// STOU: create, failing if the name exists.
    CreateNew,
}

/// A stream of directory entries in batches (at most [`crate::limits::LIST_BATCH`] each),
/// produced as the directory is read (never all in memory).
pub type EntryReceiver = mpsc::Receiver<Result<Vec<Entry>, StorageError>>;

/// Appends the listing line of an entry (without its line end) to the buffer, or nothing to
/// leave the entry out. It may keep state between entries (the last date text), so each
/// thread that formats has its own.
pub type LineWriter = Box<dyn FnMut(&Entry, &mut String) + Send>;

/// Makes a [`LineWriter`] for each thread that formats.
pub type LineWriters = Arc<dyn Fn() -> LineWriter + Send + Sync>;

/// A directory listing as text: chunks of whole CRLF-terminated lines, one per batch of
/// entries (none empty), produced as the directory is read.
pub type LineReceiver = mpsc::Receiver<Result<Vec<u8>, StorageError>>;

/// The lines `write` makes for `entries`, each ended by CRLF, in one buffer.
pub fn format_lines<'a>(
    entries: impl IntoIterator<Item = &'a Entry>,
    write: &mut dyn FnMut(&Entry, &mut String),
) -> Vec<u8> {
    let mut chunk = String::with_capacity(crate::limits::LIST_BATCH * 80);
    for entry in entries {
        let before = chunk.len();
        write(entry, &mut chunk);
        if chunk.len() > before {
            chunk.push_str("\r\n");
        }
    }
    chunk.into_bytes()
}

/// A readable file positioned at the requested offset.
pub struct ReadHandle {
    /// The bytes, from the requested offset.
    pub reader: Box<dyn AsyncRead + Send + Unpin>,
    /// Total size of the file (not of what remains).
    pub size: u64,
    /// For back-ends with local files: the file and the offset to start at, so a plain
    /// binary download can go zero-copy (`sendfile`) instead of through `reader`.
    pub zero_copy: Option<(std::fs::File, u64)>,
}

/// The last step of an upload written aside: publishing it under its name.
///
/// A back-end that writes uploads aside (the local one writes a hidden temporary in the
/// target's directory) hands one out with the [`WriteHandle`]. The session calls
/// [`Completion::commit`] once every byte is stored and flushed, before it answers `226` (or
/// after a failed transfer when `keepPartialUploads` asks to keep what arrived). Dropping it
/// without a commit discards the upload: the name keeps what it had, byte for byte.
#[async_trait]
pub trait Completion: Send + Sync + fmt::Debug {
    /// Makes the upload visible under its name, replacing what was there (or, for STOU,
    /// failing with `AlreadyExists` if the name was taken meanwhile).
    async fn commit(self: Box<Self>) -> Result<(), StorageError>;
}

/// A writable upload target.
pub struct WriteHandle {
    /// Where the bytes go (must be flushed or shut down to see write errors).
    pub writer: Box<dyn AsyncWrite + Send + Unpin>,
    /// For back-ends with local files, when the target is written at explicit offsets (not
    /// `O_APPEND`): the file and the offset to start at, so a plain binary upload can
    /// `splice` from the socket into the file instead of going through `writer`.
    pub direct: Option<(std::fs::File, u64)>,
    /// For uploads written aside: what publishes them. `None` when the bytes go to their
    /// final place directly (APPE, REST+STOR).
    pub completion: Option<Box<dyn Completion>>,
}

impl WriteHandle {
    /// A target reached only through `writer`, written in place.
    pub fn buffered(writer: Box<dyn AsyncWrite + Send + Unpin>) -> WriteHandle {
        WriteHandle {
            writer,
            direct: None,
            completion: None,
        }
    }

    /// Flushes the writer and publishes the upload (what a session does before `226`).
    pub async fn finish(mut self) -> Result<(), StorageError> {
        use tokio::io::AsyncWriteExt;
        self.writer.shutdown().await?;
        drop(self.writer);
        match self.completion.take() {
            Some(completion) => completion.commit().await,
            None => Ok(()),
        }
    }
}

// Tests and the copy path write through the handle as through its writer.
impl AsyncWrite for WriteHandle {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.writer).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.writer).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.writer).poll_shutdown(cx)
    }
}

/// Formats a stream of entry batches into listing lines on a task of its own (one writer);
/// it stops at the first error, which it passes on, or when the receiver goes away.
pub fn lines_on_a_task(mut entries: EntryReceiver, writers: LineWriters) -> LineReceiver {
    let (tx, rx) = mpsc::channel(crate::limits::LIST_CHANNEL_DEPTH);
    tokio::spawn(async move {
        let mut write = writers();
        while let Some(item) = entries.recv().await {
            let chunk = item.map(|batch| format_lines(&batch, &mut write));
            if matches!(&chunk, Ok(lines) if lines.is_empty()) {
                continue;
            }
            let failed = chunk.is_err();
            if tx.send(chunk).await.is_err() || failed {
                return;
            }
        }
    });
    rx
}

/// A storage back-end. Paths are relative to the back-end's own root (`/` is the root).
#[async_trait]
pub trait Storage: Send + Sync + fmt::Debug {
    /// Metadata of one object (`name` is the last segment, empty for `/`).
    async fn metadata(&self, path: &VirtualPath) -> Result<Entry, StorageError>;
    /// Entries of a directory (no `.` or `..`), streamed.
    async fn list(&self, path: &VirtualPath) -> Result<EntryReceiver, StorageError>;
    /// A directory's listing as text, streamed; `writers` makes one line writer for each
    /// thread that formats. This default formats [`Storage::list`]'s batches on a task of its
    /// own; a back-end that inspects entries on several threads formats them there instead.
    async fn list_lines(
        &self,
        path: &VirtualPath,
        writers: LineWriters,
    ) -> Result<LineReceiver, StorageError> {
        Ok(lines_on_a_task(self.list(path).await?, writers))
    }
    /// Opens a file for reading from `offset`.
    async fn open_read(&self, path: &VirtualPath, offset: u64) -> Result<ReadHandle, StorageError>;
    /// Opens a file for writing.
    async fn open_write(
        &self,
        path: &VirtualPath,
        mode: WriteMode,
    ) -> Result<WriteHandle, StorageError>;
    /// Deletes a file (not a directory).
    async fn remove_file(&self, path: &VirtualPath) -> Result<(), StorageError>;
    /// Creates one directory (parent must exist).
    async fn create_dir(&self, path: &VirtualPath) -> Result<(), StorageError>;
    /// Removes an empty directory.
    async fn remove_dir(&self, path: &VirtualPath) -> Result<(), StorageError>;
    /// Renames; with `replace == false` an existing target fails with `AlreadyExists`.
    async fn rename(
        &self,
        from: &VirtualPath,
        to: &VirtualPath,
        replace: bool,
    ) -> Result<(), StorageError>;
    /// Sets the modification time (MFMT), Unix seconds.
    async fn set_modified(&self, path: &VirtualPath, unix_seconds: i64)
    -> Result<(), StorageError>;
    /// This back-end with the sub-tree `home` as its root, confining every path to it (user
    /// isolation): nothing above or beside `home` is reachable, through links or otherwise.
    fn jailed(&self, home: &VirtualPath) -> Arc<dyn Storage>;
}

#[cfg(test)]
mod tests {
    use wharf_proto::listing::EntryKind;

    use super::*;

    fn file(name: &str) -> Entry {
        Entry {
            name: name.to_string(),
            kind: EntryKind::File,
            size: 1,
            modified: 0,
            mode: 0o644,
            nlink: 1,
        }
    }

    fn names_only() -> LineWriters {
        Arc::new(|| -> LineWriter {
            Box::new(|e: &Entry, out: &mut String| {
                if !e.name.starts_with('.') {
                    out.push_str(&e.name);
                }
            })
        })
    }

    #[tokio::test]
    async fn lines_on_a_task_formats_batches_skips_empty_ones_and_stops_at_an_error() {
        let (tx, rx) = mpsc::channel(4);
        tx.send(Ok(vec![file("a"), file(".hidden"), file("b")]))
            .await
            .unwrap();
        tx.send(Ok(vec![file(".only-hidden")])).await.unwrap();
        tx.send(Err(StorageError::new(StorageErrorKind::Local)))
            .await
            .unwrap();
        tx.send(Ok(vec![file("after")])).await.unwrap();
        drop(tx);
        let mut lines = lines_on_a_task(rx, names_only());
        assert_eq!(lines.recv().await.unwrap().unwrap(), b"a\r\nb\r\n");
        let err = lines.recv().await.unwrap().unwrap_err();
        assert_eq!(err.kind, StorageErrorKind::Local);
        assert!(lines.recv().await.is_none());
    }
}
