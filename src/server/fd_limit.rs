//! The open-file limit: raised from the soft to the hard limit at start-up.
//!
//! Every control connection, data connection, listing and admin connection is a
//! descriptor; the usual soft limit of 1,024 is reached long before memory or the
//! configured connection limits are. The hard limit is what the administrator (or systemd's
//! `LimitNOFILE=`) allows; the soft one is only a default for programs that never ask.

use std::io;

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// Kernel ceiling for `RLIMIT_NOFILE` when the hard limit says "unlimited".
const NR_OPEN: &str = "/proc/sys/fs/nr_open";

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns `(before, after)`.
pub fn raise_to_hard_limit() -> io::Result<(u64, u64)> {
    let limit = getrlimit(Resource::Nofile);
    let before = limit.current.unwrap_or(u64::MAX);
    // An unlimited hard limit cannot be the soft one: the kernel caps it at nr_open.
    let target = match limit.maximum {
        Some(max) => max,
        None => std::fs::read_to_string(NR_OPEN)
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(1 << 20),
    };
    if before >= target {
        return Ok((before, before));
    }
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(target),
            maximum: limit.maximum,
        },
    )?;
    Ok((before, target))
}

/// [`raise_to_hard_limit`], logged (debug when raised, warning when it fails).
pub fn raise_and_log() {
    match raise_to_hard_limit() {
        Ok((before, after)) if after > before => {
            tracing::debug!(before, after, "raised the open-file limit (RLIMIT_NOFILE)");
        }
        Ok((limit, _)) => tracing::debug!(limit, "open-file limit (RLIMIT_NOFILE)"),
        Err(e) => tracing::warn!(error = %e, "cannot raise the open-file limit (RLIMIT_NOFILE)"),
    }
}
