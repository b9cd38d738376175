//! Configuration: `applicationHost.config`-shaped XML into the typed [`model::Config`].
//!
//! Two stages: [`xml`] parses into a positioned tree (roxmltree), [`lower`] walks it into
//! the model collecting every [`diagnostics::Diagnostic`] (warnings for unknown or
//! unsupported items, errors with accepted values), each with file:line:col.
//! Inheritance (`siteDefaults`, `<location>`, `configSource`, `%VAR%`) is resolved during
//! lowering: runtime code never walks it.
//!
//! [`schema`] is the auditable table of every IIS element and attribute Wharf knows and
//! what it does with each (supported, not yet, Windows-only, ignored). [`defaults`] holds
//! the embedded default configuration, [`edit`] the text-preserving edits behind
//! `wharf user add|passwd|del|list`.

pub mod defaults;
pub mod diagnostics;
pub mod edit;
pub mod expand;
pub mod files;
pub mod lower;
pub mod model;
pub mod schema;
pub mod xml;

pub use diagnostics::{Diagnostic, Severity};
pub use model::Config;

use std::path::Path;

/// The outcome of loading: the model when there was no error, and every diagnostic.
#[derive(Debug)]
pub struct Loaded {
    /// `Some` when no diagnostic is an error.
    pub config: Option<Config>,
    /// Warnings and errors in file order.
    pub diagnostics: Vec<Diagnostic>,
}

/// Loads a configuration file (following `configSource` references relative to it).
pub fn load_file(path: &Path) -> Loaded {
    lower::load_file(path)
}

/// Loads a configuration from text; `origin` names it in diagnostics and is the base for
/// relative paths (its parent directory).
pub fn load_str(text: &str, origin: &Path) -> Loaded {
    lower::load_str(text, origin)
}

#[cfg(test)]
mod tests;
