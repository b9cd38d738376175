//! PORT/PASV (RFC 959) and EPRT/EPSV (RFC 2428) argument codecs, both directions.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// Parses `h1,h2,h3,h4,p1,p2`.
///
/// Each field is one to three ASCII digits with a value of at most 255; whitespace
/// around the fields is tolerated. Port 0 is refused (`None`), as is anything else
/// that is not exactly six such fields.
pub fn parse_port(arg: &str) -> Option<SocketAddrV4> {
    let mut fields = [0u8; 6];
    let mut parts = arg.split(',');
    for field in &mut fields {
        *field = parse_byte(parts.next()?.trim())?;
    }
    if parts.next().is_some() {
        return None;
    }
    let [a, b, c, d, p1, p2] = fields;
    let port = u16::from_be_bytes([p1, p2]);
    if port == 0 {
        return None;
    }
    Some(SocketAddrV4::new(Ipv4Addr::new(a, b, c, d), port))
}

/// One to three ASCII digits, value 0..=255.
fn parse_byte(s: &str) -> Option<u8> {
    if s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Formats the 227 text: `Entering Passive Mode (h1,h2,h3,h4,p1,p2).`
pub fn format_pasv(ip: Ipv4Addr, port: u16) -> String {
    let [a, b, c, d] = ip.octets();
    let [p1, p2] = port.to_be_bytes();
    format!("Entering Passive Mode ({a},{b},{c},{d},{p1},{p2}).")
}

/// Parses `<d>proto<d>addr<d>port<d>` where `<d>` is any printable ASCII delimiter
/// (normally `|`); proto 1 = IPv4, 2 = IPv6.
///
/// The delimiter must be printable ASCII (33..=126) and not a digit; the address must
/// match the protocol (dotted quad for 1, RFC 4291 text without zone for 2) and the
/// port must be decimal 1..=65535. Surrounding whitespace is tolerated.
pub fn parse_eprt(arg: &str) -> Option<SocketAddr> {
    let arg = arg.trim();
    let d = arg.chars().next()?;
    if !d.is_ascii_graphic() || d.is_ascii_digit() {
        return None;
    }
    let inner = arg[1..].strip_suffix(d)?;
    let mut fields = inner.split(d);
    let (proto, addr, port) = (fields.next()?, fields.next()?, fields.next()?);
    if fields.next().is_some() {
        return None;
    }
    if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let port: u16 = port.parse().ok()?;
    if port == 0 {
        return None;
    }
    match proto {
        "1" => {
            let ip: Ipv4Addr = addr.parse().ok()?;
            Some(SocketAddr::V4(SocketAddrV4::new(ip, port)))
        }
        "2" => {
            let ip: Ipv6Addr = addr.parse().ok()?;
            Some(SocketAddr::V6(SocketAddrV6::new(ip, port, 0, 0)))
        }
        _ => None,
    }
}

/// Formats the 229 text: `Entering Extended Passive Mode (|||port|)`.
pub fn format_epsv(port: u16) -> String {
    format!("Entering Extended Passive Mode (|||{port}|)")
}

/// Formats an EPRT argument for `addr` (used by tests and clients).
///
/// `|1|a.b.c.d|port|` or `|2|ipv6|port|` (IPv6 in RFC 5952 compressed form; scope
/// and flow information are not representable and are dropped).
pub fn format_eprt(addr: SocketAddr) -> String {
    match addr.ip() {
        IpAddr::V4(ip) => format!("|1|{ip}|{}|", addr.port()),
        IpAddr::V6(ip) => format!("|2|{ip}|{}|", addr.port()),
    }
}
