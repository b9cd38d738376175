//! The `wharf` command line (design.md §1).
//!
//! - [`serve`]: run the FTP service.
//! - [`config`]: `config check` and `config default`.
//! - [`user`]: basic-auth accounts in the configuration file.
//! - [`sites`], [`sessions`]: the operator commands over the admin API ([`admin_client`]),
//!   printed by [`output`] as tables, JSON or XML.

pub mod admin_client;
pub mod admin_tls;
pub mod config;
pub mod output;
pub mod serve;
pub mod sessions;
pub mod sites;
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
    /// Sites, their state, bindings and session counts (via the admin API).
    #[command(subcommand)]
    Sites(SitesCommand),
    /// Live and ended FTP sessions (via the admin API).
    #[command(subcommand)]
    Sessions(SessionsCommand),
}

/// How the admin subcommands reach the admin API and print what they get.
#[derive(Debug, Clone, clap::Args)]
pub struct AdminArgs {
    /// The configuration the server runs with: it names the admin endpoint and token
    /// (else the embedded default).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Admin API address, e.g. http://127.0.0.1:2180/ (overrides the configuration's
    /// administration bindingInformation; also $WHARF_ADMIN_URL).
    #[arg(long, value_name = "URL")]
    pub admin_url: Option<String>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = output::Format::Table)]
    pub output: output::Format,
}

/// `wharf sites …`
#[derive(Debug, Subcommand)]
pub enum SitesCommand {
    /// List sites: id, name, state, bindings, session count.
    List {
        #[command(flatten)]
        admin: AdminArgs,
    },
}

/// `wharf sessions …` (exit codes: 0 ok, 1 error, 2 unknown session or site).
#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// List live sessions, optionally filtered.
    List {
        /// Only this site.
        #[arg(long, value_name = "SITE")]
        site: Option<String>,
        /// Only this user name (`<Anonymous>` for anonymous logins).
        #[arg(long, value_name = "USER")]
        user: Option<String>,
        /// Only this client address.
        #[arg(long, value_name = "IP")]
        client_ip: Option<String>,
        /// Only this state: authenticating, idle, executing, transferring, closing.
        #[arg(long, value_name = "STATE")]
        state: Option<String>,
        /// Only sessions idle for at least this many seconds.
        #[arg(long, value_name = "SECONDS")]
        min_idle: Option<u64>,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Show one session (live, else from the ended history); a unique ID prefix is enough.
    Show {
        /// Session ID (UUID) or a unique prefix of it.
        id: String,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Terminate a session: abort its transfer, send 421 with the reason, close it.
    Terminate {
        /// Session ID (UUID) or a unique prefix of it.
        id: String,
        /// The reason sent to the client with the 421 reply and kept in the history.
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Live view, redrawn as sessions change (q or Ctrl-C quits); -o json prints events.
    Watch {
        /// Only this site.
        #[arg(long, value_name = "SITE")]
        site: Option<String>,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Recently ended sessions: why, by whom, final counters.
    Ended {
        /// Only this site.
        #[arg(long, value_name = "SITE")]
        site: Option<String>,
        #[command(flatten)]
        admin: AdminArgs,
    },
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
        Command::Sites(command) => sites::run(command),
        Command::Sessions(command) => sessions::run(command),
    }
}
