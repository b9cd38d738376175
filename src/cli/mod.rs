//! The `wharf` command line (design.md §1).
//!
//! - [`serve`]: run the FTP service.
//! - [`config`]: `config check` and `config default`.
//! - [`user`]: basic-auth accounts in the configuration file.

pub mod config;
pub mod serve;
pub mod user;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Wharf: an FTP/FTPS server implementing the IIS FTP service model.
#[derive(Debug, Parser)]
#[command(name = "wharf", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the FTP service (with no --config, the embedded default).
    Serve {
        /// applicationHost.config-style file.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Validate or print configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Manage basic-auth accounts (`system.ftpServer/security/users`).
    #[command(subcommand)]
    User(UserCommand),
}

/// `wharf config …`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a file: print warnings and errors (file:line:col); exit 1 on error.
    Check {
        /// The file.
        file: PathBuf,
    },
    /// Print the embedded default configuration.
    Default,
}

/// `wharf user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add an account (or replace its password and roles).
    Add {
        /// Account name.
        name: String,
        /// Comma-separated roles for authorization rules.
        #[arg(long, value_delimiter = ',')]
        roles: Option<Vec<String>>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// The configuration file to edit (else $WHARF_CONFIG).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Change an account's password.
    Passwd {
        /// Account name.
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// The configuration file to edit (else $WHARF_CONFIG).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Delete an account.
    Del {
        /// Account name.
        name: String,
        /// The configuration file to edit (else $WHARF_CONFIG).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// List accounts and roles.
    List {
        /// The configuration file (else $WHARF_CONFIG).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

/// Entry point of the `wharf` binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { config } => serve::run(config),
        Command::Config(ConfigCommand::Check { file }) => config::check(&file),
        Command::Config(ConfigCommand::Default) => config::print_default(),
        Command::User(command) => user::run(command),
    }
}
