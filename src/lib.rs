//! Wharf: an FTP/FTPS server implementing the IIS FTP service model.
//!
//! Module map (find a feature by its noun):
//! - [`admin`]: the admin API (sites, sessions, terminate, events, metrics) and live page.
//! - [`cli`]: the `wharf` command line (serve, config, user).
//! - [`config`]: `applicationHost.config` loading, diagnostics with file:line:col, the typed model.
//! - [`server`]: listeners, site selection by binding and virtual host, shutdown.
//! - [`session`]: one task per control connection; command families in `session/commands/`.
//! - [`registry`]: the per-site sessions collection (IIS `ftpServer/sessions`) and ended history.
//! - [`auth`]: accounts (argon2id), credentials cache, authorization rules.
//! - [`storage`]: the storage trait, the confined local file system, virtual directories.
//! - [`state`]: the state directory (admin token, generated certificate).
//! - [`tls`]: FTPS on rustls: per-site certificates (PEM, thumbprint store, self-signed),
//!   reload, and the IIS channel policies.
//! - [`limits`]: every protocol and resource limit, named with its unit.

pub mod admin;
pub mod auth;
pub mod cli;
pub mod config;
pub mod limits;
pub mod registry;
pub mod server;
pub mod session;
pub mod state;
pub mod storage;
pub mod tls;
