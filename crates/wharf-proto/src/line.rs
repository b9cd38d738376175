//! Control-line framing: feed bytes, take complete lines.
//!
//! Lines end with CRLF (bare LF is accepted too, as most servers do). Telnet IAC
//! sequences (RFC 854) are removed: `IAC IAC` is a literal 0xFF byte, option
//! negotiation (`IAC WILL/WONT/DO/DONT x`) and two-byte commands (`IAC IP`, `IAC DM`…)
//! are dropped. A line longer than the cap is reported once as [`LineEvent::TooLong`]
//! and its bytes are discarded up to the next line end, so the connection stays usable.

/// What the reader yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineEvent {
    /// A complete line without its terminator.
    Line(Vec<u8>),
    /// A line exceeded the cap; it has been (or is being) discarded.
    TooLong,
}

/// Incremental line framer with a length cap.
#[derive(Debug)]
pub struct LineReader {
    max_len: usize,
}

impl LineReader {
    /// A reader that refuses lines longer than `max_len` bytes (terminator excluded).
    pub fn new(max_len: usize) -> Self {
        LineReader { max_len }
    }

    /// Appends received bytes.
    pub fn feed(&mut self, data: &[u8]) {
        let _ = data;
        todo!()
    }

    /// The next complete line, if one is buffered.
    pub fn next_line(&mut self) -> Option<LineEvent> {
        todo!()
    }

    /// Bytes held that do not yet form a line (bounded by the cap).
    pub fn pending(&self) -> usize {
        todo!()
    }
}
