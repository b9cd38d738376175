//! Every protocol and resource limit, named with its unit.

use std::time::Duration;

/// Default `commandFiltering@maxCommandLine` (bytes, verb and arguments).
pub const DEFAULT_MAX_COMMAND_LINE: usize = 4096;
/// Longest virtual path accepted from a client (bytes), like `requestLimits@maxUrl`.
pub const MAX_PATH_LEN: usize = 4096;
/// Delay before answering a failed login with 530 (slows password guessing).
pub const FAILED_LOGIN_DELAY: Duration = Duration::from_millis(500);
/// Size of the buffer used to copy data-channel payload (bytes).
pub const TRANSFER_BUFFER: usize = 256 * 1024;
/// How long a shutdown waits for running transfers before sending 421.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// Default number of ended sessions kept for audit per server.
pub const DEFAULT_ENDED_SESSIONS_RETENTION: usize = 1000;
/// Directory entries per message from the storage reader: one channel hop (and wake-up)
/// per batch, not per entry, which dominated the time of large listings.
pub const LIST_BATCH: usize = 1024;
/// Bound on batches buffered between the storage reader and the formatter, and on chunks
/// between the formatter and the data channel: a listing holds a few hundred KiB at most
/// however large the directory.
pub const LIST_CHANNEL_DEPTH: usize = 2;
/// Time a client has to connect to a passive port before 425.
pub const PASSIVE_ACCEPT_TIMEOUT: Duration = Duration::from_secs(30);
/// Session events kept for `Last-Event-ID` resumption (events).
pub const EVENT_BACKLOG: usize = 1024;
/// Events buffered per subscriber before it is declared lagging and re-snapshotted (events).
pub const EVENT_CHANNEL_CAPACITY: usize = 4096;
/// How often the event sampler publishes transfer progress and deferred changes.
pub const EVENT_SAMPLE_INTERVAL: Duration = Duration::from_secs(1);
/// Shortest gap between two immediate `session.updated` events of one session; changes
/// inside the gap are published by the sampler.
pub const UPDATE_MIN_INTERVAL: Duration = Duration::from_secs(1);
/// How long `POST …/terminate` waits for the session to end before answering 202.
pub const TERMINATE_WAIT: Duration = Duration::from_secs(2);
/// Longest terminate reason kept (characters); it travels in the 421 reply line.
pub const TERMINATE_REASON_MAX: usize = 256;
/// Largest admin API request body (bytes).
pub const ADMIN_MAX_BODY: usize = 64 * 1024;
/// Interval of SSE keep-alive comments on `GET /api/v1/events`.
pub const SSE_KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Bytes of the random admin bearer token (written as twice as many hex digits).
pub const ADMIN_TOKEN_BYTES: usize = 32;
/// Default `administration@headerReadTimeout`: time to send a request's headers (and the
/// TLS handshake), and the longest idle time between two requests of a connection.
pub const DEFAULT_ADMIN_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default `administration@maxConnections`: admin connections open at once.
pub const DEFAULT_ADMIN_MAX_CONNECTIONS: u32 = 256;
/// Default `administration@maxEventSubscribers`: event streams open at once.
pub const DEFAULT_ADMIN_MAX_EVENT_SUBSCRIBERS: u32 = 64;
/// Read buffer of one admin connection (bytes); bodies stream through it.
pub const ADMIN_MAX_BUFFER: usize = 64 * 1024;
/// Largest request line and headers of an admin request (bytes); larger: `431`.
pub const ADMIN_MAX_HEADER_BYTES: usize = 16 * 1024;
/// First pause of an accept loop after the process ran out of descriptors (or memory):
/// the pending connection stays in the kernel's queue until descriptors are free.
pub const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(100);
/// Longest pause between two accept attempts while out of descriptors.
pub const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);
