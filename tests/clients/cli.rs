//! The `wharf` command line: `config default|check`, `user add|passwd|del|list`, and
//! `serve` with the embedded default and with the README's example configuration.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::common::ftp::RawFtp;
use crate::common::process::{
    Ran, ServerProcess, add_user, require_tool, run, run_with_input, wharf, wharf_bin,
};
use crate::common::{free_port, port_is_free};
use crate::support::{ALICE, ALICE_PW, SITE, login_code, standard_config};

const QUICK: Duration = Duration::from_secs(60);

fn wharf_run(args: &[&str]) -> Ran {
    let mut cmd = wharf();
    cmd.args(args);
    run(&mut cmd, QUICK)
}

fn check(file: &Path) -> Ran {
    wharf_run(&["config", "check", file.to_str().unwrap()])
}

/// One `file:line:col: level: message` diagnostic.
#[derive(Debug, PartialEq, Eq)]
struct Diag {
    line: u32,
    col: u32,
    level: String,
    message: String,
}

/// The diagnostics about `file` in a command's standard error.
fn diagnostics(stderr: &str, file: &Path) -> Vec<Diag> {
    let prefix = format!("{}:", file.display());
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .filter_map(|rest| {
            let mut parts = rest.splitn(4, ':');
            let line = parts.next()?.trim().parse().ok()?;
            let col = parts.next()?.trim().parse().ok()?;
            let level = parts.next()?.trim().to_string();
            let message = parts.next()?.trim().to_string();
            Some(Diag {
                line,
                col,
                level,
                message,
            })
        })
        .collect()
}

#[test]
fn config_default_prints_a_configuration_that_checks_clean() {
    let ran = wharf_run(&["config", "default"]);
    ran.assert_success();
    assert!(
        ran.stdout.contains("<configuration>") && ran.stdout.contains("Default FTP Site"),
        "`wharf config default` does not look like the default configuration: {ran}"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wharf.config");
    std::fs::write(&file, &ran.stdout).unwrap();
    let checked = check(&file);
    checked.assert_success();
    let errors: Vec<_> = diagnostics(&checked.stderr, &file)
        .into_iter()
        .filter(|d| d.level == "error")
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert!(checked.stdout.contains("OK"), "{checked}");
}

/// A file whose line 15 carries an invalid enum value at column 15.
const BAD_VALUE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<configuration>
  <system.applicationHost>
    <sites>
      <site name="Bad" id="1">
        <application path="/">
          <virtualDirectory path="/" physicalPath="." />
        </application>
        <bindings>
          <binding protocol="ftp" bindingInformation="127.0.0.1:0:" />
        </bindings>
        <ftpServer>
          <security>
            <ssl
              controlChannelPolicy="SslSometimes" dataChannelPolicy="SslAllow" />
          </security>
        </ftpServer>
      </site>
    </sites>
  </system.applicationHost>
</configuration>
"#;

#[test]
fn config_check_reports_an_invalid_value_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.config");
    std::fs::write(&file, BAD_VALUE).unwrap();
    let ran = check(&file);
    ran.assert_code(1);
    let errors: Vec<Diag> = diagnostics(&ran.stderr, &file)
        .into_iter()
        .filter(|d| d.level == "error")
        .collect();
    assert_eq!(errors.len(), 1, "exactly one error expected: {ran}");
    let e = &errors[0];
    // The attribute starts at 15:15; its value's quote at 15:36.
    assert!(
        e.line == 15 && [15, 36, 37].contains(&e.col),
        "wrong position {}:{} (want 15:15, the attribute): {ran}",
        e.line,
        e.col
    );
    assert!(
        e.message.contains("controlChannelPolicy") && e.message.contains("SslSometimes"),
        "the message names neither the attribute nor the value: {ran}"
    );
    for accepted in ["SslAllow", "SslRequire", "SslRequireCredentialsOnly"] {
        assert!(
            e.message.contains(accepted),
            "the message does not list the accepted value {accepted}: {ran}"
        );
    }

    // `wharf serve` refuses to start on it.
    let mut cmd = wharf();
    cmd.arg("serve")
        .arg("--config")
        .arg(&file)
        .current_dir(dir.path());
    let ran = run(&mut cmd, QUICK);
    ran.assert_code(1);
    assert!(!ran.stdout.contains("listening on"), "{ran}");
    assert!(
        ran.stderr.contains(":15:"),
        "serve does not show the error: {ran}"
    );
}

