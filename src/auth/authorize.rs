//! Authorization rules (`system.ftpServer/security/authorization`): deny wins.

use crate::config::model::{AccessType, AuthRule};

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
///
/// A user name in a rule is compared with `Identity::name` for every session, so a rule
/// naming `anonymous` matches anonymous sessions as well as `?` does (their name is
/// `anonymous`). Entries are trimmed; empty entries match nobody.
pub fn is_allowed(rules: &[AuthRule], identity: &Identity, permission: Permission) -> bool {
    let mut allowed = false;
    for rule in rules
        .iter()
        .filter(|rule| grants(rule, permission) && matches(rule, identity))
    {
        match rule.access_type {
            AccessType::Deny => return false,
            AccessType::Allow => allowed = true,
        }
    }
    allowed
}

/// True when the rule names `permission`.
fn grants(rule: &AuthRule, permission: Permission) -> bool {
    match permission {
        Permission::Read => rule.permissions.read,
        Permission::Write => rule.permissions.write,
    }
}

/// True when the rule's users or roles include `identity`.
fn matches(rule: &AuthRule, identity: &Identity) -> bool {
    let user_matches = rule.users.iter().map(|u| u.trim()).any(|user| match user {
        "" => false,
        "*" => true,
        "?" => identity.anonymous,
        name => name.to_lowercase() == identity.name.to_lowercase(),
    });
    user_matches
        || rule.roles.iter().map(|r| r.trim()).any(|role| {
            !role.is_empty()
                && identity
                    .roles
                    .iter()
                    .any(|own| own.trim().to_lowercase() == role.to_lowercase())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::Permissions;

    fn rule(access_type: AccessType, users: &[&str], roles: &[&str], perms: &str) -> AuthRule {
        AuthRule {
            access_type,
            users: users.iter().map(|u| u.to_string()).collect(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            permissions: Permissions {
                read: perms.contains('R'),
                write: perms.contains('W'),
            },
        }
    }

    fn allow(users: &[&str], roles: &[&str], perms: &str) -> AuthRule {
        rule(AccessType::Allow, users, roles, perms)
    }

    fn deny(users: &[&str], roles: &[&str], perms: &str) -> AuthRule {
        rule(AccessType::Deny, users, roles, perms)
    }

    fn user(name: &str, roles: &[&str]) -> Identity {
        Identity {
            name: name.to_string(),
            anonymous: false,
            roles: roles.iter().map(|r| r.to_string()).collect(),
        }
    }

    use Permission::{Read, Write};

    #[test]
    fn no_rules_allow_nothing() {
        assert!(!is_allowed(&[], &user("alice", &[]), Read));
        assert!(!is_allowed(&[], &Identity::anonymous(), Read));
    }

    #[test]
    fn star_matches_everybody_with_the_listed_permissions_only() {
        let rules = [allow(&["*"], &[], "R")];
        assert!(is_allowed(&rules, &user("alice", &[]), Read));
        assert!(is_allowed(&rules, &Identity::anonymous(), Read));
        assert!(!is_allowed(&rules, &user("alice", &[]), Write));
    }

    #[test]
    fn question_mark_matches_anonymous_only() {
        let rules = [allow(&["?"], &[], "RW")];
        assert!(is_allowed(&rules, &Identity::anonymous(), Write));
        assert!(!is_allowed(&rules, &user("alice", &[]), Read));
    }

    #[test]
    fn names_match_case_insensitively_and_trimmed() {
        let rules = [allow(&["bob", " ALICE "], &[], "W")];
        assert!(is_allowed(&rules, &user("Alice", &[]), Write));
        assert!(is_allowed(&rules, &user("BOB", &[]), Write));
        assert!(!is_allowed(&rules, &user("carol", &[]), Write));
        assert!(!is_allowed(&rules, &user("Alice", &[]), Read));
    }

    #[test]
    fn a_rule_naming_anonymous_matches_anonymous_sessions() {
        let rules = [allow(&["Anonymous"], &[], "R")];
        assert!(is_allowed(&rules, &Identity::anonymous(), Read));
        // Other names never match anonymous sessions.
        let rules = [allow(&["alice"], &[], "R")];
        assert!(!is_allowed(&rules, &Identity::anonymous(), Read));
    }

    #[test]
    fn roles_match_case_insensitively() {
        let rules = [allow(&[], &["Editors"], "RW")];
        assert!(is_allowed(
            &rules,
            &user("carol", &["staff", "editors"]),
            Write
        ));
        assert!(!is_allowed(&rules, &user("dave", &["staff"]), Write));
        assert!(!is_allowed(&rules, &Identity::anonymous(), Read));
    }

    #[test]
    fn empty_entries_match_nobody() {
        let rules = [allow(&[""], &[""], "R")];
        assert!(!is_allowed(&rules, &user("", &[""]), Read));
    }

    #[test]
    fn deny_wins_regardless_of_order() {
        let identity = user("alice", &["staff"]);
        let allow_all = allow(&["*"], &[], "RW");
        let deny_alice_write = deny(&["alice"], &[], "W");
        for rules in [
            [allow_all.clone(), deny_alice_write.clone()],
            [deny_alice_write.clone(), allow_all.clone()],
        ] {
            assert!(is_allowed(&rules, &identity, Read));
            assert!(!is_allowed(&rules, &identity, Write));
            assert!(is_allowed(&rules, &user("bob", &[]), Write));
        }
    }

    #[test]
    fn deny_by_role_beats_allow_by_name() {
        let rules = [
            allow(&["alice"], &[], "RW"),
            deny(&[], &["contractors"], "R"),
        ];
        assert!(!is_allowed(&rules, &user("alice", &["Contractors"]), Read));
        assert!(is_allowed(&rules, &user("alice", &["Contractors"]), Write));
        assert!(is_allowed(&rules, &user("alice", &[]), Read));
    }

    #[test]
    fn deny_star_blocks_even_explicit_allows() {
        let rules = [allow(&["alice"], &[], "R"), deny(&["*"], &[], "R")];
        assert!(!is_allowed(&rules, &user("alice", &[]), Read));
    }

    #[test]
    fn deny_for_anonymous_leaves_users_alone() {
        let rules = [allow(&["*"], &[], "R"), deny(&["?"], &[], "R")];
        assert!(!is_allowed(&rules, &Identity::anonymous(), Read));
        assert!(is_allowed(&rules, &user("alice", &[]), Read));
    }
}
