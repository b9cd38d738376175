//! The embedded default configuration (`wharf config default`).

/// The embedded default configuration text.
pub const DEFAULT_CONFIG: &str = "";
