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
/// Bound on directory entries buffered between the storage reader and the data channel.
pub const LIST_CHANNEL_DEPTH: usize = 256;
/// Time a client has to connect to a passive port before 425.
pub const PASSIVE_ACCEPT_TIMEOUT: Duration = Duration::from_secs(30);
