//! curl as the client: listings, downloads, uploads, every data-connection mode, the three
//! CWD methods, quote commands, resume and NLST.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::config::xml_escape;
use crate::common::free_port;
use crate::common::process::{Ran, ServerProcess, add_user, require_tool, run};
use crate::support::{ALICE, ALICE_PW, TestServer, pseudo_random};

/// curl's exit code for "quote command returned an error".
const CURLE_QUOTE_ERROR: i32 = 21;
/// curl's exit code for "upload failed" (STOR refused).
const CURLE_UPLOAD_FAILED: i32 = 25;
/// curl's exit code for "login denied".
const CURLE_LOGIN_DENIED: i32 = 67;

/// `curl -q -sS` with timeouts, so a server bug cannot hang the test.
fn curl() -> Command {
    let mut cmd = Command::new("curl");
    cmd.args([
        "-q",
        "--silent",
        "--show-error",
        "--connect-timeout",
        "10",
        "--max-time",
        "60",
    ]);
    cmd
}

fn run_curl(args: &[&str]) -> Ran {
    let mut cmd = curl();
    cmd.args(args);
    run(&mut cmd, Duration::from_secs(90))
}

fn alice() -> String {
    format!("{ALICE}:{ALICE_PW}")
}

fn write(path: &Path, bytes: &[u8]) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, bytes).unwrap();
}

/// The data-connection options for each mode curl supports.
const MODES: &[(&str, &[&str])] = &[
    ("EPSV (curl's default)", &[]),
    ("PASV", &["--ftp-pasv", "--disable-epsv"]),
    ("EPRT (active)", &["-P", "-"]),
    ("PORT (active)", &["-P", "-", "--disable-eprt"]),
];

#[test]
fn curl_lists_the_root_anonymously() {
    if !require_tool("curl") {
        return;
    }
    let t = TestServer::start();
    write(&t.root.join("hello.txt"), b"hello, world\n");
    std::fs::create_dir(t.root.join("docs")).unwrap();
    let ran = run_curl(&[&t.url("/")]);
    ran.assert_success();
    assert!(
        ran.stdout.contains("hello.txt"),
        "LIST lacks hello.txt: {ran}"
    );
    assert!(ran.stdout.contains("docs"), "LIST lacks docs: {ran}");
    // A listing of a sub-directory (trailing slash) works too.
    write(&t.root.join("docs/readme.md"), b"# docs\n");
    let ran = run_curl(&[&t.url("/docs/")]);
    ran.assert_success();
    assert!(ran.stdout.contains("readme.md"), "LIST /docs: {ran}");
}

#[test]
fn curl_downloads_and_lists_in_every_data_connection_mode() {
    if !require_tool("curl") {
        return;
    }
    let t = TestServer::start();
    let blob = pseudo_random(1, 300 * 1024 + 17);
    write(&t.root.join("blob.bin"), &blob);
    let utf8 = "naïve – 日本.txt";
    write(
        &t.root.join("dir with space").join(utf8),
        b"unicode content\n",
    );
    for (mode, options) in MODES {
        let out = t.local.join(format!("blob-{}.bin", mode.len()));
        let mut args: Vec<&str> = options.to_vec();
        let url = t.url("/blob.bin");
        let out_str = out.to_str().unwrap();
        args.extend(["-o", out_str, &url]);
        run_curl(&args).assert_success();
        assert!(
            std::fs::read(&out).unwrap() == blob,
            "{mode}: downloaded bytes differ"
        );

        let mut args: Vec<&str> = options.to_vec();
        let url = t.url("/");
        args.push(&url);
        let ran = run_curl(&args);
        ran.assert_success();
        assert!(ran.stdout.contains("blob.bin"), "{mode}: LIST: {ran}");
        assert!(ran.stdout.contains("dir with space"), "{mode}: LIST: {ran}");

        // Spaces and UTF-8 in the path (percent-encoded in the URL).
        let mut args: Vec<&str> = options.to_vec();
        let url = t.url("/dir%20with%20space/na%C3%AFve%20%E2%80%93%20%E6%97%A5%E6%9C%AC.txt");
        args.push(&url);
        let ran = run_curl(&args);
        ran.assert_success();
        assert_eq!(ran.stdout, "unicode content\n", "{mode}: UTF-8 name: {ran}");
    }
}

