//! PORT/EPRT argument parsing: never panics, and whatever parses survives a
//! format/parse round trip unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wharf_proto::hostport::{format_eprt, format_epsv, format_pasv, parse_eprt, parse_port};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);

    if let Some(addr) = parse_port(&text) {
        let reply = format_pasv(*addr.ip(), addr.port());
        let open = reply.find('(').expect("227 text has '('");
        let close = reply.find(')').expect("227 text has ')'");
        assert_eq!(parse_port(&reply[open + 1..close]), Some(addr));
    }

    if let Some(addr) = parse_eprt(&text) {
        assert_ne!(addr.port(), 0);
        assert_eq!(parse_eprt(&format_eprt(addr)), Some(addr));
    }

    if data.len() >= 2 {
        let port = u16::from_be_bytes([data[0], data[1]]);
        assert!(format_epsv(port).contains(&format!("(|||{port}|)")));
    }
});
