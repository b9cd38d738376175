//! TYPE A conversion (RFC 959 §3.1.1.1): local files use LF, the wire uses CRLF.

/// LF → CRLF for downloads; a CRLF already in the file is sent unchanged.
#[derive(Debug, Default)]
pub struct ToNetAscii {
    last_was_cr: bool,
}

impl ToNetAscii {
    /// Converts one chunk, appending to `out`.
    pub fn convert(&mut self, input: &[u8], out: &mut Vec<u8>) {
        out.reserve(input.len() + input.len() / 16);
        for &b in input {
            if b == b'\n' && !self.last_was_cr {
                out.push(b'\r');
            }
            out.push(b);
            self.last_was_cr = b == b'\r';
        }
    }
}

/// CRLF → LF for uploads; a lone CR is kept. Handles a CR at the end of one chunk
/// followed by LF at the start of the next.
#[derive(Debug, Default)]
pub struct FromNetAscii {
    pending_cr: bool,
}

impl FromNetAscii {
    /// Converts one chunk, appending to `out`.
    pub fn convert(&mut self, input: &[u8], out: &mut Vec<u8>) {
        out.reserve(input.len());
        for &b in input {
            if self.pending_cr {
                self.pending_cr = false;
                if b != b'\n' {
                    out.push(b'\r');
                }
            }
            if b == b'\r' {
                self.pending_cr = true;
            } else {
                out.push(b);
            }
        }
    }

    /// Flushes a trailing lone CR at the end of the upload.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if std::mem::take(&mut self.pending_cr) {
            out.push(b'\r');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to_net(chunks: &[&[u8]]) -> Vec<u8> {
        let mut c = ToNetAscii::default();
        let mut out = Vec::new();
        for chunk in chunks {
            c.convert(chunk, &mut out);
        }
        out
    }

    fn from_net(chunks: &[&[u8]]) -> Vec<u8> {
        let mut c = FromNetAscii::default();
        let mut out = Vec::new();
        for chunk in chunks {
            c.convert(chunk, &mut out);
        }
        c.finish(&mut out);
        out
    }

    #[test]
    fn lf_becomes_crlf_but_crlf_stays() {
        assert_eq!(to_net(&[b"a\nb\r\nc\n"]), b"a\r\nb\r\nc\r\n");
        assert_eq!(to_net(&[b"a\r", b"\nb\n"]), b"a\r\nb\r\n");
        assert_eq!(to_net(&[b"", b"\n"]), b"\r\n");
    }

    #[test]
    fn crlf_becomes_lf_across_chunks() {
        assert_eq!(from_net(&[b"a\r\nb\r\n"]), b"a\nb\n");
        assert_eq!(from_net(&[b"a\r", b"\nb"]), b"a\nb");
        assert_eq!(from_net(&[b"a\rb"]), b"a\rb");
        assert_eq!(from_net(&[b"end\r"]), b"end\r");
    }

    #[test]
    fn round_trip_preserves_lf_text() {
        let text = b"line one\nline two\n\nlast";
        assert_eq!(from_net(&[&to_net(&[text])]), text);
    }
}
