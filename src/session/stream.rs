//! The control connection: a TCP stream that AUTH TLS (or implicit FTPS) upgrades in place
//! and CCC returns to clear text.
//!
//! Used unsplit: the control loop reads only inside its `select!` and writes outside it.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// A control connection in clear text or TLS.
#[derive(Debug, Default)]
pub enum ControlStream {
    /// Clear text.
    Plain(TcpStream),
    /// After AUTH TLS or on an implicit-TLS binding.
    Tls(Box<TlsStream<TcpStream>>),
    /// Between states (a failed handshake leaves it here; the session then ends).
    #[default]
    Closed,
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "control connection closed")
}

impl ControlStream {
    /// True once TLS protects the channel.
    pub fn is_tls(&self) -> bool {
        matches!(self, ControlStream::Tls(_))
    }

    /// Reads what a clear-text connection already holds, without waiting: `None` when
    /// nothing is there (or on TLS).
    ///
    /// Linux ends a read just before the TCP urgent mark even when more bytes are queued,
    /// and tokio takes any short read as "drained" and waits for the next readiness edge,
    /// which never comes if the client sent everything already: an ABOR sent behind urgent
    /// data (RFC 959 §4.1.3) would sit unread until the client's next line. The control
    /// loop therefore looks again, once, after every read.
    pub fn read_queued(&mut self, buf: &mut [u8]) -> Option<io::Result<usize>> {
        let ControlStream::Plain(tcp) = self else {
            return None;
        };
        match rustix::net::recv(&*tcp, buf, rustix::net::RecvFlags::DONTWAIT) {
            Ok((n, _)) => Some(Ok(n)),
            Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => None,
            Err(e) => Some(Err(e.into())),
        }
    }

    /// The TLS connection state, when protected.
    pub fn tls(&self) -> Option<&rustls::ServerConnection> {
        match self {
            ControlStream::Tls(s) => Some(s.get_ref().1),
            _ => None,
        }
    }

    /// Runs the server side of a TLS handshake on a clear-text channel (AUTH TLS, or the
    /// start of an implicit-TLS connection). On failure the stream is left closed.
    pub async fn upgrade(&mut self, config: Arc<ServerConfig>, limit: Duration) -> io::Result<()> {
        let ControlStream::Plain(tcp) = std::mem::take(self) else {
            return Err(io::Error::other("the control connection is not clear text"));
        };
        let accept = TlsAcceptor::from(config).accept(tcp);
        match tokio::time::timeout(limit, accept).await {
            Ok(Ok(tls)) => {
                *self = ControlStream::Tls(Box::new(tls));
                Ok(())
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "TLS handshake timed out",
            )),
        }
    }

    /// CCC (RFC 4217 §6): ends TLS on the control connection and continues on the bare
    /// TCP stream.
    ///
    /// Clients differ: lftp and Python close TLS themselves and wait for the server's
    /// close_notify; curl's default CCC mode just goes on in clear text; curl's active mode
    /// waits for the server to start. So the server listens first: a TLS record means the
    /// client is closing (records are consumed whole until its close_notify, then the
    /// server answers with its own); a byte that cannot start a TLS record is the first
    /// clear-text command (left for the control loop, and no close_notify is sent into a
    /// clear-text stream); silence for [`CCC_CLIENT_FIRST`] means the client waits for
    /// the server, which then sends close_notify and keeps listening. Sending close_notify
    /// right behind the 200 reply would make a client that is still reading TLS take it
    /// as the end of the connection. `limit` bounds the whole exchange.
    pub async fn downgrade(&mut self, limit: Duration) -> io::Result<()> {
        let ControlStream::Tls(tls) = std::mem::take(self) else {
            return Err(io::Error::other("the control connection is not TLS"));
        };
        let (mut tcp, mut conn) = (*tls).into_inner();
        let result = tokio::time::timeout(limit, async {
            let mut sent_close = false;
            loop {
                let mut first = [0u8; 1];
                let peeked = if sent_close {
                    tcp.peek(&mut first).await?
                } else {
                    match tokio::time::timeout(CCC_CLIENT_FIRST, tcp.peek(&mut first)).await {
                        Ok(peeked) => peeked?,
                        Err(_) => {
                            send_close_notify(&mut conn, &mut tcp).await?;
                            sent_close = true;
                            continue;
                        }
                    }
                };
                if peeked == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the client closed the connection after CCC",
                    ));
                }
                // TLS content types: 20 change_cipher_spec, 21 alert, 22 handshake,
                // 23 application_data. FTP commands start with a letter.
                if !(20..=23).contains(&first[0]) {
                    return Ok(());
                }
                let mut header = [0u8; 5];
                tcp.read_exact(&mut header).await?;
                let len = u16::from_be_bytes([header[3], header[4]]) as usize;
                let mut record = vec![0u8; 5 + len];
                record[..5].copy_from_slice(&header);
                tcp.read_exact(&mut record[5..]).await?;
                let mut slice = &record[..];
                while !slice.is_empty() {
                    conn.read_tls(&mut slice)?;
                }
                let state = conn
                    .process_new_packets()
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                if state.peer_has_closed() {
                    if !sent_close {
                        send_close_notify(&mut conn, &mut tcp).await?;
                    }
                    return Ok::<(), io::Error>(());
                }
                // Discard any application data that arrives before close_notify.
                let mut sink = Vec::new();
                let _ = io::Read::read_to_end(&mut conn.reader(), &mut sink);
            }
        })
        .await;
        match result {
            Ok(Ok(())) => {
                *self = ControlStream::Plain(tcp);
                Ok(())
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client did not close TLS after CCC",
            )),
        }
    }
}

/// How long CCC waits for the client to close TLS (or speak clear text) before the server
/// sends its own close_notify first.
const CCC_CLIENT_FIRST: Duration = Duration::from_millis(500);

/// Sends the server's close_notify on the bare TCP stream.
async fn send_close_notify(
    conn: &mut rustls::ServerConnection,
    tcp: &mut TcpStream,
) -> io::Result<()> {
    conn.send_close_notify();
    while conn.wants_write() {
        let mut out = Vec::new();
        conn.write_tls(&mut out)?;
        tcp.write_all(&out).await?;
    }
    tcp.flush().await
}

impl AsyncRead for ControlStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ControlStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            ControlStream::Tls(s) => Pin::new(&mut **s).poll_read(cx, buf),
            ControlStream::Closed => Poll::Ready(Err(closed())),
        }
    }
}

impl AsyncWrite for ControlStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ControlStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            ControlStream::Tls(s) => Pin::new(&mut **s).poll_write(cx, buf),
            ControlStream::Closed => Poll::Ready(Err(closed())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ControlStream::Plain(s) => Pin::new(s).poll_flush(cx),
            ControlStream::Tls(s) => Pin::new(&mut **s).poll_flush(cx),
            ControlStream::Closed => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ControlStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            ControlStream::Tls(s) => Pin::new(&mut **s).poll_shutdown(cx),
            ControlStream::Closed => Poll::Ready(Ok(())),
        }
    }
}
