//! Passive data ports: the configured range (`system.ftpServer/firewallSupport`) or the OS's.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};

use tokio::net::{TcpListener, TcpSocket};

/// Hands out passive listeners, cycling through the configured range.
#[derive(Debug)]
pub struct PassivePorts {
    range: Option<(u16, u16)>,
    next: AtomicU32,
}

impl PassivePorts {
    /// `range` = `(low, high)` inclusive; `None` (IIS `0-0`) means the OS's ephemeral range.
    ///
    /// Even then the server picks the port itself instead of binding port 0: the kernel's
    /// search for a free port scans past every port in TIME_WAIT (a busy server leaves one
    /// per finished data connection) and costs ~1 ms with 15,000 of them, while binding a
    /// chosen port with SO_REUSEADDR costs microseconds.
    pub fn new(range: Option<(u16, u16)>) -> PassivePorts {
        let range = range.or_else(os_ephemeral_range);
        PassivePorts {
            range,
            next: AtomicU32::new(rand::random::<u32>()),
        }
    }

    /// Binds a listener on `ip`, trying each port of the range once starting after the
    /// last one handed out (so concurrent sessions spread over the range).
    pub async fn bind(&self, ip: IpAddr) -> io::Result<TcpListener> {
        let Some((low, high)) = self.range else {
            return listen(SocketAddr::new(ip, 0));
        };
        let span = u32::from(high - low) + 1;
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        for i in 0..span {
            let port = low + ((start.wrapping_add(i)) % span) as u16;
            match listen(SocketAddr::new(ip, port)) {
                Ok(l) => {
                    self.next
                        .store(start.wrapping_add(i + 1), Ordering::Relaxed);
                    return Ok(l);
                }
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            "every passive port of the configured range is in use",
        ))
    }
}

/// The kernel's ephemeral port range (Linux), where the OS would have picked a port.
fn os_ephemeral_range() -> Option<(u16, u16)> {
    let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    let mut parts = text.split_whitespace().map(str::parse::<u16>);
    match (parts.next(), parts.next()) {
        (Some(Ok(low)), Some(Ok(high))) if low <= high => Some((low, high)),
        _ => None,
    }
}

/// A passive listener with SO_REUSEADDR: the server closes each data connection first (end
/// of file in stream mode), so its passive ports pile up in TIME_WAIT; without the option
/// the kernel will not hand them out again for minutes, and a busy server (thousands of
/// small transfers a second) runs out of passive ports (425). TIME_WAIT only guards the old
/// 4-tuple, and a new data connection comes from a new client port.
fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    // One data connection is expected; a small backlog still lets a stray connection
    // (refused by matchClientAddressForPasv) wait beside the real one.
    socket.listen(8)
}
