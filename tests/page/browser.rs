//! The live page in a real browser: headless Debian `chromium` driven through
//! `chromedriver` (WebDriver) with fantoccini. Nothing is downloaded: the browser and the
//! driver come from the distribution packages `chromium` and `chromium-driver`.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::common::free_port;
use crate::common::ftp::RawFtp;
use crate::common::process::is_ci;
use crate::support::{FtpExt, Server};

const REASON: &str = "closing for the browser test";

/// The browser and driver, or `None` (skipped loudly) when they are not installed;
/// under `CI=true` a missing browser is a failure.
fn browser_binaries() -> Option<(PathBuf, PathBuf)> {
    let pick = |var: &str, default: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(default))
    };
    let chromium = pick("WHARF_CHROMIUM", "/usr/bin/chromium");
    let driver = pick("WHARF_CHROMEDRIVER", "/usr/bin/chromedriver");
    if chromium.is_file() && driver.is_file() {
        return Some((chromium, driver));
    }
    let message = format!(
        "the browser test needs {} and {} (Debian packages chromium and chromium-driver)",
        chromium.display(),
        driver.display()
    );
    if is_ci() {
        panic!("CI is set: {message}");
    }
    eprintln!("\n*** SKIPPED live_page_in_a_real_browser: {message} ***\n");
    None
}

