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

/// Loads every configured certificate file (never generates the self-signed one) and
/// reports what would fail at start-up; returns the number of errors.
fn check_certificates(cfg: &config::Config) -> usize {
    let mut errors = 0;
    for site in &cfg.sites {
        let ssl = &site.ftp.ssl;
        let explicit = ssl.certificate_file.is_some()
            || (ssl.certificate_store.is_some() && ssl.server_cert_hash.is_some());
        if explicit {
            match crate::tls::load_certificate(site, &crate::state::state_dir(cfg)) {
                Ok(c) => println!(
                    "site \"{}\": certificate {} (SHA-1 {})",
                    site.name,
                    c.certificate_file.display(),
                    c.thumbprint
                ),
                Err(e) => {
                    eprintln!("error: site \"{}\": TLS certificate: {e}", site.name);
                    errors += 1;
                }
            }
        }
        let cc = &site.ftp.ssl_client_certificates;
        if let Some(ca) = &cc.ca_file
            && let Err(e) = crate::tls::certs::load_ca_file(ca)
        {
            eprintln!(
                "error: site \"{}\": sslClientCertificates caFile: {e}",
                site.name
            );
            errors += 1;
        }
    }
    errors
}
