//! Data connections (passive and active) and the transfer child task.
//!
//! The control loop validates and opens storage first (so 550s come before 150), sends
//! 150, then spawns the transfer: open the data connection (accept with
//! `matchClientAddressForPasv`, or connect for PORT/EPRT), move the bytes with the
//! session's counters bumped per chunk, and report a [`TransferOutcome`] that the control
//! loop turns into 226/425/426/451/552.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::Duration;

use rustix::pipe::{PipeFlags, SpliceFlags};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, Interest};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::ascii::{FromNetAscii, ToNetAscii};
use super::send_thread::{ThreadSlot, send_file_on_thread};
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
    /// PROT P: TLS on the data connection (server side of the handshake, passive or active).
    pub tls: Option<DataTls>,
}

/// TLS parameters of a protected data connection (RFC 4217 §9–10).
#[derive(Debug, Clone)]
pub struct DataTls {
    /// The configuration of the control connection's handshake (same certificate, same
    /// session cache and ticket key, so the client can resume).
    pub config: Arc<rustls::ServerConfig>,
    /// `ssl@requireDataChannelResumption`: refuse a connection that did not resume.
    pub require_resumption: bool,
    /// The control connection's client certificate: a data connection must present the
    /// same one (IIS substatus 49).
    pub client_cert: Option<rustls::pki_types::CertificateDer<'static>>,
}

/// The payload of a transfer.
pub enum Payload {
    /// Send a file.
    Download {
        /// The file, positioned.
        reader: Box<dyn AsyncRead + Send + Unpin>,
        /// TYPE A: LF → CRLF.
        ascii: bool,
        /// The file and start offset for `sendfile` (clear-text binary transfers).
        zero_copy: Option<(std::fs::File, u64)>,
    },
    /// Receive a file.
    Upload {
        /// The target.
        writer: Box<dyn AsyncWrite + Send + Unpin>,
        /// TYPE A: CRLF → LF.
        ascii: bool,
        /// The file and start offset for `splice` (clear-text binary transfers).
        direct: Option<(std::fs::File, u64)>,
    },
    /// Send listing lines: `head` first, then the chunks of `rest` as they come (all
    /// CRLF-terminated).
    Lines {
        /// Lines known before the listing starts (virtual directories, a single file).
        head: Vec<u8>,
        /// The rest, produced while the directory is read.
        rest: mpsc::Receiver<Result<Vec<u8>, StorageError>>,
    },
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
    /// The data connection's TLS negotiation failed or was refused (522).
    TlsRefused(String),
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
    /// For uploads written aside: what publishes them (after a complete transfer, or after
    /// a failed one with `keep_partial`); dropping it discards the upload.
    pub completion: Option<Box<dyn crate::storage::Completion>>,
    /// `keepPartialUploads`: a failed upload still publishes what arrived.
    pub keep_partial: bool,
    /// Set when ABOR asked for the cancel (ABOR then gets 426 + 226).
    pub aborted: bool,
    /// Keeps the upload marked in progress until the transfer ends.
    pub _upload_guard: Option<crate::server::site::UploadGuard>,
}

impl TransferContext {
    /// Settles an upload written aside once its transfer ended: publishes it when the
    /// transfer completed (or failed with `keep_partial`), else discards it. `Ok` when there
    /// was nothing to publish.
    pub async fn settle_upload(
        &mut self,
        complete: bool,
    ) -> Result<(), crate::storage::StorageError> {
        let Some(completion) = self.completion.take() else {
            return Ok(());
        };
        if complete || self.keep_partial {
            completion.commit().await
        } else {
            drop(completion);
            Ok(())
        }
    }

