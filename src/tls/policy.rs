//! The IIS channel policies (`ssl@controlChannelPolicy`, `ssl@dataChannelPolicy`) as pure
//! decisions with their RFC 4217 / RFC 2228 reply codes. The session asks; nothing here
//! does I/O, so every rule is unit-tested.
//!
//! | situation | reply |
//! | --- | --- |
//! | `SslRequire`, a command other than the clear-text allow-list before AUTH | 534 (substatus 25) |
//! | `SslRequire`/`SslRequireCredentialsOnly`, USER or PASS in clear text | 534 (substatus 26) |
//! | AUTH with no certificate | 431 (substatus 31) |
//! | AUTH with an unknown mechanism | 504 |
//! | AUTH on a protected channel | 503 |
//! | PBSZ or PROT before AUTH | 503 |
//! | PROT before PBSZ | 503 |
//! | `dataChannelPolicy="SslRequire"`, PROT C | 534 (substatus 24) |
//! | `dataChannelPolicy="SslDeny"`, PROT P | 534 (substatus 27) |
//! | PROT S or E | 536 (not supported by TLS) |
//! | `SslRequire`, a transfer with PROT C | 521 |
//! | CCC on a clear-text channel | 533 |
//! | CCC under `SslRequire`, or before login under `SslRequireCredentialsOnly` | 534 |

use wharf_proto::Reply;
use wharf_proto::command::{Command, ProtLevel};

use crate::config::model::{ControlChannelPolicy, DataChannelPolicy};

/// AUTH mechanisms accepted: `TLS` (RFC 4217), `SSL` (its historical alias), `TLS-C` and
/// `TLS-P` (draft names; TLS-P also protects data by default).
pub fn auth_mechanism(mechanism: &str) -> Option<AuthMechanism> {
    match mechanism.to_ascii_uppercase().as_str() {
        "TLS" | "TLS-C" | "SSL" => Some(AuthMechanism::Control),
        "TLS-P" => Some(AuthMechanism::ControlAndData),
        _ => None,
    }
}

/// What an accepted AUTH protects by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMechanism {
    /// The control channel only (data stays PROT C until PROT P).
    Control,
    /// Control and data (`TLS-P`).
    ControlAndData,
}

/// Commands allowed on a clear-text control channel under `controlChannelPolicy="SslRequire"`:
/// what a client needs to find and start TLS, and to leave.
fn allowed_in_clear_under_require(command: &Command) -> bool {
    use Command as C;
    matches!(
        command,
        C::Auth(_)
            | C::Feat
            | C::Quit
            | C::Host(_)
            | C::Syst
            | C::Noop
            | C::Help(_)
            | C::Opts(_)
            | C::Clnt(_)
            | C::Pbsz(_)
            | C::Prot(_)
            | C::Ccc
            | C::Unknown(_)
    )
}

/// The control-channel policy applied to a command that arrived on a clear-text channel
/// (`None`: go ahead).
pub fn control_refusal(
    policy: ControlChannelPolicy,
    control_protected: bool,
    command: &Command,
) -> Option<Reply> {
    if control_protected {
        return None;
    }
    let credentials = matches!(command, Command::User(_) | Command::Pass(_));
    match policy {
        ControlChannelPolicy::SslAllow => None,
        ControlChannelPolicy::SslRequireCredentialsOnly if credentials => Some(Reply::new(
            534,
            "Policy requires SSL (TLS) for credentials: use AUTH TLS first.",
        )),
        ControlChannelPolicy::SslRequireCredentialsOnly => None,
        ControlChannelPolicy::SslRequire if credentials => Some(Reply::new(
            534,
            "Policy requires SSL (TLS) for credentials: use AUTH TLS first.",
        )),
        ControlChannelPolicy::SslRequire if !allowed_in_clear_under_require(command) => {
            Some(Reply::new(
                534,
                "Policy requires SSL (TLS) on the control channel: use AUTH TLS first.",
            ))
        }
        ControlChannelPolicy::SslRequire => None,
    }
}

/// PROT: `Ok(private)` to accept (reply 200), else the refusal.
pub fn prot(
    policy: DataChannelPolicy,
    tls_negotiated: bool,
    pbsz_given: bool,
    level: ProtLevel,
) -> Result<bool, Reply> {
    if !tls_negotiated {
        return Err(Reply::new(
            503,
            "PROT needs a TLS session: send AUTH TLS first.",
        ));
    }
    if !pbsz_given {
        return Err(Reply::new(503, "PBSZ must precede PROT."));
    }
    match level {
        ProtLevel::Clear if policy == DataChannelPolicy::SslRequire => Err(Reply::new(
            534,
            "Policy requires SSL (TLS) on the data channel: use PROT P.",
        )),
        ProtLevel::Clear => Ok(false),
        ProtLevel::Private if policy == DataChannelPolicy::SslDeny => Err(Reply::new(
            534,
            "Policy denies SSL (TLS) on the data channel: use PROT C.",
        )),
        ProtLevel::Private => Ok(true),
        ProtLevel::Safe | ProtLevel::Confidential => Err(Reply::new(
            536,
            "PROT S and E are not supported with TLS: use C or P.",
        )),
    }
}

