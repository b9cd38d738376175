//! Tests of the local back-end: confinement, every operation, listings.
use std::fs::{self, File};
use std::os::unix::fs::MetadataExt;
use std::os::unix::fs::symlink;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::super::LineWriter;
use super::listing::PARALLEL_STAT_ENABLED;
use super::*;
use crate::limits::LIST_BATCH;
use crate::storage::journal::UploadJournal;

/// A root with `dir/inner.txt`, `file.txt`, and a sibling "outside" folder holding a
/// secret, linked from inside the root as `out` (directory), `secret` (file) and `etc`.
struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    outside: PathBuf,
    storage: LocalStorage,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let outside = tmp.path().join("outside");
    fs::create_dir_all(root.join("dir")).unwrap();
    fs::create_dir_all(&outside).unwrap();
    fs::write(root.join("file.txt"), b"hello world").unwrap();
    fs::write(root.join("dir/inner.txt"), b"inner").unwrap();
    fs::write(outside.join("secret.txt"), b"top secret").unwrap();
    symlink(&outside, root.join("out")).unwrap();
    symlink(outside.join("secret.txt"), root.join("secret")).unwrap();
    symlink("/etc", root.join("etc")).unwrap();
    let storage = LocalStorage::new(root.clone());
    Fixture {
        _tmp: tmp,
        root,
        outside,
        storage,
    }
}

fn vp(path: &str) -> VirtualPath {
    VirtualPath::from_segments(path.split('/').filter(|s| !s.is_empty())).unwrap()
}

fn kind<T>(result: Result<T, StorageError>) -> StorageErrorKind {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.kind,
    }
}

async fn read_all(storage: &LocalStorage, path: &str, offset: u64) -> (Vec<u8>, u64) {
    let mut handle = storage.open_read(&vp(path), offset).await.unwrap();
    let mut bytes = Vec::new();
    handle.reader.read_to_end(&mut bytes).await.unwrap();
    (bytes, handle.size)
}

async fn write_all(storage: &LocalStorage, path: &str, mode: WriteMode, data: &[u8]) {
    let mut w = storage.open_write(&vp(path), mode).await.unwrap();
    w.write_all(data).await.unwrap();
    w.finish().await.unwrap();
}

async fn names(storage: &LocalStorage, path: &str) -> Vec<String> {
    let mut rx = storage.list(&vp(path)).await.unwrap();
    let mut names = Vec::new();
    while let Some(batch) = rx.recv().await {
        names.extend(batch.unwrap().into_iter().map(|e| e.name));
    }
    names.sort();
    names
}

const OUTWARD: [&str; 5] = ["out", "out/secret.txt", "secret", "etc", "etc/passwd"];

#[tokio::test]
async fn links_pointing_outside_are_refused_for_reads() {
    let f = fixture();
    for path in OUTWARD {
        let p = vp(path);
        let outside = StorageErrorKind::OutsideRoot;
        assert_eq!(kind(f.storage.metadata(&p).await), outside, "{path}");
        assert_eq!(kind(f.storage.open_read(&p, 0).await), outside, "{path}");
        assert_eq!(kind(f.storage.list(&p).await), outside, "{path}");
        assert_eq!(kind(f.storage.set_modified(&p, 0).await), outside);
    }
}

#[tokio::test]
async fn missing_paths_behind_outward_links_are_refused_the_same_way() {
    let f = fixture();
    // Whether the name exists outside must not change the answer.
    for path in [
        "out/nothing",
        "out/nothing/deeper",
        "etc/no-such-file",
        "etc/passwd/x",
    ] {
        let p = vp(path);
        assert_eq!(
            kind(f.storage.metadata(&p).await),
            StorageErrorKind::OutsideRoot,
            "{path}"
        );
    }
}

#[tokio::test]
async fn links_pointing_outside_are_refused_for_writes() {
    let f = fixture();
    for mode in [
        WriteMode::Truncate,
        WriteMode::Append,
        WriteMode::CreateNew,
        WriteMode::Resume(0),
    ] {
        for path in ["out/new.txt", "out/secret.txt", "secret", "etc/wharf-test"] {
            assert_eq!(
                kind(f.storage.open_write(&vp(path), mode).await),
                StorageErrorKind::OutsideRoot,
                "{path} {mode:?}"
            );
        }
    }
    for path in ["out/sub", "etc/wharf-test"] {
        assert_eq!(
            kind(f.storage.create_dir(&vp(path)).await),
            StorageErrorKind::OutsideRoot
        );
    }
    assert_eq!(
        kind(f.storage.remove_file(&vp("out/secret.txt")).await),
        StorageErrorKind::OutsideRoot
    );
    assert_eq!(
        kind(
            f.storage
                .rename(&vp("file.txt"), &vp("out/stolen"), false)
                .await
        ),
        StorageErrorKind::OutsideRoot
    );
    assert_eq!(
        kind(
            f.storage
                .rename(&vp("out/secret.txt"), &vp("mine"), false)
                .await
        ),
        StorageErrorKind::OutsideRoot
    );
    // Nothing changed outside.
    assert_eq!(
        fs::read(f.outside.join("secret.txt")).unwrap(),
        b"top secret"
    );
    assert_eq!(fs::read_dir(&f.outside).unwrap().count(), 1);
    assert!(f.root.join("file.txt").exists());
}

