//! Lowering the positioned XML tree into the model, with diagnostics.

use std::path::Path;

use super::Loaded;

/// See [`super::load_file`].
pub fn load_file(path: &Path) -> Loaded {
    let _ = path;
    todo!()
}

/// See [`super::load_str`].
pub fn load_str(text: &str, origin: &Path) -> Loaded {
    let _ = (text, origin);
    todo!()
}