#[test]
fn config_check_reports_malformed_xml_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.config");
    std::fs::write(
        &file,
        "<?xml version=\"1.0\"?>\n<configuration>\n  <system.applicationHost unquoted=value>\n  </system.applicationHost>\n</configuration>\n",
    )
    .unwrap();
    let ran = check(&file);
    ran.assert_code(1);
    let errors: Vec<Diag> = diagnostics(&ran.stderr, &file)
        .into_iter()
        .filter(|d| d.level == "error")
        .collect();
    assert!(
        errors.iter().any(|d| d.line == 3 && d.col > 1),
        "no error positioned on line 3: {ran}"
    );

    // A missing file is an error too (not a panic).
    let missing = dir.path().join("missing.config");
    let ran = check(&missing);
    ran.assert_code(1);
    assert!(!ran.stderr.contains("panicked"), "{ran}");
}

#[test]
fn config_check_warns_on_unknown_items_and_still_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let file = dir.path().join("unknown.config");
    // Insert an unknown element and an unknown attribute into the standard configuration.
    let text = standard_config(&root, "<frobnicator level=\"11\" />")
        .replace("<site name=", "<site colour=\"blue\" name=");
    std::fs::write(&file, &text).unwrap();
    let element_line = text
        .lines()
        .position(|l| l.contains("<frobnicator"))
        .unwrap() as u32
        + 1;
    let element_col = text
        .lines()
        .nth(element_line as usize - 1)
        .unwrap()
        .find('<')
        .unwrap() as u32
        + 1;
    let site_line = text.lines().position(|l| l.contains("colour=")).unwrap() as u32 + 1;

    let ran = check(&file);
    ran.assert_success();
    let diags = diagnostics(&ran.stderr, &file);
    assert!(
        diags.iter().all(|d| d.level == "warning"),
        "only warnings expected: {ran}"
    );
    assert!(
        diags.iter().any(|d| d.line == element_line
            && (d.col == element_col || d.col == element_col + 1)
            && d.message.contains("frobnicator")),
        "no warning for <frobnicator> at {element_line}:{element_col}: {ran}"
    );
    assert!(
        diags
            .iter()
            .any(|d| d.line == site_line && d.message.contains("colour")),
        "no warning for the unknown attribute colour on line {site_line}: {ran}"
    );
}

/// `wharf serve --config FILE` for a standard configuration in `dir`.
fn serve_standard(dir: &Path, config: &Path) -> ServerProcess {
    ServerProcess::serve(config, dir, 1)
}

