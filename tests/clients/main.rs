//! Real-client tests: the `wharf` binary driven by the FTP clients people actually use.
//!
//! Black-box: every test starts `wharf serve --config FILE` (or another subcommand) as a
//! child process with a configuration written to a temporary directory, reads the
//! "listening on" lines from its standard output to learn the ports, runs a client
//! (`curl`, `lftp`, Python's `ftplib`) against it and checks what the client reports and
//! what landed on disk. The server is stopped with SIGTERM when the test ends.
//!
//! A missing client tool skips its tests with a loud message on a developer machine and
//! fails them under CI (`CI` set): `.ci/run` installs the tools.
//!
//! `WHARF_BIN=/path/to/wharf` tests another binary than the one cargo built (a release
//! build, or a private copy when several checkouts share one target directory).
//!
//! Modules:
//! - [`common`] (shared by every test binary): the server process guard, running tools with
//!   timeouts, configuration XML, a blocking FTP client.
//! - [`support`]: the standard test server and configuration, trees compared by SHA-256.
//! - [`curl`]: listings, downloads, uploads, active/passive modes, CWD methods, quote, resume.
//! - [`lftp`]: recursive mirror up and down with checksums; ls, rm, mkdir, mv, resume.
//! - [`ftplib`]: `tests/clients/ftplib_check.py`, Python's standard FTP client.
//! - [`tnftp`]: NetBSD ftp's ^C during a download (ABOR with the Telnet Synch as urgent data).
//! - [`crash`]: `kill -9` during an upload, then the next start.
//! - [`cli`]: `wharf config …`, `wharf user …`, `wharf serve` with the embedded default.

mod cli;
#[path = "../common/mod.rs"]
mod common;
mod crash;
mod curl;
mod ftplib;
mod lftp;
mod support;
mod tnftp;