    /// The context of a transfer that removes nothing on failure.
    pub fn new(verb: &'static str, path: String) -> TransferContext {
        TransferContext {
            verb,
            path,
            completion: None,
            keep_partial: false,
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
        let join = tokio::spawn(async move { run_transfer(params, payload, handle, token).await });
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
    handle: Arc<SessionHandle>,
    cancel: CancellationToken,
) -> TransferOutcome {
    let handle = &handle;
    let idle = params.idle_timeout;
    let tls = params.tls.clone();
    let opened = tokio::select! {
        _ = cancel.cancelled() => return TransferOutcome::Cancelled,
        opened = open(params) => opened,
    };
    let mut stream = match opened {
        Ok(s) => s,
        Err(message) => return TransferOutcome::NoConnection(message),
    };
    // ABOR, terminate, shutdown: reset the data connection (zero linger) so a client that
    // is not reading learns at once and no unsent payload lingers in the kernel after 426.
    match tls {
        None => {
            let payload = match payload {
                Payload::Download {
                    ascii: false,
                    zero_copy: Some((file, offset)),
                    reader,
                } => match ThreadSlot::for_download(&file, offset) {
                    Some(slot) => {
                        let sent = send_file_on_thread(
                            &stream,
                            file,
                            offset,
                            idle,
                            handle.clone(),
                            &cancel,
                            slot,
                        )
                        .await;
                        return finish_plain(&mut stream, sent, idle).await;
                    }
                    None => Payload::Download {
                        ascii: false,
                        zero_copy: Some((file, offset)),
                        reader,
                    },
                },
                payload => payload,
            };
            tokio::select! {
                _ = cancel.cancelled() => {
                    reset(&stream);
                    TransferOutcome::Cancelled
                }
                outcome = move_plain_payload(&mut stream, payload, idle, handle) => outcome,
            }
        }
        Some(tls) => {
            let secured = tokio::select! {
                _ = cancel.cancelled() => return TransferOutcome::Cancelled,
                secured = secure(stream, &tls, idle, handle) => secured,
            };
            let mut stream = match secured {
                Ok(stream) => stream,
                Err(outcome) => return outcome,
            };
            tokio::select! {
                _ = cancel.cancelled() => {
                    reset(stream.get_ref().0);
                    TransferOutcome::Cancelled
                }
                outcome = move_payload(&mut stream, payload, idle, handle) => outcome,
            }
        }
    }
}

/// Makes the coming close an abortive one (RST).
fn reset(tcp: &TcpStream) {
    #[allow(deprecated)]
    let _ = tcp.set_linger(Some(Duration::ZERO));
}

/// The server side of the data connection's TLS handshake, with the resumption and client
/// certificate checks; records `dataChannelResumed`.
async fn secure(
    tcp: TcpStream,
    tls: &DataTls,
    idle: Duration,
    handle: &SessionHandle,
) -> Result<tokio_rustls::server::TlsStream<TcpStream>, TransferOutcome> {
    let accept = tokio_rustls::TlsAcceptor::from(tls.config.clone()).accept(tcp);
    let stream = match tokio::time::timeout(idle.max(Duration::from_secs(1)), accept).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => {
            tracing::info!(error = %e, "data connection TLS negotiation failed");
            return Err(TransferOutcome::TlsRefused(
                "TLS negotiation on the data connection failed.".to_string(),
            ));
        }
        Err(_) => {
            return Err(TransferOutcome::TlsRefused(
                "TLS negotiation on the data connection timed out.".to_string(),
            ));
        }
    };
    let conn = stream.get_ref().1;
    let negotiated = crate::tls::negotiated(conn);
    let mut record = handle.record().tls.unwrap_or_default();
    record.data_protected = true;
    record.data_channel_resumed = negotiated.resumed;
    handle.set_tls(Some(record));
    if tls.require_resumption && !negotiated.resumed {
        tracing::info!("refused a data connection that did not resume the TLS session");
        return Err(TransferOutcome::TlsRefused(
            "The data connection must resume the control connection's TLS session \
             (requireDataChannelResumption)."
                .to_string(),
        ));
    }
    if let Some(expected) = &tls.client_cert {
        let presented = conn.peer_certificates().and_then(|c| c.first());
        if presented != Some(expected) {
            tracing::info!(
                "data connection client certificate differs from the control connection's (substatus 49)"
            );
            return Err(TransferOutcome::TlsRefused(
                "The data connection must present the control connection's client certificate."
                    .to_string(),
            ));
        }
    }
    Ok(stream)
}

/// Moves the payload and closes the data connection (the end-of-file mark in stream mode;
/// on TLS the close also sends close_notify).
async fn move_payload<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    payload: Payload,
    idle: Duration,
    handle: &SessionHandle,
) -> TransferOutcome {
    let result = match payload {
        Payload::Download { reader, ascii, .. } => send(reader, stream, ascii, idle, handle).await,
        Payload::Upload { writer, ascii, .. } => receive(stream, writer, ascii, idle, handle).await,
        Payload::Lines { head, rest } => send_lines(head, rest, stream, idle, handle).await,
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

/// Clear-text data connections: a binary download of a local file goes zero-copy
/// (`sendfile` from the page cache into the socket), a binary upload to a local file is
/// spliced from the socket into the file through a pipe; everything else is copied.
async fn move_plain_payload(
    stream: &mut TcpStream,
    payload: Payload,
    idle: Duration,
    handle: &SessionHandle,
) -> TransferOutcome {
    let result = match payload {
        Payload::Download {
            ascii: false,
            zero_copy: Some((file, offset)),
            ..
        } => send_file(&file, offset, stream, idle, handle).await,
        Payload::Upload {
            ascii: false,
            direct: Some((file, offset)),
            writer,
        } => match SplicePipe::new() {
            Ok(pipe) => receive_file(stream, &pipe, &file, offset, idle, handle).await,
            // Out of descriptors or pipe buffers: the copy path still works.
            Err(e) => {
                tracing::debug!(error = %e, "no pipe for splice; copying the upload");
                receive(stream, writer, false, idle, handle).await
            }
        },
        payload => return move_payload(stream, payload, idle, handle).await,
    };
    finish_plain(stream, result, idle).await
}

/// Closes a clear-text data connection after its payload moved (the end-of-file mark), or
/// resets it when the transfer was cancelled.
async fn finish_plain(
    stream: &mut TcpStream,
    result: Result<u64, TransferOutcome>,
    idle: Duration,
) -> TransferOutcome {
    match result {
        Ok(bytes) => {
            let _ = tokio::time::timeout(idle, stream.shutdown()).await;
            TransferOutcome::Complete { bytes }
        }
        Err(TransferOutcome::Cancelled) => {
            reset(stream);
            TransferOutcome::Cancelled
        }
        Err(outcome) => outcome,
    }
}

/// The pipe between the socket and the file of a spliced upload.
struct SplicePipe {
    read: OwnedFd,
    write: OwnedFd,
    /// What one socket → pipe splice may take: the pipe's capacity.
    capacity: usize,
}

/// The pipe buffer asked for: large batches per syscall. Unprivileged processes get at most
/// `/proc/sys/fs/pipe-max-size` (1 MiB by default); a refusal keeps the 64 KiB default.
const SPLICE_PIPE_SIZE: usize = 1024 * 1024;

impl SplicePipe {
    fn new() -> io::Result<SplicePipe> {
        let (read, write) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)?;
        let capacity = rustix::pipe::fcntl_setpipe_size(&write, SPLICE_PIPE_SIZE)
            .or_else(|_| rustix::pipe::fcntl_getpipe_size(&write))?;
        Ok(SplicePipe {
            read,
            write,
            capacity,
        })
    }
}

/// Receives a binary upload with `splice(2)`: socket → pipe → file, so the payload is never
/// copied into user space. The pipe is emptied into the file after every socket splice, so
/// the socket splice can only see `EAGAIN` for an empty socket (which `async_io` waits
/// out), never for a full pipe. Writing into the page cache happens on the runtime thread,
/// as `sendfile`'s reads do for downloads.
async fn receive_file(
    stream: &TcpStream,
    pipe: &SplicePipe,
    file: &std::fs::File,
    mut offset: u64,
    idle: Duration,
    handle: &SessionHandle,
) -> Result<u64, TransferOutcome> {
    let mut total = 0u64;
    let mut fair = FairShare::default();
    // Set if the file system cannot splice: the pipe is then drained through this buffer.
    let mut bounce: Option<Vec<u8>> = None;
    loop {
        let filled = stream.async_io(Interest::READABLE, || {
            rustix::pipe::splice(
                stream,
                None,
                &pipe.write,
                None,
                pipe.capacity,
                SpliceFlags::NONBLOCK | SpliceFlags::MOVE,
            )
            .map_err(io::Error::from)
        });
        let n = io_timeout(idle, filled).await?;
        if n == 0 {
            return Ok(total);
        }
        total += n as u64;
        handle.add_transfer(TransferDirection::Upload, n as u64);
        drain_pipe(pipe, file, &mut offset, n, &mut bounce)
            .map_err(|e| TransferOutcome::Storage(e.into()))?;
        fair.moved(n as u64).await;
    }
}

/// Moves exactly `len` bytes from the pipe into the file at `offset`.
fn drain_pipe(
    pipe: &SplicePipe,
    file: &std::fs::File,
    offset: &mut u64,
    mut len: usize,
    bounce: &mut Option<Vec<u8>>,
) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    while len > 0 {
        let moved = match bounce {
            None => match rustix::pipe::splice(
                &pipe.read,
                None,
                file,
                Some(offset),
                len,
                SpliceFlags::MOVE,
            ) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(moved) => moved,
                Err(rustix::io::Errno::INVAL) => {
                    *bounce = Some(vec![0u8; TRANSFER_BUFFER]);
                    continue;
                }
                Err(e) => return Err(e.into()),
            },
            Some(buf) => {
                let want = len.min(buf.len());
                let got = rustix::io::read(&pipe.read, &mut buf[..want])?;
                file.write_all_at(&buf[..got], *offset)?;
                *offset += got as u64;
                got
            }
        };
        len -= moved;
    }
    Ok(())
}

