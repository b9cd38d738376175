//! What an accept loop does when `accept(2)` fails.
//!
//! Out of descriptors (`EMFILE`, `ENFILE`) or kernel memory (`ENOBUFS`, `ENOMEM`), the
//! connection stays in the listen queue and the next `accept` fails the same way at once:
//! retrying in a loop would spin a core and flood the log. The loop instead pauses
//! ([`ACCEPT_BACKOFF_MIN`], growing by half up to [`ACCEPT_BACKOFF_MAX`]), logs one warning
//! for the whole episode, and one line when accepting works again; waiting clients are then
//! served from the queue. Errors that concern one connection only (the peer reset it before
//! it was accepted, a firewall refused it) are skipped at once.

use std::io;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::limits::{ACCEPT_BACKOFF_MAX, ACCEPT_BACKOFF_MIN};

/// The accept-error state of one listener.
#[derive(Debug)]
pub struct AcceptBackoff {
    /// What accepts, for the log (`FTP`, `admin API`).
    what: &'static str,
    /// The address it listens on, for the log.
    addr: String,
    episode: Option<Episode>,
}

#[derive(Debug)]
struct Episode {
    started: Instant,
    failures: u64,
    delay: Duration,
}

impl AcceptBackoff {
    /// A listener with no error yet.
    pub fn new(what: &'static str, addr: impl ToString) -> AcceptBackoff {
        AcceptBackoff {
            what,
            addr: addr.to_string(),
            episode: None,
        }
    }

    /// Whether an episode of failures is under way.
    pub fn failing(&self) -> bool {
        self.episode.is_some()
    }

    /// After a successful accept: ends an episode (logged once).
    pub fn accepted(&mut self) {
        if let Some(episode) = self.episode.take() {
            tracing::info!(
                listener = self.what,
                addr = %self.addr,
                failed_accepts = episode.failures,
                seconds = episode.started.elapsed().as_secs_f32(),
                "accepting connections again"
            );
        }
    }

    /// After a failed accept: pauses as the error requires, or until `stop` fires.
    pub async fn failed(&mut self, error: &io::Error, stop: &CancellationToken) {
        if concerns_one_connection(error) {
            tracing::debug!(listener = self.what, error = %error, "accept: connection dropped");
            return;
        }
        let episode = match &mut self.episode {
            Some(episode) => {
                episode.failures += 1;
                episode.delay = (episode.delay * 3 / 2).min(ACCEPT_BACKOFF_MAX);
                episode
            }
            None => {
                tracing::warn!(
                    listener = self.what,
                    addr = %self.addr,
                    error = %error,
                    "accept failed; pausing new connections until it works again (they wait \
                     in the listen queue; logged once per episode)"
                );
                self.episode.insert(Episode {
                    started: Instant::now(),
                    failures: 1,
                    delay: ACCEPT_BACKOFF_MIN,
                })
            }
        };
        let delay = episode.delay;
        tokio::select! {
            _ = stop.cancelled() => {}
            _ = tokio::time::sleep(delay) => {}
        }
    }
}

/// Errors about the connection being accepted, not about the listener or the process.
fn concerns_one_connection(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(
            libc::ECONNABORTED
                | libc::ECONNRESET
                | libc::EPERM
                | libc::EPROTO
                | libc::ENETDOWN
                | libc::ENOPROTOOPT
                | libc::EHOSTDOWN
                | libc::ENONET
                | libc::EHOSTUNREACH
                | libc::EOPNOTSUPP
                | libc::ENETUNREACH
                | libc::ETIMEDOUT
                | libc::EAGAIN
                | libc::EINTR
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn descriptor_exhaustion_backs_off_growing_and_recovers() {
        let stop = CancellationToken::new();
        let mut backoff = AcceptBackoff::new("test", "127.0.0.1:1");
        let emfile = io::Error::from_raw_os_error(libc::EMFILE);
        let mut pauses = Vec::new();
        for _ in 0..8 {
            let before = tokio::time::Instant::now();
            backoff.failed(&emfile, &stop).await;
            pauses.push(before.elapsed());
        }
        assert!(backoff.failing());
        assert_eq!(pauses[0], ACCEPT_BACKOFF_MIN);
        assert!(pauses.windows(2).all(|w| w[1] >= w[0]), "{pauses:?}");
        assert_eq!(*pauses.last().unwrap(), ACCEPT_BACKOFF_MAX);
        backoff.accepted();
        assert!(!backoff.failing());
        // A connection reset before accept is skipped without a pause or an episode.
        let before = tokio::time::Instant::now();
        backoff
            .failed(&io::Error::from_raw_os_error(libc::ECONNABORTED), &stop)
            .await;
        assert_eq!(before.elapsed(), Duration::ZERO);
        assert!(!backoff.failing());
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_ends_with_the_stop_token() {
        let stop = CancellationToken::new();
        stop.cancel();
        let mut backoff = AcceptBackoff::new("test", "127.0.0.1:1");
        let before = tokio::time::Instant::now();
        backoff
            .failed(&io::Error::from_raw_os_error(libc::ENFILE), &stop)
            .await;
        assert_eq!(before.elapsed(), Duration::ZERO);
    }
}