#[test]
fn user_commands_and_login() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("wharf.config");
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(&config, standard_config(&root, "")).unwrap();
    let config_arg = config.to_str().unwrap();

    // add + list
    add_user(&config, ALICE, "staff,auditors", ALICE_PW);
    let mut cmd = wharf();
    cmd.args([
        "user",
        "add",
        "bob",
        "--password-stdin",
        "--config",
        config_arg,
    ]);
    run_with_input(&mut cmd, Some(b"bob-pw\n"), QUICK).assert_success();
    let listed = wharf_run(&["user", "list", "--config", config_arg]);
    listed.assert_success();
    let alice_line = listed
        .stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(ALICE))
        .unwrap_or_else(|| panic!("alice not listed: {listed}"));
    assert!(
        alice_line.contains("staff") && alice_line.contains("auditors"),
        "alice's roles not listed: {listed}"
    );
    assert!(
        listed.stdout.lines().any(|l| l.starts_with("bob")),
        "bob not listed: {listed}"
    );
    // The file stores a PHC argon2id hash, never the password.
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("$argon2id$"), "no argon2id hash in the file");
    assert!(!text.contains(ALICE_PW), "the password is stored in clear");
    // The edited file still checks clean.
    check(&config).assert_success();

    // The accounts log in over FTP.
    let server = serve_standard(dir.path(), &config);
    let addr = server.addr_of(SITE);
    assert_eq!(login_code(addr, ALICE, ALICE_PW), 230);
    assert_eq!(login_code(addr, "bob", "bob-pw"), 230);
    assert_eq!(login_code(addr, ALICE, "bob-pw"), 530);
    drop(server);

    // passwd: the old password stops working, the new one works (after a restart).
    let mut cmd = wharf();
    cmd.args([
        "user",
        "passwd",
        ALICE,
        "--password-stdin",
        "--config",
        config_arg,
    ]);
    run_with_input(&mut cmd, Some(b"new-Alice-pw\n"), QUICK).assert_success();
    let server = serve_standard(dir.path(), &config);
    let addr = server.addr_of(SITE);
    assert_eq!(login_code(addr, ALICE, ALICE_PW), 530, "old password");
    assert_eq!(login_code(addr, ALICE, "new-Alice-pw"), 230, "new password");
    drop(server);
    // passwd keeps the roles.
    let listed = wharf_run(&["user", "list", "--config", config_arg]);
    assert!(
        listed
            .stdout
            .lines()
            .any(|l| l.starts_with(ALICE) && l.contains("staff")),
        "roles lost by passwd: {listed}"
    );

    // del: gone from the list and refused at login.
    wharf_run(&["user", "del", "bob", "--config", config_arg]).assert_success();
    let listed = wharf_run(&["user", "list", "--config", config_arg]);
    listed.assert_success();
    assert!(
        !listed.stdout.lines().any(|l| l.starts_with("bob")),
        "bob still listed: {listed}"
    );
    let server = serve_standard(dir.path(), &config);
    assert_eq!(login_code(server.addr_of(SITE), "bob", "bob-pw"), 530);
    drop(server);

    // Errors: unknown user for passwd/del, empty password, no configuration named.
    let mut cmd = wharf();
    cmd.args([
        "user",
        "passwd",
        "nobody",
        "--password-stdin",
        "--config",
        config_arg,
    ]);
    run_with_input(&mut cmd, Some(b"x\n"), QUICK).assert_code(1);
    let mut cmd = wharf();
    cmd.args([
        "user",
        "add",
        "carol",
        "--password-stdin",
        "--config",
        config_arg,
    ]);
    run_with_input(&mut cmd, Some(b"\n"), QUICK).assert_code(1);
    let ran = wharf_run(&["user", "list"]);
    ran.assert_code(1);
    assert!(ran.stderr.contains("--config"), "{ran}");
}

#[test]
fn user_add_works_on_the_default_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("wharf.config");
    let default = wharf_run(&["config", "default"]);
    default.assert_success();
    std::fs::write(&config, &default.stdout).unwrap();
    add_user(&config, ALICE, "staff", ALICE_PW);
    let listed = wharf_run(&["user", "list", "--config", config.to_str().unwrap()]);
    listed.assert_success();
    assert!(listed.stdout.contains(ALICE), "{listed}");
    check(&config).assert_success();
    // WHARF_CONFIG names the file when --config is absent.
    let mut cmd = Command::new(wharf_bin());
    cmd.args(["user", "list"]).env("WHARF_CONFIG", &config);
    let ran = run(&mut cmd, QUICK);
    ran.assert_success();
    assert!(ran.stdout.contains(ALICE), "{ran}");
}

