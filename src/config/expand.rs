//! `%VAR%` expansion in configuration paths (IIS convention, e.g. `%SystemDrive%\inetpub`).
//!
//! Rules:
//! - `%NAME%` is replaced by the value of the environment variable `NAME`. A name is one or
//!   more of `A-Z a-z 0-9 _ ( ) . -` (so `%ProgramFiles(x86)%` works); the exact spelling
//!   is looked up first, then (Windows-like) a unique case-insensitive match.
//! - An unknown variable is an error naming it.
//! - `%%` is not an escape: it stays `%%`.
//! - A `%` that does not start a well-formed `%NAME%` (unterminated, or followed by a
//!   character that cannot be in a name, e.g. `50% off`) is left as is.
//!
//! Only paths are expanded (`physicalPath`, `tokenFile`); messages are not, because their
//! `%UserName%`-style variables are expanded per session by the server.

use std::fmt;

/// A `%NAME%` whose variable is not set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownVariable {
    /// The name between the `%` signs.
    pub name: String,
}

impl fmt::Display for UnknownVariable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "environment variable %{}% is not set", self.name)
    }
}

impl std::error::Error for UnknownVariable {}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '(' | ')' | '.' | '-')
}

/// Expands `%NAME%` using `lookup` for the values.
pub fn expand_with<F>(text: &str, lookup: F) -> Result<String, UnknownVariable>
where
    F: Fn(&str) -> Option<String>,
{
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('%') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('%') {
            Some(end) if end > 0 && after[..end].chars().all(is_name_char) => {
                let name = &after[..end];
                match lookup(name) {
                    Some(value) => out.push_str(&value),
                    None => {
                        return Err(UnknownVariable {
                            name: name.to_string(),
                        });
                    }
                }
                rest = &after[end + 1..];
            }
            _ => {
                // `%%`, an unterminated `%`, or a `%` not followed by a name: literal.
                out.push('%');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Looks `name` up in the process environment: exact spelling first, then a unique
/// case-insensitive match (Windows variable names are case-insensitive).
pub fn env_lookup(name: &str) -> Option<String> {
    if let Ok(value) = std::env::var(name) {
        return Some(value);
    }
    let mut matches = std::env::vars().filter(|(k, _)| k.eq_ignore_ascii_case(name));
    match (matches.next(), matches.next()) {
        (Some((_, value)), None) => Some(value),
        _ => None,
    }
}

/// Expands `%NAME%` from the process environment.
pub fn expand_env(text: &str) -> Result<String, UnknownVariable> {
    expand_with(text, env_lookup)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOME" => Some("/home/wharf".into()),
            "ProgramFiles(x86)" => Some("/opt/pf".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expands_known_variables() {
        assert_eq!(expand_with("%HOME%/ftp", env).unwrap(), "/home/wharf/ftp");
        assert_eq!(
            expand_with("a%HOME%b%HOME%c", env).unwrap(),
            "a/home/wharfb/home/wharfc"
        );
        assert_eq!(
            expand_with("%ProgramFiles(x86)%/x", env).unwrap(),
            "/opt/pf/x"
        );
        assert_eq!(expand_with("x%EMPTY%y", env).unwrap(), "xy");
        assert_eq!(expand_with("plain/path", env).unwrap(), "plain/path");
    }

    #[test]
    fn unknown_variable_is_an_error_naming_it() {
        let err = expand_with("%SystemDrive%\\inetpub", env).unwrap_err();
        assert_eq!(err.name, "SystemDrive");
        assert_eq!(
            err.to_string(),
            "environment variable %SystemDrive% is not set"
        );
    }

    #[test]
    fn double_percent_and_unterminated_percent_are_literal() {
        assert_eq!(expand_with("100%%", env).unwrap(), "100%%");
        assert_eq!(expand_with("%%HOME%", env).unwrap(), "%/home/wharf");
        assert_eq!(expand_with("/data/50%", env).unwrap(), "/data/50%");
        assert_eq!(expand_with("%", env).unwrap(), "%");
        assert_eq!(
            expand_with("/a/50% off/%HOME%", env).unwrap(),
            "/a/50% off//home/wharf"
        );
    }

    #[test]
    fn process_environment_lookup() {
        // Cargo sets CARGO_PKG_NAME for test processes.
        assert_eq!(expand_env("%CARGO_PKG_NAME%").unwrap(), "wharf");
        assert_eq!(expand_env("%cargo_pkg_name%").unwrap(), "wharf");
        assert!(expand_env("%WHARF_SURELY_UNSET_VARIABLE_42%").is_err());
    }
}
