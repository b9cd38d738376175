//! The loopback ceiling: how fast this machine moves a file into a loopback TCP socket with
//! sendfile(2) while a reader on the other end discards into a reused buffer. No FTP server
//! sending with sendfile can serve a download faster than this on the same machine.

#![allow(unsafe_code)]

use std::fs::File;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::json::Obj;

/// How the ceiling fills the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// One `sendfile(2)` call for the whole file.
    Sendfile,
    /// `sendfile(2)` in 1 MiB calls under `TCP_CORK` (only full segments leave), as proftpd
    /// and Wharf send large files.
    CorkedSendfile,
    /// read(2) into a reused buffer and write(2) to the socket: the path of a server without
    /// zero-copy.
    Copy,
}

/// Runs one pass over the whole file with `method`.
pub fn run(file: &Path, buffer: usize, method: Method) -> Result<Obj> {
    let f = File::open(file).with_context(|| format!("open {}", file.display()))?;
    let size = f.metadata()?.len();
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let reader = std::thread::spawn(move || -> std::io::Result<u64> {
        let (mut s, _) = listener.accept()?;
        let mut buf = vec![0u8; buffer];
        let mut total = 0u64;
        loop {
            let n = s.read(&mut buf)?;
            if n == 0 {
                return Ok(total);
            }
            total += n as u64;
        }
    });
    let sock = TcpStream::connect(addr)?;
    let start = Instant::now();
    let mut offset: libc::off_t = 0;
    let mut left = size;
    if method == Method::Copy {
        let mut sock = sock;
        let mut f = f;
        let mut buf = vec![0u8; buffer];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            std::io::Write::write_all(&mut sock, &buf[..n])?;
        }
        drop(sock);
        return finish(reader, start, size);
    }
    let most = if method == Method::CorkedSendfile {
        set_cork(&sock)?;
        1 << 20
    } else {
        1 << 30
    };
    while left > 0 {
        let chunk = left.min(most) as usize;
        // SAFETY: both descriptors are open for the duration of the call and `offset`
        // is a valid, exclusively borrowed off_t.
        let n = unsafe { libc::sendfile(sock.as_raw_fd(), f.as_raw_fd(), &mut offset, chunk) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e).context("sendfile");
        }
        if n == 0 {
            bail!("sendfile: unexpected end of file at {offset}");
        }
        left -= n as u64;
    }
    drop(sock);
    finish(reader, start, size)
}

fn set_cork(sock: &TcpStream) -> Result<()> {
    let one: libc::c_int = 1;
    // SAFETY: the descriptor is open, and the option value is a valid c_int of the size given.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_CORK,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error()).context("setsockopt TCP_CORK");
    }
    Ok(())
}

/// The upload ceiling: a sender writes `size` bytes from a reused buffer into a loopback
/// socket; the receiver reads into a reused buffer and writes each chunk to `dest` (as the
/// simplest possible STOR server would), then fsyncs nothing and removes the file. With no
/// `dest` (the sink ceiling) the receiver only reads: no server storing the bytes can
/// receive them faster from this sender.
pub fn upload(dest: Option<&Path>, size: u64, buffer: usize) -> Result<Obj> {
    use std::io::Write;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let dest_path = dest.map(Path::to_path_buf);
    let start = Instant::now();
    let receiver = std::thread::spawn(move || -> std::io::Result<u64> {
        let (mut s, _) = listener.accept()?;
        let mut out = match &dest_path {
            Some(path) => Some(File::create(path)?),
            None => None,
        };
        let mut buf = vec![0u8; buffer];
        let mut total = 0u64;
        loop {
            let n = s.read(&mut buf)?;
            if n == 0 {
                return Ok(total);
            }
            if let Some(out) = &mut out {
                out.write_all(&buf[..n])?;
            }
            total += n as u64;
        }
    });
    let mut sock = TcpStream::connect(addr)?;
    let buf = vec![0u8; buffer];
    let mut left = size;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        sock.write_all(&buf[..n])?;
        left -= n as u64;
    }
    drop(sock);
    let r = finish(receiver, start, size);
    if let Some(dest) = dest {
        let _ = std::fs::remove_file(dest);
    }
    r
}

fn finish(
    reader: std::thread::JoinHandle<std::io::Result<u64>>,
    start: Instant,
    size: u64,
) -> Result<Obj> {
    let got = reader
        .join()
        .map_err(|_| anyhow::anyhow!("reader thread panicked"))??;
    let secs = start.elapsed().as_secs_f64();
    if got != size {
        bail!("reader got {got} of {size} bytes");
    }
    Ok(Obj::new()
        .bool("ok", true)
        .int("bytes", got)
        .num("secs", secs)
        .num("mib_s", got as f64 / secs / 1048576.0))
}
