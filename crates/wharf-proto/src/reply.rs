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
    ///
    /// An empty `lines` vector encodes like a single empty line (`CODE \r\n`).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// Like [`Reply::encode`], appending to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let code = self.code.to_string();
        match self.lines.as_slice() {
            [] => push_line(out, &code, ' ', ""),
            [only] => push_line(out, &code, ' ', only),
            [first, middle @ .., last] => {
                push_line(out, &code, '-', first);
                for line in middle {
                    if line.starts_with(|c: char| c.is_ascii_digit()) {
                        out.push(b' ');
                    }
                    push_text(out, line);
                    out.extend_from_slice(b"\r\n");
                }
                push_line(out, &code, ' ', last);
            }
        }
    }

    /// A multi-line reply from text containing `\n` (or `\r\n`) line breaks;
    /// a single line when there is none.
    pub fn from_text(code: u16, text: &str) -> Self {
        Reply::multi(
            code,
            text.lines().map(str::to_owned).collect::<Vec<String>>(),
        )
    }

    /// Reply class: 1 (preliminary) .. 5 (permanent negative), 6 (protected).
    pub fn class(&self) -> u8 {
        (self.code / 100) as u8
    }

    /// True for 1xx, 2xx and 3xx replies.
    pub fn is_positive(&self) -> bool {
        (100..400).contains(&self.code)
    }
}

/// `CODE<sep>text\r\n` with CR/LF removed from the text.
fn push_line(out: &mut Vec<u8>, code: &str, sep: char, text: &str) {
    out.extend_from_slice(code.as_bytes());
    out.push(sep as u8);
    push_text(out, text);
    out.extend_from_slice(b"\r\n");
}

/// The text without CR or LF characters.
fn push_text(out: &mut Vec<u8>, text: &str) {
    out.extend(text.bytes().filter(|&b| b != b'\r' && b != b'\n'));
}
