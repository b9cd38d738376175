//! Text-preserving edits of a configuration file for `wharf user add|passwd|del|list`.
//!
//! The file is parsed with roxmltree only to find byte ranges; the edit splices new text
//! into the original, so comments, formatting, attribute order and everything outside the
//! edited element stay exactly as they were. New elements copy the indentation of their
//! surroundings.
//!
//! Accounts live in `configuration/system.ftpServer/security/users` (the server-level
//! section; `<location>` copies are not touched). User names match case-insensitively,
//! like the loader's duplicate check.

use std::ops::Range;

use roxmltree::Node;

use super::lower::{check_password_hash, check_user_name, split_list};
use super::model::UserAccount;
use super::xml;

/// Why an edit was refused. The text is left unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// The file is not well-formed XML.
    #[error("the configuration is not well-formed XML: {line}:{column}: {message}")]
    Syntax {
        /// 1-based line.
        line: u32,
        /// 1-based column.
        column: u32,
        /// The parser's message.
        message: String,
    },
    /// The root element is not `<configuration>`.
    #[error("the root element is <{0}>; expected <configuration>")]
    NotConfiguration(String),
    /// `security/users` is moved to another file with `configSource`.
    #[error(
        "system.ftpServer/security/users is stored in {0:?} (configSource); edit that file instead"
    )]
    ConfigSource(String),
    /// `remove_user` of an account that is not there.
    #[error("user {0:?} does not exist")]
    UnknownUser(String),
    /// A name the loader would refuse.
    #[error("invalid user name {name:?}: {reason}")]
    InvalidName {
        /// The refused name.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// Not an argon2id PHC string.
    #[error("invalid password hash: it {0}; expected an argon2id PHC string ($argon2id$…)")]
    InvalidHash(&'static str),
    /// An empty role or one containing `,`.
    #[error("invalid role {0:?}: a role must be non-empty and must not contain \",\"")]
    InvalidRole(String),
}

/// Adds user `name`, or replaces the password (and the roles when `roles` is `Some`) of the
/// existing account. `Some(&[])` removes the roles. Creates `system.ftpServer`, `security`
/// and `users` when missing.
pub fn upsert_user(
    text: &str,
    name: &str,
    password_hash: &str,
    roles: Option<&[String]>,
) -> Result<String, EditError> {
    check_user_name(name).map_err(|reason| EditError::InvalidName {
        name: name.to_string(),
        reason,
    })?;
    check_password_hash(password_hash).map_err(EditError::InvalidHash)?;
    if let Some(roles) = roles {
        for role in roles {
            if role.trim().is_empty() || role.contains(',') {
                return Err(EditError::InvalidRole(role.clone()));
            }
        }
    }
    let roles_text = roles.map(|r| r.iter().map(|s| s.trim()).collect::<Vec<_>>().join(","));

    let (bom, body) = xml::split_bom(text);
    let doc = parse(body)?;
    let chain = Chain::find(doc.root_element())?;
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();

    if let Some(add) = chain.user(name) {
        match add.attributes().find(|a| a.name() == "password") {
            Some(a) => edits.push((a.range_value(), escape(password_hash))),
            None => edits.push((
                attribute_end(add),
                format!(" password=\"{}\"", escape(password_hash)),
            )),
        }
        if let Some(roles_text) = &roles_text {
            match add.attributes().find(|a| a.name() == "roles") {
                Some(a) if roles_text.is_empty() => {
                    let range = a.range();
                    let start = body[..range.start].trim_end().len();
                    edits.push((start..range.end, String::new()));
                }
                Some(a) => edits.push((a.range_value(), escape(roles_text))),
                None if roles_text.is_empty() => {}
                None => edits.push((
                    attribute_end(add),
                    format!(" roles=\"{}\"", escape(roles_text)),
                )),
            }
        }
    } else {
        let mut element = format!(
            "<add name=\"{}\" password=\"{}\"",
            escape(name),
            escape(password_hash)
        );
        if let Some(roles_text) = roles_text.as_ref().filter(|r| !r.is_empty()) {
            element.push_str(&format!(" roles=\"{}\"", escape(roles_text)));
        }
        element.push_str(" />");
        let (parent, missing): (Node<'_, '_>, &[&str]) =
            match (chain.ftp, chain.security, chain.users) {
                (_, _, Some(users)) => (users, &[]),
                (_, Some(security), None) => (security, &["users"]),
                (Some(ftp), None, None) => (ftp, &["security", "users"]),
                (None, _, _) => (chain.root, &["system.ftpServer", "security", "users"]),
            };
        edits.push(insert_last_child(body, parent, missing, &element));
    }
    Ok(format!("{bom}{}", splice(body, edits)))
}

/// Removes user `name` (every `add` with that name); error if there is none.
pub fn remove_user(text: &str, name: &str) -> Result<String, EditError> {
    let (bom, body) = xml::split_bom(text);
    let doc = parse(body)?;
    let chain = Chain::find(doc.root_element())?;
    let adds: Vec<Node<'_, '_>> = chain.users_named(name).collect();
    if adds.is_empty() {
        return Err(EditError::UnknownUser(name.to_string()));
    }
    let edits = adds
        .into_iter()
        .map(|add| (whole_lines(body, add.range()), String::new()))
        .collect();
    Ok(format!("{bom}{}", splice(body, edits)))
}

/// The accounts of `system.ftpServer/security/users`, in file order (values as written;
/// `wharf config check` validates them).
pub fn list_users(text: &str) -> Result<Vec<UserAccount>, EditError> {
    let (_, body) = xml::split_bom(text);
    let doc = parse(body)?;
    let chain = Chain::find(doc.root_element())?;
    Ok(chain
        .adds()
        .map(|add| UserAccount {
            name: add.attribute("name").unwrap_or("").to_string(),
            password_hash: add.attribute("password").unwrap_or("").to_string(),
            roles: split_list(add.attribute("roles").unwrap_or("")),
        })
        .collect())
}

fn parse(body: &str) -> Result<roxmltree::Document<'_>, EditError> {
    xml::parse(body).map_err(|e| EditError::Syntax {
        line: e.line,
        column: e.column,
        message: e.message,
    })
}

