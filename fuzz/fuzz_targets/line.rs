//! Line framing: never panics, respects the cap, and gives the same events however
//! the input is split into feeds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wharf_proto::line::{LineEvent, LineReader};

fn drain(reader: &mut LineReader, max_len: usize, out: &mut Vec<LineEvent>) {
    while let Some(event) = reader.next_line() {
        if let LineEvent::Line(line) = &event {
            assert!(line.len() <= max_len, "line longer than the cap");
            assert!(!line.contains(&b'\n'), "line contains LF");
        }
        out.push(event);
    }
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the cap (0..=63) and the feed size (1, 8, 15 or 22).
    let Some((&config, input)) = data.split_first() else {
        return;
    };
    let max_len = usize::from(config & 0x3f);
    let chunk = usize::from(config >> 6) * 7 + 1;

    let mut whole = LineReader::new(max_len);
    whole.feed(input);
    let mut from_whole = Vec::new();
    drain(&mut whole, max_len, &mut from_whole);

    let mut split = LineReader::new(max_len);
    let mut from_split = Vec::new();
    for part in input.chunks(chunk) {
        split.feed(part);
        assert!(split.pending() <= max_len + 1, "pending exceeds the cap");
        drain(&mut split, max_len, &mut from_split);
    }
    assert_eq!(from_whole, from_split, "result depends on feed boundaries");
    assert_eq!(whole.pending(), split.pending());

    // Whatever the framer yields must go through the parser without panicking.
    for event in &from_whole {
        if let LineEvent::Line(line) = event {
            let _ = wharf_proto::parse(line);
        }
    }
});
