//! The `wharf` command line.

use std::process::ExitCode;

/// Entry point of the `wharf` binary.
pub fn main() -> ExitCode {
    ExitCode::SUCCESS
}
