//! Basic-auth accounts (argon2id) and the credentials cache (`caching/credentialsCache`).

use crate::config::model::{CredentialsCacheConfig, UserAccount};

use super::Identity;

/// Verifies user names and passwords against the configured accounts.
///
/// Names match case-insensitively (as Windows accounts do for IIS). Verification runs
/// argon2 on a blocking thread; with the cache enabled, a successful (name, password) pair
/// is remembered (as a keyed digest, never the password) until `flushInterval` passes, so
/// repeated logins do not re-hash. Unknown names still cost one hash so timing does not
/// reveal whether an account exists.
#[derive(Debug)]
pub struct Authenticator {}

impl Authenticator {
    /// Builds from the configured accounts and cache settings.
    pub fn new(accounts: &[UserAccount], cache: CredentialsCacheConfig) -> Authenticator {
        let _ = (accounts, cache);
        todo!()
    }

    /// Checks a basic login; `Some(identity)` on success.
    pub async fn verify(&self, user: &str, password: &str) -> Option<Identity> {
        let _ = (user, password);
        todo!()
    }

    /// Empties the credentials cache (IIS `Flush`).
    pub fn flush(&self) {
        todo!()
    }
}

/// Hashes a password into an argon2id PHC string (for `wharf user add|passwd`).
pub fn hash_password(password: &str) -> String {
    let _ = password;
    todo!()
}