#[test]
fn serve_with_the_embedded_default() {
    if !port_is_free(2121) {
        eprintln!(
            "SKIPPED serve_with_the_embedded_default: 127.0.0.1:2121 is busy on this machine"
        );
        return;
    }
    let cwd = tempfile::tempdir().unwrap();
    let mut cmd = wharf();
    cmd.arg("serve").current_dir(cwd.path());
    let server = ServerProcess::start(cmd, 1);
    let listening = &server.listening[0];
    assert_eq!(listening.site, "Default FTP Site");
    assert_eq!(listening.addr.to_string(), "127.0.0.1:2121");
    let ftproot = cwd.path().join("ftproot");
    assert!(ftproot.is_dir(), "./ftproot was not created");
    std::fs::write(ftproot.join("welcome.txt"), b"hello from wharf\n").unwrap();

    // Anonymous read-only.
    let mut ftp = RawFtp::connect(listening.addr);
    assert_eq!(ftp.login("anonymous", "guest@example.com"), 230);
    let (code, text) = ftp.cmd("MKD not-allowed");
    assert_eq!(code, 550, "anonymous MKD on the default site: {text}");
    assert_eq!(ftp.cmd("QUIT").0, 221);
    if require_tool("curl") {
        let mut curl = Command::new("curl");
        curl.args(["-q", "-sS", "--max-time", "30", "ftp://127.0.0.1:2121/"]);
        let ran = run(&mut curl, QUICK);
        ran.assert_success();
        assert!(ran.stdout.contains("welcome.txt"), "{ran}");
        let mut curl = Command::new("curl");
        curl.args([
            "-q",
            "-sS",
            "--max-time",
            "30",
            "ftp://127.0.0.1:2121/welcome.txt",
        ]);
        let ran = run(&mut curl, QUICK);
        ran.assert_success();
        assert_eq!(ran.stdout, "hello from wharf\n");
    }

    // SIGTERM: an idle logged-in session is told 421, the process exits 0 saying "stopped".
    let mut idle = RawFtp::connect(listening.addr);
    assert_eq!(idle.login("anonymous", "x@y"), 230);
    let stopped = server.stop();
    assert!(
        stopped.status.success(),
        "exit status after SIGTERM: {:?}\n{}",
        stopped.status,
        stopped.stderr
    );
    assert!(
        stopped.stdout.contains("stopped"),
        "no \"stopped\" line: {}",
        stopped.stdout
    );
    let reply = idle.reply();
    assert!(
        matches!(&reply, Some((421, _))),
        "the idle session got {reply:?} instead of 421"
    );
}

/// The README's example configuration (the block after `<!-- readme-example-config -->`).
fn readme_example() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let after = readme
        .split_once("<!-- readme-example-config -->")
        .expect("README.md has no <!-- readme-example-config --> marker")
        .1;
    let block = after
        .split_once("```xml\n")
        .expect("no ```xml block after the marker")
        .1;
    block
        .split_once("```")
        .expect("unterminated ```xml block")
        .0
        .to_string()
}

