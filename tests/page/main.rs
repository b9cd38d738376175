//! Operator surfaces of the sessions feature: the `wharf sites|sessions` CLI and the live
//! page, each against a spawned `wharf serve` (admin API on `127.0.0.1:0`).
//!
//! The browser test drives Debian's `chromium` through `chromedriver` (packages chromium
//! and chromium-driver); without them it is skipped loudly, except under `CI=true`,
//! where a missing browser fails.

mod browser;
mod cli;
#[path = "../common/mod.rs"]
mod common;
mod support;
