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