#[tokio::test]
async fn dangling_links_are_never_followed() {
    let f = fixture();
    let target = f.outside.join("created-through-link");
    symlink(&target, f.root.join("dangling")).unwrap();
    for mode in [WriteMode::Truncate, WriteMode::Append, WriteMode::CreateNew] {
        assert_eq!(
            kind(f.storage.open_write(&vp("dangling"), mode).await),
            StorageErrorKind::OutsideRoot
        );
    }
    assert_eq!(
        kind(f.storage.metadata(&vp("dangling")).await),
        StorageErrorKind::OutsideRoot
    );
    assert!(!target.exists());
}

#[tokio::test]
async fn listings_leave_out_links_that_escape() {
    let f = fixture();
    symlink(f.outside.join("nowhere"), f.root.join("dangling")).unwrap();
    assert_eq!(names(&f.storage, "/").await, ["dir", "file.txt"]);
}

#[tokio::test]
async fn links_inside_the_root_are_transparent() {
    let f = fixture();
    symlink(f.root.join("dir"), f.root.join("dirlink")).unwrap();
    symlink("file.txt", f.root.join("filelink")).unwrap();
    let meta = f.storage.metadata(&vp("filelink")).await.unwrap();
    assert_eq!(
        (meta.name.as_str(), meta.kind, meta.size),
        ("filelink", EntryKind::File, 11)
    );
    assert_eq!(
        read_all(&f.storage, "dirlink/inner.txt", 0).await.0,
        b"inner"
    );
    assert_eq!(read_all(&f.storage, "filelink", 6).await.0, b"world");
    assert_eq!(names(&f.storage, "dirlink").await, ["inner.txt"]);
    let mut rx = f.storage.list(&VirtualPath::root()).await.unwrap();
    let mut entries = Vec::new();
    while let Some(batch) = rx.recv().await {
        entries.extend(batch.unwrap());
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    let kinds: Vec<_> = entries.iter().map(|e| (e.name.as_str(), e.kind)).collect();
    assert_eq!(
        kinds,
        [
            ("dir", EntryKind::Dir),
            ("dirlink", EntryKind::Dir),
            ("file.txt", EntryKind::File),
            ("filelink", EntryKind::File),
        ]
    );
    // Writing through a link writes the target; deleting the link keeps the target.
    write_all(&f.storage, "dirlink/new.txt", WriteMode::Truncate, b"n").await;
    assert_eq!(fs::read(f.root.join("dir/new.txt")).unwrap(), b"n");
    f.storage.remove_file(&vp("filelink")).await.unwrap();
    assert!(f.root.join("file.txt").exists());
    assert!(fs::symlink_metadata(f.root.join("filelink")).is_err());
}

#[tokio::test]
async fn metadata_reports_kind_size_time_mode_and_links() {
    let f = fixture();
    let file = f.storage.metadata(&vp("file.txt")).await.unwrap();
    let disk = fs::metadata(f.root.join("file.txt")).unwrap();
    assert_eq!(file.name, "file.txt");
    assert_eq!(file.kind, EntryKind::File);
    assert_eq!(file.size, 11);
    assert_eq!(file.modified, disk.mtime());
    assert_eq!(file.mode, disk.mode() & 0o7777);
    assert_eq!(file.nlink, 1);
    let dir = f.storage.metadata(&vp("dir")).await.unwrap();
    assert_eq!((dir.kind, dir.size), (EntryKind::Dir, 0));
    let root = f.storage.metadata(&VirtualPath::root()).await.unwrap();
    assert_eq!((root.name.as_str(), root.kind), ("", EntryKind::Dir));
    assert_eq!(
        kind(f.storage.metadata(&vp("missing")).await),
        StorageErrorKind::NotFound
    );
    assert_eq!(
        kind(f.storage.metadata(&vp("file.txt/below")).await),
        StorageErrorKind::WrongKind
    );
}

#[tokio::test]
async fn missing_root_is_not_found() {
    let tmp = tempfile::tempdir().unwrap();
    let storage = LocalStorage::new(tmp.path().join("absent"));
    assert_eq!(
        kind(storage.metadata(&VirtualPath::root()).await),
        StorageErrorKind::NotFound
    );
    assert_eq!(
        kind(storage.list(&VirtualPath::root()).await),
        StorageErrorKind::NotFound
    );
    assert_eq!(
        kind(storage.open_write(&vp("x"), WriteMode::Truncate).await),
        StorageErrorKind::NotFound
    );
    assert!(!tmp.path().join("absent").exists());
}

/// Listing entries carry what `stat` says, and names a listing could not show safely
/// (not UTF-8, control characters such as a line break) are left out.
#[tokio::test]
async fn listing_reports_stat_facts_and_omits_unsafe_names() {
    use std::os::unix::ffi::OsStrExt;
    let f = fixture();
    fs::write(f.root.join("line\nbreak"), b"x").unwrap();
    fs::write(f.root.join(std::ffi::OsStr::from_bytes(b"latin\xe9")), b"x").unwrap();
    fs::hard_link(f.root.join("file.txt"), f.root.join("hard.txt")).unwrap();
    let mut rx = f.storage.list(&VirtualPath::root()).await.unwrap();
    let mut entries = Vec::new();
    while let Some(batch) = rx.recv().await {
        entries.extend(batch.unwrap());
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    let names: Vec<_> = entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["dir", "file.txt", "hard.txt"]);
    for e in &entries {
        let meta = fs::symlink_metadata(f.root.join(&e.name)).unwrap();
        assert_eq!(e.modified, meta.mtime(), "{}", e.name);
        assert_eq!(e.mode, meta.mode() & 0o7777, "{}", e.name);
        assert_eq!(e.nlink, meta.nlink(), "{}", e.name);
        let (kind, size) = if meta.is_dir() {
            (EntryKind::Dir, 0)
        } else {
            (EntryKind::File, meta.len())
        };
        assert_eq!((e.kind, e.size), (kind, size), "{}", e.name);
    }
    assert_eq!(entries[1].nlink, 2);
}

#[tokio::test]
async fn special_files_are_hidden_and_never_opened() {
    let f = fixture();
    let socket = std::os::unix::net::UnixListener::bind(f.root.join("sock")).unwrap();
    assert_eq!(names(&f.storage, "/").await, ["dir", "file.txt"]);
    assert_eq!(
        kind(f.storage.metadata(&vp("sock")).await),
        StorageErrorKind::NotFound
    );
    assert_eq!(
        kind(f.storage.open_read(&vp("sock"), 0).await),
        StorageErrorKind::NotFound
    );
    assert_eq!(
        kind(
            f.storage
                .open_write(&vp("sock"), WriteMode::CreateNew)
                .await
        ),
        StorageErrorKind::AlreadyExists
    );
    assert_eq!(
        kind(f.storage.open_write(&vp("sock"), WriteMode::Truncate).await),
        StorageErrorKind::PermissionDenied
    );
    drop(socket);
}

/// The non-blocking open takes only plain, cached, regular files beneath the root and
/// leaves everything else to the blocking path, which still serves it as before.
#[tokio::test]
async fn cached_open_takes_only_the_plain_case() {
    let f = fixture();
    // A first stat puts the names in the kernel's lookup cache.
    for name in [
        "file.txt",
        "dir/inner.txt",
        "dir",
        "secret",
        "out/secret.txt",
    ] {
        let _ = fs::symlink_metadata(f.root.join(name));
    }
    let (mut file, size) = open_cached(&f.root, &[], &vp("dir/inner.txt")).expect("plain file");
    assert_eq!(size, 5);
    let mut text = String::new();
    std::io::Read::read_to_string(&mut file, &mut text).unwrap();
    assert_eq!(text, "inner");
    // A directory, a link (even one leading inside), a path through a link, a missing
    // name, the root itself: not here.
    symlink(f.root.join("file.txt"), f.root.join("inside")).unwrap();
    for path in ["dir", "inside", "secret", "out/secret.txt", "missing.txt"] {
        assert!(open_cached(&f.root, &[], &vp(path)).is_none(), "{path}");
    }
    assert!(open_cached(&f.root, &[], &VirtualPath::root()).is_none());
    // The blocking path still serves the link inside and refuses the one outside.
    assert_eq!(read_all(&f.storage, "inside", 0).await.0, b"hello world");
    assert_eq!(
        kind(f.storage.open_read(&vp("secret"), 0).await),
        StorageErrorKind::OutsideRoot
    );
}

/// `metadata` answers plain files and directories (the root too) without the blocking
/// pool, and leaves links and special files to the canonicalising path.
#[tokio::test]
async fn cached_metadata_takes_only_plain_files_and_directories() {
    let f = fixture();
    for name in ["file.txt", "dir", "secret"] {
        let _ = fs::symlink_metadata(f.root.join(name));
    }
    let file = metadata_cached(&f.root, &[], &vp("file.txt")).expect("plain file");
    assert_eq!(
        (file.name.as_str(), file.kind, file.size),
        ("file.txt", EntryKind::File, 11)
    );
    let dir = metadata_cached(&f.root, &[], &vp("dir")).expect("directory");
    assert_eq!(dir.kind, EntryKind::Dir);
    let root = metadata_cached(&f.root, &[], &VirtualPath::root()).expect("the root");
    assert_eq!((root.name.as_str(), root.kind), ("", EntryKind::Dir));
    assert!(metadata_cached(&f.root, &[], &vp("secret")).is_none());
    assert!(metadata_cached(&f.root, &[], &vp("missing")).is_none());
    // The same answers as the canonicalising path.
    let slow = f.storage.metadata(&vp("file.txt")).await.unwrap();
    assert_eq!(
        (slow.size, slow.modified, slow.mode),
        (file.size, file.modified, file.mode)
    );
}

/// A FIFO is looked at, never opened (opening one for reading waits for a writer).
#[tokio::test]
async fn cached_open_never_opens_a_fifo() {
    let f = fixture();
    let fifo = f.root.join("pipe");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        Mode::from_raw_mode(0o644),
        0,
    )
    .unwrap();
    let _ = fs::symlink_metadata(&fifo);
    assert!(open_cached(&f.root, &[], &vp("pipe")).is_none());
    assert!(metadata_cached(&f.root, &[], &vp("pipe")).is_none());
    assert_eq!(
        kind(f.storage.open_read(&vp("pipe"), 0).await),
        StorageErrorKind::NotFound
    );
}

