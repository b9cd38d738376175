//! Storage behind a small trait, phrased in FTP's needs.
//!
//! [`local`] is the only module that touches the file system for client data, with strict
//! confinement beneath its root. [`vdirs`] maps a site's virtual tree (virtual directories,
//! user isolation) onto back-ends.

pub mod local;
pub mod vdirs;

use std::fmt;
use std::io;
use std::pin::Pin;
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
    /// The name is not allowed (553): escapes the root, bad characters.
    NameNotAllowed,
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

/// A writable upload target.
pub struct WriteHandle {
    /// Where the bytes go (must be flushed or shut down to see write errors).
    pub writer: Box<dyn AsyncWrite + Send + Unpin>,
    /// For back-ends with local files, when the target is written at explicit offsets (not
    /// `O_APPEND`): the file and the offset to start at, so a plain binary upload can
    /// `splice` from the socket into the file instead of going through `writer`.
    pub direct: Option<(std::fs::File, u64)>,
}

impl WriteHandle {
    /// A target reached only through `writer`.
    pub fn buffered(writer: Box<dyn AsyncWrite + Send + Unpin>) -> WriteHandle {
        WriteHandle {
            writer,
            direct: None,
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

/// A storage back-end. Paths are relative to the back-end's own root (`/` is the root).
#[async_trait]
pub trait Storage: Send + Sync + fmt::Debug {
    /// Metadata of one object (`name` is the last segment, empty for `/`).
    async fn metadata(&self, path: &VirtualPath) -> Result<Entry, StorageError>;
    /// Entries of a directory (no `.` or `..`), streamed.
    async fn list(&self, path: &VirtualPath) -> Result<EntryReceiver, StorageError>;
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
}
