//! Text-preserving edits of a configuration file (`wharf user add|passwd|del|list`).

use super::model::UserAccount;

/// Why an edit failed.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// Placeholder until the editor lands.
    #[error("{0}")]
    Other(String),
}

/// Adds or updates a user.
pub fn upsert_user(
    text: &str,
    name: &str,
    password_hash: &str,
    roles: Option<&[String]>,
) -> Result<String, EditError> {
    let _ = (text, name, password_hash, roles);
    todo!()
}

/// Removes a user.
pub fn remove_user(text: &str, name: &str) -> Result<String, EditError> {
    let _ = (text, name);
    todo!()
}

/// Lists users.
pub fn list_users(text: &str) -> Result<Vec<UserAccount>, EditError> {
    let _ = text;
    todo!()
}
