//! Ended sessions: why a session ended, who terminated it, its final record.

use std::fmt;

use time::OffsetDateTime;

use super::record::SessionRecord;

/// Why a session ended (`endReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// The client sent QUIT.
    Quit,
    /// The client closed the connection.
    ClientClosed,
    /// `controlChannelTimeout` elapsed with no command.
    ControlTimeout,
    /// `unauthenticatedTimeout` elapsed before login.
    UnauthenticatedTimeout,
    /// An administrator terminated it.
    Terminated,
    /// The server shut down.
    ServerShutdown,
    /// An I/O or protocol error ended it.
    Error,
}

impl EndReason {
    /// Every reason, in a fixed order (for metrics).
    pub const ALL: [EndReason; 7] = [
        EndReason::Quit,
        EndReason::ClientClosed,
        EndReason::ControlTimeout,
        EndReason::UnauthenticatedTimeout,
        EndReason::Terminated,
        EndReason::ServerShutdown,
        EndReason::Error,
    ];

    /// The position of this reason in [`EndReason::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The contract spelling (`quit`, `clientClosed`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Quit => "quit",
            EndReason::ClientClosed => "clientClosed",
            EndReason::ControlTimeout => "controlTimeout",
            EndReason::UnauthenticatedTimeout => "unauthenticatedTimeout",
            EndReason::Terminated => "terminated",
            EndReason::ServerShutdown => "serverShutdown",
            EndReason::Error => "error",
        }
    }
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request to terminate a session, set once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminateRequest {
    /// Which interface asked (`api`, `cli`, `page`, …).
    pub actor: String,
    /// The administrator's reason, sent with the 421 reply.
    pub reason: Option<String>,
}

/// One entry of the ended-sessions history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndedSession {
    /// The final record (counters at the end).
    pub record: SessionRecord,
    /// Why it ended.
    pub end_reason: EndReason,
    /// When it ended.
    pub end_time: OffsetDateTime,
    /// For `terminated`: the actor.
    pub terminated_by: Option<String>,
    /// For `terminated`: the reason given.
    pub terminate_reason: Option<String>,
}
