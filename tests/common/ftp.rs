//! A blocking FTP control connection (no async runtime needed): enough to log in, send
//! commands and read replies, for tests that drive the `wharf` binary.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A control connection over a `std` TCP stream with a 20 s read timeout.
pub struct RawFtp {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl RawFtp {
    /// Connects and reads the banner (which must be 220).
    #[track_caller]
    pub fn connect(addr: SocketAddr) -> RawFtp {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let writer = stream.try_clone().unwrap();
        let mut ftp = RawFtp {
            reader: BufReader::new(stream),
            writer,
        };
        let (code, text) = ftp.reply().expect("banner");
        assert_eq!(code, 220, "banner: {text}");
        ftp
    }

    /// Connects and logs in, expecting 331 for USER and 230 for PASS.
    #[track_caller]
    pub fn connect_login(addr: SocketAddr, user: &str, password: &str) -> RawFtp {
        let mut ftp = RawFtp::connect(addr);
        let (code, text) = ftp.cmd(&format!("USER {user}"));
        assert_eq!(code, 331, "{text}");
        let (code, text) = ftp.cmd(&format!("PASS {password}"));
        assert_eq!(code, 230, "{text}");
        ftp
    }

    /// Reads one (possibly multi-line) reply: `(code, full text)`; `None` at end of stream.
    pub fn reply(&mut self) -> Option<(u16, String)> {
        let mut text = String::new();
        let mut code: Option<u16> = None;
        loop {
            let mut line = String::new();
            match self.reader.read_line(&mut line) {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
            text.push_str(&line);
            let this: Option<u16> = line.get(..3).and_then(|c| c.parse().ok());
            if code.is_none() {
                code = this;
            }
            if this.is_some() && this == code && line.as_bytes().get(3) != Some(&b'-') {
                return Some((code?, text));
            }
        }
    }

    /// Sends a command line (CRLF appended) without reading.
    #[track_caller]
    pub fn send(&mut self, line: &str) {
        self.writer
            .write_all(format!("{line}\r\n").as_bytes())
            .unwrap_or_else(|e| panic!("send {line:?}: {e}"));
    }

    /// Sends a command and reads its reply.
    #[track_caller]
    pub fn cmd(&mut self, line: &str) -> (u16, String) {
        self.send(line);
        self.reply()
            .unwrap_or_else(|| panic!("connection closed after {line:?}"))
    }

    /// USER + PASS: the final reply code (230 on success, 530 on refusal).
    #[track_caller]
    pub fn login(&mut self, user: &str, password: &str) -> u16 {
        let (code, text) = self.cmd(&format!("USER {user}"));
        match code {
            230 => 230,
            331 => self.cmd(&format!("PASS {password}")).0,
            _ => panic!("USER {user}: {text}"),
        }
    }

    /// PASV: the data address.
    #[track_caller]
    pub fn pasv(&mut self) -> SocketAddr {
        let (code, text) = self.cmd("PASV");
        assert_eq!(code, 227, "{text}");
        super::client::parse_pasv(&text).unwrap_or_else(|| panic!("bad 227 reply {text:?}"))
    }
}
