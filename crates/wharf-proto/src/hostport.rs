//! PORT/PASV (RFC 959) and EPRT/EPSV (RFC 2428) argument codecs, both directions.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

/// Parses `h1,h2,h3,h4,p1,p2`.
pub fn parse_port(arg: &str) -> Option<SocketAddrV4> {
    let _ = arg;
    todo!()
}

/// Formats the 227 text: `Entering Passive Mode (h1,h2,h3,h4,p1,p2).`
pub fn format_pasv(ip: Ipv4Addr, port: u16) -> String {
    let _ = (ip, port);
    todo!()
}

/// Parses `<d>proto<d>addr<d>port<d>` where `<d>` is any printable ASCII delimiter
/// (normally `|`); proto 1 = IPv4, 2 = IPv6.
pub fn parse_eprt(arg: &str) -> Option<SocketAddr> {
    let _ = arg;
    todo!()
}

/// Formats the 229 text: `Entering Extended Passive Mode (|||port|)`.
pub fn format_epsv(port: u16) -> String {
    let _ = port;
    todo!()
}

/// Formats an EPRT argument for `addr` (used by tests and clients).
pub fn format_eprt(addr: SocketAddr) -> String {
    let _ = addr;
    todo!()
}
