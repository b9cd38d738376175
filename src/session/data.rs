//! Data connections (passive and active) and the transfer child task.
//!
//! The control loop validates and opens storage first (so 550s come before 150), sends
//! 150, then spawns the transfer: open the data connection (accept with
//! `matchClientAddressForPasv`, or connect for PORT/EPRT), move the bytes with the
//! session's counters bumped per chunk, and report a [`TransferOutcome`] that the control
//! loop turns into 226/425/426/451/552.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::ascii::{FromNetAscii, ToNetAscii};
use crate::limits::{PASSIVE_ACCEPT_TIMEOUT, TRANSFER_BUFFER};
use crate::registry::{SessionHandle, TransferDirection};
use crate::storage::StorageError;

/// How the next data connection will be made.
#[derive(Debug, Default)]
pub enum DataSetup {
    /// No PASV/EPSV/PORT/EPRT since the last transfer.
    #[default]
    None,
    /// PASV/EPSV: a listener waiting for the client.
    Passive(TcpListener),
    /// PORT/EPRT: the address to connect to.
    Active(SocketAddr),
}

/// Which upload verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadKind {
    /// STOR
    Stor,
    /// APPE
    Appe,
    /// STOU
    Stou,
}

/// Parameters of the data connection for one transfer.
#[derive(Debug)]
pub struct DataParams {
    /// How to connect.
    pub setup: DataSetup,
    /// The control connection's client IP (for `matchClientAddressForPasv`).
    pub client_ip: IpAddr,
    /// Whether a passive connection must come from `client_ip`.
    pub match_client_for_pasv: bool,
    /// `dataChannelTimeout`: idle limit on the data connection.
    pub idle_timeout: Duration,
}

/// The payload of a transfer.
pub enum Payload {
    /// Send a file.
    Download {
        /// The file, positioned.
        reader: Box<dyn AsyncRead + Send + Unpin>,
        /// TYPE A: LF → CRLF.
        ascii: bool,
    },
    /// Receive a file.
    Upload {
        /// The target.
        writer: Box<dyn AsyncWrite + Send + Unpin>,
        /// TYPE A: CRLF → LF.
        ascii: bool,
    },
    /// Send listing lines produced by a task (each already CRLF-terminated).
    Lines(mpsc::Receiver<Result<Vec<u8>, StorageError>>),
}

/// How a transfer ended.
#[derive(Debug)]
pub enum TransferOutcome {
    /// All bytes moved.
    Complete {
        /// Payload bytes on the data connection.
        bytes: u64,
    },
    /// No data connection could be made (425).
    NoConnection(String),
    /// Stopped by ABOR, terminate or shutdown (426).
    Cancelled,
    /// The data connection went idle longer than `dataChannelTimeout` (426).
    TimedOut,
    /// The data connection failed (426).
    ConnectionLost(io::Error),
    /// Reading or writing storage failed (451/552…).
    Storage(StorageError),
}

/// A transfer running as a child task.
#[derive(Debug)]
pub struct RunningTransfer {
    /// The task.
    pub join: JoinHandle<TransferOutcome>,
    /// Cancels it (ABOR, terminate).
    pub cancel: CancellationToken,
    /// What to do when it ends.
    pub context: TransferContext,
}

/// What the control loop needs to finish a transfer.
#[derive(Debug)]
pub struct TransferContext {
    /// The verb (for messages).
    pub verb: &'static str,
    /// The client path shown in messages.
    pub path: String,
    /// For uploads that created the file and must not keep it partial: how to remove it.
    pub remove_on_failure: Option<(Arc<dyn crate::storage::Storage>, wharf_proto::VirtualPath)>,
    /// Set when ABOR asked for the cancel (ABOR then gets 426 + 226).
    pub aborted: bool,
    /// Keeps the upload marked in progress until the transfer ends.
    pub _upload_guard: Option<crate::server::site::UploadGuard>,
}

impl TransferContext {
    /// The context of a transfer that removes nothing on failure.
    pub fn new(verb: &'static str, path: String) -> TransferContext {
        TransferContext {
            verb,
            path,
            remove_on_failure: None,
            aborted: false,
            _upload_guard: None,
        }
    }
}

impl RunningTransfer {
    /// Starts the transfer task.
    pub fn spawn(
        params: DataParams,
        payload: Payload,
        handle: Arc<SessionHandle>,
        context: TransferContext,
    ) -> RunningTransfer {
        let cancel = CancellationToken::new();
        let token = cancel.clone();
        let join = tokio::spawn(async move {
            tokio::select! {
                _ = token.cancelled() => TransferOutcome::Cancelled,
                outcome = run_transfer(params, payload, &handle) => outcome,
            }
        });
        RunningTransfer {
            join,
            cancel,
            context,
        }
    }

    /// Waits for the task's outcome (cancel-safe: awaiting a `JoinHandle` again is fine).
    pub async fn wait(&mut self) -> TransferOutcome {
        match (&mut self.join).await {
            Ok(outcome) => outcome,
            Err(e) => TransferOutcome::ConnectionLost(io::Error::other(e)),
        }
    }
}

async fn run_transfer(
    params: DataParams,
    payload: Payload,
    handle: &SessionHandle,
) -> TransferOutcome {
    let idle = params.idle_timeout;
    let mut stream = match open(params).await {
        Ok(s) => s,
        Err(message) => return TransferOutcome::NoConnection(message),
    };
    let result = match payload {
        Payload::Download { reader, ascii } => send(reader, &mut stream, ascii, idle, handle).await,
        Payload::Upload { writer, ascii } => {
            receive(&mut stream, writer, ascii, idle, handle).await
        }
        Payload::Lines(lines) => send_lines(lines, &mut stream, idle, handle).await,
    };
    match result {
        Ok(bytes) => {
            // Closing the data connection is the end-of-file mark in stream mode.
            let _ = tokio::time::timeout(idle, stream.shutdown()).await;
            TransferOutcome::Complete { bytes }
        }
        Err(outcome) => outcome,
    }
}