/// Bytes handed to one `sendfile` call at most, so progress counters move during a transfer.
pub(super) const SENDFILE_CHUNK: usize = 1024 * 1024;

/// Bytes a zero-copy loop moves before it lets the worker's other tasks run.
const FAIR_SHARE_BYTES: u64 = 4 * 1024 * 1024;

/// Yields to the runtime every [`FAIR_SHARE_BYTES`]. A zero-copy loop on a socket that stays
/// ready never waits, so tokio preempts it only when its budget of 128 operations is spent:
/// 512 MiB of `sendfile` at 4 MiB a call, a quarter of a second at loopback speed, during
/// which every other task queued on that worker (an admin request, another session's reply)
/// waits. Measured: admin list p95 during a RETR went from ~200 ms to under 40 ms.
#[derive(Debug, Default)]
struct FairShare {
    since_yield: u64,
}

impl FairShare {
    async fn moved(&mut self, bytes: u64) {
        self.since_yield += bytes;
        if self.since_yield >= FAIR_SHARE_BYTES {
            self.since_yield = 0;
            tokio::task::yield_now().await;
        }
    }
}

async fn send_file(
    file: &std::fs::File,
    mut offset: u64,
    stream: &TcpStream,
    idle: Duration,
    handle: &SessionHandle,
) -> Result<u64, TransferOutcome> {
    let mut total = 0u64;
    let mut fair = FairShare::default();
    loop {
        // `async_io` waits for writability and retries on WouldBlock; the socket is
        // non-blocking, so each call sends what fits in the socket buffer.
        let sent = stream.async_io(Interest::WRITABLE, || {
            rustix::fs::sendfile(stream, file, Some(&mut offset), SENDFILE_CHUNK)
                .map_err(io::Error::from)
        });
        // The file side failing (e.g. EIO) and the socket side look alike here; a broken
        // connection is by far the common case.
        let n = io_timeout(idle, sent).await?;
        if n == 0 {
            return Ok(total);
        }
        total += n as u64;
        handle.add_transfer(TransferDirection::Download, n as u64);
        fair.moved(n as u64).await;
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

async fn send<S: AsyncWrite + Unpin>(
    mut reader: Box<dyn AsyncRead + Send + Unpin>,
    stream: &mut S,
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

async fn receive<S: AsyncRead + Unpin>(
    stream: &mut S,
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
        let n = match tokio::time::timeout(idle, stream.read(&mut buf)).await {
            Ok(Ok(n)) => n,
            // A TLS client that closes without close_notify: the TCP close is the end of
            // the file, as in clear text (vsftpd's strict_ssl_read_eof=NO default).
            Ok(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                tracing::debug!("data connection closed without TLS close_notify");
                0
            }
            Ok(Err(e)) => return Err(TransferOutcome::ConnectionLost(e)),
            Err(_) => return Err(TransferOutcome::TimedOut),
        };
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

async fn send_lines<S: AsyncWrite + Unpin>(
    head: Vec<u8>,
    mut lines: mpsc::Receiver<Result<Vec<u8>, StorageError>>,
    stream: &mut S,
    idle: Duration,
    handle: &SessionHandle,
) -> Result<u64, TransferOutcome> {
    let mut total = 0u64;
    let mut batch = head;
    batch.reserve(64 * 1024);
    loop {
        let done = match lines.recv().await {
            // A chunk large enough to write on its own is not copied first.
            Some(Ok(chunk)) if batch.is_empty() && chunk.len() >= 60 * 1024 => {
                batch = chunk;
                false
            }
            Some(Ok(chunk)) => {
                batch.extend_from_slice(&chunk);
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

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    fn pipe_holding(bytes: &[u8]) -> SplicePipe {
        let pipe = SplicePipe::new().unwrap();
        let written = rustix::io::write(&pipe.write, bytes).unwrap();
        assert_eq!(written, bytes.len());
        pipe
    }

    fn contents(file: &std::fs::File) -> Vec<u8> {
        let mut out = Vec::new();
        file.try_clone().unwrap().read_to_end(&mut out).unwrap();
        out
    }

    /// Both ways of emptying the pipe (splice, and the bounce buffer used when a file
    /// system refuses splice) write at the offset and advance it.
    #[test]
    fn draining_the_pipe_writes_at_the_offset() {
        for mut bounce in [None, Some(vec![0u8; 4])] {
            let mut file = tempfile::tempfile().unwrap();
            file.write_all(b"abc").unwrap();
            let pipe = pipe_holding(b"hello world");
            let mut offset = 3;
            drain_pipe(&pipe, &file, &mut offset, 11, &mut bounce).unwrap();
            assert_eq!(offset, 14);
            std::io::Seek::rewind(&mut file).unwrap();
            assert_eq!(contents(&file), b"abchello world");
        }
    }

    /// A target that refuses splice (a character device) switches to the bounce buffer,
    /// and a full device reports the storage error (552), not a connection error.
    #[test]
    fn a_full_device_is_a_storage_error() {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let pipe = pipe_holding(b"payload");
        let mut bounce = None;
        let err = drain_pipe(&pipe, &full, &mut 0, 7, &mut bounce).unwrap_err();
        assert!(
            bounce.is_some(),
            "splice into a device should have fallen back"
        );
        assert_eq!(
            StorageError::from(err).kind,
            crate::storage::StorageErrorKind::InsufficientStorage
        );
    }
}
