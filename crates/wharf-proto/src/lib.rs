//! The FTP protocol for Wharf, with no I/O and no clock.
//!
//! Input is bytes and output is values: [`line::LineReader`] frames control lines,
//! [`parse::parse`] turns a line into a typed [`command::Command`], [`reply::Reply`]
//! encodes replies (RFC 959 §4.2, multi-line rules included). Arguments arrive already
//! validated ([`hostport`], [`path::VirtualPath`]), so the server never handles raw
//! client strings. Listings ([`listing`]) are formatted from a neutral entry type; time
//! comes in as an argument.
//!
//! RFCs: 959 (FTP), 2389 (FEAT/OPTS), 2428 (EPRT/EPSV), 3659 (SIZE, MDTM, REST, MLST/MLSD),
//! 7151 (HOST), 4217 (FTPS commands are parsed here too).
//!
//! ```
//! use wharf_proto::line::{LineEvent, LineReader};
//! use wharf_proto::{Command, Reply, VirtualPath, parse};
//!
//! let mut reader = LineReader::new(4096);
//! reader.feed(b"CWD  /pub/../docs \r\nNO");
//! let Some(LineEvent::Line(line)) = reader.next_line() else { panic!() };
//! let Ok(Command::Cwd(arg)) = parse(&line) else { panic!() };
//! assert_eq!(arg, "/pub/../docs "); // trailing space kept: it may be part of a name
//! let cwd = VirtualPath::root().join(&arg, 4096).unwrap();
//! assert_eq!(cwd.to_string(), "/docs ");
//! assert_eq!(reader.next_line(), None); // "NO" is not a line yet
//! assert_eq!(Reply::new(250, "OK").encode(), b"250 OK\r\n");
//! ```

pub mod command;
pub mod feat;
pub mod hostport;
pub mod line;
pub mod listing;
pub mod parse;
pub mod path;
pub mod reply;

pub use command::Command;
pub use parse::{ParseError, parse};
pub use path::VirtualPath;
pub use reply::Reply;
