//! `wharf config check` and `wharf config default`.

use std::path::Path;
use std::process::ExitCode;

use crate::config::{self, Severity};

/// Validates a file; exit 1 when it has errors.
pub fn check(file: &Path) -> ExitCode {
    let loaded = config::load_file(file);
    for d in &loaded.diagnostics {
        eprintln!("{d}");
    }
    let errors = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = loaded.diagnostics.len() - errors;
    match loaded.config {
        Some(cfg) if errors == 0 => {
            println!(
                "{}: OK ({} site(s), {warnings} warning(s))",
                file.display(),
                cfg.sites.len()
            );
            ExitCode::SUCCESS
        }
        _ => {
            println!(
                "{}: {errors} error(s), {warnings} warning(s)",
                file.display()
            );
            ExitCode::FAILURE
        }
    }
}

/// Prints the embedded default configuration.
pub fn print_default() -> ExitCode {
    print!("{}", config::defaults::DEFAULT_CONFIG);
    ExitCode::SUCCESS
}