#[test]
fn curl_uploads_as_a_basic_user_in_every_mode() {
    if !require_tool("curl") {
        return;
    }
    let t = TestServer::start();
    let alice = alice();
    for (i, (mode, options)) in MODES.iter().enumerate() {
        let data = pseudo_random(100 + i as u64, 200 * 1024 + i);
        let local = t.local.join(format!("up-{i}.bin"));
        write(&local, &data);
        let url = t.url(&format!("/incoming/sub/up-{i}.bin"));
        let mut args: Vec<&str> = options.to_vec();
        args.extend([
            "--ftp-create-dirs",
            "-u",
            &alice,
            "-T",
            local.to_str().unwrap(),
            &url,
        ]);
        run_curl(&args).assert_success();
        let stored = t.root.join(format!("incoming/sub/up-{i}.bin"));
        assert!(
            std::fs::read(&stored).map(|b| b == data).unwrap_or(false),
            "{mode}: {} missing or different after upload",
            stored.display()
        );
    }
    // Replacing an existing file with STOR is allowed for a writer.
    let local = t.local.join("replace.bin");
    write(&local, b"second version");
    write(
        &t.root.join("incoming/replace.bin"),
        b"first version, longer",
    );
    run_curl(&[
        "-u",
        &alice,
        "-T",
        local.to_str().unwrap(),
        &t.url("/incoming/replace.bin"),
    ])
    .assert_success();
    assert_eq!(
        std::fs::read(t.root.join("incoming/replace.bin")).unwrap(),
        b"second version"
    );
    // Empty files upload too.
    let empty = t.local.join("empty");
    write(&empty, b"");
    run_curl(&[
        "-u",
        &alice,
        "-T",
        empty.to_str().unwrap(),
        &t.url("/incoming/empty"),
    ])
    .assert_success();
    assert_eq!(std::fs::read(t.root.join("incoming/empty")).unwrap(), b"");
}

#[test]
fn curl_anonymous_cannot_upload_and_bad_passwords_are_refused() {
    if !require_tool("curl") {
        return;
    }
    let t = TestServer::start();
    let local = t.local.join("x.txt");
    write(&local, b"should not land");
    run_curl(&["-T", local.to_str().unwrap(), &t.url("/x.txt")]).assert_code(CURLE_UPLOAD_FAILED);
    assert!(
        !t.root.join("x.txt").exists(),
        "an anonymous upload landed on disk"
    );

    write(&t.root.join("secret.txt"), b"s");
    run_curl(&["-u", "alice:wrong-password", &t.url("/secret.txt")])
        .assert_code(CURLE_LOGIN_DENIED);
    run_curl(&["-u", "nobody:whatever", &t.url("/secret.txt")]).assert_code(CURLE_LOGIN_DENIED);
    // And the right password works.
    let ran = run_curl(&["-u", &alice(), &t.url("/secret.txt")]);
    ran.assert_success();
    assert_eq!(ran.stdout, "s");
}

#[test]
fn curl_cwd_methods() {
    if !require_tool("curl") {
        return;
    }
    let t = TestServer::start();
    write(&t.root.join("a/b/c/deep.txt"), b"deep content\n");
    let alice = alice();
    for method in ["multicwd", "nocwd", "singlecwd"] {
        let ran = run_curl(&["--ftp-method", method, &t.url("/a/b/c/deep.txt")]);
        ran.assert_success();
        assert_eq!(ran.stdout, "deep content\n", "{method}: {ran}");

        let ran = run_curl(&["--ftp-method", method, &t.url("/a/b/")]);
        ran.assert_success();
        assert!(ran.stdout.contains('c'), "{method}: LIST /a/b/: {ran}");

        let local = t.local.join(format!("{method}.txt"));
        write(&local, method.as_bytes());
        run_curl(&[
            "--ftp-method",
            method,
            "-u",
            &alice,
            "-T",
            local.to_str().unwrap(),
            &t.url(&format!("/a/b/c/{method}.txt")),
        ])
        .assert_success();
        assert_eq!(
            std::fs::read(t.root.join(format!("a/b/c/{method}.txt"))).unwrap(),
            method.as_bytes(),
            "{method}: upload"
        );
    }
    // A missing directory: curl reports an error, the server survives.
    let ran = run_curl(&[&t.url("/no/such/dir/file.txt")]);
    assert!(!ran.status.success(), "download from a missing dir: {ran}");
    run_curl(&[&t.url("/a/b/c/deep.txt")]).assert_success();
}

