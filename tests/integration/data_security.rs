//! Data-channel security: PORT/EPRT bounce protection, passive-port theft, the TLS data
//! policy of a build without TLS, and IPv6 data connections.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpSocket};

use crate::support::client::{DataMode, connect, eprt_arg};
use crate::support::config::{ConfigXml, SiteXml};
use crate::support::{Client, TestServer, pattern, standard_login, write_file};

const OTHER_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn port_to_a_foreign_address_is_refused() {
    let (_server, mut c) = standard_login().await;
    c.expect("PORT 127,0,0,2,200,0", 504).await;
    c.expect("PORT 10,0,0,1,200,0", 504).await;
    c.expect("EPRT |1|127.0.0.2|51200|", 504).await;
    c.expect("EPRT |2|::1|51200|", 504).await;
    // No data connection was set up by the refused commands.
    write_file(&_server.site_dir(), "f.txt", b"x");
    c.expect("RETR f.txt", 425).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn port_to_a_privileged_port_is_refused() {
    let (_server, mut c) = standard_login().await;
    c.expect("PORT 127,0,0,1,0,21", 504).await;
    c.expect("PORT 127,0,0,1,3,255", 504).await; // 1023
    c.expect("EPRT |1|127.0.0.1|80|", 504).await;
    c.expect("PORT 127,0,0,1,4,0", 200).await; // 1024 is fine
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn match_client_address_for_port_false_allows_third_party_targets() {
    let mut site = SiteXml::new("Test");
    site.security_extra =
        r#"<dataChannelSecurity matchClientAddressForPort="false" />"#.to_string();
    let server = TestServer::start(&ConfigXml::single(site).xml()).await;
    write_file(&server.site_dir(), "f.txt", b"to another address");
    let mut c = Client::connect(server.addr()).await;
    c.login("alice", "alice-pw").await;
    let listener = TcpListener::bind(SocketAddr::new(OTHER_IP.into(), 0))
        .await
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    c.expect(
        &format!("PORT 127,0,0,2,{},{}", port >> 8, port & 0xff),
        200,
    )
    .await;
    c.send_line("RETR f.txt").await;
    c.expect_reply(150).await;
    let (mut s, peer) = listener.accept().await.unwrap();
    assert!(peer.ip().is_loopback());
    let mut got = Vec::new();
    s.read_to_end(&mut got).await.unwrap();
    assert_eq!(got, b"to another address");
    c.expect_reply(226).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passive_port_theft_is_dropped() {
    let (server, mut c) = standard_login().await;
    let data = pattern(100_000, 9);
    write_file(&server.site_dir(), "f.bin", &data);
    c.expect("TYPE I", 200).await;
    let addr = c.pasv().await;
    // The thief connects first, from another address.
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(OTHER_IP.into(), 0)).unwrap();
    let mut thief = socket.connect(addr).await.unwrap();
    let mut real = connect(addr).await;
    c.send_line("RETR f.bin").await;
    c.expect_reply(150).await;
    let mut got = Vec::new();
    real.read_to_end(&mut got).await.unwrap();
    assert!(got == data, "the real client gets the file");
    c.expect_reply(226).await;
    let mut stolen = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        thief.read_to_end(&mut stolen),
    )
    .await
    .expect("the thief's connection is closed");
    assert!(stolen.is_empty(), "the thief got {} bytes", stolen.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passive_from_another_address_in_the_same_session_waits_for_the_client() {
    // A stolen-and-dropped connection does not use up the passive port: an upload works too.
    let (server, mut c) = standard_login().await;
    let addr = c.pasv().await;
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(OTHER_IP.into(), 0)).unwrap();
    let _thief = socket.connect(addr).await.unwrap();
    c.send_line("STOR up.txt").await;
    c.expect_reply(150).await;
    let mut real = connect(addr).await;
    tokio::io::AsyncWriteExt::write_all(&mut real, b"mine")
        .await
        .unwrap();
    drop(real);
    c.expect_reply(226).await;
    assert_eq!(
        std::fs::read(server.site_dir().join("up.txt")).unwrap(),
        b"mine"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_channel_ssl_require_refuses_transfers_with_521() {
    let mut site = SiteXml::new("Test");
    site.ssl = Some(
        r#"<ssl controlChannelPolicy="SslAllow" dataChannelPolicy="SslRequire" />"#.to_string(),
    );
    let server = TestServer::start(&ConfigXml::single(site).xml()).await;
    write_file(&server.site_dir(), "f.txt", b"x");
    let mut c = Client::connect(server.addr()).await;
    c.login("alice", "alice-pw").await;
    for line in [
        "RETR f.txt",
        "LIST",
        "NLST",
        "MLSD",
        "STOR new.txt",
        "APPE f.txt",
    ] {
        let r = c.refused_data_cmd(line).await;
        assert_eq!(r.code, 521, "{line} → {r:?}");
    }
    assert!(!server.site_dir().join("new.txt").exists());
    assert_eq!(
        std::fs::read(server.site_dir().join("f.txt")).unwrap(),
        b"x"
    );
    // Control-channel commands still work.
    c.expect("SIZE f.txt", 213).await;
    c.expect("MKD d", 257).await;
}

fn ipv6_available() -> bool {
    std::net::TcpListener::bind("[::1]:0").is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_epsv_and_eprt() {
    if !ipv6_available() {
        eprintln!("skipped: ::1 is not available on this machine");
        return;
    }
    let site = SiteXml::new("Test").bindings(&["[::1]:0:"]);
    let server = TestServer::start(&ConfigXml::single(site).xml()).await;
    let addr = server.addr();
    assert_eq!(addr.ip(), IpAddr::from(std::net::Ipv6Addr::LOCALHOST));
    let data = pattern(200_000, 6);
    write_file(&server.site_dir(), "v6.bin", &data);
    let mut c = Client::connect(addr).await;
    c.login("alice", "alice-pw").await;
    let record = server.only_session();
    assert_eq!(record.client_ip.to_string(), "::1");
    assert_eq!(record.server_ip.to_string(), "::1");
    c.expect("TYPE I", 200).await;
    assert!(c.download_with(DataMode::Epsv, "RETR v6.bin").await == data);
    c.upload_with(DataMode::Eprt, "STOR up6.bin", &data).await;
    assert!(std::fs::read(server.site_dir().join("up6.bin")).unwrap() == data);
    assert!(c.download_with(DataMode::Eprt, "RETR up6.bin").await == data);
    c.expect("EPSV 2", 229).await;
    c.expect("EPSV 1", 522).await;
    let r = c.cmd("PASV").await;
    assert!(
        r.code >= 400,
        "PASV on IPv6 cannot advertise an address: {r:?}"
    );
    // EPRT to an IPv4 address from an IPv6 client is a foreign address.
    c.expect("EPRT |1|127.0.0.1|50000|", 504).await;
    let me = SocketAddr::new(c.local.ip(), 80);
    c.expect(&format!("EPRT {}", eprt_arg(me)), 504).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_ip4_address_is_advertised_by_pasv() {
    let server = TestServer::start(&crate::support::config::with_ftp(
        r#"<firewallSupport externalIp4Address="198.51.100.20" />"#,
    ))
    .await;
    write_file(&server.site_dir(), "f.txt", b"behind NAT");
    let mut c = Client::connect(server.addr()).await;
    c.login("alice", "alice-pw").await;
    let advertised = c.pasv().await;
    assert_eq!(
        advertised.ip(),
        IpAddr::from(Ipv4Addr::new(198, 51, 100, 20))
    );
    // The port is real: the client reaches it on the address it used for control.
    let mut data = connect(SocketAddr::new(c.peer.ip(), advertised.port())).await;
    c.send_line("RETR f.txt").await;
    c.expect_reply(150).await;
    let mut got = Vec::new();
    data.read_to_end(&mut got).await.unwrap();
    assert_eq!(got, b"behind NAT");
    c.expect_reply(226).await;
    // EPSV carries no address and is unaffected.
    assert!(c.download_with(DataMode::Epsv, "RETR f.txt").await == b"behind NAT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passive_ports_come_from_the_configured_range() {
    // A range unlikely to be in use: ten ports somewhere in 40000..60000.
    let low = 40_000 + (std::process::id() % 2000) as u16 * 10;
    let high = low + 9;
    let xml = ConfigXml::single(SiteXml::new("Test"))
        .global(&format!(
            r#"<firewallSupport lowDataChannelPort="{low}" highDataChannelPort="{high}" />"#
        ))
        .xml();
    let server = TestServer::start(&xml).await;
    write_file(&server.site_dir(), "f.txt", b"ranged");
    let mut c = Client::connect(server.addr()).await;
    c.login("alice", "alice-pw").await;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..12 {
        let addr = c.pasv().await;
        assert!(
            (low..=high).contains(&addr.port()),
            "{} not in {low}-{high}",
            addr.port()
        );
        seen.insert(addr.port());
        let port = c.epsv().await.port();
        assert!((low..=high).contains(&port), "{port} not in {low}-{high}");
    }
    assert!(seen.len() > 1, "the range is cycled through: {seen:?}");
    assert_eq!(c.retr("f.txt").await, b"ranged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unused_passive_port_is_closed_by_the_next_one() {
    let (server, mut c) = standard_login().await;
    write_file(&server.site_dir(), "f.txt", b"x");
    let first = c.pasv().await;
    let second = c.pasv().await;
    assert_ne!(first.port(), second.port());
    assert!(
        tokio::net::TcpStream::connect(first).await.is_err(),
        "the first passive listener no longer accepts"
    );
    // After a transfer its passive port is closed too.
    let mut data = connect(second).await;
    c.send_line("RETR f.txt").await;
    c.expect_reply(150).await;
    let mut got = Vec::new();
    data.read_to_end(&mut got).await.unwrap();
    c.expect_reply(226).await;
    assert!(tokio::net::TcpStream::connect(second).await.is_err());
    c.expect("RETR f.txt", 425).await;
}
