//! Virtual hosts: several sites on one endpoint, chosen by `HOST` or `USER host|user`.

use std::path::Path;

use crate::support::config::{ConfigXml, SiteXml};
use crate::support::{Client, TestServer, write_file};

fn config(with_default: bool, global: &str) -> String {
    let alpha = SiteXml::new("Alpha")
        .id(1)
        .bindings(&["127.0.0.1:0:alpha.example"])
        .root("{ROOT}/alpha")
        .ftp(r#"<messages suppressDefaultBanner="true" bannerMessage="Alpha banner" />"#);
    let mut beta = SiteXml::new("Beta")
        .id(2)
        .bindings(&["127.0.0.1:0:beta.example"])
        .root("{ROOT}/beta")
        .ftp(r#"<messages suppressDefaultBanner="true" bannerMessage="Beta banner" />"#);
    beta.anonymous = false;
    let mut sites = vec![alpha, beta];
    if with_default {
        sites.push(
            SiteXml::new("Default")
                .id(3)
                .bindings(&["127.0.0.1:0:"])
                .ftp(r#"<messages suppressDefaultBanner="true" bannerMessage="Default banner" />"#),
        );
    }
    let mut cfg = ConfigXml::single(sites.remove(0));
    cfg.sites.extend(sites);
    cfg.global(global).xml()
}

fn setup(root: &Path) {
    write_file(root, "alpha/which.txt", b"alpha");
    write_file(root, "beta/which.txt", b"beta");
    write_file(root, "site/which.txt", b"default");
}

async fn start(with_default: bool) -> TestServer {
    let server = TestServer::start_with(&config(with_default, ""), setup).await;
    assert_eq!(
        server.endpoints().len(),
        1,
        "all sites share one listening socket: {:?}",
        server.endpoints()
    );
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_command_chooses_the_site() {
    let server = start(true).await;
    let mut c = Client::connect(server.addr()).await;
    assert_eq!(c.banner.text(), "Default banner");
    assert_eq!(server.only_session().site_name, "Default");
    let r = c.expect("HOST alpha.example", 220).await;
    assert_eq!(
        r.text(),
        "Alpha banner",
        "HOST answers with the chosen site's banner"
    );
    let record = server.only_session();
    assert_eq!(record.site_name, "Alpha");
    assert_eq!(record.host_name, "alpha.example");
    c.login("alice", "alice-pw").await;
    assert_eq!(c.retr("which.txt").await, b"alpha");
    let alpha = server.registry().sessions(Some("Alpha"));
    assert_eq!(alpha.len(), 1);
    assert_eq!(alpha[0].user_name, "alice");
    assert_eq!(alpha[0].host_name, "alpha.example");
    assert!(server.registry().sessions(Some("Default")).is_empty());
    // After login HOST is refused.
    c.expect("HOST beta.example", 503).await;
    assert_eq!(c.retr("which.txt").await, b"alpha");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_is_case_insensitive() {
    let server = start(true).await;
    let mut c = Client::connect(server.addr()).await;
    c.expect("HOST BETA.Example", 220).await;
    assert_eq!(server.only_session().host_name, "beta.example");
    c.login("bob", "bob-pw").await;
    assert_eq!(c.retr("which.txt").await, b"beta");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_host_bar_user_chooses_the_site() {
    let server = start(true).await;
    let mut c = Client::connect(server.addr()).await;
    c.expect("USER beta.example|alice", 331).await;
    c.expect("PASS alice-pw", 230).await;
    assert_eq!(c.retr("which.txt").await, b"beta");
    let record = server.only_session();
    assert_eq!(record.site_name, "Beta");
    assert_eq!(record.host_name, "beta.example");
    assert_eq!(record.user_name, "alice");
    assert_eq!(server.registry().sessions(Some("Beta")).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_hosts_are_refused() {
    let server = start(true).await;
    let mut c = Client::connect(server.addr()).await;
    c.expect("HOST gamma.example", 504).await;
    assert_eq!(server.only_session().site_name, "Default");
    c.expect("USER gamma.example|alice", 331).await;
    c.expect("PASS alice-pw", 530).await;
    // The connection still works and can choose a real host.
    c.expect("HOST alpha.example", 220).await;
    c.login("alice", "alice-pw").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_host_uses_the_host_less_binding() {
    let server = start(true).await;
    let mut c = Client::connect(server.addr()).await;
    c.login("alice", "alice-pw").await;
    assert_eq!(c.retr("which.txt").await, b"default");
    assert_eq!(server.only_session().site_name, "Default");
    assert_eq!(server.only_session().host_name, "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_host_named_bindings_need_a_host() {
    let server = start(false).await;
    let mut c = Client::connect(server.addr()).await;
    c.expect("USER alice", 331).await;
    c.expect("PASS alice-pw", 530).await;
    c.login("alpha.example|alice", "alice-pw").await;
    assert_eq!(c.retr("which.txt").await, b"alpha");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_come_from_the_chosen_site() {
    let server = start(true).await;
    // Beta refuses anonymous logins, Alpha allows them.
    let mut c = Client::connect(server.addr()).await;
    c.expect("HOST beta.example", 220).await;
    c.expect("USER anonymous", 331).await;
    c.expect("PASS a@b", 530).await;
    let mut c = Client::connect(server.addr()).await;
    c.expect("HOST alpha.example", 220).await;
    c.login("anonymous", "a@b").await;
    assert_eq!(c.retr("which.txt").await, b"alpha");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rein_forgets_the_host() {
    let server = start(true).await;
    let mut c = Client::connect(server.addr()).await;
    c.expect("HOST alpha.example", 220).await;
    c.login("alice", "alice-pw").await;
    c.expect("REIN", 220).await;
    let record = server.only_session();
    assert_eq!(record.site_name, "Default");
    assert_eq!(record.host_name, "");
    c.login("alice", "alice-pw").await;
    assert_eq!(c.retr("which.txt").await, b"default");
    // A different host may be chosen now.
    c.expect("REIN", 220).await;
    c.expect("HOST beta.example", 220).await;
    c.login("alice", "alice-pw").await;
    assert_eq!(c.retr("which.txt").await, b"beta");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn domain_style_host_backslash_user() {
    let xml = config(
        true,
        r#"<serverRuntime><hostNameSupport useDomainNameAsHostName="true" /></serverRuntime>"#,
    );
    let server = TestServer::start_with(&xml, setup).await;
    let mut c = Client::connect(server.addr()).await;
    c.login("alpha.example\\alice", "alice-pw").await;
    assert_eq!(c.retr("which.txt").await, b"alpha");
    assert_eq!(server.only_session().site_name, "Alpha");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_connections_counts_per_chosen_site() {
    let alpha = SiteXml::new("Alpha")
        .id(1)
        .bindings(&["127.0.0.1:0:alpha.example"])
        .root("{ROOT}/alpha")
        .ftp(r#"<connections maxConnections="5" />"#);
    let default = SiteXml::new("Default")
        .id(3)
        .bindings(&["127.0.0.1:0:"])
        .ftp(r#"<connections maxConnections="1" />"#);
    let mut cfg = ConfigXml::single(default);
    cfg.sites.push(alpha);
    let server = TestServer::start_with(&cfg.xml(), setup).await;
    // The first connection moves to Alpha, freeing the Default slot for the next one.
    let mut a = Client::connect(server.addr()).await;
    a.expect("HOST alpha.example", 220).await;
    let mut b = Client::connect(server.addr()).await;
    b.login("bob", "bob-pw").await;
    let mut refused = Client::connect_any(server.addr()).await;
    assert_eq!(refused.banner.code, 421);
    a.login("alice", "alice-pw").await;
    assert_eq!(a.retr("which.txt").await, b"alpha");
    drop(refused.read_until_closed().await);
}
