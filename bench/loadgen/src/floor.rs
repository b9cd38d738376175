//! The small-file floor: a minimal FTP server that does the least any server must do for
//! the 4 KiB RETR scenario, so its rate bounds every real server's on this machine.
//!
//! One blocking thread per session (the fewest system calls per exchange: no readiness
//! polling), every login accepted without checking, one passive listener per session
//! bound once and reused, and the "file" a static 4 KiB buffer (no file system at all).
//! What is left per file is what the protocol itself costs: EPSV and its reply, the data
//! connection's handshake, RETR, 150, 4 KiB, the close, 226.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;

use anyhow::Result;

/// Starts the floor server on a loopback port (threads run until the process exits) and
/// returns its control address.
pub fn start(file_size: usize) -> Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let payload: &'static [u8] = Box::leak(vec![b'x'; file_size].into_boxed_slice());
    thread::spawn(move || {
        for control in listener.incoming().flatten() {
            thread::spawn(move || {
                let _ = session(control, payload);
            });
        }
    });
    Ok(addr)
}

fn session(control: TcpStream, payload: &'static [u8]) -> std::io::Result<()> {
    control.set_nodelay(true)?;
    let mut out = control.try_clone()?;
    let mut lines = BufReader::new(control);
    out.write_all(b"220 floor\r\n")?;
    let mut passive: Option<TcpListener> = None;
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let verb = line
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        match verb.as_str() {
            "USER" => out.write_all(b"331 any password\r\n")?,
            "PASS" => out.write_all(b"230 in\r\n")?,
            "EPSV" => {
                if passive.is_none() {
                    passive = Some(TcpListener::bind("127.0.0.1:0")?);
                }
                let port = passive
                    .as_ref()
                    .map_or(0, |l| l.local_addr().map_or(0, |a| a.port()));
                write!(out, "229 Entering Extended Passive Mode (|||{port}|)\r\n")?;
            }
            "RETR" => {
                let Some(listener) = &passive else {
                    out.write_all(b"425 no EPSV\r\n")?;
                    continue;
                };
                out.write_all(b"150 data\r\n")?;
                let (mut data, _) = listener.accept()?;
                data.write_all(payload)?;
                drop(data);
                out.write_all(b"226 done\r\n")?;
            }
            "QUIT" => {
                out.write_all(b"221 bye\r\n")?;
                return Ok(());
            }
            _ => out.write_all(b"200 ok\r\n")?,
        }
    }
}