#[test]
fn curl_quote_commands() {
    if !require_tool("curl") {
        return;
    }
    let t = TestServer::start();
    write(&t.root.join("doomed.txt"), b"x");
    write(&t.root.join("old-name.txt"), b"renamed");
    write(&t.root.join("post.txt"), b"y");
    let alice = alice();
    // Quote commands before the transfer (a listing of /).
    let ran = run_curl(&[
        "-u",
        &alice,
        "-Q",
        "DELE doomed.txt",
        "-Q",
        "MKD made-by-quote",
        "-Q",
        "RNFR old-name.txt",
        "-Q",
        "RNTO new-name.txt",
        "--list-only",
        &t.url("/"),
    ]);
    ran.assert_success();
    assert!(!t.root.join("doomed.txt").exists(), "DELE did not delete");
    assert!(t.root.join("made-by-quote").is_dir(), "MKD did not create");
    assert_eq!(
        std::fs::read(t.root.join("new-name.txt")).unwrap(),
        b"renamed"
    );
    assert!(!t.root.join("old-name.txt").exists());
    let names: Vec<&str> = ran.stdout.lines().collect();
    assert!(
        !names.contains(&"doomed.txt") && names.contains(&"new-name.txt"),
        "the listing after the quote commands: {ran}"
    );
    // A post-transfer quote ("-" prefix) and RMD.
    run_curl(&[
        "-u",
        &alice,
        "-Q",
        "-DELE post.txt",
        "-Q",
        "-RMD made-by-quote",
        &t.url("/new-name.txt"),
    ])
    .assert_success();
    assert!(!t.root.join("post.txt").exists(), "post-quote DELE");
    assert!(!t.root.join("made-by-quote").exists(), "post-quote RMD");
    // A quote command the server refuses makes curl fail with "quote error".
    run_curl(&["-u", &alice, "-Q", "DELE does-not-exist.txt", &t.url("/")])
        .assert_code(CURLE_QUOTE_ERROR);
    // Anonymous users may not delete.
    write(&t.root.join("keep.txt"), b"k");
    run_curl(&["-Q", "DELE keep.txt", &t.url("/")]).assert_code(CURLE_QUOTE_ERROR);
    assert!(t.root.join("keep.txt").exists(), "anonymous DELE deleted");
}

#[test]
fn curl_resumes_downloads_and_uploads() {
    if !require_tool("curl") {
        return;
    }
    let t = TestServer::start();
    let data = pseudo_random(7, 1024 * 1024 + 3);
    write(&t.root.join("big.bin"), &data);
    // Download: the local file holds the first part; `-C -` asks the server with REST.
    let local = t.local.join("big.bin");
    write(&local, &data[..300_001]);
    run_curl(&["-C", "-", "-o", local.to_str().unwrap(), &t.url("/big.bin")]).assert_success();
    assert!(
        std::fs::read(&local).unwrap() == data,
        "resumed download differs"
    );
    // Same in active mode.
    write(&local, &data[..12_345]);
    run_curl(&[
        "-P",
        "-",
        "-C",
        "-",
        "-o",
        local.to_str().unwrap(),
        &t.url("/big.bin"),
    ])
    .assert_success();
    assert!(
        std::fs::read(&local).unwrap() == data,
        "resumed active download differs"
    );

    // Upload: the server holds the first part; `-C -` asks SIZE and appends the rest.
    let full = t.local.join("full.bin");
    write(&full, &data);
    write(&t.root.join("partial.bin"), &data[..500_000]);
    run_curl(&[
        "-u",
        &alice(),
        "-C",
        "-",
        "-T",
        full.to_str().unwrap(),
        &t.url("/partial.bin"),
    ])
    .assert_success();
    assert!(
        std::fs::read(t.root.join("partial.bin")).unwrap() == data,
        "resumed upload differs"
    );
    // `-a` (APPE) appends.
    let tail = t.local.join("tail.txt");
    write(&tail, b"world\n");
    write(&t.root.join("log.txt"), b"hello ");
    run_curl(&[
        "-u",
        &alice(),
        "-a",
        "-T",
        tail.to_str().unwrap(),
        &t.url("/log.txt"),
    ])
    .assert_success();
    assert_eq!(
        std::fs::read(t.root.join("log.txt")).unwrap(),
        b"hello world\n"
    );
    // A range request (REST + early close of the data connection).
    let ran = run_curl(&["-r", "0-9", &t.url("/log.txt")]);
    ran.assert_success();
    assert_eq!(ran.stdout, "hello worl");
}

