//! Configuration diagnostics: every warning and error names file:line:col.

use std::fmt;
use std::path::PathBuf;

/// Warning (the server still starts) or error (it does not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Unknown or unsupported item; ignored.
    Warning,
    /// Invalid value; nothing starts.
    Error,
}

/// One finding, positioned in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Warning or error.
    pub severity: Severity,
    /// The file (the main config or a `configSource` file).
    pub file: PathBuf,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// What is wrong, and for invalid values the accepted values.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    /// `file:line:col: error: message`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(
            f,
            "{}:{}:{}: {level}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.message
        )
    }
}