#[tokio::test]
async fn open_read_seeks_and_reports_total_size() {
    let f = fixture();
    assert_eq!(
        read_all(&f.storage, "file.txt", 0).await,
        (b"hello world".to_vec(), 11)
    );
    assert_eq!(
        read_all(&f.storage, "file.txt", 6).await,
        (b"world".to_vec(), 11)
    );
    assert_eq!(read_all(&f.storage, "file.txt", 11).await, (Vec::new(), 11));
    assert_eq!(read_all(&f.storage, "file.txt", 50).await, (Vec::new(), 11));
    assert_eq!(
        kind(f.storage.open_read(&vp("dir"), 0).await),
        StorageErrorKind::WrongKind
    );
    assert_eq!(
        kind(f.storage.open_read(&VirtualPath::root(), 0).await),
        StorageErrorKind::WrongKind
    );
    assert_eq!(
        kind(f.storage.open_read(&vp("nope"), 0).await),
        StorageErrorKind::NotFound
    );
}

#[tokio::test]
async fn truncate_creates_and_replaces() {
    let f = fixture();
    write_all(
        &f.storage,
        "dir/new.bin",
        WriteMode::Truncate,
        b"first version",
    )
    .await;
    assert_eq!(
        fs::read(f.root.join("dir/new.bin")).unwrap(),
        b"first version"
    );
    write_all(&f.storage, "dir/new.bin", WriteMode::Truncate, b"v2").await;
    assert_eq!(fs::read(f.root.join("dir/new.bin")).unwrap(), b"v2");
    assert_eq!(
        kind(
            f.storage
                .open_write(&vp("no-dir/x"), WriteMode::Truncate)
                .await
        ),
        StorageErrorKind::NotFound
    );
}

