//! Logins: anonymous and basic accounts, refusals, REIN/ACCT, TLS policy, timeouts,
//! maxConnections and the configurable messages.

use std::time::{Duration, Instant};

use wharf::registry::{EndReason, SessionState};

use crate::support::config::{ConfigXml, SiteXml, with_ftp};
use crate::support::{Client, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_and_ftp_log_in_with_any_password() {
    let server = TestServer::start(&crate::support::config::standard()).await;
    for (user, pass) in [
        ("anonymous", "guest@example.com"),
        ("ftp", ""),
        ("ANONYMOUS", "x"),
    ] {
        let mut c = Client::connect(server.addr()).await;
        let r = c.expect(&format!("USER {user}"), 331).await;
        assert!(!r.text().is_empty());
        c.expect(&format!("PASS {pass}"), 230).await;
        let record = server.only_session();
        assert_eq!(record.user_name, "<Anonymous>");
        assert_eq!(record.state, SessionState::Idle);
        c.expect("QUIT", 221).await;
        server.wait_live(0).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_refused_when_disabled() {
    let mut site = SiteXml::new("Test");
    site.anonymous = false;
    let server = TestServer::start(&ConfigXml::single(site).xml()).await;
    let mut c = Client::connect(server.addr()).await;
    c.expect("USER anonymous", 331).await;
    c.expect("PASS guest@example.com", 530).await;
    c.expect("PWD", 530).await;
    // Basic accounts still work.
    c.login("alice", "alice-pw").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_account_logs_in_and_is_named_in_the_registry() {
    let server = TestServer::start(&crate::support::config::standard()).await;
    let mut c = Client::connect(server.addr()).await;
    let r = c.expect("USER alice", 331).await;
    assert!(r.contains("alice"), "{r:?}");
    assert_eq!(server.only_session().user_name, "");
    assert_eq!(server.only_session().state, SessionState::Authenticating);
    c.expect("PASS alice-pw", 230).await;
    let record = server.only_session();
    assert_eq!(record.user_name, "alice");
    c.expect("PWD", 257).await;
    // Account names match case-insensitively (as Windows accounts do for IIS).
    let mut c2 = Client::connect(server.addr()).await;
    c2.login("ALICE", "alice-pw").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_disabled_refuses_accounts() {
    let mut site = SiteXml::new("Test");
    site.basic = false;
    let server = TestServer::start(&ConfigXml::single(site).xml()).await;
    let mut c = Client::connect(server.addr()).await;
    c.expect("USER alice", 331).await;
    c.expect("PASS alice-pw", 530).await;
    c.login("anonymous", "x").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_unknown_user_get_the_same_530() {
    let server = TestServer::start(&crate::support::config::standard()).await;
    let mut c = Client::connect(server.addr()).await;
    let u1 = c.expect("USER alice", 331).await;
    let wrong = c.expect("PASS not-the-password", 530).await;
    let u2 = c.expect("USER nosuchuser", 331).await;
    let unknown = c.expect("PASS whatever", 530).await;
    assert_eq!(
        wrong.text(),
        unknown.text(),
        "the two refusals must not differ"
    );
    // The 331 does not reveal whether the account exists either.
    assert_eq!(
        u1.text().replace("alice", "X"),
        u2.text().replace("nosuchuser", "X")
    );
    // Still not logged in; a right password works afterwards on the same connection.
    c.expect("PWD", 530).await;
    c.login("alice", "alice-pw").await;
    // PASS without USER.
    let mut c2 = Client::connect(server.addr()).await;
    c2.expect("PASS alice-pw", 503).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_before_login_are_refused_with_530() {
    let server = TestServer::start(&crate::support::config::standard()).await;
    crate::support::write_file(&server.site_dir(), "f.txt", b"secret");
    let mut c = Client::connect(server.addr()).await;
    for line in [
        "PWD",
        "CWD /",
        "CDUP",
        "LIST",
        "NLST",
        "MLSD",
        "MLST f.txt",
        "RETR f.txt",
        "STOR x.txt",
        "APPE x.txt",
        "DELE f.txt",
        "MKD d",
        "RMD d",
        "RNFR f.txt",
        "SIZE f.txt",
        "MDTM f.txt",
        "PASV",
        "EPSV",
        "PORT 127,0,0,1,200,10",
        "TYPE I",
        "REST 10",
        "STAT f.txt",
    ] {
        let r = c.cmd(line).await;
        assert_eq!(r.code, 530, "{line} before login → {r:?}");
    }
    // What a client needs before login still works.
    c.expect("SYST", 215).await;
    c.expect("FEAT", 211).await;
    c.expect("NOOP", 200).await;
    c.expect("HELP", 214).await;
    assert!(!server.site_dir().join("x.txt").exists());
    assert!(server.site_dir().join("f.txt").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rein_returns_to_not_logged_in() {
    let server = TestServer::start(&crate::support::config::standard()).await;
    let mut c = Client::connect(server.addr()).await;
    c.login("alice", "alice-pw").await;
    c.expect("MKD sub", 257).await;
    c.expect("CWD sub", 250).await;
    c.expect("REIN", 220).await;
    c.expect("PWD", 530).await;
    let record = server.only_session();
    assert_eq!(record.user_name, "");
    assert_eq!(record.state, SessionState::Authenticating);
    c.login("bob", "bob-pw").await;
    assert_eq!(server.only_session().user_name, "bob");
    let pwd = c.expect("PWD", 257).await;
    assert!(
        pwd.text().starts_with("\"/\""),
        "REIN resets the directory: {pwd:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acct_is_not_needed() {
    let server = TestServer::start(&crate::support::config::standard()).await;
    let mut c = Client::connect(server.addr()).await;
    c.expect("ACCT billing", 202).await;
    c.login("alice", "alice-pw").await;
    c.expect("ACCT billing", 202).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssl_require_refuses_clear_text_logins_with_534() {
    let mut site = SiteXml::new("Test");
    site.ssl = None; // IIS default: SslRequire
    let server = TestServer::start(&ConfigXml::single(site).xml()).await;
    let mut c = Client::connect(server.addr()).await;
    c.expect("USER alice", 534).await;
    c.expect("USER anonymous", 534).await;
    c.expect("PWD", 530).await;
    // FEAT does not advertise AUTH TLS without a certificate, and AUTH TLS is refused.
    let feat = c.expect("FEAT", 211).await;
    assert!(!feat.contains("AUTH TLS"), "{feat:?}");
    // RFC 2228: 431, a resource (the certificate) is unavailable (IIS substatus 31).
    let auth = c.cmd("AUTH TLS").await;
    assert_eq!(auth.code, 431, "{auth:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_timeout_closes_with_421() {
    let server = TestServer::start(&with_ftp(
        r#"<connections unauthenticatedTimeout="1" controlChannelTimeout="120" />"#,
    ))
    .await;
    let started = Instant::now();
    let mut c = Client::connect(server.addr()).await;
    let id = server.only_session().session_id;
    c.expect("USER alice", 331).await;
    let replies = c.read_until_closed().await;
    let elapsed = started.elapsed();
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0].code, 421, "{replies:?}");
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(5),
        "closed after {elapsed:?}"
    );
    let ended = server.wait_ended(id).await;
    assert_eq!(ended.end_reason, EndReason::UnauthenticatedTimeout);
    assert_eq!(ended.end_reason.as_str(), "unauthenticatedTimeout");
    assert_eq!(ended.record.last_error_status, 421);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_timeout_does_not_apply_after_login() {
    let server = TestServer::start(&with_ftp(
        r#"<connections unauthenticatedTimeout="1" controlChannelTimeout="120" />"#,
    ))
    .await;
    let mut c = Client::connect(server.addr()).await;
    c.login("alice", "alice-pw").await;
    assert!(c.is_quiet(Duration::from_millis(1800)).await);
    c.expect("NOOP", 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_channel_timeout_closes_idle_sessions() {
    let server = TestServer::start(&with_ftp(
        r#"<connections controlChannelTimeout="2" unauthenticatedTimeout="60" />"#,
    ))
    .await;
    let mut c = Client::connect(server.addr()).await;
    let id = server.only_session().session_id;
    c.login("alice", "alice-pw").await;
    // Activity keeps it open past the timeout.
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(700)).await;
        c.expect("NOOP", 200).await;
    }
    let started = Instant::now();
    let replies = c.read_until_closed().await;
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0].code, 421);
    assert!(started.elapsed() < Duration::from_secs(5));
    let ended = server.wait_ended(id).await;
    assert_eq!(ended.end_reason, EndReason::ControlTimeout);
    assert_eq!(ended.record.user_name, "alice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_connections_refuses_with_the_configured_message() {
    let server = TestServer::start(&with_ftp(
        r#"<connections maxConnections="1" />
           <messages maxClientsMessage="Busy right now, come back later." />"#,
    ))
    .await;
    let mut first = Client::connect(server.addr()).await;
    first.login("alice", "alice-pw").await;
    let mut second = Client::connect_any(server.addr()).await;
    assert_eq!(second.banner.code, 421, "{:?}", second.banner);
    assert_eq!(second.banner.text(), "Busy right now, come back later.");
    assert!(second.read_until_closed().await.is_empty());
    assert_eq!(server.sessions().len(), 1);
    // The first session is unaffected; once it leaves, a new client gets in.
    first.expect("NOOP", 200).await;
    first.expect("QUIT", 221).await;
    server.wait_live(0).await;
    let mut third = Client::connect(server.addr()).await;
    third.login("bob", "bob-pw").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_expand_variables() {
    let server = TestServer::start(&with_ftp(
        r#"<messages expandVariables="true"
                     bannerMessage="Welcome to %SiteName%"
                     greetingMessage="Hello %UserName%, session %SessionID%"
                     exitMessage="Bye %UserName%, see you" />"#,
    ))
    .await;
    let mut c = Client::connect(server.addr()).await;
    assert!(c.banner.contains("Welcome to Test"), "{:?}", c.banner);
    assert!(
        c.banner.contains("Wharf"),
        "default banner kept: {:?}",
        c.banner
    );
    c.expect("USER alice", 331).await;
    let greeting = c.expect("PASS alice-pw", 230).await;
    let id = server.only_session().session_id;
    assert!(
        greeting.contains(&format!("Hello alice, session {id}")),
        "{greeting:?} (session {id})"
    );
    let bye = c.expect("QUIT", 221).await;
    assert!(bye.contains("Bye alice, see you"), "{bye:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_user_name_in_messages() {
    let server = TestServer::start(&with_ftp(
        r#"<messages expandVariables="true" greetingMessage="Hi %UserName%" />"#,
    ))
    .await;
    let mut c = Client::connect(server.addr()).await;
    let greeting = c.login("anonymous", "a@b").await;
    assert!(greeting.contains("Hi <Anonymous>"), "{greeting:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_without_expansion_and_suppressed_default_banner() {
    let server = TestServer::start(&with_ftp(
        r#"<messages suppressDefaultBanner="true"
                     bannerMessage="Only this %SiteName%" greetingMessage="Line one&#10;Line two" />"#,
    ))
    .await;
    let mut c = Client::connect(server.addr()).await;
    assert_eq!(c.banner.text(), "Only this %SiteName%", "{:?}", c.banner);
    assert!(!c.banner.contains("Wharf"));
    let greeting = c.login("alice", "alice-pw").await;
    assert!(
        greeting.lines.len() >= 3,
        "multi-line greeting: {greeting:?}"
    );
    assert!(greeting.contains("Line one") && greeting.contains("Line two"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_channel_timeout_does_not_count_transfer_time() {
    use tokio::io::AsyncWriteExt;
    let server = TestServer::start(&with_ftp(r#"<connections controlChannelTimeout="1" />"#)).await;
    let mut c = Client::connect(server.addr()).await;
    c.login("alice", "alice-pw").await;
    let addr = c.pasv().await;
    let mut data = crate::support::client::connect(addr).await;
    c.send_line("STOR slow.txt").await;
    c.expect_reply(150).await;
    // A 2.5-second upload: the control connection is quiet, the data connection is not.
    for _ in 0..10 {
        data.write_all(b"0123456789").await.unwrap();
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    drop(data);
    c.expect_reply(226).await;
    // The session was busy, not idle: it must still accept commands.
    c.expect("NOOP", 200).await;
    assert_eq!(
        std::fs::read(server.site_dir().join("slow.txt"))
            .unwrap()
            .len(),
        100
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_on_max_connections_resets_without_a_reply() {
    let server = TestServer::start(&with_ftp(
        r#"<connections maxConnections="1" resetOnMaxConnections="true" />"#,
    ))
    .await;
    let _first = Client::connect(server.addr()).await;
    // The server accepts and resets at once: the reset shows on connect or on the first read.
    let outcome = async {
        let mut stream = tokio::net::TcpStream::connect(server.addr()).await?;
        let mut buf = [0u8; 64];
        let n = tokio::io::AsyncReadExt::read(&mut stream, &mut buf).await?;
        Ok::<Vec<u8>, std::io::Error>(buf[..n].to_vec())
    };
    match tokio::time::timeout(Duration::from_secs(5), outcome)
        .await
        .expect("the refused connection is closed at once")
    {
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
        Ok(bytes) => panic!(
            "expected a reset, got {:?}",
            String::from_utf8_lossy(&bytes)
        ),
    }
    assert_eq!(server.sessions().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_keep_their_spaces_and_empty_ones_fail() {
    let server = TestServer::start(&crate::support::config::standard()).await;
    let mut c = Client::connect(server.addr()).await;
    c.expect("USER dave", 331).await;
    c.expect("PASS two words", 530).await;
    c.login("dave", "two words  and spaces").await;
    let mut c = Client::connect(server.addr()).await;
    c.expect("USER alice", 331).await;
    c.expect("PASS", 530).await;
    c.expect("USER alice", 331).await;
    c.expect("PASS ", 530).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_utf8_false_refuses_opts_utf8() {
    let server = TestServer::start(
        &ConfigXml::single({
            let mut s = SiteXml::new("Test");
            s.ftp_extra = String::new();
            s
        })
        .xml()
        .replace("<ftpServer>", r#"<ftpServer allowUTF8="false">"#),
    )
    .await;
    let mut c = Client::connect(server.addr()).await;
    let feat = c.expect("FEAT", 211).await;
    assert!(!feat.lines.iter().any(|l| l.trim() == "UTF8"), "{feat:?}");
    c.expect("OPTS UTF8 ON", 504).await;
}
