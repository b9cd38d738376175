//! Passive data ports: the configured range (`system.ftpServer/firewallSupport`) or the OS's.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};

use tokio::net::TcpListener;

/// Hands out passive listeners, cycling through the configured range.
#[derive(Debug)]
pub struct PassivePorts {
    range: Option<(u16, u16)>,
    next: AtomicU32,
}

impl PassivePorts {
    /// `range` = `(low, high)` inclusive, `None` to let the OS choose.
    pub fn new(range: Option<(u16, u16)>) -> PassivePorts {
        PassivePorts {
            range,
            next: AtomicU32::new(rand::random::<u32>()),
        }
    }

    /// Binds a listener on `ip`, trying each port of the range once starting after the
    /// last one handed out (so concurrent sessions spread over the range).
    pub async fn bind(&self, ip: IpAddr) -> io::Result<TcpListener> {
        let Some((low, high)) = self.range else {
            return TcpListener::bind(SocketAddr::new(ip, 0)).await;
        };
        let span = u32::from(high - low) + 1;
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        for i in 0..span {
            let port = low + ((start.wrapping_add(i)) % span) as u16;
            match TcpListener::bind(SocketAddr::new(ip, port)).await {
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