#[tokio::test]
async fn append_creates_or_appends() {
    let f = fixture();
    write_all(&f.storage, "file.txt", WriteMode::Append, b"!!").await;
    assert_eq!(fs::read(f.root.join("file.txt")).unwrap(), b"hello world!!");
    write_all(&f.storage, "log", WriteMode::Append, b"a").await;
    write_all(&f.storage, "log", WriteMode::Append, b"b").await;
    assert_eq!(fs::read(f.root.join("log")).unwrap(), b"ab");
}

#[tokio::test]
async fn create_new_refuses_existing_names() {
    let f = fixture();
    write_all(&f.storage, "unique", WriteMode::CreateNew, b"u").await;
    assert_eq!(fs::read(f.root.join("unique")).unwrap(), b"u");
    for existing in ["unique", "file.txt"] {
        assert_eq!(
            kind(
                f.storage
                    .open_write(&vp(existing), WriteMode::CreateNew)
                    .await
            ),
            StorageErrorKind::AlreadyExists
        );
    }
    assert_eq!(fs::read(f.root.join("file.txt")).unwrap(), b"hello world");
}

#[tokio::test]
async fn resume_keeps_the_prefix_and_writes_from_the_offset() {
    let f = fixture();
    write_all(&f.storage, "file.txt", WriteMode::Resume(6), b"there").await;
    assert_eq!(fs::read(f.root.join("file.txt")).unwrap(), b"hello there");
    // Bytes after the offset are dropped even when the new data is shorter.
    write_all(&f.storage, "file.txt", WriteMode::Resume(5), b"!").await;
    assert_eq!(fs::read(f.root.join("file.txt")).unwrap(), b"hello!");
    // Offset equal to the size appends.
    write_all(&f.storage, "file.txt", WriteMode::Resume(6), b"?").await;
    assert_eq!(fs::read(f.root.join("file.txt")).unwrap(), b"hello!?");
    write_all(&f.storage, "file.txt", WriteMode::Resume(0), b"x").await;
    assert_eq!(fs::read(f.root.join("file.txt")).unwrap(), b"x");
}

#[tokio::test]
async fn resume_needs_an_existing_long_enough_file() {
    let f = fixture();
    assert_eq!(
        kind(
            f.storage
                .open_write(&vp("absent"), WriteMode::Resume(0))
                .await
        ),
        StorageErrorKind::NotFound
    );
    assert_eq!(
        kind(
            f.storage
                .open_write(&vp("file.txt"), WriteMode::Resume(12))
                .await
        ),
        StorageErrorKind::Local
    );
    assert_eq!(fs::read(f.root.join("file.txt")).unwrap(), b"hello world");
}

#[tokio::test]
async fn writes_to_directories_are_refused() {
    let f = fixture();
    for mode in [
        WriteMode::Truncate,
        WriteMode::Append,
        WriteMode::Resume(0),
        WriteMode::CreateNew,
    ] {
        assert_eq!(
            kind(f.storage.open_write(&vp("dir"), mode).await),
            StorageErrorKind::WrongKind
        );
        assert_eq!(
            kind(f.storage.open_write(&VirtualPath::root(), mode).await),
            StorageErrorKind::WrongKind
        );
    }
    assert!(f.root.join("dir").is_dir());
}