/// Opens the data connection for one transfer.
async fn open(params: DataParams) -> Result<TcpStream, String> {
    match params.setup {
        DataSetup::None => Err("Use PORT, EPRT, PASV or EPSV first.".to_string()),
        DataSetup::Active(target) => {
            match tokio::time::timeout(params.idle_timeout, TcpStream::connect(target)).await {
                Ok(Ok(stream)) => {
                    let _ = stream.set_nodelay(true);
                    Ok(stream)
                }
                Ok(Err(e)) => Err(format!("Can't open data connection to {target}: {e}.")),
                Err(_) => Err(format!(
                    "Can't open data connection to {target}: timed out."
                )),
            }
        }
        DataSetup::Passive(listener) => {
            let deadline = tokio::time::Instant::now()
                + PASSIVE_ACCEPT_TIMEOUT.min(params.idle_timeout.max(Duration::from_secs(1)));
            loop {
                let accepted = tokio::time::timeout_at(deadline, listener.accept()).await;
                match accepted {
                    Err(_) => {
                        return Err(
                            "Can't open data connection: the client did not connect in time."
                                .to_string(),
                        );
                    }
                    Ok(Err(e)) => return Err(format!("Can't open data connection: {e}.")),
                    Ok(Ok((stream, peer))) => {
                        if params.match_client_for_pasv
                            && peer.ip().to_canonical() != params.client_ip.to_canonical()
                        {
                            // Passive-port theft (IIS substatus 38): drop it and keep waiting
                            // for the real client.
                            tracing::warn!(%peer, "refused data connection from a foreign address");
                            drop(stream);
                            continue;
                        }
                        let _ = stream.set_nodelay(true);
                        return Ok(stream);
                    }
                }
            }
        }
    }
}

async fn io_timeout<T>(
    limit: Duration,
    fut: impl Future<Output = io::Result<T>>,
) -> Result<T, TransferOutcome> {
    match tokio::time::timeout(limit, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(TransferOutcome::ConnectionLost(e)),
        Err(_) => Err(TransferOutcome::TimedOut),
    }
}

async fn send(
    mut reader: Box<dyn AsyncRead + Send + Unpin>,
    stream: &mut TcpStream,
    ascii: bool,
    idle: Duration,
    handle: &SessionHandle,
) -> Result<u64, TransferOutcome> {
    let mut buf = vec![0u8; TRANSFER_BUFFER];
    let mut converted = Vec::new();
    let mut conv = ToNetAscii::default();
    let mut total = 0u64;
    loop {
        let n = reader
            .read(&mut buf)
            .await
            .map_err(|e| TransferOutcome::Storage(e.into()))?;
        if n == 0 {
            return Ok(total);
        }
        let out: &[u8] = if ascii {
            converted.clear();
            conv.convert(&buf[..n], &mut converted);
            &converted
        } else {
            &buf[..n]
        };
        io_timeout(idle, stream.write_all(out)).await?;
        total += out.len() as u64;
        handle.add_transfer(TransferDirection::Download, out.len() as u64);
    }
}

async fn receive(
    stream: &mut TcpStream,
    mut writer: Box<dyn AsyncWrite + Send + Unpin>,
    ascii: bool,
    idle: Duration,
    handle: &SessionHandle,
) -> Result<u64, TransferOutcome> {
    let mut buf = vec![0u8; TRANSFER_BUFFER];
    let mut converted = Vec::new();
    let mut conv = FromNetAscii::default();
    let mut total = 0u64;
    loop {
        let n = io_timeout(idle, stream.read(&mut buf)).await?;
        if n == 0 {
            break;
        }
        total += n as u64;
        handle.add_transfer(TransferDirection::Upload, n as u64);
        let data: &[u8] = if ascii {
            converted.clear();
            conv.convert(&buf[..n], &mut converted);
            &converted
        } else {
            &buf[..n]
        };
        writer
            .write_all(data)
            .await
            .map_err(|e| TransferOutcome::Storage(e.into()))?;
    }
    if ascii {
        converted.clear();
        conv.finish(&mut converted);
        writer
            .write_all(&converted)
            .await
            .map_err(|e| TransferOutcome::Storage(e.into()))?;
    }
    // 226 promises the data is stored: flush before reporting success.
    writer
        .flush()
        .await
        .map_err(|e| TransferOutcome::Storage(e.into()))?;
    writer
        .shutdown()
        .await
        .map_err(|e| TransferOutcome::Storage(e.into()))?;
    Ok(total)
}

async fn send_lines(
    mut lines: mpsc::Receiver<Result<Vec<u8>, StorageError>>,
    stream: &mut TcpStream,
    idle: Duration,
    handle: &SessionHandle,
) -> Result<u64, TransferOutcome> {
    let mut total = 0u64;
    let mut batch = Vec::with_capacity(64 * 1024);
    loop {
        let done = match lines.recv().await {
            Some(Ok(line)) => {
                batch.extend_from_slice(&line);
                false
            }
            Some(Err(e)) => return Err(TransferOutcome::Storage(e)),
            None => true,
        };
        // Write in batches so a 100,000-entry listing is not 100,000 syscalls.
        if batch.len() >= 60 * 1024 || (done && !batch.is_empty()) {
            io_timeout(idle, stream.write_all(&batch)).await?;
            total += batch.len() as u64;
            handle.add_transfer(TransferDirection::Download, batch.len() as u64);
            batch.clear();
        }
        if done {
            return Ok(total);
        }
    }
}
