//! Per-site counters for `/metrics`: commands by verb, replies by class, logins.
//!
//! Plain relaxed atomics bumped once per command or reply: no lock, no allocation. Verbs
//! come from a fixed table (anything else counts as `other`) so a client sending random
//! verbs cannot grow the label set. Session counts, bytes, end reasons and terminations
//! come from the registry ([`crate::registry::Registry::totals`]).

use std::sync::atomic::{AtomicU64, Ordering};

/// Verbs counted by name; every other verb is counted as `other`.
pub const VERBS: &[&str] = &[
    "ABOR", "ACCT", "ALLO", "APPE", "AUTH", "CCC", "CDUP", "CLNT", "CWD", "DELE", "EPRT", "EPSV",
    "FEAT", "HELP", "HOST", "LIST", "MDTM", "MFMT", "MKD", "MLSD", "MLST", "MODE", "NLST", "NOOP",
    "OPTS", "PASS", "PASV", "PBSZ", "PORT", "PROT", "PWD", "QUIT", "REIN", "REST", "RETR", "RMD",
    "RNFR", "RNTO", "SITE", "SIZE", "STAT", "STOR", "STOU", "STRU", "SYST", "TYPE", "USER",
];

/// The label of verbs not in [`VERBS`].
pub const OTHER_VERB: &str = "other";

/// Counters of one site.
#[derive(Debug)]
pub struct SiteMetrics {
    commands: Box<[AtomicU64]>,
    replies: [AtomicU64; 5],
    logins_ok: AtomicU64,
    logins_failed: AtomicU64,
}

impl Default for SiteMetrics {
    fn default() -> Self {
        SiteMetrics {
            commands: (0..=VERBS.len()).map(|_| AtomicU64::new(0)).collect(),
            replies: Default::default(),
            logins_ok: AtomicU64::new(0),
            logins_failed: AtomicU64::new(0),
        }
    }
}

impl SiteMetrics {
    /// Counts a command by its canonical verb.
    pub fn command(&self, verb: &str) {
        let i = VERBS.iter().position(|v| *v == verb).unwrap_or(VERBS.len());
        self.commands[i].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a reply by class (1xx…5xx); codes outside 100–599 are not counted.
    pub fn reply(&self, code: u16) {
        if let Some(c) = self.replies.get(usize::from(code / 100).wrapping_sub(1)) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts a login attempt.
    pub fn login(&self, success: bool) {
        let c = if success {
            &self.logins_ok
        } else {
            &self.logins_failed
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// `(verb, count)` for every verb counted at least once, `other` last.
    pub fn commands(&self) -> Vec<(&'static str, u64)> {
        VERBS
            .iter()
            .copied()
            .chain(std::iter::once(OTHER_VERB))
            .zip(self.commands.iter())
            .map(|(v, c)| (v, c.load(Ordering::Relaxed)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    /// Replies sent per class: index 0 is 1xx … index 4 is 5xx.
    pub fn replies(&self) -> [u64; 5] {
        std::array::from_fn(|i| self.replies[i].load(Ordering::Relaxed))
    }

    /// `(successful, failed)` logins.
    pub fn logins(&self) -> (u64, u64) {
        (
            self.logins_ok.load(Ordering::Relaxed),
            self.logins_failed.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_known_verbs_by_name_and_the_rest_as_other() {
        let m = SiteMetrics::default();
        m.command("RETR");
        m.command("RETR");
        m.command("XYZZY");
        assert_eq!(m.commands(), vec![("RETR", 2), ("other", 1)]);
    }

    #[test]
    fn replies_by_class_ignore_nonsense_codes() {
        let m = SiteMetrics::default();
        for code in [150, 226, 230, 331, 421, 530, 550, 0, 99, 600] {
            m.reply(code);
        }
        assert_eq!(m.replies(), [1, 2, 1, 1, 2]);
        m.login(true);
        m.login(false);
        m.login(false);
        assert_eq!(m.logins(), (1, 2));
    }

    #[test]
    fn verb_table_is_sorted_and_unique() {
        assert!(VERBS.windows(2).all(|w| w[0] < w[1]));
    }
}
