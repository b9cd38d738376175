//! Tests for the control-line framer.

use wharf_proto::line::{LineEvent, LineReader};

fn line(s: &[u8]) -> LineEvent {
    LineEvent::Line(s.to_vec())
}

/// Feeds `chunks` one after another and collects every event.
fn run(max_len: usize, chunks: &[&[u8]]) -> Vec<LineEvent> {
    let mut r = LineReader::new(max_len);
    let mut out = Vec::new();
    for chunk in chunks {
        r.feed(chunk);
        while let Some(ev) = r.next_line() {
            out.push(ev);
        }
    }
    out
}

/// Feeds `data` one byte at a time.
fn run_bytewise(max_len: usize, data: &[u8]) -> Vec<LineEvent> {
    let chunks: Vec<&[u8]> = data.chunks(1).collect();
    run(max_len, &chunks)
}

#[test]
fn table() {
    #[allow(clippy::type_complexity)]
    let cases: Vec<(&[&[u8]], Vec<LineEvent>)> = vec![
        (&[b"USER a\r\n"], vec![line(b"USER a")]),
        (&[b"USER a\n"], vec![line(b"USER a")]),
        (&[b"USER a"], vec![]),
        (&[b"USER a\r"], vec![]),
        (&[b"\r\n"], vec![line(b"")]),
        (&[b"\n\n"], vec![line(b""), line(b"")]),
        // Pipelined.
        (
            &[b"USER a\r\nPASS b\r\nPWD\r\n"],
            vec![line(b"USER a"), line(b"PASS b"), line(b"PWD")],
        ),
        (&[b"A\nB\r\nC\n"], vec![line(b"A"), line(b"B"), line(b"C")]),
        // Split across feeds.
        (&[b"US", b"ER a\r\n"], vec![line(b"USER a")]),
        (
            &[b"USER a\r", b"\nPWD\r\n"],
            vec![line(b"USER a"), line(b"PWD")],
        ),
        (&[b"USER a\r", b"", b"\n"], vec![line(b"USER a")]),
        // Bare CR is data.
        (&[b"A\rB\r\n"], vec![line(b"A\rB")]),
        (&[b"A\r", b"B\r\n"], vec![line(b"A\rB")]),
        (&[b"A\r\r\n"], vec![line(b"A\r")]),
        // Telnet.
        (&[b"A\xff\xffB\r\n"], vec![line(b"A\xffB")]),
        (&[b"A\xff", b"\xffB\r\n"], vec![line(b"A\xffB")]),
        (&[b"\xff\xfb\x01NOOP\r\n"], vec![line(b"NOOP")]), // WILL ECHO
        (&[b"\xff\xfc\x01NOOP\r\n"], vec![line(b"NOOP")]), // WONT
        (&[b"\xff\xfd\x03NOOP\r\n"], vec![line(b"NOOP")]), // DO
        (&[b"\xff\xfe\x03NOOP\r\n"], vec![line(b"NOOP")]), // DONT
        (&[b"\xff\xfd\xffNOOP\r\n"], vec![line(b"NOOP")]), // option byte 255
        (&[b"\xff\xfd\x0aNOOP\r\n"], vec![line(b"NOOP")]), // option byte is LF
        (&[b"\xff", b"\xfd", b"\x03NOOP\r\n"], vec![line(b"NOOP")]),
        (&[b"\xff\xf4\xff\xf2ABOR\r\n"], vec![line(b"ABOR")]), // IP, DM
        (&[b"\xff\xf5\xff\xf6\xff\xf1AB\r\n"], vec![line(b"AB")]), // AO, AYT, NOP
        (&[b"\xff\xfa\x18\x01\xff\xf0X\r\n"], vec![line(b"X")]), // SB .. SE
        (
            &[b"\xff\xfa\x18\xff\xff\x01\xff\xf0X\r\n"],
            vec![line(b"X")],
        ),
        (&[b"A\r\xff\xf1\nB\n"], vec![line(b"A"), line(b"B")]), // NOP between CR and LF
        // A stray IAC before a non-command byte is dropped, the byte kept.
        (&[b"A\xff\r\n"], vec![line(b"A")]),
        (&[b"A\xff\nB\n"], vec![line(b"A"), line(b"B")]),
        (&[b"A\xffxB\n"], vec![line(b"AxB")]),
    ];
    for (chunks, expected) in cases {
        assert_eq!(run(64, chunks), expected, "chunks {chunks:?}");
        let joined: Vec<u8> = chunks.concat();
        assert_eq!(run_bytewise(64, &joined), expected, "bytewise {chunks:?}");
        assert_eq!(run(64, &[&joined]), expected, "joined {chunks:?}");
    }
}

#[test]
fn too_long_is_reported_once_and_recovers() {
    let mut data = b"NOOP\r\n".to_vec();
    data.extend(std::iter::repeat_n(b'x', 1000));
    data.extend(b"\r\nPWD\r\n");
    let expected = vec![line(b"NOOP"), LineEvent::TooLong, line(b"PWD")];
    assert_eq!(run(16, &[&data]), expected);
    assert_eq!(run_bytewise(16, &data), expected);
    let chunks: Vec<&[u8]> = data.chunks(7).collect();
    assert_eq!(run(16, &chunks), expected);
}

