//! Authentication and authorization.
//!
//! - [`accounts`]: basic-auth accounts (argon2id PHC strings) and the credentials cache.
//! - [`authorize`]: `system.ftpServer/security/authorization` rule evaluation (deny wins).

pub mod accounts;
pub mod authorize;

pub use accounts::{Authenticator, hash_password};
pub use authorize::{Permission, is_allowed};

/// Who a session is logged in as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Account name as configured (for anonymous: `anonymous`).
    pub name: String,
    /// Anonymous login (`?` in authorization rules).
    pub anonymous: bool,
    /// Roles from the account.
    pub roles: Vec<String>,
}

impl Identity {
    /// The anonymous identity.
    pub fn anonymous() -> Identity {
        Identity {
            name: "anonymous".to_string(),
            anonymous: true,
            roles: Vec::new(),
        }
    }

    /// The session record's `userName`: `<Anonymous>` or the account name.
    pub fn display_name(&self) -> &str {
        if self.anonymous {
            "<Anonymous>"
        } else {
            &self.name
        }
    }
}
