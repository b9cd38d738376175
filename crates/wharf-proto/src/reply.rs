//! Replies: a code and one or more text lines, encoded per RFC 959 §4.2.

/// One FTP reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Three-digit reply code (100..=699).
    pub code: u16,
    /// Text lines; at least one (may be empty text). More than one gives a multi-line reply.
    pub lines: Vec<String>,
}

impl Reply {
    /// A single-line reply.
    pub fn new(code: u16, text: impl Into<String>) -> Self {
        Reply {
            code,
            lines: vec![text.into()],
        }
    }

    /// A multi-line reply from its lines (first and last carry the code).
    pub fn multi(code: u16, lines: Vec<String>) -> Self {
        let lines = if lines.is_empty() {
            vec![String::new()]
        } else {
            lines
        };
        Reply { code, lines }
    }

    /// Wire bytes: `CODE text\r\n`, or `CODE-first\r\n`, middle lines, `CODE last\r\n`.
    /// Middle lines that start with a digit are indented with a space so that no
    /// middle line can be mistaken for the end. CR and LF inside text are removed.
    pub fn encode(&self) -> Vec<u8> {
        todo!()
    }

    /// Reply class: 1 (preliminary) .. 5 (permanent negative), 6 (protected).
    pub fn class(&self) -> u8 {
        (self.code / 100) as u8
    }
}
