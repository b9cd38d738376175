//! The state directory: where Wharf keeps what it generates on first start (the admin
//! token, the self-signed certificate of the embedded default).
//!
//! `WHARF_STATE_DIR` when set; else `.wharf` beside the configuration file; else (embedded
//! default) `.wharf` in the current directory. Created with mode 0700 when first needed.

use std::io;
use std::path::{Path, PathBuf};

use crate::config::Config;

/// The state directory for `config` (not created).
pub fn state_dir(config: &Config) -> PathBuf {
    state_dir_for(config.source.as_deref())
}

/// The state directory of a configuration loaded from `source` (`None`: the embedded
/// default).
pub fn state_dir_for(source: Option<&Path>) -> PathBuf {
    if let Some(dir) = std::env::var_os("WHARF_STATE_DIR") {
        return PathBuf::from(dir);
    }
    let base = source
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    base.join(".wharf")
}

/// Creates the state directory (mode 0700) if missing and returns it.
pub fn ensure_state_dir(config: &Config) -> io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let dir = state_dir(config);
    if !dir.is_dir() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)?;
    }
    Ok(dir)
}