#[tokio::test]
async fn remove_file_deletes_files_only() {
    let f = fixture();
    f.storage.remove_file(&vp("dir/inner.txt")).await.unwrap();
    assert!(!f.root.join("dir/inner.txt").exists());
    assert_eq!(
        kind(f.storage.remove_file(&vp("dir/inner.txt")).await),
        StorageErrorKind::NotFound
    );
    assert_eq!(
        kind(f.storage.remove_file(&vp("dir")).await),
        StorageErrorKind::WrongKind
    );
    assert!(f.root.join("dir").is_dir());
}

#[tokio::test]
async fn create_and_remove_directories() {
    let f = fixture();
    f.storage.create_dir(&vp("dir/sub")).await.unwrap();
    assert!(f.root.join("dir/sub").is_dir());
    assert_eq!(
        kind(f.storage.create_dir(&vp("dir/sub")).await),
        StorageErrorKind::AlreadyExists
    );
    assert_eq!(
        kind(f.storage.create_dir(&vp("file.txt")).await),
        StorageErrorKind::AlreadyExists
    );
    assert_eq!(
        kind(f.storage.create_dir(&vp("a/b")).await),
        StorageErrorKind::NotFound
    );
    assert_eq!(
        kind(f.storage.create_dir(&VirtualPath::root()).await),
        StorageErrorKind::AlreadyExists
    );
    assert_eq!(
        kind(f.storage.remove_dir(&vp("dir")).await),
        StorageErrorKind::NotEmpty
    );
    assert_eq!(
        kind(f.storage.remove_dir(&vp("file.txt")).await),
        StorageErrorKind::WrongKind
    );
    f.storage.remove_dir(&vp("dir/sub")).await.unwrap();
    assert!(!f.root.join("dir/sub").exists());
    assert_eq!(
        kind(f.storage.remove_dir(&vp("dir/sub")).await),
        StorageErrorKind::NotFound
    );
    assert_eq!(
        kind(f.storage.remove_dir(&VirtualPath::root()).await),
        StorageErrorKind::PermissionDenied
    );
    assert!(f.root.is_dir());
}

#[tokio::test]
async fn rename_moves_and_respects_replace() {
    let f = fixture();
    f.storage
        .rename(&vp("file.txt"), &vp("dir/moved.txt"), false)
        .await
        .unwrap();
    assert_eq!(
        fs::read(f.root.join("dir/moved.txt")).unwrap(),
        b"hello world"
    );
    assert!(!f.root.join("file.txt").exists());

    fs::write(f.root.join("other"), b"other").unwrap();
    assert_eq!(
        kind(
            f.storage
                .rename(&vp("other"), &vp("dir/moved.txt"), false)
                .await
        ),
        StorageErrorKind::AlreadyExists
    );
    assert_eq!(
        fs::read(f.root.join("dir/moved.txt")).unwrap(),
        b"hello world"
    );
    f.storage
        .rename(&vp("other"), &vp("dir/moved.txt"), true)
        .await
        .unwrap();
    assert_eq!(fs::read(f.root.join("dir/moved.txt")).unwrap(), b"other");
    assert!(!f.root.join("other").exists());

    // Directories move too.
    f.storage
        .rename(&vp("dir"), &vp("renamed"), false)
        .await
        .unwrap();
    assert!(f.root.join("renamed/moved.txt").exists());
    assert_eq!(
        kind(f.storage.rename(&vp("missing"), &vp("x"), true).await),
        StorageErrorKind::NotFound
    );
}

#[tokio::test]
async fn the_root_is_never_renamed() {
    let f = fixture();
    assert_eq!(
        kind(f.storage.rename(&VirtualPath::root(), &vp("x"), true).await),
        StorageErrorKind::PermissionDenied
    );
    assert_eq!(
        kind(
            f.storage
                .rename(&vp("dir"), &VirtualPath::root(), true)
                .await
        ),
        StorageErrorKind::PermissionDenied
    );
    assert!(f.root.join("dir").is_dir());
}

#[tokio::test]
async fn set_modified_changes_mtime() {
    let f = fixture();
    f.storage
        .set_modified(&vp("file.txt"), 1_600_000_000)
        .await
        .unwrap();
    assert_eq!(
        fs::metadata(f.root.join("file.txt")).unwrap().mtime(),
        1_600_000_000
    );
    f.storage
        .set_modified(&vp("dir"), 1_000_000_000)
        .await
        .unwrap();
    let entry = f.storage.metadata(&vp("dir")).await.unwrap();
    assert_eq!(entry.modified, 1_000_000_000);
    assert_eq!(
        kind(f.storage.set_modified(&vp("missing"), 0).await),
        StorageErrorKind::NotFound
    );
}

