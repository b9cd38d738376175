//! Control-line framing: feed bytes, take complete lines.
//!
//! Lines end with CRLF (bare LF is accepted too, as most servers do). Telnet IAC
//! sequences (RFC 854) are removed: `IAC IAC` is a literal 0xFF byte, option
//! negotiation (`IAC WILL/WONT/DO/DONT x`) and two-byte commands (`IAC IP`, `IAC DM`…)
//! are dropped. A line longer than the cap is reported once as [`LineEvent::TooLong`]
//! and its bytes are discarded up to the next line end, so the connection stays usable.
//!
//! Details:
//! - A CR not followed by LF is kept as an ordinary data byte (the parser or path
//!   checks then refuse it); CR and LF may arrive in different [`LineReader::feed`] calls.
//! - Subnegotiation (`IAC SB … IAC SE`) is dropped entirely.
//! - An `IAC` followed by a byte that is not a Telnet command (below 240) is dropped
//!   and that byte is kept as data, so a stray 0xFF cannot swallow a line end.
//! - [`LineEvent::TooLong`] is queued as soon as the cap is exceeded (before the line's
//!   terminator arrives), so the server can answer at once; the remainder of that
//!   line is then dropped without being buffered.
//! - Bytes are processed as they are fed: the partial line is never longer than the
//!   cap. Complete lines are queued until taken with [`LineReader::next_line`], so
//!   the caller should drain the reader after each `feed` (the queue is bounded by
//!   what one `feed` delivered).

use std::collections::VecDeque;

/// Telnet "interpret as command".
const IAC: u8 = 255;
/// Telnet option negotiation verbs (followed by one option byte).
const WILL: u8 = 251;
const WONT: u8 = 252;
const DO: u8 = 253;
const DONT: u8 = 254;
/// Subnegotiation begin / end.
const SB: u8 = 250;
const SE: u8 = 240;

/// What the reader yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineEvent {
    /// A complete line without its terminator.
    Line(Vec<u8>),
    /// A line exceeded the cap; it has been (or is being) discarded.
    TooLong,
}

/// Telnet-level decoding state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Telnet {
    /// Plain data.
    Data,
    /// After `IAC`.
    Iac,
    /// After `IAC WILL|WONT|DO|DONT`: the option byte is dropped.
    Option,
    /// Inside `IAC SB …`, waiting for `IAC SE`.
    Sub,
    /// After `IAC` inside a subnegotiation.
    SubIac,
}

/// Incremental line framer with a length cap.
#[derive(Debug)]
pub struct LineReader {
    max_len: usize,
    /// The current partial line (Telnet sequences already removed).
    current: Vec<u8>,
    /// A CR was seen and we do not know yet whether LF follows.
    pending_cr: bool,
    /// The current line overflowed: drop data until the next line end.
    discarding: bool,
    /// The last line was ended at a lone CR: an LF arriving next belongs to it.
    skip_lf: bool,
    telnet: Telnet,
    ready: VecDeque<LineEvent>,
}

impl LineReader {
    /// A reader that refuses lines longer than `max_len` bytes (terminator excluded).
    pub fn new(max_len: usize) -> Self {
        LineReader {
            max_len,
            current: Vec::new(),
            pending_cr: false,
            discarding: false,
            skip_lf: false,
            telnet: Telnet::Data,
            ready: VecDeque::new(),
        }
    }

    /// Appends received bytes.
    pub fn feed(&mut self, data: &[u8]) {
        for &b in data {
            match self.telnet {
                Telnet::Data => {
                    if b == IAC {
                        self.telnet = Telnet::Iac;
                    } else {
                        self.data_byte(b);
                    }
                }
                Telnet::Iac => {
                    self.telnet = match b {
                        IAC => {
                            self.data_byte(IAC);
                            Telnet::Data
                        }
                        WILL | WONT | DO | DONT => Telnet::Option,
                        SB => Telnet::Sub,
                        // Not a Telnet command: the stray IAC is dropped and the byte
                        // is kept, so that a lone 0xFF cannot swallow a line end.
                        0..SE => {
                            self.data_byte(b);
                            Telnet::Data
                        }
                        // IP, DM, AO, AYT, NOP, EC, EL, GA, BRK, SE: a two-byte
                        // command, dropped.
                        _ => Telnet::Data,
                    };
                }
                Telnet::Option => self.telnet = Telnet::Data,
                Telnet::Sub => {
                    if b == IAC {
                        self.telnet = Telnet::SubIac;
                    }
                }
                Telnet::SubIac => {
                    self.telnet = if b == SE { Telnet::Data } else { Telnet::Sub };
                }
            }
        }
    }

    /// The next complete line, if one is buffered.
    pub fn next_line(&mut self) -> Option<LineEvent> {
        self.ready.pop_front()
    }

    /// Bytes held that do not yet form a line (bounded by the cap).
    pub fn pending(&self) -> usize {
        self.current.len() + usize::from(self.pending_cr)
    }

    /// True when the partial line ends with a CR whose LF has not arrived yet.
    pub fn awaiting_lf(&self) -> bool {
        self.pending_cr && !self.discarding
    }

    /// Ends the partial line at its CR as if LF had followed. For `ABOR` sent as TCP
    /// urgent data (Python's `ftplib.abort`): the kernel removes the urgent byte, the
    /// final LF, from the stream, so the line would otherwise never end.
    pub fn end_line_at_cr(&mut self) {
        if self.pending_cr {
            self.pending_cr = false;
            self.skip_lf = true;
            self.end_line();
        }
    }

    /// The cap given to [`LineReader::new`].
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// One byte after Telnet decoding.
    fn data_byte(&mut self, b: u8) {
        if std::mem::take(&mut self.skip_lf) && b == b'\n' {
            return;
        }
        if b == b'\n' {
            self.pending_cr = false;
            self.end_line();
            return;
        }
        if self.pending_cr {
            self.pending_cr = false;
            self.push(b'\r');
        }
        if b == b'\r' {
            self.pending_cr = true;
        } else {
            self.push(b);
        }
    }

    /// Adds a byte to the current line, enforcing the cap.
    fn push(&mut self, b: u8) {
        if self.discarding {
            return;
        }
        if self.current.len() >= self.max_len {
            self.current = Vec::new();
            self.discarding = true;
            self.ready.push_back(LineEvent::TooLong);
            return;
        }
        self.current.push(b);
    }

    /// A line terminator was seen.
    fn end_line(&mut self) {
        if self.discarding {
            self.discarding = false;
            self.current.clear();
            return;
        }
        let line = std::mem::take(&mut self.current);
        self.ready.push_back(LineEvent::Line(line));
    }
}
