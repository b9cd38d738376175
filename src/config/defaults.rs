//! The embedded default configuration (`wharf config default`).

use super::Loaded;

/// The embedded default configuration text.
pub const DEFAULT_CONFIG: &str = "";

/// Loads the embedded default (relative paths against the current directory).
pub fn load_default() -> Loaded {
    todo!()
}
