//! Tests for virtual path normalisation, including hostile client input.

use wharf_proto::VirtualPath;
use wharf_proto::path::PathError;

const MAX: usize = 1024;

fn p(s: &str) -> VirtualPath {
    VirtualPath::root().join(s, MAX).unwrap()
}

#[test]
fn join_table() {
    // (current directory, argument, expected display)
    let cases: &[(&str, &str, &str)] = &[
        ("/", "", "/"),
        ("/", "/", "/"),
        ("/", ".", "/"),
        ("/", "..", "/"),
        ("/", "a", "/a"),
        ("/", "/a/b", "/a/b"),
        ("/a", "b", "/a/b"),
        ("/a", "/b", "/b"),
        ("/a/b", "..", "/a"),
        ("/a/b", "../c", "/a/c"),
        ("/a/b", "./c/./d/", "/a/b/c/d"),
        ("/a/b", "", "/a/b"),
        ("/a/b", ".", "/a/b"),
        ("/a/b", "/", "/"),
        // Hostile.
        ("/", "../../etc/passwd", "/etc/passwd"),
        ("/home/u", "../../../../etc/passwd", "/etc/passwd"),
        ("/", "/..", "/"),
        ("/a", "/..", "/"),
        ("/", "a/../../..", "/"),
        ("/x/y", "a/../../..", "/"),
        ("/", "//x//y/", "/x/y"),
        ("/", "///", "/"),
        ("/", "%2e%2e", "/%2e%2e"),
        ("/", "%2e%2e/%2f", "/%2e%2e/%2f"),
        ("/", "..\\..\\windows", "/..\\..\\windows"),
        ("/", "...", "/..."),
        ("/", ".../....", "/.../...."),
        ("/", "a/.../..", "/a"),
        ("/", "~", "/~"),
        ("/", "~root", "/~root"),
        ("/", " ", "/ "),
        ("/", "a b /c ", "/a b /c "),
        ("/", "C:", "/C:"),
        ("/", "..a", "/..a"),
        ("/", ".a.", "/.a."),
        ("/", "日本/語", "/日本/語"),
        ("/d", "../d/../d/./e/..", "/d"),
    ];
    for (cwd, arg, expected) in cases {
        let cwd = p(cwd);
        let joined = cwd
            .join(arg, MAX)
            .unwrap_or_else(|e| panic!("{arg:?}: {e:?}"));
        assert_eq!(joined.to_string(), *expected, "cwd {cwd} arg {arg:?}");
        // Invariant: no empty, '.', '..' segments; no '/' inside a segment.
        for seg in joined.segments() {
            assert!(!seg.is_empty() && seg != "." && seg != ".." && !seg.contains('/'));
        }
        // Joining the displayed form from anywhere gives the same path.
        assert_eq!(p("/elsewhere").join(&joined.to_string(), MAX), Ok(joined));
    }
}

#[test]
fn forbidden_characters() {
    for arg in [
        "x\0y",
        "\0",
        "a/\0/..",
        "a\nb",
        "a\rb",
        "tab\there",
        "\u{1b}[31m",
        "del\u{7f}",
        "c1\u{85}",
        "c1\u{9b}",
        "../\u{1}",
    ] {
        assert_eq!(
            VirtualPath::root().join(arg, MAX),
            Err(PathError::ForbiddenCharacter),
            "arg {arg:?}"
        );
    }
}

#[test]
fn length_limit() {
    let root = VirtualPath::root();
    assert_eq!(
        root.join("abc", 4).map(|v| v.to_string()),
        Ok("/abc".into())
    );
    assert_eq!(root.join("abcd", 4), Err(PathError::TooLong));
    assert_eq!(
        root.join("a/b", 4).map(|v| v.to_string()),
        Ok("/a/b".into())
    );
    assert_eq!(root.join("a/bc", 4), Err(PathError::TooLong));
    // Limit applies to the result, not the argument.
    assert_eq!(
        root.join("a/../b/../c/./././././", 2)
            .map(|v| v.to_string()),
        Ok("/c".into())
    );
    // Relative to a long cwd.
    let cwd = root.join("aaaa/bbbb", 100).unwrap();
    assert_eq!(
        cwd.join("c", 12).map(|v| v.to_string()),
        Ok("/aaaa/bbbb/c".into())
    );
    assert_eq!(cwd.join("c", 11), Err(PathError::TooLong));
    // Root with limit 0 is too long (displayed as "/").
    assert_eq!(root.join("", 0), Err(PathError::TooLong));
    assert_eq!(root.join("", 1), Ok(VirtualPath::root()));
    // Lengths are in bytes.
    assert_eq!(root.join("é", 2), Err(PathError::TooLong));
    assert!(root.join("é", 3).is_ok());
    // Very long inputs.
    let long = "x/".repeat(100_000);
    assert_eq!(root.join(&long, 4096), Err(PathError::TooLong));
    let ok = root.join(&long, usize::MAX).unwrap();
    assert_eq!(ok.segments().len(), 100_000);
    assert_eq!(ok.display_len(), 200_000);
    let dots = "../".repeat(100_000);
    assert_eq!(root.join(&dots, 10), Ok(VirtualPath::root()));
    let huge_name = "n".repeat(1 << 20);
    assert_eq!(root.join(&huge_name, 4096), Err(PathError::TooLong));
}