#[test]
fn curl_list_only_uses_nlst() {
    if !require_tool("curl") {
        return;
    }
    let t = TestServer::start();
    for name in ["one.txt", "two words.txt", "ünïcödé.bin"] {
        write(&t.root.join(name), name.as_bytes());
    }
    std::fs::create_dir(t.root.join("folder")).unwrap();
    write(&t.root.join("folder/inner.txt"), b"i");
    let ran = run_curl(&["--list-only", &t.url("/")]);
    ran.assert_success();
    let mut names: Vec<&str> = ran
        .stdout
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["folder", "one.txt", "two words.txt", "ünïcödé.bin"],
        "NLST /: {ran}"
    );
    let ran = run_curl(&["--list-only", &t.url("/folder/")]);
    ran.assert_success();
    let names: Vec<&str> = ran
        .stdout
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .collect();
    assert!(
        names == ["inner.txt"] || names == ["folder/inner.txt"],
        "NLST /folder/: {ran}"
    );
}

/// Two sites share one port and are told apart by virtual host name (`host|user`).
#[test]
fn curl_virtual_hosts_share_a_port() {
    if !require_tool("curl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let alpha = dir.path().join("alpha");
    let beta = dir.path().join("beta");
    write(&alpha.join("alpha-only.txt"), b"from alpha\n");
    write(&beta.join("beta-only.txt"), b"from beta\n");
    let port = free_port();
    let site = |name: &str, id: u32, host: &str, root: &Path| {
        format!(
            r#"
      <site name="{name}" id="{id}">
        <application path="/">
          <virtualDirectory path="/" physicalPath="{root}" />
        </application>
        <bindings>
          <binding protocol="ftp" bindingInformation="127.0.0.1:{port}:{host}" />
        </bindings>
      </site>"#,
            root = xml_escape(&root.display().to_string())
        )
    };
    let config_text = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<configuration>
  <system.applicationHost>
    <sites>{}{}
      <siteDefaults>
        <ftpServer>
          <security>
            <ssl controlChannelPolicy="SslAllow" dataChannelPolicy="SslAllow" />
            <authentication>
              <anonymousAuthentication enabled="true" />
              <basicAuthentication enabled="true" />
            </authentication>
          </security>
        </ftpServer>
      </siteDefaults>
    </sites>
  </system.applicationHost>
  <system.ftpServer>
    <administration enabled="false" />
    <security>
      <authorization>
        <add accessType="Allow" users="*" permissions="Read" />
      </authorization>
    </security>
  </system.ftpServer>
</configuration>
"#,
        site("alpha", 1, "alpha.test", &alpha),
        site("beta", 2, "beta.test", &beta),
    );
    let config = dir.path().join("vhosts.config");
    std::fs::write(&config, config_text).unwrap();
    add_user(&config, ALICE, "", ALICE_PW);
    let server = ServerProcess::serve(&config, dir.path(), 2);
    let url = format!("ftp://127.0.0.1:{port}/");
    for (host, file, other) in [
        ("alpha.test", "alpha-only.txt", "beta-only.txt"),
        ("beta.test", "beta-only.txt", "alpha-only.txt"),
    ] {
        for user in [
            format!("{host}|{ALICE}:{ALICE_PW}"),
            format!("{host}|anonymous:a@b"),
        ] {
            let ran = run_curl(&["--list-only", "-u", &user, &url]);
            ran.assert_success();
            assert!(
                ran.stdout.contains(file) && !ran.stdout.contains(other),
                "{user}: wrong site chosen: {ran}"
            );
        }
    }
    // An unknown host name cannot log in.
    let ran = run_curl(&["-u", "gamma.test|alice:alice-Secret-1", &url]);
    assert_eq!(ran.status.code(), Some(CURLE_LOGIN_DENIED), "{ran}");
    drop(server);
}