/// `configuration` → `system.ftpServer` → `security` → `users`, as far as they exist.
struct Chain<'a, 'i> {
    root: Node<'a, 'i>,
    ftp: Option<Node<'a, 'i>>,
    security: Option<Node<'a, 'i>>,
    users: Option<Node<'a, 'i>>,
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children()
        .find(|n| n.is_element() && n.tag_name().name() == name)
}

impl<'a, 'i> Chain<'a, 'i> {
    fn find(root: Node<'a, 'i>) -> Result<Self, EditError> {
        if root.tag_name().name() != "configuration" {
            return Err(EditError::NotConfiguration(
                root.tag_name().name().to_string(),
            ));
        }
        let ftp = child(root, "system.ftpServer");
        let security = ftp.and_then(|n| child(n, "security"));
        let users = security.and_then(|n| child(n, "users"));
        if let Some(source) = users.and_then(|u| u.attribute("configSource")) {
            return Err(EditError::ConfigSource(source.to_string()));
        }
        Ok(Chain {
            root,
            ftp,
            security,
            users,
        })
    }

    fn adds(&self) -> impl Iterator<Item = Node<'a, 'i>> + use<'a, 'i> {
        self.users
            .into_iter()
            .flat_map(|u| u.children())
            .filter(|n| n.is_element() && n.tag_name().name() == "add")
    }

    fn users_named(&self, name: &str) -> impl Iterator<Item = Node<'a, 'i>> + use<'a, 'i> {
        let name = name.to_lowercase();
        self.adds().filter(move |n| {
            n.attribute("name")
                .is_some_and(|v| v.to_lowercase() == name)
        })
    }

    fn user(&self, name: &str) -> Option<Node<'a, 'i>> {
        self.users_named(name).next()
    }
}

/// Escapes an attribute value for either quote style.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    out
}

/// Applies non-overlapping edits.
fn splice(body: &str, mut edits: Vec<(Range<usize>, String)>) -> String {
    edits.sort_by_key(|(r, _)| std::cmp::Reverse(r.start));
    let mut out = body.to_string();
    for (range, text) in edits {
        out.replace_range(range, &text);
    }
    out
}

/// Where a new attribute goes: right after the last one.
fn attribute_end(node: Node<'_, '_>) -> Range<usize> {
    let end = node
        .attributes()
        .map(|a| a.range().end)
        .max()
        .unwrap_or_else(|| node.range().start + 1 + node.tag_name().name().len());
    end..end
}

