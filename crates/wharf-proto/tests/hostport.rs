//! Tests for PORT/PASV/EPRT/EPSV codecs.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use wharf_proto::hostport::{format_eprt, format_epsv, format_pasv, parse_eprt, parse_port};

fn v4(a: u8, b: u8, c: u8, d: u8, port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::new(a, b, c, d), port)
}

fn v6(ip: &str, port: u16) -> SocketAddr {
    SocketAddr::V6(SocketAddrV6::new(ip.parse().unwrap(), port, 0, 0))
}

#[test]
fn parse_port_table() {
    let cases: &[(&str, Option<SocketAddrV4>)] = &[
        ("127,0,0,1,4,1", Some(v4(127, 0, 0, 1, 1025))),
        ("192,168,1,2,255,255", Some(v4(192, 168, 1, 2, 65535))),
        ("0,0,0,0,0,1", Some(v4(0, 0, 0, 0, 1))),
        ("10 , 0 ,0, 1,0 ,21", Some(v4(10, 0, 0, 1, 21))),
        (" 10,0,0,1,0,21 ", Some(v4(10, 0, 0, 1, 21))),
        ("010,000,000,001,000,021", Some(v4(10, 0, 0, 1, 21))),
        ("1,2,3,4,0,0", None),
        ("", None),
        (",,,,,", None),
        ("1,2,3,4,5", None),
        ("1,2,3,4,5,6,7", None),
        ("1,2,3,4,5,6,", None),
        ("256,0,0,1,0,21", None),
        ("1,2,3,4,5,256", None),
        ("1,2,3,4,5,0256", None),
        ("-1,2,3,4,5,6", None),
        ("+1,2,3,4,5,6", None),
        ("1,2,3,4,5,6x", None),
        ("1.2.3.4,5,6", None),
        ("a,b,c,d,e,f", None),
        ("1,2,3,4,5,99999999999999999999", None),
        ("(1,2,3,4,5,6)", None),
        ("1 2,3,4,5,6", None),
        ("١,2,3,4,5,6", None), // Arabic-Indic digit
    ];
    for (arg, expected) in cases {
        assert_eq!(parse_port(arg), *expected, "arg {arg:?}");
    }
}

#[test]
fn format_pasv_examples() {
    assert_eq!(
        format_pasv(Ipv4Addr::new(192, 168, 1, 2), 1025),
        "Entering Passive Mode (192,168,1,2,4,1)."
    );
    assert_eq!(
        format_pasv(Ipv4Addr::new(0, 0, 0, 0), 0),
        "Entering Passive Mode (0,0,0,0,0,0)."
    );
    assert_eq!(
        format_pasv(Ipv4Addr::new(255, 255, 255, 255), 65535),
        "Entering Passive Mode (255,255,255,255,255,255)."
    );
}

/// Extracts the `h1,...,p2` part of a 227 text.
fn pasv_inner(text: &str) -> &str {
    let start = text.find('(').unwrap() + 1;
    let end = text.find(')').unwrap();
    &text[start..end]
}

#[test]
fn pasv_port_round_trip() {
    let ips = [
        Ipv4Addr::new(0, 0, 0, 0),
        Ipv4Addr::new(127, 0, 0, 1),
        Ipv4Addr::new(10, 20, 30, 40),
        Ipv4Addr::new(255, 255, 255, 255),
        Ipv4Addr::new(1, 0, 255, 9),
    ];
    for ip in ips {
        for port in (1..=u16::MAX).step_by(97).chain([1, 255, 256, 65535]) {
            let text = format_pasv(ip, port);
            assert_eq!(
                parse_port(pasv_inner(&text)),
                Some(SocketAddrV4::new(ip, port)),
                "{text}"
            );
        }
    }
}

