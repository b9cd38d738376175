//! lftp as the client: a nested tree mirrored up and back down, compared by SHA-256;
//! then the everyday commands (ls, mkdir, mv, rm, put -c, get -c).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::process::{Ran, require_tool, run};
use crate::support::{ALICE, ALICE_PW, TestServer, assert_same_tree, pseudo_random};

/// Settings every script starts with: no TLS (this build has none), bounded retries and
/// timeouts so a server bug fails the test instead of hanging it, and stop at the first
/// failing command.
const PRELUDE: &str = "set ftp:ssl-allow no; set net:max-retries 1; set net:timeout 5; \
                       set net:reconnect-interval-base 1; set net:persist-retries 0; \
                       set cmd:fail-exit yes; set xfer:clobber on; set mirror:set-permissions no";

/// Runs `lftp -c "PRELUDE; open …; SCRIPT"` as alice.
fn lftp(t: &TestServer, script: &str) -> Ran {
    let mut cmd = Command::new("lftp");
    cmd.arg("-c")
        .arg(format!(
            "{PRELUDE}; open -u {ALICE},{ALICE_PW} ftp://127.0.0.1:{}; {script}",
            t.port()
        ))
        .current_dir(&t.local)
        // UTF-8 file names need a UTF-8 locale on the client side.
        .env("LC_ALL", "C.UTF-8")
        .env("HOME", t.dir.path());
    run(&mut cmd, Duration::from_secs(240))
}

/// Quotes a path for lftp's command line.
fn q(path: &Path) -> String {
    format!("\"{}\"", path.display())
}

/// A nested tree: a few folders, ~50 files including empty ones, 1 MiB ones, names with
/// spaces and UTF-8.
fn make_tree(base: &Path) -> usize {
    let dirs = [
        "",
        "docs",
        "docs/deep/deeper/deepest",
        "with space",
        "ünïcödé dir",
        "日本語",
        "empty-dir",
        "media/1 MiB",
    ];
    for d in dirs {
        std::fs::create_dir_all(base.join(d)).unwrap();
    }
    let mut count = 0;
    let mut add = |rel: String, bytes: Vec<u8>| {
        std::fs::write(base.join(rel), bytes).unwrap();
        count += 1;
    };
    for i in 0..12 {
        add(
            format!("docs/note-{i:02}.txt"),
            format!("note {i}\n").repeat(i * 37 + 1).into_bytes(),
        );
    }
    for i in 0..6 {
        add(
            format!("docs/deep/deeper/deepest/level-{i}.dat"),
            pseudo_random(10 + i as u64, 1000 * i + 1),
        );
    }
    for i in 0..5 {
        add(
            format!("with space/file {i} with spaces.txt"),
            vec![b'a' + i as u8; 4096 + i],
        );
    }
    for (i, name) in [
        "café.txt",
        "naïve résumé.md",
        "Ελληνικά.txt",
        "emoji-🚀.bin",
    ]
    .iter()
    .enumerate()
    {
        add(
            format!("ünïcödé dir/{name}"),
            pseudo_random(30 + i as u64, 777 * (i + 1)),
        );
    }
    add(
        "日本語/ファイル.txt".to_string(),
        "こんにちは\n".as_bytes().to_vec(),
    );
    add("日本語/空.txt".to_string(), Vec::new());
    for i in 0..6 {
        add(format!("empty-{i}"), Vec::new());
    }
    for i in 0..3 {
        add(
            format!("media/1 MiB/blob-{i}.bin"),
            pseudo_random(50 + i as u64, 1024 * 1024),
        );
    }
    add(
        "media/1 MiB/just over.bin".to_string(),
        pseudo_random(60, 1024 * 1024 + 1),
    );
    for i in 0..10 {
        add(
            format!("top-{i}.txt"),
            format!("top level {i}\n").into_bytes(),
        );
    }
    add(".hidden".to_string(), b"dotfile\n".to_vec());
    count
}

