//! Command parsing: never panics on any byte string; successful parses have a
//! non-empty upper-case verb.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wharf_proto::parse;

fuzz_target!(|data: &[u8]| {
    match parse(data) {
        Ok(command) => {
            let verb = command.verb();
            assert!(!verb.is_empty(), "empty verb");
            assert_eq!(verb, verb.to_ascii_uppercase(), "verb not upper-case");
            let _ = format!("{command:?}");
        }
        Err(error) => {
            assert!(matches!(error.reply_code(), 500 | 501 | 504));
            let _ = format!("{error:?}");
        }
    }
});
