//! Virtual path resolution: never panics, results are always normalised, bounded
//! and stable, and the navigation helpers agree with each other.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wharf_proto::VirtualPath;

fn check(path: &VirtualPath, max_len: usize) {
    let shown = path.to_string();
    assert!(shown.starts_with('/'));
    assert!(shown.len() <= max_len, "longer than the cap");
    assert_eq!(shown.len(), path.display_len());
    for segment in path.segments() {
        assert!(!segment.is_empty() && segment != "." && segment != "..");
        assert!(!segment.contains('/'));
        assert!(!segment.chars().any(char::is_control));
    }
    // The displayed form resolves to itself from anywhere.
    let elsewhere = VirtualPath::from_segments(["x", "y"]).expect("clean segments");
    assert_eq!(elsewhere.join(&shown, max_len).as_ref(), Ok(path));
    assert_eq!(
        VirtualPath::from_segments(path.segments().iter().cloned()).as_ref(),
        Some(path)
    );
    assert!(path.starts_with(&VirtualPath::root()));
    let parent = path.parent();
    assert!(path.starts_with(&parent));
    let rest = path.strip_prefix(&parent).expect("parent is a prefix");
    assert_eq!(&parent.concat(&rest), path);
    if let Some(name) = path.file_name() {
        assert_eq!(parent.child(name).as_ref(), Some(path));
    } else {
        assert!(path.is_root());
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // The first line is the current directory, the rest the client argument.
    let (cwd_arg, arg) = text.split_once('\n').unwrap_or(("/", text.as_ref()));
    for max_len in [16, 4096] {
        let Ok(cwd) = VirtualPath::root().join(cwd_arg, max_len) else {
            continue;
        };
        check(&cwd, max_len);
        if let Ok(path) = cwd.join(arg, max_len) {
            check(&path, max_len);
        }
        let _ = cwd.child(arg);
    }
});