#[tokio::test]
async fn list_of_a_file_is_wrong_kind() {
    let f = fixture();
    assert_eq!(
        kind(f.storage.list(&vp("file.txt")).await),
        StorageErrorKind::WrongKind
    );
    assert_eq!(
        kind(f.storage.list(&vp("missing")).await),
        StorageErrorKind::NotFound
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_streams_a_hundred_thousand_entries() {
    const COUNT: usize = 100_000;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("big");
    let dir2 = dir.clone();
    tokio::task::spawn_blocking(move || {
        fs::create_dir(&dir2).unwrap();
        for i in 0..COUNT {
            File::create(dir2.join(format!("f{i:06}"))).unwrap();
        }
    })
    .await
    .unwrap();
    let storage = LocalStorage::new(tmp.path().to_path_buf());
    let mut rx = storage.list(&vp("big")).await.unwrap();
    assert_eq!(rx.max_capacity(), LIST_CHANNEL_DEPTH);
    let mut seen = vec![false; COUNT];
    let mut count = 0;
    while let Some(batch) = rx.recv().await {
        let batch = batch.unwrap();
        assert!(!batch.is_empty() && batch.len() <= LIST_BATCH);
        for entry in batch {
            let index: usize = entry.name[1..].parse().unwrap();
            assert!(!seen[index], "duplicate {}", entry.name);
            seen[index] = true;
            count += 1;
        }
    }
    assert_eq!(count, COUNT);
    assert!(seen.iter().all(|s| *s));
}

/// A directory of several batches is formatted on both listing threads, each with a
/// writer of its own, and every entry comes out exactly once.
#[tokio::test]
async fn list_lines_formats_every_entry_once_with_a_writer_per_thread() {
    let count = LIST_BATCH * 6 + 7;
    let tmp = tempfile::tempdir().unwrap();
    fs::create_dir(tmp.path().join("big")).unwrap();
    for i in 0..count {
        fs::write(tmp.path().join(format!("big/f{i:06}")), b"").unwrap();
    }
    let storage = LocalStorage::new(tmp.path().to_path_buf());
    let made = Arc::new(AtomicUsize::new(0));
    let counter = made.clone();
    let writers: LineWriters = Arc::new(move || -> LineWriter {
        counter.fetch_add(1, Ordering::Relaxed);
        Box::new(|e: &Entry, out: &mut String| out.push_str(&e.name))
    });
    let mut rx = storage.list_lines(&vp("big"), writers).await.unwrap();
    let mut text = Vec::new();
    while let Some(chunk) = rx.recv().await {
        let chunk = chunk.unwrap();
        assert!(!chunk.is_empty() && chunk.ends_with(b"\r\n"));
        text.extend_from_slice(&chunk);
    }
    let text = String::from_utf8(text).unwrap();
    let mut names: Vec<&str> = text.split_terminator("\r\n").collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), count);
    assert_eq!(names.first(), Some(&"f000000"));
    let expected = if *PARALLEL_STAT_ENABLED { 2 } else { 1 };
    assert_eq!(made.load(Ordering::Relaxed), expected);
}

#[tokio::test]
async fn the_producer_stays_bounded_and_stops_when_the_reader_leaves() {
    let total = LIST_CHANNEL_DEPTH * LIST_BATCH * 4;
    let tmp = tempfile::tempdir().unwrap();
    for i in 0..total {
        fs::write(tmp.path().join(format!("f{i}")), b"").unwrap();
    }
    let storage = LocalStorage::new(tmp.path().to_path_buf());
    let listing = storage.open_listing(&VirtualPath::root()).await.unwrap();
    let (tx, mut rx) = mpsc::channel(LIST_CHANNEL_DEPTH);
    let producer = tokio::task::spawn_blocking(move || {
        listing.fill(&tx, &|| {
            Box::new(|batch| (!batch.is_empty()).then_some(batch))
        })
    });
    assert!(rx.recv().await.unwrap().is_ok());
    // Let the producer fill the channel and block on it.
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(rx);
    let sent = producer.await.unwrap();
    // The batch received and those the channel holds; the next send fails.
    assert!(
        sent <= (LIST_CHANNEL_DEPTH + 1) * LIST_BATCH,
        "sent {sent} of {total}"
    );
}

/// Two homes side by side under `LocalUser`, alice's with links to bob's (relative and
/// absolute, to the folder and to a file) and a link that stays inside her home.
struct Homes {
    _tmp: tempfile::TempDir,
    site: PathBuf,
    alice: LocalStorage,
}

fn homes() -> Homes {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    let alice_home = site.join("LocalUser/alice");
    let bob_home = site.join("LocalUser/bob");
    fs::create_dir_all(alice_home.join("docs")).unwrap();
    fs::create_dir_all(&bob_home).unwrap();
    fs::write(alice_home.join("docs/mine.txt"), b"alice's").unwrap();
    fs::write(bob_home.join("secret.txt"), b"bob's secret").unwrap();
    symlink("../bob", alice_home.join("rel")).unwrap();
    symlink(&bob_home, alice_home.join("abs")).unwrap();
    symlink("../bob/secret.txt", alice_home.join("file")).unwrap();
    symlink("docs", alice_home.join("inside")).unwrap();
    symlink(
        alice_home.join("docs/mine.txt"),
        alice_home.join("inside-abs"),
    )
    .unwrap();
    let alice = LocalStorage::new(site.clone()).jailed(&vp("LocalUser/alice"));
    Homes {
        _tmp: tmp,
        site,
        alice,
    }
}