/// A chromedriver process on a free loopback port, killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start(binary: &PathBuf, log: &std::path::Path) -> Driver {
        let port = free_port();
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn connect(driver: &Driver, chromium: &PathBuf, profile: &std::path::Path) -> Client {
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ]
        }
    });
    let serde_json::Value::Object(capabilities) = capabilities else {
        unreachable!()
    };
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("WebDriver session")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_page_in_a_real_browser() {
    let Some((chromium, driver_binary)) = browser_binaries() else {
        return;
    };
    let server = Arc::new(
        tokio::task::spawn_blocking(|| Server::start(&["Alpha", "Beta"]))
            .await
            .unwrap(),
    );
    let scratch = tempfile::tempdir().unwrap();
    let driver = Driver::start(&driver_binary, &scratch.path().join("chromedriver.log"));
    let client = connect(&driver, &chromium, &scratch.path().join("profile")).await;
    // Run the scenario as a task so the browser is closed even when an assertion fails.
    let outcome = tokio::spawn(scenario(client.clone(), server.clone())).await;
    let _ = client.close().await;
    drop(driver);
    if let Err(e) = outcome {
        if let Ok(log) = std::fs::read_to_string(scratch.path().join("chromedriver.log")) {
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!(
                "chromedriver log (last lines, newest first):\n{}",
                tail.join("\n")
            );
        }
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Waits (polling) until `f` yields `Some`.
async fn until<T, F, Fut>(what: &str, timeout: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

async fn screenshot(client: &Client, name: &str) {
    if let Some(dir) = std::env::var_os("WHARF_SCREENSHOT_DIR") {
        let png = client.screenshot().await.expect("screenshot");
        std::fs::write(PathBuf::from(dir).join(name), png).unwrap();
    }
}

async fn scenario(client: Client, server: Arc<Server>) {
    let wait = Duration::from_secs(20);

    // The page asks for the token; provide it.
    client.goto(&server.admin_url).await.unwrap();
    let input = client
        .wait()
        .at_most(wait)
        .for_element(Locator::Css("#token-input"))
        .await
        .unwrap();
    until("the token form", wait, || async {
        input.is_displayed().await.ok().filter(|d| *d)
    })
    .await;
    input.send_keys(&server.token).await.unwrap();
    client
        .find(Locator::Css("#token-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .wait()
        .at_most(wait)
        .for_element(Locator::Css("#live section[data-site=\"Beta\"]"))
        .await
        .unwrap();
    until("the event stream", wait, || async {
        let status = client.find(Locator::Css("#status")).await.ok()?;
        (status.text().await.ok()? == "live").then_some(())
    })
    .await;

    // A client logs in and uploads slowly.
    let addr = server.ftp_addr("Alpha");
    let (mut ftp, upload) = tokio::task::spawn_blocking(move || {
        let mut ftp = RawFtp::connect_login(addr, "alice", "secret");
        let upload = ftp.slow_upload("slow.bin", 8 * 1024, Duration::from_millis(40));
        (ftp, upload)
    })
    .await
    .unwrap();
    let id = {
        let server = server.clone();
        tokio::task::spawn_blocking(move || server.session_id_of("alice"))
            .await
            .unwrap()
    };
    let row_css = format!("#live section[data-site=\"Alpha\"] tr[data-session-id=\"{id}\"]");
    let row = client
        .wait()
        .at_most(wait)
        .for_element(Locator::Css(&row_css))
        .await
        .unwrap();
    let field = |name: &'static str| {
        let row = row.clone();
        async move {
            row.find(Locator::Css(&format!("[data-field=\"{name}\"]")))
                .await
                .unwrap()
        }
    };
    until("the user name", wait, || async {
        let user = field("userName").await.text().await.ok()?;
        (user == "alice").then_some(())
    })
    .await;
    until("the transferring state", wait, || async {
        let state = field("state").await.text().await.ok()?;
        (state == "transferring").then_some(())
    })
    .await;

    // The byte counter grows while the upload runs, and the transfer shows a rate.
    let received = || async {
        field("bytesReceived")
            .await
            .attr("data-value")
            .await
            .ok()
            .flatten()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let first = until("a first received count", wait, || async {
        let n = received().await;
        (n > 0).then_some(n)
    })
    .await;
    let later = until("the received count to grow", wait, || async {
        let n = received().await;
        (n >= first + 32 * 1024).then_some(n)
    })
    .await;
    assert!(later > first);
    until("a transfer rate", wait, || async {
        let text = field("transferText").await;
        let rate: u64 = text.attr("data-rate").await.ok()??.parse().ok()?;
        let shown = text.text().await.ok()?;
        (rate > 0 && shown.contains("slow.bin") && shown.contains("/s")).then_some(())
    })
    .await;
    screenshot(&client, "page-desktop.png").await;

    // Phone width: rows become cards.
    client.set_window_size(390, 844).await.unwrap();
    until("card layout", wait, || async {
        let display = row.css_value("display").await.ok()?;
        (display == "block").then_some(())
    })
    .await;
    screenshot(&client, "page-phone.png").await;
    client.set_window_size(1280, 900).await.unwrap();

    // Terminate with a reason through the in-page dialog.
    row.find(Locator::Css("[data-action=\"terminate\"]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let reason = client
        .wait()
        .at_most(wait)
        .for_element(Locator::Css("#terminate-reason"))
        .await
        .unwrap();
    until("the terminate dialog", wait, || async {
        reason.is_displayed().await.ok().filter(|d| *d)
    })
    .await;
    reason.send_keys(REASON).await.unwrap();
    screenshot(&client, "page-dialog.png").await;
    client
        .find(Locator::Css("#terminate-confirm"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // The FTP client is disconnected with 421 and the reason.
    let reply = tokio::task::spawn_blocking(move || {
        let reply = ftp.wait_for_code(421);
        upload.stop();
        reply
    })
    .await
    .unwrap()
    .expect("the FTP client gets 421");
    assert!(reply.contains(REASON), "{reply}");

    // The page moves it to the ended list, with who and why.
    let ended_css = format!("#ended tr[data-session-id=\"{id}\"]");
    let ended = client
        .wait()
        .at_most(wait)
        .for_element(Locator::Css(&ended_css))
        .await
        .unwrap();
    let end_reason = ended
        .find(Locator::Css("[data-field=\"endReason\"]"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(end_reason, "terminated by page");
    let why = ended
        .find(Locator::Css("[data-field=\"terminateReason\"]"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(why, REASON);
    until("the live row to go", wait, || async {
        client
            .find_all(Locator::Css(&row_css))
            .await
            .ok()
            .filter(Vec::is_empty)
            .map(|_| ())
    })
    .await;
    screenshot(&client, "page-ended.png").await;

    // The server recorded the page as the actor.
    let server2 = server.clone();
    let doc = tokio::task::spawn_blocking(move || {
        let run = server2.run(&["sessions", "ended", "-o", "json"]);
        run.assert_success();
        run.json()
    })
    .await
    .unwrap();
    let mine = doc["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["sessionId"] == id.as_str())
        .cloned()
        .expect("ended entry");
    assert_eq!(mine["terminatedBy"], "page");
    assert_eq!(mine["terminateReason"], REASON);
}