#[test]
fn from_segments_and_child() {
    assert_eq!(
        VirtualPath::from_segments(["a", "b"]).map(|v| v.to_string()),
        Some("/a/b".into())
    );
    assert_eq!(
        VirtualPath::from_segments(Vec::<String>::new()),
        Some(VirtualPath::root())
    );
    for bad in ["", ".", "..", "a/b", "/", "x\0", "\n", "\u{7f}"] {
        assert_eq!(VirtualPath::from_segments(["ok", bad]), None, "{bad:?}");
        assert_eq!(p("/x").child(bad), None, "{bad:?}");
    }
    for good in ["...", " ", "a b", "%2e", "~", "é", "a\\b"] {
        let c = p("/x").child(good).unwrap();
        assert_eq!(c.segments(), ["x", good]);
        assert_eq!(c.file_name(), Some(good));
    }
}

#[test]
fn navigation() {
    let ab = p("/a/b");
    assert_eq!(ab.parent(), p("/a"));
    assert_eq!(ab.parent().parent(), VirtualPath::root());
    assert_eq!(VirtualPath::root().parent(), VirtualPath::root());
    assert!(VirtualPath::root().is_root());
    assert!(!ab.is_root());
    assert_eq!(ab.file_name(), Some("b"));
    assert_eq!(VirtualPath::root().file_name(), None);
    assert_eq!(VirtualPath::root().to_string(), "/");
    assert_eq!(format!("{ab:?}"), "VirtualPath(/a/b)");
    assert_eq!(VirtualPath::root().display_len(), 1);
    assert_eq!(ab.display_len(), 4);
}

#[test]
fn prefixes() {
    let root = VirtualPath::root();
    let a = p("/a");
    let ab = p("/a/b");
    let abc = p("/a/bc");
    let other = p("/A/b");
    assert!(ab.starts_with(&root));
    assert!(ab.starts_with(&a));
    assert!(ab.starts_with(&ab));
    assert!(!a.starts_with(&ab));
    assert!(!abc.starts_with(&ab), "segment-wise, not textual");
    assert!(!ab.starts_with(&other), "case-sensitive");
    assert!(root.starts_with(&root));

    assert_eq!(ab.strip_prefix(&a), Some(p("/b")));
    assert_eq!(ab.strip_prefix(&ab), Some(root.clone()));
    assert_eq!(ab.strip_prefix(&root), Some(ab.clone()));
    assert_eq!(abc.strip_prefix(&ab), None);
    assert_eq!(a.strip_prefix(&ab), None);

    assert_eq!(a.concat(&p("/b/c")), p("/a/b/c"));
    assert_eq!(root.concat(&root), root);
    assert_eq!(a.concat(&root), a);
    // strip_prefix and concat are inverse.
    for (full, prefix) in [("/a/b/c", "/a"), ("/x", "/"), ("/x/y", "/x/y")] {
        let (full, prefix) = (p(full), p(prefix));
        let rest = full.strip_prefix(&prefix).unwrap();
        assert_eq!(prefix.concat(&rest), full);
    }
}

#[test]
fn joined_paths_never_escape_a_root_prefix() {
    // A server maps a user's home `/home/u` onto its tree and joins client paths
    // against the user's cwd *inside* that tree: the result stays under root.
    let args = [
        "..",
        "../..",
        "/../..",
        "a/../../..",
        "./../.",
        "...",
        "x/../../../y",
        "//..//..",
    ];
    for cwd in ["/", "/a", "/a/b/c"] {
        for arg in args {
            let j = p(cwd).join(arg, MAX).unwrap();
            assert!(j.starts_with(&VirtualPath::root()));
            assert!(j.segments().iter().all(|s| s != ".."));
        }
    }
}