#[test]
fn lftp_mirrors_a_tree_up_and_back_down() {
    if !require_tool("lftp") {
        return;
    }
    let t = TestServer::start();
    let source = t.local.join("source");
    let files = make_tree(&source);
    assert!(files >= 50, "the tree has {files} files");
    let back = t.local.join("back");

    let ran = lftp(
        &t,
        &format!(
            "mirror -R --parallel=2 {} /uploaded; mirror --parallel=2 /uploaded {}",
            q(&source),
            q(&back)
        ),
    );
    ran.assert_success();
    // What landed on the server is exactly the source, and so is what came back.
    assert_same_tree(&source, &t.root.join("uploaded"));
    assert_same_tree(&source, &back);

    // Down again, this time parsing LIST output (IIS's default MS-DOS style) instead of MLSD.
    let by_list = t.local.join("by list");
    let ran = lftp(
        &t,
        &format!("set ftp:use-mlsd no; mirror /uploaded {}", q(&by_list)),
    );
    ran.assert_success();
    assert_same_tree(&source, &by_list);

    // A second mirror of an unchanged tree transfers nothing and still succeeds.
    let ran = lftp(
        &t,
        &format!("mirror -R --only-newer {} /uploaded", q(&source)),
    );
    ran.assert_success();
    assert_same_tree(&source, &t.root.join("uploaded"));
}

#[test]
fn lftp_everyday_commands() {
    if !require_tool("lftp") {
        return;
    }
    let t = TestServer::start();
    std::fs::write(t.root.join("readme.txt"), b"read me\n").unwrap();
    std::fs::create_dir(t.root.join("old dir")).unwrap();
    std::fs::write(t.root.join("old dir/inside.txt"), b"inside\n").unwrap();

    // ls (LIST) and cls -1 (names).
    let ran = lftp(&t, "ls");
    ran.assert_success();
    assert!(ran.stdout.contains("readme.txt"), "ls: {ran}");
    assert!(ran.stdout.contains("old dir"), "ls: {ran}");
    let ran = lftp(&t, "cls -1");
    ran.assert_success();
    let mut names: Vec<&str> = ran.stdout.lines().map(|l| l.trim_matches('/')).collect();
    names.sort();
    assert_eq!(names, ["old dir", "readme.txt"], "cls -1: {ran}");

    // mkdir -p, put, mv (RNFR/RNTO, across folders), rm, rmdir, cd + pwd.
    std::fs::write(t.local.join("local.txt"), b"uploaded by lftp\n").unwrap();
    let ran = lftp(
        &t,
        "mkdir -p new/nested/dir; put local.txt -o new/nested/dir/up.txt; \
         mv \"old dir\" \"renamed dir\"; mv readme.txt new/moved.txt; \
         rm \"renamed dir/inside.txt\"; rmdir \"renamed dir\"; \
         cd new/nested; pwd",
    );
    ran.assert_success();
    assert_eq!(
        std::fs::read(t.root.join("new/nested/dir/up.txt")).unwrap(),
        b"uploaded by lftp\n"
    );
    assert_eq!(
        std::fs::read(t.root.join("new/moved.txt")).unwrap(),
        b"read me\n"
    );
    assert!(!t.root.join("readme.txt").exists());
    assert!(!t.root.join("old dir").exists());
    assert!(!t.root.join("renamed dir").exists());
    assert!(
        ran.stdout.contains("/new/nested"),
        "pwd after cd new/nested: {ran}"
    );

    // rm -r of a tree.
    let ran = lftp(&t, "rm -r new");
    ran.assert_success();
    assert!(!t.root.join("new").exists(), "rm -r new: {ran}");

    // A failing command makes lftp fail (and the server stays usable).
    let ran = lftp(&t, "rm does-not-exist.txt");
    assert!(
        !ran.status.success(),
        "rm of a missing file succeeded: {ran}"
    );
    lftp(&t, "ls").assert_success();
}

#[test]
fn lftp_resumes_uploads_and_downloads() {
    if !require_tool("lftp") {
        return;
    }
    let t = TestServer::start();
    let data = pseudo_random(99, 1024 * 1024 + 5);
    // put -c: the server already has the first part.
    std::fs::write(t.local.join("full.bin"), &data).unwrap();
    std::fs::write(t.root.join("up.bin"), &data[..400_000]).unwrap();
    lftp(&t, "put -c full.bin -o up.bin").assert_success();
    assert!(
        std::fs::read(t.root.join("up.bin")).unwrap() == data,
        "put -c: the file on the server differs"
    );
    // get -c: the local copy has the first part.
    std::fs::write(t.root.join("down.bin"), &data).unwrap();
    std::fs::write(t.local.join("down.bin"), &data[..123_457]).unwrap();
    lftp(&t, "get -c down.bin -o down.bin").assert_success();
    assert!(
        std::fs::read(t.local.join("down.bin")).unwrap() == data,
        "get -c: the local file differs"
    );
    // And a plain get in active mode.
    lftp(&t, "set ftp:passive-mode off; get down.bin -o active.bin").assert_success();
    assert!(std::fs::read(t.local.join("active.bin")).unwrap() == data);
}
