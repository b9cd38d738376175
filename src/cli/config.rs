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
    let mut errors = errors;
    let warnings = loaded.diagnostics.len() - errors;
    if let Some(cfg) = &loaded.config {
        errors += check_certificates(cfg);
    }
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

/// Prints the certificate each site (and the admin listener) will use; the loading itself
/// was checked by [`config::load_file`], which reports failures with file:line:col. Returns
/// the number of errors (a file that changed since).
fn check_certificates(cfg: &config::Config) -> usize {
    let mut errors = 0;
    let state_dir = crate::state::state_dir(cfg);
    for site in &cfg.sites {
        match crate::tls::check_site_files(&site.ftp, &state_dir) {
            Ok(Some((file, thumbprint))) => println!(
                "site \"{}\": certificate {} (SHA-1 {thumbprint})",
                site.name,
                file.display()
            ),
            Ok(None) => {}
            Err(e) => {
                eprintln!("error: site \"{}\": TLS: {e}", site.name);
                errors += 1;
            }
        }
    }
    let admin = &cfg.administration;
    if let Some(tls) = &admin.tls {
        match crate::tls::certs::load_pair(&tls.certificate_file, &tls.private_key_file) {
            Ok(c) => println!(
                "administration: HTTPS certificate {} (SHA-1 {})",
                c.certificate_file.display(),
                c.thumbprint
            ),
            Err(e) => {
                eprintln!("error: administration: HTTPS certificate: {e}");
                errors += 1;
            }
        }
    }
    errors
}