#[tokio::test]
async fn a_jail_holds_through_links_to_a_neighbour() {
    let h = homes();
    let s = &h.alice;
    let outside = StorageErrorKind::OutsideRoot;
    for link in ["rel", "abs"] {
        let file = vp(&format!("{link}/secret.txt"));
        assert_eq!(kind(s.metadata(&vp(link)).await), outside, "{link}");
        assert_eq!(kind(s.metadata(&file).await), outside, "{link}");
        assert_eq!(kind(s.open_read(&file, 0).await), outside, "{link}");
        assert_eq!(kind(s.list(&vp(link)).await), outside, "{link}");
        assert_eq!(kind(s.set_modified(&file, 0).await), outside, "{link}");
        assert_eq!(kind(s.remove_file(&file).await), outside, "{link}");
        assert_eq!(
            kind(s.create_dir(&vp(&format!("{link}/new"))).await),
            outside
        );
        assert_eq!(kind(s.remove_dir(&vp(link)).await), outside, "{link}");
        for mode in [
            WriteMode::Truncate,
            WriteMode::Append,
            WriteMode::CreateNew,
            WriteMode::Resume(0),
        ] {
            assert_eq!(
                kind(s.open_write(&file, mode).await),
                outside,
                "{link} {mode:?}"
            );
            let new = vp(&format!("{link}/planted.txt"));
            assert_eq!(
                kind(s.open_write(&new, mode).await),
                outside,
                "{link} {mode:?}"
            );
        }
        assert_eq!(
            kind(s.rename(&file, &vp("stolen.txt"), false).await),
            outside
        );
        assert_eq!(
            kind(s.rename(&vp("docs/mine.txt"), &file, true).await),
            outside
        );
    }
    assert_eq!(kind(s.open_read(&vp("file"), 0).await), outside);
    // Listings leave the escaping links out and show the inside ones as what they are.
    assert_eq!(names(s, "/").await, ["docs", "inside", "inside-abs"]);
    // Links inside the jail keep working, absolute ones too.
    assert_eq!(read_all(s, "inside/mine.txt", 0).await.0, b"alice's");
    assert_eq!(read_all(s, "inside-abs", 0).await.0, b"alice's");
    // Bob's home is untouched.
    let bob = h.site.join("LocalUser/bob");
    assert_eq!(fs::read(bob.join("secret.txt")).unwrap(), b"bob's secret");
    assert_eq!(fs::read_dir(&bob).unwrap().count(), 1);
}

#[tokio::test]
async fn a_jail_is_its_own_root() {
    let h = homes();
    // `/` is the home; nothing above it can be named.
    assert_eq!(names(&h.alice, "/").await.len(), 3);
    let missing = LocalStorage::new(h.site.clone()).jailed(&vp("LocalUser/nobody"));
    assert_eq!(
        kind(missing.metadata(&VirtualPath::root()).await),
        StorageErrorKind::NotFound
    );
}

/// Lists a directory on disk, for checking that no temporary is left.
fn disk_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn an_upload_that_is_not_committed_changes_nothing() {
    let f = fixture();
    let before = disk_names(&f.root.join("dir"));
    // Over an existing file: the old content stays, byte for byte.
    let mut w = f
        .storage
        .open_write(&vp("dir/inner.txt"), WriteMode::Truncate)
        .await
        .unwrap();
    w.write_all(b"half of a new vers").await.unwrap();
    w.flush().await.unwrap();
    // A reader meanwhile sees the old content.
    assert_eq!(read_all(&f.storage, "dir/inner.txt", 0).await.0, b"inner");
    drop(w);
    assert_eq!(fs::read(f.root.join("dir/inner.txt")).unwrap(), b"inner");
    // A new name: nothing appears.
    for mode in [WriteMode::Truncate, WriteMode::CreateNew] {
        let mut w = f
            .storage
            .open_write(&vp("dir/new.bin"), mode)
            .await
            .unwrap();
        w.write_all(b"partial").await.unwrap();
        drop(w);
    }
    assert_eq!(disk_names(&f.root.join("dir")), before);
}