#[test]
fn cap_boundaries() {
    // Exactly max_len is fine; one more is too long.
    assert_eq!(run(4, &[b"ABCD\r\n"]), vec![line(b"ABCD")]);
    assert_eq!(run(4, &[b"ABCDE\r\n"]), vec![LineEvent::TooLong]);
    assert_eq!(run(4, &[b"ABCD\n"]), vec![line(b"ABCD")]);
    // A bare CR counts as data towards the cap.
    assert_eq!(run(4, &[b"ABCD\rX\n"]), vec![LineEvent::TooLong]);
    // IAC IAC counts as one byte.
    assert_eq!(run(4, &[b"AB\xff\xffC\r\n"]), vec![line(b"AB\xffC")]);
    // Telnet commands do not count.
    assert_eq!(
        run(4, &[b"AB\xff\xf1\xff\xfd\x01CD\r\n"]),
        vec![line(b"ABCD")]
    );
    // max_len 0: only empty lines pass.
    assert_eq!(
        run(0, &[b"\r\nA\r\n\n"]),
        vec![line(b""), LineEvent::TooLong, line(b"")]
    );
}

#[test]
fn too_long_reported_before_terminator() {
    let mut r = LineReader::new(8);
    r.feed(b"0123456789");
    assert_eq!(r.next_line(), Some(LineEvent::TooLong));
    assert_eq!(r.next_line(), None);
    r.feed(&[b'y'; 10_000]);
    assert_eq!(r.next_line(), None);
    assert_eq!(r.pending(), 0);
    r.feed(b"\r\nNOOP\r\n");
    assert_eq!(r.next_line(), Some(line(b"NOOP")));
    assert_eq!(r.next_line(), None);
}

#[test]
fn consecutive_too_long_lines() {
    let data = b"aaaaaaaaaa\nbbbbbbbbbbbb\r\nok\nccccccccccccccc";
    assert_eq!(
        run(5, &[data]),
        vec![
            LineEvent::TooLong,
            LineEvent::TooLong,
            line(b"ok"),
            LineEvent::TooLong
        ]
    );
}

#[test]
fn pending_is_bounded() {
    let mut r = LineReader::new(100);
    assert_eq!(r.pending(), 0);
    r.feed(b"USER");
    assert_eq!(r.pending(), 4);
    r.feed(b" a\r");
    assert_eq!(r.pending(), 7);
    r.feed(b"\n");
    assert_eq!(r.pending(), 0);
    assert_eq!(r.next_line(), Some(line(b"USER a")));
    for _ in 0..1000 {
        r.feed(&[b'z'; 37]);
        assert!(r.pending() <= 101, "pending {}", r.pending());
    }
    assert_eq!(r.next_line(), Some(LineEvent::TooLong));
    assert_eq!(r.next_line(), None);
    assert_eq!(r.max_len(), 100);
}

#[test]
fn iac_state_survives_line_ends() {
    // An IAC at the end of one feed, its command at the start of the next.
    let mut r = LineReader::new(64);
    r.feed(b"NOOP\r\n\xff");
    assert_eq!(r.next_line(), Some(line(b"NOOP")));
    r.feed(b"\xf4\xff");
    r.feed(b"\xf2ABOR\r\n");
    assert_eq!(r.next_line(), Some(line(b"ABOR")));
    assert_eq!(r.next_line(), None);
}

#[test]
fn every_split_point_gives_same_result() {
    let data: &[u8] =
        b"USER a\r\n\xff\xfb\x01PASS b\xff\xffc\r\nTOOLONGTOOLONGTOOLONG\r\nPWD\n\xff\xf4\xff\xf2ABOR\r\n";
    let expected = vec![
        line(b"USER a"),
        line(b"PASS b\xffc"),
        LineEvent::TooLong,
        line(b"PWD"),
        line(b"ABOR"),
    ];
    assert_eq!(run(12, &[data]), expected);
    for i in 0..=data.len() {
        for j in i..=data.len() {
            let got = run(12, &[&data[..i], &data[i..j], &data[j..]]);
            assert_eq!(got, expected, "split at {i}, {j}");
        }
    }
}

#[test]
fn pseudo_random_input_keeps_invariants() {
    // Simple xorshift so the test needs no dependencies.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet = [b'a', b'\r', b'\n', 0xff, 0xfb, 0xf4, 0xfa, 0xf0, b' ', 0];
    for _ in 0..200 {
        let mut r = LineReader::new(10);
        for _ in 0..50 {
            let len = (next() % 20) as usize;
            let chunk: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            r.feed(&chunk);
            assert!(r.pending() <= 11);
            while let Some(ev) = r.next_line() {
                if let LineEvent::Line(l) = ev {
                    assert!(l.len() <= 10);
                    assert!(!l.contains(&b'\n'));
                }
            }
        }
    }
}

#[test]
fn a_line_can_be_ended_at_a_lone_cr() {
    let mut r = LineReader::new(100);
    r.feed(b"ABOR\r");
    assert!(r.next_line().is_none());
    assert!(r.awaiting_lf());
    r.end_line_at_cr();
    assert_eq!(r.next_line(), Some(LineEvent::Line(b"ABOR".to_vec())));
    assert!(!r.awaiting_lf());
    // A late LF belongs to the line already ended, not to an empty one.
    r.feed(b"\nNOOP\r\n");
    assert_eq!(r.next_line(), Some(LineEvent::Line(b"NOOP".to_vec())));
}