/// The README's complete example checks clean, serves both virtual hosts, isolates alice and
/// applies the location rules.
#[test]
fn readme_example_configuration_works() {
    let text = readme_example();
    assert!(
        text.contains(":2121:"),
        "the example is expected to use port 2121"
    );
    let port = free_port();
    let text = text.replace(":2121:", &format!(":{port}:"));
    let dir = tempfile::tempdir().unwrap();
    for d in [
        "data/alpha/LocalUser/Public",
        "data/homes/alice",
        "data/beta/uploads",
    ] {
        std::fs::create_dir_all(dir.path().join(d)).unwrap();
    }
    std::fs::write(dir.path().join("data/homes/alice/hello.txt"), b"hi alice").unwrap();
    std::fs::write(dir.path().join("data/beta/readme.txt"), b"beta").unwrap();
    let config: PathBuf = dir.path().join("applicationHost.config");
    std::fs::write(&config, &text).unwrap();
    add_user(&config, ALICE, "staff", ALICE_PW);

    let checked = check(&config);
    checked.assert_success();
    let diags = diagnostics(&checked.stderr, &config);
    assert!(
        diags.is_empty(),
        "the README example should load without warnings: {checked}"
    );

    let server = ServerProcess::serve(&config, dir.path(), 2);
    let alpha = server.addr_of("alpha");
    assert_eq!(alpha.port(), port);

    // alice on alpha: jailed in her home (a virtual directory), may write there.
    let mut ftp = RawFtp::connect(alpha);
    assert_eq!(
        ftp.login(&format!("ftp.alpha.example|{ALICE}"), ALICE_PW),
        230
    );
    let (code, text) = ftp.cmd("PWD");
    assert!(code == 257 && text.contains("\"/\""), "PWD: {text}");
    ftp.cmd("TYPE I");
    let (code, text) = ftp.cmd("SIZE hello.txt");
    assert!(
        code == 213 && text.contains(" 8"),
        "SIZE in alice's home: {text}"
    );
    assert_eq!(ftp.cmd("MKD made-by-alice").0, 257);
    assert!(dir.path().join("data/homes/alice/made-by-alice").is_dir());
    ftp.cmd("CWD ..");
    let (_, text) = ftp.cmd("PWD");
    assert!(text.contains("\"/\""), "escaped the jail: {text}");
    ftp.cmd("QUIT");

    // HOST + USER works as well; anonymous on beta reads but cannot write.
    let mut ftp = RawFtp::connect(alpha);
    assert_eq!(ftp.cmd("HOST ftp.beta.example").0, 220);
    assert_eq!(ftp.login("anonymous", "guest@example.com"), 230);
    ftp.cmd("TYPE I");
    assert_eq!(ftp.cmd("SIZE readme.txt").0, 213);
    assert_eq!(
        ftp.cmd("MKD uploads/anon").0,
        550,
        "anonymous write in uploads"
    );
    ftp.cmd("QUIT");

    // alice on beta: reads everywhere, writes only under /uploads.
    let mut ftp = RawFtp::connect(alpha);
    assert_eq!(
        ftp.login(&format!("ftp.beta.example|{ALICE}"), ALICE_PW),
        230
    );
    assert_eq!(ftp.cmd("MKD not-here").0, 550, "write outside /uploads");
    assert_eq!(ftp.cmd("MKD uploads/by-alice").0, 257, "write in /uploads");
    assert!(dir.path().join("data/beta/uploads/by-alice").is_dir());
    ftp.cmd("QUIT");
    drop(server);
}

/// A site on `127.0.0.1:0` in `dir` with `ssl` attributes, and `global` in
/// `system.ftpServer`.
fn config_with(dir: &Path, bindings: &str, ssl: &str, global: &str) -> String {
    let root = dir.join("site");
    std::fs::create_dir_all(&root).unwrap();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<configuration>
  <system.applicationHost>
    <sites>
      <site name="One" id="1">
        <application path="/">
          <virtualDirectory path="/" physicalPath="{}" />
        </application>
        <bindings>
{bindings}
        </bindings>
        <ftpServer>
          <security>
            <ssl controlChannelPolicy="SslAllow" dataChannelPolicy="SslAllow" {ssl} />
          </security>
        </ftpServer>
      </site>
    </sites>
  </system.applicationHost>
  <system.ftpServer>
    {global}
  </system.ftpServer>
</configuration>
"#,
        root.display()
    )
}

const ONE_BINDING: &str =
    r#"          <binding protocol="ftp" bindingInformation="127.0.0.1:0:" />"#;

/// `config check` and `serve` on `text`: both exit 1 and print the same positioned error.
#[track_caller]
fn check_and_serve_refuse(dir: &Path, text: &str) -> Diag {
    let file = dir.join("applicationHost.config");
    std::fs::write(&file, text).unwrap();
    let ran = check(&file);
    ran.assert_code(1);
    let errors: Vec<Diag> = diagnostics(&ran.stderr, &file)
        .into_iter()
        .filter(|d| d.level == "error")
        .collect();
    assert_eq!(
        errors.len(),
        1,
        "exactly one positioned error expected: {ran}"
    );
    let mut cmd = wharf();
    cmd.arg("serve").arg("--config").arg(&file).current_dir(dir);
    let served = run(&mut cmd, QUICK);
    served.assert_code(1);
    assert!(!served.stdout.contains("listening on"), "{served}");
    let serve_errors: Vec<Diag> = diagnostics(&served.stderr, &file)
        .into_iter()
        .filter(|d| d.level == "error")
        .collect();
    assert_eq!(serve_errors, errors, "serve and check disagree: {served}");
    errors.into_iter().next().unwrap()
}