/// A transfer's data connection against `dataChannelPolicy` (`None`: go ahead).
pub fn data_refusal(policy: DataChannelPolicy, protected: bool) -> Option<Reply> {
    match policy {
        DataChannelPolicy::SslRequire if !protected => Some(Reply::new(
            521,
            "Policy requires SSL (TLS) on the data channel: use PBSZ 0 and PROT P.",
        )),
        _ => None,
    }
}

/// CCC: `None` to accept (200, then TLS closes and the channel continues in clear text).
pub fn ccc_refusal(
    policy: ControlChannelPolicy,
    control_protected: bool,
    logged_in: bool,
) -> Option<Reply> {
    if !control_protected {
        return Some(Reply::new(
            533,
            "CCC must be sent on a protected (TLS) control channel.",
        ));
    }
    match policy {
        ControlChannelPolicy::SslRequire => Some(Reply::new(
            534,
            "Policy requires SSL (TLS) on the control channel: CCC refused.",
        )),
        ControlChannelPolicy::SslRequireCredentialsOnly if !logged_in => Some(Reply::new(
            534,
            "Policy requires SSL (TLS) for credentials: log in before CCC.",
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ControlChannelPolicy as Cp;
    use DataChannelPolicy as Dp;

    fn code(r: Option<Reply>) -> Option<u16> {
        r.map(|r| r.code)
    }

    #[test]
    fn control_policy_codes() {
        let user = Command::User("alice".into());
        let pass = Command::Pass(wharf_proto::command::Password("x".into()));
        let list = Command::Pwd;
        let auth = Command::Auth("TLS".into());
        for cmd in [&user, &pass, &list, &auth] {
            assert_eq!(code(control_refusal(Cp::SslAllow, false, cmd)), None);
            assert_eq!(code(control_refusal(Cp::SslRequire, true, cmd)), None);
        }
        assert_eq!(
            code(control_refusal(Cp::SslRequire, false, &user)),
            Some(534)
        );
        assert_eq!(
            code(control_refusal(Cp::SslRequire, false, &pass)),
            Some(534)
        );
        assert_eq!(
            code(control_refusal(Cp::SslRequire, false, &list)),
            Some(534)
        );
        assert_eq!(code(control_refusal(Cp::SslRequire, false, &auth)), None);
        assert_eq!(
            code(control_refusal(Cp::SslRequire, false, &Command::Feat)),
            None
        );
        assert_eq!(
            code(control_refusal(Cp::SslRequire, false, &Command::Quit)),
            None
        );
        let cred = Cp::SslRequireCredentialsOnly;
        assert_eq!(code(control_refusal(cred, false, &user)), Some(534));
        assert_eq!(code(control_refusal(cred, false, &pass)), Some(534));
        assert_eq!(code(control_refusal(cred, false, &list)), None);
    }

    #[test]
    fn prot_policy_codes() {
        let c = ProtLevel::Clear;
        let p = ProtLevel::Private;
        assert_eq!(prot(Dp::SslAllow, false, false, p).unwrap_err().code, 503);
        assert_eq!(prot(Dp::SslAllow, true, false, p).unwrap_err().code, 503);
        assert_eq!(prot(Dp::SslAllow, true, true, p), Ok(true));
        assert_eq!(prot(Dp::SslAllow, true, true, c), Ok(false));
        assert_eq!(prot(Dp::SslRequire, true, true, c).unwrap_err().code, 534);
        assert_eq!(prot(Dp::SslRequire, true, true, p), Ok(true));
        assert_eq!(prot(Dp::SslDeny, true, true, p).unwrap_err().code, 534);
        assert_eq!(prot(Dp::SslDeny, true, true, c), Ok(false));
        assert_eq!(
            prot(Dp::SslAllow, true, true, ProtLevel::Safe)
                .unwrap_err()
                .code,
            536
        );
        assert_eq!(
            prot(Dp::SslAllow, true, true, ProtLevel::Confidential)
                .unwrap_err()
                .code,
            536
        );
    }

    #[test]
    fn data_and_ccc_codes() {
        assert_eq!(code(data_refusal(Dp::SslRequire, false)), Some(521));
        assert_eq!(code(data_refusal(Dp::SslRequire, true)), None);
        assert_eq!(code(data_refusal(Dp::SslAllow, false)), None);
        assert_eq!(code(data_refusal(Dp::SslDeny, false)), None);
        assert_eq!(code(ccc_refusal(Cp::SslAllow, false, true)), Some(533));
        assert_eq!(code(ccc_refusal(Cp::SslAllow, true, false)), None);
        assert_eq!(code(ccc_refusal(Cp::SslRequire, true, true)), Some(534));
        let cred = Cp::SslRequireCredentialsOnly;
        assert_eq!(code(ccc_refusal(cred, true, false)), Some(534));
        assert_eq!(code(ccc_refusal(cred, true, true)), None);
    }

    #[test]
    fn auth_mechanisms() {
        assert_eq!(auth_mechanism("tls"), Some(AuthMechanism::Control));
        assert_eq!(auth_mechanism("SSL"), Some(AuthMechanism::Control));
        assert_eq!(auth_mechanism("TLS-C"), Some(AuthMechanism::Control));
        assert_eq!(auth_mechanism("TLS-P"), Some(AuthMechanism::ControlAndData));
        assert_eq!(auth_mechanism("GSSAPI"), None);
    }
}
