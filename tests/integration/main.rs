//! In-process integration tests of Wharf: a real server on ephemeral loopback ports, driven
//! by a raw FTP client (`support::Client`) and by the `suppaftp` crate.
//!
//! Run with `cargo test --test integration -- --test-threads=2`.

mod support;

mod authorization;
mod commands;
mod data_security;
mod hostile_paths;
mod isolation;
mod listing;
mod login;
mod registry;
mod shutdown;
mod transfer;
mod vhosts;