#[test]
fn check_reports_what_serve_refuses_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    // Explicit and implicit TLS on one port: check used to pass and serve to fail without
    // a position.
    let port = free_port();
    let bindings = format!(
        r#"          <binding protocol="ftp" bindingInformation="*:{port}:" />
          <binding protocol="ftp" bindingInformation="127.0.0.1:{port}:ftp.one" implicitTls="true" />"#
    );
    let text = config_with(dir.path(), &bindings, r#"selfSignedCertificate="true""#, "");
    let e = check_and_serve_refuse(dir.path(), &text);
    assert_eq!((e.line, e.col), (11, 35), "{e:?}");
    assert!(
        e.message.contains("is implicit TLS but shares port") && e.message.contains("explicit"),
        "{e:?}"
    );
    // Plain HTTP for the admin API off loopback: refused at the binding.
    let text = config_with(
        dir.path(),
        ONE_BINDING,
        "",
        r#"<administration bindingInformation="0.0.0.0:0" />"#,
    );
    let e = check_and_serve_refuse(dir.path(), &text);
    assert_eq!((e.line, e.col), (21, 21), "{e:?}");
    assert!(e.message.contains("not loopback"), "{e:?}");
}

#[test]
fn named_files_that_are_not_small_regular_files_are_errors_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let made = run(Command::new("mkfifo").arg(&fifo), QUICK);
    made.assert_success();
    let big = dir.path().join("big.config");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(16 * 1024 * 1024 + 1)
        .unwrap();
    let fifo = fifo.display().to_string();
    let big = big.display().to_string();
    // Before: /dev/zero grew the checker to 1 GiB and a FIFO blocked it forever. `check`
    // runs under QUICK's kill-timeout, so a hang fails the test instead of stalling it.
    let cases = [
        (
            "/dev/zero",
            "not a regular file (a character device)",
            "configSource",
        ),
        (fifo.as_str(), "not a regular file (a FIFO)", "configSource"),
        (big.as_str(), "larger than the 16 MiB limit", "configSource"),
        (
            "/dev/zero",
            "not a regular file (a character device)",
            "certificateFile",
        ),
        (
            fifo.as_str(),
            "not a regular file (a FIFO)",
            "certificateFile",
        ),
    ];
    for (path, why, attribute) in cases {
        let (ssl, global) = if attribute == "configSource" {
            (
                String::new(),
                format!(r#"<firewallSupport configSource="{path}" />"#),
            )
        } else {
            (
                format!(r#"certificateFile="{path}" privateKeyFile="{path}""#),
                String::new(),
            )
        };
        let text = config_with(dir.path(), ONE_BINDING, &ssl, &global);
        let file = dir.path().join("applicationHost.config");
        std::fs::write(&file, text).unwrap();
        let ran = check(&file);
        ran.assert_code(1);
        let errors: Vec<Diag> = diagnostics(&ran.stderr, &file)
            .into_iter()
            .filter(|d| d.level == "error")
            .collect();
        assert_eq!(errors.len(), 1, "{attribute}={path}: {ran}");
        assert!(
            errors[0].message.contains(path) && errors[0].message.contains(why),
            "{attribute}={path}: {ran}"
        );
    }
    // The configuration file itself.
    let ran = check(Path::new("/dev/zero"));
    ran.assert_code(1);
    assert!(
        ran.stderr.contains(
            "/dev/zero:1:1: error: cannot read the configuration file: not a regular file"
        ),
        "{ran}"
    );
}