/// The whitespace between the start of `pos`'s line and `pos`, if only whitespace.
fn indent_before(body: &str, pos: usize) -> Option<&str> {
    let line_start = body[..pos].rfind('\n').map_or(0, |i| i + 1);
    let before = &body[line_start..pos];
    before
        .chars()
        .all(|c| c == ' ' || c == '\t')
        .then_some(before)
}

/// `range` widened to whole lines when the element sits alone on its line(s).
fn whole_lines(body: &str, range: Range<usize>) -> Range<usize> {
    let Some(indent) = indent_before(body, range.start) else {
        return range;
    };
    let rest = &body[range.end..];
    let line_end = rest.find('\n');
    match line_end {
        Some(i) if rest[..i].trim().is_empty() => (range.start - indent.len())..(range.end + i + 1),
        None if rest.trim().is_empty() => (range.start - indent.len())..body.len(),
        _ => range,
    }
}

/// An edit that inserts `element` as the last child of `parent`, wrapped in the `missing`
/// elements (outermost first), indented like the surroundings.
fn insert_last_child(
    body: &str,
    parent: Node<'_, '_>,
    missing: &[&str],
    element: &str,
) -> (Range<usize>, String) {
    let range = parent.range();
    let indent = indent_before(body, range.start).unwrap_or("");
    let last_child = parent.children().rfind(|n| n.is_element());
    let child_indent_of_last = last_child.and_then(|c| indent_before(body, c.range().start));
    // One level of indentation: from a child, else from the grandparent, else two spaces.
    let unit = child_indent_of_last
        .and_then(|ci| ci.strip_prefix(indent))
        .filter(|u| !u.is_empty())
        .or_else(|| {
            let grand = parent.parent_element()?;
            let grand_indent = indent_before(body, grand.range().start)?;
            indent.strip_prefix(grand_indent).filter(|u| !u.is_empty())
        })
        .unwrap_or("  ")
        .to_string();
    let child_indent = child_indent_of_last
        .map(str::to_string)
        .unwrap_or_else(|| format!("{indent}{unit}"));

    // The lines to insert, each without its final newline.
    let mut lines = Vec::new();
    for (depth, name) in missing.iter().enumerate() {
        lines.push(format!("{child_indent}{}<{name}>", unit.repeat(depth)));
    }
    lines.push(format!(
        "{child_indent}{}{element}",
        unit.repeat(missing.len())
    ));
    for (depth, name) in missing.iter().enumerate().rev() {
        lines.push(format!("{child_indent}{}</{name}>", unit.repeat(depth)));
    }
    let block = lines.join("\n");

    let tag = &body[range.clone()];
    let self_closing = parent.first_child().is_none() && tag.ends_with("/>");
    if self_closing {
        // <users/> → <users>\n  <add …/>\n</users>
        let slash = range.end - 2;
        let start = body[..slash].trim_end().len();
        let qname = tag[1..]
            .split(|c: char| c.is_whitespace() || c == '/' || c == '>')
            .next()
            .unwrap_or("");
        return (start..range.end, format!(">\n{block}\n{indent}</{qname}>"));
    }
    let close = range.start + tag.rfind("</").unwrap_or(tag.len());
    let line_start = body[..close].rfind('\n').map_or(0, |i| i + 1);
    if line_start > range.start && body[line_start..close].trim().is_empty() {
        // The closing tag is alone on its line: insert whole lines before it.
        (line_start..line_start, format!("{block}\n"))
    } else {
        (close..close, format!("\n{block}\n{indent}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::defaults::DEFAULT_CONFIG;
    use std::path::Path;

    /// A well-formed PHC string (not the hash of anything in particular).
    const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Zm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFy";
    const HASH2: &str = "$argon2id$v=19$m=19456,t=2,p=1$b3RoZXJzYWx0b3RoZXJzYWx0$YmFyYmF6YmFyYmF6YmFyYmF6YmFyYmF6YmFyYmF6";

    fn roles(r: &[&str]) -> Vec<String> {
        r.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn real_argon2_hash_is_accepted() {
        use argon2::password_hash::{PasswordHasher, SaltString};
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let params = argon2::Params::new(8, 1, 1, None).unwrap();
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let hash = argon.hash_password(b"secret", &salt).unwrap().to_string();
        let out = upsert_user(DEFAULT_CONFIG, "alice", &hash, None).unwrap();
        assert_eq!(list_users(&out).unwrap()[0].password_hash, hash);
        let loaded = crate::config::load_str(&out, Path::new("/etc/wharf/applicationHost.config"));
        assert!(loaded.config.is_some(), "{:?}", loaded.diagnostics);
    }

    #[test]
    fn add_passwd_del_round_trip_on_the_default() {
        let added = upsert_user(
            DEFAULT_CONFIG,
            "alice",
            HASH,
            Some(&roles(&["staff", "ops"])),
        )
        .unwrap();
        // Only one line was added, right inside <users>.
        let new_lines: Vec<&str> = added
            .lines()
            .filter(|l| !DEFAULT_CONFIG.lines().any(|d| d == *l))
            .collect();
        assert_eq!(
            new_lines,
            vec![
                format!("        <add name=\"alice\" password=\"{HASH}\" roles=\"staff,ops\" />")
                    .as_str()
            ]
        );
        assert!(added.contains("Passwords are stored only as argon2id hashes. -->"));
        assert_eq!(
            list_users(&added).unwrap(),
            vec![UserAccount {
                name: "alice".into(),
                password_hash: HASH.into(),
                roles: roles(&["staff", "ops"]),
            }]
        );
        let loaded =
            crate::config::load_str(&added, Path::new("/etc/wharf/applicationHost.config"));
        let config = loaded.config.expect("loads");
        assert_eq!(config.users.len(), 1);
        assert_eq!(config.users[0].roles, roles(&["staff", "ops"]));

        // passwd: only the password value changes; roles kept when not given.
        let changed = upsert_user(&added, "ALICE", HASH2, None).unwrap();
        assert_eq!(changed, added.replace(HASH, HASH2));
        let users = list_users(&changed).unwrap();
        assert_eq!(users.len(), 1);
        assert_eq!(users[0].password_hash, HASH2);
        assert_eq!(users[0].roles, roles(&["staff", "ops"]));

        // Roles replaced, then removed.
        let reroled = upsert_user(&changed, "alice", HASH2, Some(&roles(&["admins"]))).unwrap();
        assert_eq!(list_users(&reroled).unwrap()[0].roles, roles(&["admins"]));
        let unroled = upsert_user(&reroled, "alice", HASH2, Some(&[])).unwrap();
        assert!(unroled.contains(&format!("<add name=\"alice\" password=\"{HASH2}\" />")));
        assert!(list_users(&unroled).unwrap()[0].roles.is_empty());

        // del gives back the original text exactly.
        let removed = remove_user(&unroled, "alice").unwrap();
        assert_eq!(removed, DEFAULT_CONFIG);
        assert_eq!(
            remove_user(&removed, "alice"),
            Err(EditError::UnknownUser("alice".into()))
        );
    }

    #[test]
    fn second_user_copies_the_indentation_of_the_first() {
        let one = upsert_user(DEFAULT_CONFIG, "alice", HASH, None).unwrap();
        let two = upsert_user(&one, "bob", HASH2, None).unwrap();
        assert!(two.contains(&format!(
            "        <add name=\"alice\" password=\"{HASH}\" />\n        <add name=\"bob\" password=\"{HASH2}\" />\n      </users>"
        )));
        let names: Vec<String> = list_users(&two)
            .unwrap()
            .into_iter()
            .map(|u| u.name)
            .collect();
        assert_eq!(names, ["alice", "bob"]);
        let without_alice = remove_user(&two, "alice").unwrap();
        assert_eq!(
            list_users(&without_alice)
                .unwrap()
                .into_iter()
                .map(|u| u.name)
                .collect::<Vec<_>>(),
            ["bob"]
        );
    }

    #[test]
    fn creates_missing_elements_and_preserves_comments() {
        let text = "<?xml version=\"1.0\"?>\n<!-- keep me -->\n<configuration>\n    <!-- and me -->\n    <system.applicationHost />\n</configuration>\n";
        let out = upsert_user(text, "alice", HASH, None).unwrap();
        assert_eq!(
            out,
            format!(
                "<?xml version=\"1.0\"?>\n<!-- keep me -->\n<configuration>\n    <!-- and me -->\n    <system.applicationHost />\n    <system.ftpServer>\n        <security>\n            <users>\n                <add name=\"alice\" password=\"{HASH}\" />\n            </users>\n        </security>\n    </system.ftpServer>\n</configuration>\n"
            )
        );

        let text = "<configuration>\n  <system.ftpServer>\n    <security>\n      <authorization />\n    </security>\n  </system.ftpServer>\n</configuration>";
        let out = upsert_user(text, "bob", HASH, None).unwrap();
        assert_eq!(
            out,
            format!(
                "<configuration>\n  <system.ftpServer>\n    <security>\n      <authorization />\n      <users>\n        <add name=\"bob\" password=\"{HASH}\" />\n      </users>\n    </security>\n  </system.ftpServer>\n</configuration>"
            )
        );
    }

    #[test]
    fn self_closing_and_single_line_users() {
        let text = "<configuration>\n  <system.ftpServer>\n    <security>\n      <users/>\n    </security>\n  </system.ftpServer>\n</configuration>";
        let out = upsert_user(text, "bob", HASH, None).unwrap();
        assert!(
            out.contains(&format!(
                "      <users>\n        <add name=\"bob\" password=\"{HASH}\" />\n      </users>\n"
            )),
            "{out}"
        );
        let text = "<configuration><system.ftpServer><security><users></users></security></system.ftpServer></configuration>";
        let out = upsert_user(text, "bob", HASH, None).unwrap();
        assert_eq!(list_users(&out).unwrap().len(), 1);
        assert_eq!(
            remove_user(&out, "bob").unwrap().replace(['\n', ' '], ""),
            text
        );
    }

    #[test]
    fn bom_is_preserved() {
        let text = format!("\u{feff}{DEFAULT_CONFIG}");
        let out = upsert_user(&text, "alice", HASH, None).unwrap();
        assert!(out.starts_with('\u{feff}'));
        assert_eq!(remove_user(&out, "alice").unwrap(), text);
    }

    #[test]
    fn values_are_escaped() {
        let out = upsert_user(
            DEFAULT_CONFIG,
            "o'brien&co",
            HASH,
            Some(&roles(&["a<b", "\"q\""])),
        )
        .unwrap();
        assert!(out.contains("name=\"o&apos;brien&amp;co\""));
        assert!(out.contains("roles=\"a&lt;b,&quot;q&quot;\""));
        let users = list_users(&out).unwrap();
        assert_eq!(users[0].name, "o'brien&co");
        assert_eq!(users[0].roles, roles(&["a<b", "\"q\""]));
    }

    #[test]
    fn single_quoted_password_is_replaced_in_place() {
        let text = "<configuration><system.ftpServer><security><users><add name='al' password='old' /></users></security></system.ftpServer></configuration>";
        let out = upsert_user(text, "al", HASH, None).unwrap();
        assert_eq!(out, text.replace("'old'", &format!("'{HASH}'")));
    }

    #[test]
    fn refusals() {
        assert!(matches!(
            upsert_user(DEFAULT_CONFIG, "a|b", HASH, None),
            Err(EditError::InvalidName { .. })
        ));
        assert!(matches!(
            upsert_user(DEFAULT_CONFIG, "", HASH, None),
            Err(EditError::InvalidName { .. })
        ));
        assert_eq!(
            upsert_user(DEFAULT_CONFIG, "alice", "secret", None),
            Err(EditError::InvalidHash("does not start with \"$argon2id$\""))
        );
        assert_eq!(
            upsert_user(DEFAULT_CONFIG, "alice", HASH, Some(&roles(&["a,b"]))),
            Err(EditError::InvalidRole("a,b".into()))
        );
        let err = upsert_user(
            "<configuration>\n<oops></configuration>",
            "alice",
            HASH,
            None,
        )
        .unwrap_err();
        assert!(matches!(err, EditError::Syntax { line: 2, .. }), "{err}");
        assert_eq!(
            upsert_user("<config/>", "alice", HASH, None),
            Err(EditError::NotConfiguration("config".into()))
        );
        let moved = "<configuration><system.ftpServer><security><users configSource=\"users.config\" /></security></system.ftpServer></configuration>";
        assert_eq!(
            list_users(moved),
            Err(EditError::ConfigSource("users.config".into()))
        );
        assert_eq!(
            EditError::ConfigSource("users.config".into()).to_string(),
            "system.ftpServer/security/users is stored in \"users.config\" (configSource); edit that file instead"
        );
    }
}