#[test]
fn parse_eprt_table() {
    let cases: &[(&str, Option<SocketAddr>)] = &[
        (
            "|1|132.235.1.2|6275|",
            Some(SocketAddr::V4(v4(132, 235, 1, 2, 6275))),
        ),
        (
            "|2|1080::8:800:200C:417A|5282|",
            Some(v6("1080::8:800:200C:417A", 5282)),
        ),
        ("|2|::1|65535|", Some(v6("::1", 65535))),
        ("|2|::ffff:1.2.3.4|21|", Some(v6("::ffff:1.2.3.4", 21))),
        ("!1!10.0.0.1!21!", Some(SocketAddr::V4(v4(10, 0, 0, 1, 21)))),
        ("#2#fe80::1#21#", Some(v6("fe80::1", 21))),
        (
            "  |1|10.0.0.1|21|  ",
            Some(SocketAddr::V4(v4(10, 0, 0, 1, 21))),
        ),
        (
            "|1|10.0.0.1|00021|",
            Some(SocketAddr::V4(v4(10, 0, 0, 1, 21))),
        ),
        ("|1|10.0.0.1|0|", None),
        ("|1|10.0.0.1|65536|", None),
        ("|1|10.0.0.1|-1|", None),
        ("|1|10.0.0.1|+21|", None),
        ("|1|10.0.0.1||", None),
        ("|1|10.0.0.1|21", None),
        ("1|10.0.0.1|21|", None),
        ("|1|10.0.0.1|21|x", None),
        ("|1|10.0.0.1|21||", None),
        ("|1|::1|21|", None),
        ("|2|10.0.0.1|21|", None),
        ("|3|10.0.0.1|21|", None),
        ("||10.0.0.1|21|", None),
        ("|1|256.0.0.1|21|", None),
        ("|1|10.0.0|21|", None),
        ("|2|fe80::1%eth0|21|", None),
        ("|2|[::1]|21|", None),
        ("1110.0.0.1121", None), // digit delimiter
        (" 1 10.0.0.1 21 ", None),
        ("\u{7f}1\u{7f}10.0.0.1\u{7f}21\u{7f}", None),
        ("é1é10.0.0.1é21é", None),
        ("", None),
        ("|", None),
        ("||", None),
        ("|||", None),
        ("||||", None),
        (".1.10.0.0.1.21.", None),
    ];
    for (arg, expected) in cases {
        assert_eq!(parse_eprt(arg), *expected, "arg {arg:?}");
    }
}

#[test]
fn format_eprt_and_epsv() {
    assert_eq!(
        format_eprt(SocketAddr::V4(v4(132, 235, 1, 2, 6275))),
        "|1|132.235.1.2|6275|"
    );
    assert_eq!(
        format_eprt(v6("1080:0:0:0:8:800:200C:417A", 5282)),
        "|2|1080::8:800:200c:417a|5282|"
    );
    assert_eq!(
        format_epsv(6446),
        "Entering Extended Passive Mode (|||6446|)"
    );
    assert_eq!(
        format_epsv(65535),
        "Entering Extended Passive Mode (|||65535|)"
    );
}

#[test]
fn eprt_round_trip() {
    let ips: Vec<std::net::IpAddr> = vec![
        Ipv4Addr::new(127, 0, 0, 1).into(),
        Ipv4Addr::new(0, 0, 0, 0).into(),
        Ipv4Addr::new(255, 255, 255, 255).into(),
        Ipv6Addr::LOCALHOST.into(),
        Ipv6Addr::UNSPECIFIED.into(),
        "2001:db8::ff00:42:8329".parse::<Ipv6Addr>().unwrap().into(),
        "::ffff:192.0.2.128".parse::<Ipv6Addr>().unwrap().into(),
        Ipv6Addr::new(
            0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff,
        )
        .into(),
    ];
    for ip in ips {
        for port in (1..=u16::MAX).step_by(89).chain([1, 65535]) {
            let addr = SocketAddr::new(ip, port);
            let text = format_eprt(addr);
            assert_eq!(parse_eprt(&text), Some(addr), "{text}");
        }
    }
}

#[test]
fn epsv_text_port_extracts() {
    for port in (1..=u16::MAX).step_by(251) {
        let text = format_epsv(port);
        let start = text.find("(|||").unwrap() + 4;
        let end = text.rfind("|)").unwrap();
        assert_eq!(text[start..end].parse::<u16>().unwrap(), port);
    }
}
