//! `wharf user add|passwd|del|list`: basic-auth accounts in the configuration file.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::UserCommand;
use crate::auth::hash_password;
use crate::config::{self, Severity, edit};

/// Runs a user subcommand.
pub fn run(command: UserCommand) -> ExitCode {
    match execute(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("wharf: {message}");
            ExitCode::FAILURE
        }
    }
}

fn execute(command: UserCommand) -> Result<(), String> {
    match command {
        UserCommand::Add {
            name,
            roles,
            password_stdin,
            config,
        } => {
            let path = config_path(config)?;
            let password = read_password(password_stdin)?;
            let hash = hash_password(&password);
            update(&path, |text| {
                edit::upsert_user(text, &name, &hash, roles.as_deref()).map_err(|e| e.to_string())
            })?;
            println!("user {name} saved in {}", path.display());
        }
        UserCommand::Passwd {
            name,
            password_stdin,
            config,
        } => {
            let path = config_path(config)?;
            let text = read(&path)?;
            let users = edit::list_users(&text).map_err(|e| e.to_string())?;
            if !users.iter().any(|u| u.name.eq_ignore_ascii_case(&name)) {
                return Err(format!("no user {name} in {}", path.display()));
            }
            let password = read_password(password_stdin)?;
            let hash = hash_password(&password);
            update(&path, |text| {
                edit::upsert_user(text, &name, &hash, None).map_err(|e| e.to_string())
            })?;
            println!("password of {name} changed");
        }
        UserCommand::Del { name, config } => {
            let path = config_path(config)?;
            update(&path, |text| {
                edit::remove_user(text, &name).map_err(|e| e.to_string())
            })?;
            println!("user {name} deleted");
        }
        UserCommand::List { config } => {
            let path = config_path(config)?;
            let users = edit::list_users(&read(&path)?).map_err(|e| e.to_string())?;
            for user in users {
                println!("{}\t{}", user.name, user.roles.join(","));
            }
        }
    }
    Ok(())
}

fn config_path(flag: Option<PathBuf>) -> Result<PathBuf, String> {
    flag.or_else(|| std::env::var_os("WHARF_CONFIG").map(PathBuf::from)).ok_or_else(|| {
        "no configuration file: pass --config FILE or set WHARF_CONFIG (start from `wharf config default > wharf.config`)".to_string()
    })
}

fn read(path: &Path) -> Result<String, String> {
    config::files::read_to_string(path, config::files::CONFIG_FILE_MAX)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Applies an edit, checks that the result still loads without errors, then replaces the
/// file atomically (write beside it, rename over it).
fn update(path: &Path, change: impl FnOnce(&str) -> Result<String, String>) -> Result<(), String> {
    let text = read(path)?;
    let updated = change(&text)?;
    let loaded = config::load_str(&updated, path);
    if let Some(error) = loaded
        .diagnostics
        .iter()
        .find(|d| d.severity == Severity::Error)
    {
        return Err(format!(
            "the edited configuration would not load, file left unchanged: {error}"
        ));
    }
    let tmp = path.with_extension("wharf-tmp");
    std::fs::write(&tmp, updated).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot replace {}: {e}", path.display()))
}

fn read_password(from_stdin: bool) -> Result<String, String> {
    let stdin = std::io::stdin();
    if !from_stdin && stdin.is_terminal() {
        eprint!("Password (shown as typed; use --password-stdin in scripts): ");
        let _ = std::io::stderr().flush();
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password: {e}"))?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        return Err("empty password refused".to_string());
    }
    Ok(password)
}
