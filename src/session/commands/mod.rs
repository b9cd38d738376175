//! Command families: each file adds `impl Session` methods for a group of verbs that share
//! state (login, navigation, file operations, transfers, listings, information).

mod fileops;
mod info;
pub mod list;
mod login;
mod navigate;
mod tls;
mod transfer;