#[tokio::test]
async fn a_committed_upload_replaces_the_file_and_keeps_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    let f = fixture();
    let path = f.root.join("file.txt");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
    write_all(&f.storage, "file.txt", WriteMode::Truncate, b"second").await;
    assert_eq!(fs::read(&path).unwrap(), b"second");
    assert_eq!(fs::metadata(&path).unwrap().mode() & 0o7777, 0o640);
    // Set-id bits are never carried over to uploaded bytes.
    fs::set_permissions(&path, fs::Permissions::from_mode(0o4755)).unwrap();
    write_all(&f.storage, "file.txt", WriteMode::Truncate, b"third").await;
    assert_eq!(fs::metadata(&path).unwrap().mode() & 0o7777, 0o755);
    // Through a link inside the root, the target is replaced and the link stays a link.
    symlink("file.txt", f.root.join("alias")).unwrap();
    write_all(&f.storage, "alias", WriteMode::Truncate, b"via link").await;
    assert!(
        fs::symlink_metadata(f.root.join("alias"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(fs::read(&path).unwrap(), b"via link");
    assert!(
        !disk_names(&f.root)
            .iter()
            .any(|n| n.starts_with(TEMP_PREFIX))
    );
}

#[tokio::test]
async fn stou_never_replaces_a_name_taken_meanwhile() {
    let f = fixture();
    let mut w = f
        .storage
        .open_write(&vp("unique.bin"), WriteMode::CreateNew)
        .await
        .unwrap();
    w.write_all(b"mine").await.unwrap();
    fs::write(f.root.join("unique.bin"), b"theirs").unwrap();
    let err = w.finish().await.unwrap_err();
    assert_eq!(err.kind, StorageErrorKind::AlreadyExists);
    assert_eq!(fs::read(f.root.join("unique.bin")).unwrap(), b"theirs");
    assert!(
        !disk_names(&f.root)
            .iter()
            .any(|n| n.starts_with(TEMP_PREFIX))
    );
}

#[tokio::test]
async fn temporaries_are_hidden_and_no_client_name() {
    let f = fixture();
    let mut w = f
        .storage
        .open_write(&vp("dir/coming.bin"), WriteMode::Truncate)
        .await
        .unwrap();
    w.write_all(b"in progress").await.unwrap();
    w.flush().await.unwrap();
    let temporary = disk_names(&f.root.join("dir"))
        .into_iter()
        .find(|n| n.starts_with(TEMP_PREFIX))
        .expect("the temporary is in the target's directory");
    assert_eq!(names(&f.storage, "dir").await, ["inner.txt"]);
    let named = vp(&format!("dir/{temporary}"));
    let refused = StorageErrorKind::NameNotAllowed;
    assert_eq!(kind(f.storage.metadata(&named).await), refused);
    assert_eq!(kind(f.storage.open_read(&named, 0).await), refused);
    assert_eq!(kind(f.storage.remove_file(&named).await), refused);
    assert_eq!(
        kind(f.storage.open_write(&named, WriteMode::Append).await),
        refused
    );
    assert_eq!(
        kind(f.storage.rename(&named, &vp("stolen"), true).await),
        refused
    );
    w.finish().await.unwrap();
    assert_eq!(
        fs::read(f.root.join("dir/coming.bin")).unwrap(),
        b"in progress"
    );
}

/// Uploads recorded in the journal; a commit or a discard forgets them.
#[tokio::test]
async fn uploads_in_progress_are_journaled() {
    let f = fixture();
    let journal_dir = f._tmp.path().join("state/uploads");
    let (journal, _) = UploadJournal::open(journal_dir.clone()).unwrap();
    let storage = f.storage.clone().with_journal(Some(Arc::new(journal)));
    let mut w = storage
        .open_write(&vp("journaled.bin"), WriteMode::Truncate)
        .await
        .unwrap();
    w.write_all(b"x").await.unwrap();
    assert_eq!(fs::read_dir(&journal_dir).unwrap().count(), 1);
    w.finish().await.unwrap();
    assert_eq!(fs::read_dir(&journal_dir).unwrap().count(), 0);
    let w = storage
        .open_write(&vp("dropped.bin"), WriteMode::Truncate)
        .await
        .unwrap();
    assert_eq!(fs::read_dir(&journal_dir).unwrap().count(), 1);
    drop(w);
    assert_eq!(fs::read_dir(&journal_dir).unwrap().count(), 0);
}

/// A directory of alice's swapped for a link to bob's home, again and again, while
/// uploads, directory creations and renames go into it: nothing ever lands in bob's home.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swapping_a_directory_for_a_link_never_leads_out_of_the_jail() {
    let h = homes();
    let home = h.site.join("LocalUser/alice");
    let bob = h.site.join("LocalUser/bob");
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swapper = {
        let stop = stop.clone();
        let home = home.clone();
        std::thread::spawn(move || {
            let real = home.join("swap");
            let parked = home.join("swap.real");
            fs::create_dir(&real).unwrap();
            let mut swaps = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && swaps < 200_000 {
                // swap is a directory, then a link to bob's home, then a directory again.
                fs::rename(&real, &parked).unwrap();
                symlink("../bob", &real).unwrap();
                fs::remove_file(&real).unwrap();
                fs::rename(&parked, &real).unwrap();
                swaps += 1;
            }
            swaps
        })
    };
    for i in 0..300 {
        let name = format!("swap/up-{i}.bin");
        if let Ok(mut w) = h.alice.open_write(&vp(&name), WriteMode::Truncate).await {
            let _ = w.write_all(b"payload").await;
            let _ = w.finish().await;
        }
        let _ = h.alice.create_dir(&vp(&format!("swap/dir-{i}"))).await;
        let _ = h
            .alice
            .open_write(&vp(&format!("swap/app-{i}")), WriteMode::Append)
            .await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let swaps = swapper.join().unwrap();
    assert!(swaps > 0);
    assert_eq!(
        disk_names(&bob),
        ["secret.txt"],
        "something got out of the jail"
    );
}
