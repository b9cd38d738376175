//! Large clear-text downloads: one blocking `sendfile` loop on a thread of its own.
//!
//! On the runtime, a non-blocking `sendfile` returns each time the socket buffer fills, and
//! every refill is a round trip through epoll and the scheduler. Blocking, the kernel
//! waits for room inside the call and goes on from where it stopped, and with `TCP_CORK`
//! only full segments leave, as proftpd does with one corked `sendfile` of the whole file.
//! On loopback that took a 1 GiB RETR from ~2,050 to ~2,450 MiB/s, level with proftpd
//! (BENCHMARKS.md); neither change helped on its own. Off the runtime, the transfer also
//! stops competing with the workers' other tasks (admin requests, other sessions' replies).
//!
//! The thread works on a duplicate of the socket descriptor switched to blocking mode with a
//! short send timeout, so it notices a stop request, the idle limit and the end of the
//! session within [`WAKE_INTERVAL`]; the async side waits for it before it resets or closes
//! the connection, so nothing is written after the transfer's outcome is decided.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rustix::net::sockopt::{self, Timeout};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::data::{SENDFILE_CHUNK, TransferOutcome};
use crate::registry::{SessionHandle, TransferDirection};

/// Files smaller than this go through the runtime's loop: a thread hand-off costs more than
/// the few socket-buffer refills they need.
pub const MIN_THREAD_BYTES: u64 = 8 * 1024 * 1024;

/// Downloads on threads at once; more wait on the runtime's loop instead of queueing for a
/// thread (a queued transfer would stall).
const MAX_THREADS: usize = 64;

/// The socket's send timeout while the thread owns it: how soon a stop request is seen.
const WAKE_INTERVAL: Duration = Duration::from_millis(100);

static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// A place among the [`MAX_THREADS`] downloads on threads.
#[derive(Debug)]
pub struct ThreadSlot {
    taken_from: &'static AtomicUsize,
}

impl ThreadSlot {
    /// A slot for sending `file` from `offset`, when it is large enough to be worth a thread
    /// and one is free.
    pub fn for_download(file: &File, offset: u64) -> Option<ThreadSlot> {
        let size = file.metadata().ok()?.len();
        if size.saturating_sub(offset) < MIN_THREAD_BYTES {
            return None;
        }
        ThreadSlot::take(&RUNNING, MAX_THREADS)
    }

    fn take(counter: &'static AtomicUsize, max: usize) -> Option<ThreadSlot> {
        counter
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| ThreadSlot {
                taken_from: counter,
            })
    }
}

impl Drop for ThreadSlot {
    fn drop(&mut self) {
        self.taken_from.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Sets the stop flag when the async side goes away without a cancel (runtime shutdown).
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Sends `file` from `offset` to its end on a blocking thread. `Ok(bytes)` when the end was
/// reached; the caller closes the connection. On `cancel`, the thread is stopped and waited
/// for, then the connection reset.
pub async fn send_file_on_thread(
    stream: &TcpStream,
    file: File,
    offset: u64,
    idle: Duration,
    handle: Arc<SessionHandle>,
    cancel: &CancellationToken,
    slot: ThreadSlot,
) -> Result<u64, TransferOutcome> {
    let socket = stream
        .as_fd()
        .try_clone_to_owned()
        .map_err(TransferOutcome::ConnectionLost)?;
    let stop = Arc::new(AtomicBool::new(false));
    let _stop_on_drop = StopOnDrop(stop.clone());
    let thread_stop = stop.clone();
    let mut join = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let result = send_blocking(&socket, &file, offset, idle, &handle, &thread_stop);
        // Back to the runtime's mode (the flag is shared with the runtime's descriptor).
        let _ = sockopt::set_tcp_cork(&socket, false);
        let _ = sockopt::set_socket_timeout(&socket, Timeout::Send, None);
        let _ = rustix::io::ioctl_fionbio(&socket, true);
        result
    });
    let joined = tokio::select! {
        _ = cancel.cancelled() => {
            stop.store(true, Ordering::Relaxed);
            // A blocked sendfile sees the flag only when its send timeout runs out, and one
            // call can wait out several timeouts (one per pipe buffer it moves): ABOR would
            // take ~300 ms. Shutting the sending side wakes it at once (EPIPE). The FIN this
            // queues sits behind the unsent data and is discarded with it by the reset that
            // follows (zero linger, `finish_plain`).
            let _ = rustix::net::shutdown(stream, rustix::net::Shutdown::Write);
            let _ = (&mut join).await;
            return Err(TransferOutcome::Cancelled);
        }
        joined = &mut join => joined,
    };
    joined.unwrap_or_else(|e| Err(TransferOutcome::ConnectionLost(io::Error::other(e))))
}

fn send_blocking(
    socket: &OwnedFd,
    file: &File,
    mut offset: u64,
    idle: Duration,
    handle: &SessionHandle,
    stop: &AtomicBool,
) -> Result<u64, TransferOutcome> {
    let lost = |e: rustix::io::Errno| TransferOutcome::ConnectionLost(io::Error::from(e));
    rustix::io::ioctl_fionbio(socket, false).map_err(lost)?;
    sockopt::set_socket_timeout(socket, Timeout::Send, Some(WAKE_INTERVAL)).map_err(lost)?;
    let _ = sockopt::set_tcp_cork(socket, true);
    let mut total = 0u64;
    let mut last_progress = Instant::now();
    loop {
        if stop.load(Ordering::Relaxed) {
            return Err(TransferOutcome::Cancelled);
        }
        match rustix::fs::sendfile(socket, file, Some(&mut offset), SENDFILE_CHUNK) {
            Ok(0) => return Ok(total),
            Ok(n) => {
                total += n as u64;
                handle.add_transfer(TransferDirection::Download, n as u64);
                last_progress = Instant::now();
            }
            // The send timeout ran out with nothing sent: the client is not reading.
            Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => {
                if last_progress.elapsed() >= idle {
                    return Err(TransferOutcome::TimedOut);
                }
            }
            Err(e) => return Err(lost(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_limited_and_given_back() {
        static TAKEN: AtomicUsize = AtomicUsize::new(0);
        let mut held: Vec<_> = (0..3)
            .map(|_| ThreadSlot::take(&TAKEN, 3).expect("a free slot"))
            .collect();
        assert!(ThreadSlot::take(&TAKEN, 3).is_none());
        held.pop();
        assert_eq!(TAKEN.load(Ordering::Acquire), 2);
        held.push(ThreadSlot::take(&TAKEN, 3).expect("the slot given back"));
        drop(held);
        assert_eq!(TAKEN.load(Ordering::Acquire), 0);
    }

    #[test]
    fn only_large_remainders_go_to_a_thread() {
        let file = tempfile::tempfile().unwrap();
        file.set_len(MIN_THREAD_BYTES).unwrap();
        assert!(ThreadSlot::for_download(&file, 0).is_some());
        assert!(ThreadSlot::for_download(&file, 1).is_none());
        file.set_len(MIN_THREAD_BYTES - 1).unwrap();
        assert!(ThreadSlot::for_download(&file, 0).is_none());
    }
}
