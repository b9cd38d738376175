//! Authorization rules (`system.ftpServer/security/authorization`): deny wins.

use crate::config::model::AuthRule;

use super::Identity;

/// The permission a command needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// RETR LIST NLST MLSD MLST SIZE MDTM CWD
    Read,
    /// STOR APPE STOU DELE MKD RMD RNFR RNTO MFMT
    Write,
}

/// True when some Allow rule grants `permission` to `identity` and no Deny rule naming
/// `permission` matches it. `*` matches everybody, `?` anonymous sessions; names and
/// roles compare case-insensitively.
pub fn is_allowed(rules: &[AuthRule], identity: &Identity, permission: Permission) -> bool {
    let _ = (rules, identity, permission);
    todo!()
}