/// `directoryBrowse@showFlags`: MS-DOS style by default (IIS), UNIX style with `StyleUnix`.
#[test]
fn curl_listing_styles() {
    if !require_tool("curl") {
        return;
    }
    for (extra, style) in [
        ("", "MS-DOS"),
        (r#"<directoryBrowse showFlags="StyleUnix" />"#, "UNIX"),
    ] {
        let t = TestServer::start_with(extra);
        write(&t.root.join("file.txt"), b"12345");
        std::fs::create_dir(t.root.join("folder")).unwrap();
        let ran = run_curl(&[&t.url("/")]);
        ran.assert_success();
        let lines: Vec<&str> = ran
            .stdout
            .lines()
            .map(|l| l.trim_end_matches('\r'))
            .collect();
        let file = lines
            .iter()
            .find(|l| l.ends_with(" file.txt"))
            .unwrap_or_else(|| panic!("{style}: no line for file.txt: {ran}"));
        let folder = lines
            .iter()
            .find(|l| l.ends_with(" folder"))
            .unwrap_or_else(|| panic!("{style}: no line for folder: {ran}"));
        let file_words: Vec<&str> = file.split_whitespace().collect();
        let folder_words: Vec<&str> = folder.split_whitespace().collect();
        match style {
            // 11-25-26  01:39AM                    5 file.txt
            // 11-25-26  01:39AM       <DIR>          folder
            "MS-DOS" => {
                assert!(
                    file_words.len() == 4
                        && file_words[0].len() == 8
                        && file_words[0].chars().filter(|c| *c == '-').count() == 2
                        && (file_words[1].ends_with("AM") || file_words[1].ends_with("PM"))
                        && file_words[2] == "5",
                    "{style} file line: {file:?}"
                );
                assert_eq!(folder_words.get(2), Some(&"<DIR>"), "{style}: {folder:?}");
            }
            // -rwxrwxrwx 1 owner group 5 Nov 25 01:39 file.txt
            _ => {
                assert!(
                    file_words[0].starts_with('-') && file_words[0].len() == 10,
                    "{style} file line: {file:?}"
                );
                assert!(file_words.contains(&"5"), "{style} file size: {file:?}");
                assert!(folder_words[0].starts_with('d'), "{style}: {folder:?}");
            }
        }
    }
}

/// SIGTERM while a download runs: the transfer completes (within the grace period), the
/// server then exits 0.
#[test]
fn curl_download_survives_graceful_shutdown() {
    if !require_tool("curl") {
        return;
    }
    let t = TestServer::start();
    let data = pseudo_random(42, 6 * 1024 * 1024);
    write(&t.root.join("slow.bin"), &data);
    let out = t.local.join("slow.bin");
    let mut cmd = curl();
    cmd.args(["--limit-rate", "1500K", "-o", out.to_str().unwrap()])
        .arg(t.url("/slow.bin"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let client = cmd.spawn().expect("start curl");
    // Let the transfer start, then ask the server to stop.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0) < 256 * 1024 {
        assert!(
            std::time::Instant::now() < deadline,
            "the download did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    t.server.sigterm();
    let output = client.wait_with_output().expect("wait for curl");
    assert!(
        output.status.success(),
        "curl failed during a graceful shutdown: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        t.server.output()
    );
    assert!(
        std::fs::read(&out).unwrap() == data,
        "the download was cut short by the shutdown"
    );
    let TestServer { server, dir, .. } = t;
    let stopped = server.wait();
    assert!(stopped.status.success(), "exit status {:?}", stopped.status);
    assert!(stopped.stdout.contains("stopped"), "{}", stopped.stdout);
    drop(dir);
}
