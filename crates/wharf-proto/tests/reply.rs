//! Tests for reply encoding.

use wharf_proto::Reply;

fn enc(r: &Reply) -> String {
    String::from_utf8(r.encode()).unwrap()
}

#[test]
fn table() {
    let cases: Vec<(Reply, &str)> = vec![
        (Reply::new(200, "OK"), "200 OK\r\n"),
        (Reply::new(220, ""), "220 \r\n"),
        (Reply::new(550, "No\r\nsuch\nfile\r"), "550 Nosuchfile\r\n"),
        (
            Reply::multi(211, vec!["Features:".into(), " UTF8".into(), "End".into()]),
            "211-Features:\r\n UTF8\r\n211 End\r\n",
        ),
        (
            Reply::multi(230, vec!["Welcome".into(), "Logged in".into()]),
            "230-Welcome\r\n230 Logged in\r\n",
        ),
        (
            Reply::multi(
                214,
                vec![
                    "Help".into(),
                    "214 looks like an end".into(),
                    "9 lives".into(),
                    "plain".into(),
                    "".into(),
                    "Bye".into(),
                ],
            ),
            "214-Help\r\n 214 looks like an end\r\n 9 lives\r\nplain\r\n\r\n214 Bye\r\n",
        ),
        (
            Reply::multi(
                250,
                vec!["a\r\n250 injected".into(), "b\n".into(), "c\r".into()],
            ),
            "250-a250 injected\r\nb\r\n250 c\r\n",
        ),
        (Reply::multi(200, vec![]), "200 \r\n"),
        (Reply::multi(200, vec!["one".into()]), "200 one\r\n"),
        (
            Reply {
                code: 421,
                lines: vec![],
            },
            "421 \r\n",
        ),
        (
            Reply::from_text(257, "\"/\" is the current directory"),
            "257 \"/\" is the current directory\r\n",
        ),
        (
            Reply::from_text(220, "Hello\r\n226 fake\nWorld"),
            "220-Hello\r\n 226 fake\r\n220 World\r\n",
        ),
    ];
    for (reply, expected) in cases {
        assert_eq!(enc(&reply), expected, "{reply:?}");
        let mut buf = b"prefix".to_vec();
        reply.encode_into(&mut buf);
        assert_eq!(&buf[6..], expected.as_bytes());
    }
}

#[test]
fn encoded_replies_are_well_formed() {
    // Whatever the text, the encoding has exactly one end line, it is the last one,
    // and every line ends with CRLF.
    let texts = [
        "", "1", "123", "123 x", "123-x", "\r", "\n", "a\r\nb", "200 ok", " 5", "x",
    ];
    for &a in &texts {
        for &b in &texts {
            for &c in &texts {
                let reply = Reply::multi(123, vec![a.into(), b.into(), c.into()]);
                let wire = enc(&reply);
                assert!(wire.ends_with("\r\n"));
                let lines: Vec<&str> = wire.split_terminator("\r\n").collect();
                assert_eq!(lines.len(), 3, "{wire:?}");
                assert!(lines[0].starts_with("123-"));
                assert!(
                    !lines[1].starts_with(|c: char| c.is_ascii_digit()),
                    "{wire:?}"
                );
                assert!(lines[2].starts_with("123 "));
                assert!(lines.iter().all(|l| !l.contains('\r') && !l.contains('\n')));
            }
        }
    }
}

#[test]
fn class_and_positive() {
    assert_eq!(Reply::new(150, "x").class(), 1);
    assert_eq!(Reply::new(226, "x").class(), 2);
    assert_eq!(Reply::new(350, "x").class(), 3);
    assert_eq!(Reply::new(421, "x").class(), 4);
    assert_eq!(Reply::new(550, "x").class(), 5);
    assert_eq!(Reply::new(631, "x").class(), 6);
    assert!(Reply::new(150, "x").is_positive());
    assert!(Reply::new(350, "x").is_positive());
    assert!(!Reply::new(450, "x").is_positive());
    assert!(!Reply::new(530, "x").is_positive());
}
