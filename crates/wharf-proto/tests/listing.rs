//! Tests for LIST/MLSx formatting and MDTM/MFMT time values.

use wharf_proto::listing::{
    Access, Entry, EntryKind, ListFormat, ListWriter, MlstFacts, format_timeval, list_line,
    mlsx_line, parse_timeval,
};

/// 2019-07-01 09:03:00 UTC.
const JUL1: i64 = 1_561_971_780;
/// 2019-02-19 14:11:00 UTC.
const FEB19: i64 = 1_550_585_460;
const DAY: i64 = 86_400;

fn entry(name: &str, kind: EntryKind, size: u64, modified: i64, mode: u32) -> Entry {
    Entry {
        name: name.to_owned(),
        kind,
        size,
        modified,
        mode,
        nlink: 1,
    }
}

fn fmt(unix: bool, long_date: bool, utc_offset_seconds: i32, now: i64) -> ListFormat {
    ListFormat {
        unix,
        long_date,
        utc_offset_seconds,
        now,
    }
}

#[test]
fn unix_lines() {
    let docs = entry("docs", EntryKind::Dir, 0, JUL1 - 60, 0o755);
    let report = entry("report.txt", EntryKind::File, 921_016, FEB19, 0o644);
    let now = JUL1 + 3600;
    let cases: Vec<(&Entry, ListFormat, &str)> = vec![
        (
            &docs,
            fmt(true, false, 0, now),
            "drwxr-xr-x   1 owner    group               0 Jul  1 09:02 docs",
        ),
        (
            &report,
            fmt(true, false, 0, now),
            "-rw-r--r--   1 owner    group          921016 Feb 19 14:11 report.txt",
        ),
        // long_date: always the year.
        (
            &docs,
            fmt(true, true, 0, now),
            "drwxr-xr-x   1 owner    group               0 Jul  1  2019 docs",
        ),
        // Older than 180 days: the year.
        (
            &report,
            fmt(true, false, 0, FEB19 + 181 * DAY),
            "-rw-r--r--   1 owner    group          921016 Feb 19  2019 report.txt",
        ),
        // Exactly 180 days: still recent.
        (
            &report,
            fmt(true, false, 0, FEB19 + 180 * DAY),
            "-rw-r--r--   1 owner    group          921016 Feb 19 14:11 report.txt",
        ),
        // In the future relative to now: the year.
        (
            &report,
            fmt(true, false, 0, FEB19 - 1),
            "-rw-r--r--   1 owner    group          921016 Feb 19  2019 report.txt",
        ),
        // Same second as now: recent.
        (
            &report,
            fmt(true, false, 0, FEB19),
            "-rw-r--r--   1 owner    group          921016 Feb 19 14:11 report.txt",
        ),
        // Displayed in local time: +2h.
        (
            &docs,
            fmt(true, false, 7200, now),
            "drwxr-xr-x   1 owner    group               0 Jul  1 11:02 docs",
        ),
        // Offset that changes the date.
        (
            &docs,
            fmt(true, false, -10 * 3600, now),
            "drwxr-xr-x   1 owner    group               0 Jun 30 23:02 docs",
        ),
    ];
    for (e, f, expected) in cases {
        assert_eq!(list_line(e, &f), expected, "{e:?} {f:?}");
    }
}

#[test]
fn unix_mode_strings() {
    let now = JUL1;
    let cases: &[(EntryKind, u32, &str)] = &[
        (EntryKind::File, 0o644, "-rw-r--r--"),
        (EntryKind::File, 0o100644, "-rw-r--r--"), // st_mode type bits ignored
        (EntryKind::File, 0o777, "-rwxrwxrwx"),
        (EntryKind::File, 0o001, "---------x"),
        (EntryKind::File, 0o4755, "-rwsr-xr-x"),
        (EntryKind::File, 0o4644, "-rwSr--r--"),
        (EntryKind::File, 0o2755, "-rwxr-sr-x"),
        (EntryKind::File, 0o2745, "-rwxr-Sr-x"),
        (EntryKind::Dir, 0o1777, "drwxrwxrwt"),
        (EntryKind::Dir, 0o1776, "drwxrwxrwT"),
        (EntryKind::Dir, 0o700, "drwx------"),
        (EntryKind::Symlink, 0o777, "lrwxrwxrwx"),
        // Unknown mode: defaults.
        (EntryKind::File, 0, "-rw-r--r--"),
        (EntryKind::Dir, 0, "drwxr-xr-x"),
        (EntryKind::Symlink, 0, "lrwxrwxrwx"),
    ];
    for &(kind, mode, expected) in cases {
        let e = entry("n", kind, 0, now, mode);
        let line = list_line(&e, &fmt(true, false, 0, now));
        assert_eq!(&line[..10], expected, "mode {mode:o}");
    }
}

#[test]
fn unix_columns_stay_aligned() {
    let now = JUL1;
    let mut e = entry("x", EntryKind::File, 0, now, 0o644);
    let base = list_line(&e, &fmt(true, false, 0, now));
    let name_col = base.len() - 1;
    for size in [1, 99, 123_456_789, 999_999_999_999_999] {
        e.size = size;
        let line = list_line(&e, &fmt(true, false, 0, now));
        assert_eq!(line.len() - 1, name_col, "{line}");
        assert!(line.contains(&format!(" {size} Jul  1 09:03 x")), "{line}");
    }
    // Larger than the column: widens but stays parseable.
    e.size = u64::MAX;
    let line = list_line(&e, &fmt(true, false, 0, now));
    assert!(
        line.contains(&format!(" {} Jul  1 09:03 x", u64::MAX)),
        "{line}"
    );
    // Link counts.
    e.size = 0;
    e.nlink = 12;
    assert!(list_line(&e, &fmt(true, false, 0, now)).starts_with("-rw-r--r--  12 owner    group "));
    // Names with spaces are written as is.
    e.name = " a b ".into();
    assert!(list_line(&e, &fmt(true, false, 0, now)).ends_with("09:03  a b "));
}

#[test]
fn dos_lines() {
    let docs = entry("docs", EntryKind::Dir, 4096, JUL1, 0o755);
    let report = entry("report.txt", EntryKind::File, 921_016, FEB19, 0o644);
    let cases: Vec<(Entry, ListFormat, &str)> = vec![
        (
            docs.clone(),
            fmt(false, false, 0, JUL1),
            "07-01-19  09:03AM       <DIR>          docs",
        ),
        (
            report.clone(),
            fmt(false, false, 0, JUL1),
            "02-19-19  02:11PM               921016 report.txt",
        ),
        (
            docs.clone(),
            fmt(false, true, 0, JUL1),
            "07-01-2019  09:03AM       <DIR>          docs",
        ),
        (
            report.clone(),
            fmt(false, true, 0, JUL1),
            "02-19-2019  02:11PM               921016 report.txt",
        ),
        // Midnight and noon in 12-hour form. 2019-07-01 00:05 and 12:30 UTC.
        (
            entry("m", EntryKind::File, 1, 1_561_939_500, 0),
            fmt(false, false, 0, JUL1),
            "07-01-19  12:05AM                    1 m",
        ),
        (
            entry("n", EntryKind::File, 1, 1_561_984_200, 0),
            fmt(false, false, 0, JUL1),
            "07-01-19  12:30PM                    1 n",
        ),
        // Offset moves the date into the next year: 2019-12-31 23:30 UTC +1h.
        (
            entry("y", EntryKind::File, 0, 1_577_835_000, 0),
            fmt(false, false, 3600, JUL1),
            "01-01-20  12:30AM                    0 y",
        ),
        // Links are listed like files.
        (
            entry("l", EntryKind::Symlink, 7, JUL1, 0),
            fmt(false, false, 0, JUL1),
            "07-01-19  09:03AM                    7 l",
        ),
        // Year 2000.
        (
            entry("z", EntryKind::File, 0, 951_782_400, 0),
            fmt(false, false, 0, JUL1),
            "02-29-00  12:00AM                    0 z",
        ),
    ];
    for (e, f, expected) in cases {
        assert_eq!(list_line(&e, &f), expected, "{e:?} {f:?}");
    }
}

#[test]
fn extreme_times_do_not_panic() {
    for t in [i64::MIN, i64::MIN + 1, -1, 0, i64::MAX - 1, i64::MAX] {
        for offset in [i32::MIN, -1, 0, 1, i32::MAX] {
            for now in [i64::MIN, 0, i64::MAX] {
                for unix in [true, false] {
                    for long_date in [true, false] {
                        let e = entry("f", EntryKind::File, u64::MAX, t, u32::MAX);
                        let line = list_line(&e, &fmt(unix, long_date, offset, now));
                        assert!(line.ends_with(" f"), "{line}");
                    }
                }
            }
        }
        assert_eq!(format_timeval(t).len(), 14);
    }
    assert_eq!(format_timeval(i64::MAX), "99991231235959");
    assert_eq!(format_timeval(i64::MIN), "00000101000000");
}

#[test]
fn timeval_format() {
    assert_eq!(format_timeval(0), "19700101000000");
    assert_eq!(format_timeval(-1), "19691231235959");
    assert_eq!(format_timeval(JUL1), "20190701090300");
    assert_eq!(format_timeval(951_782_400), "20000229000000");
    assert_eq!(format_timeval(1_767_268_800), "20260101120000");
}

#[test]
fn timeval_parse_table() {
    let cases: &[(&str, Option<i64>)] = &[
        ("19700101000000", Some(0)),
        ("19691231235959", Some(-1)),
        ("20190701090300", Some(JUL1)),
        ("20190701090300.123", Some(JUL1)),
        ("20190701090300.9", Some(JUL1)),
        ("20190701090300.999999999", Some(JUL1)),
        ("20000229000000", Some(951_782_400)),
        ("20261231235960", Some(1_798_761_600)), // leap second = next minute
        ("99991231235959", Some(253_402_300_799)),
        ("00000101000000", Some(-62_167_219_200)),
        ("19000229000000", None), // 1900 is not a leap year
        ("20190229000000", None),
        ("20190431000000", None),
        ("20190001000000", None),
        ("20191301000000", None),
        ("20190100000000", None),
        ("20190132000000", None),
        ("20190101240000", None),
        ("20190101006000", None),
        ("20190101000061", None),
        ("2019070109030", None),
        ("201907010903000", None),
        ("20190701090300.", None),
        ("20190701090300.12a", None),
        ("20190701090300.1.2", None),
        ("20190701 090300", None),
        (" 20190701090300", None),
        ("20190701090300 ", None),
        ("2019-07-01T09:03:00", None),
        ("+2019070109030", None),
        ("-2019070109030", None),
        ("", None),
        (".", None),
        ("٢٠١٩٠٧٠١٠٩٠٣٠٠", None),
    ];
    for (text, expected) in cases {
        assert_eq!(parse_timeval(text), *expected, "text {text:?}");
    }
}

#[test]
fn timeval_round_trip() {
    // Every day for ~60 years around the epoch at varying times of day, plus edges.
    let mut t = -946_684_800; // 1940-01-01
    while t < 2_840_140_800 {
        // 2060-01-01
        let text = format_timeval(t);
        assert_eq!(parse_timeval(&text), Some(t), "{text}");
        assert_eq!(parse_timeval(&format!("{text}.500")), Some(t));
        t += DAY + 3_661;
    }
    for t in [
        -62_167_219_200,
        0,
        253_402_300_799,
        951_782_400 - 1,
        951_782_400 + DAY,
    ] {
        assert_eq!(parse_timeval(&format_timeval(t)), Some(t));
    }
}

#[test]
fn mlst_facts_names() {
    let all = MlstFacts::default();
    assert_eq!(all.names(), "type;size;modify;perm;unix.mode;");
    assert_eq!(all.feat_line(), "type*;size*;modify*;perm*;unix.mode*;");

    let some = MlstFacts::from_names(&["SIZE".into(), "Modify".into(), "bogus".into()]);
    assert_eq!(
        some,
        MlstFacts {
            kind: false,
            size: true,
            modify: true,
            perm: false,
            unix_mode: false
        }
    );
    assert_eq!(some.names(), "size;modify;");
    assert_eq!(some.feat_line(), "type;size*;modify*;perm;unix.mode;");

    let none = MlstFacts::from_names(&[]);
    assert_eq!(none.names(), "");
    assert_eq!(none.feat_line(), "type;size;modify;perm;unix.mode;");

    let back = MlstFacts::from_names(&["unix.mode".into(), "type".into(), "perm".into()]);
    assert_eq!(back.names(), "type;perm;unix.mode;");
    // names() feeds back into from_names.
    let names: Vec<String> = back
        .names()
        .split(';')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    assert_eq!(MlstFacts::from_names(&names), back);
}

#[test]
fn mlsx_lines() {
    let file = entry("report.txt", EntryKind::File, 12, 1_767_268_800, 0o644);
    let dir = entry("docs", EntryKind::Dir, 4096, 1_767_268_800, 0o755);
    let link = entry("ln", EntryKind::Symlink, 3, 0, 0o777);
    let unknown_mode = entry("n", EntryKind::File, 0, 0, 0);
    let spaced = entry("sp ace ", EntryKind::File, 1, 0, 0o4755);
    let all = MlstFacts::default();
    let rw = Access {
        read: true,
        write: true,
    };
    let ro = Access {
        read: true,
        write: false,
    };
    let wo = Access {
        read: false,
        write: true,
    };
    let cases: Vec<(&Entry, MlstFacts, Access, Option<&str>, &str)> = vec![
        (
            &file,
            all,
            rw,
            None,
            "type=file;size=12;modify=20260101120000;perm=adfrw;unix.mode=0644; report.txt",
        ),
        (
            &file,
            all,
            ro,
            None,
            "type=file;size=12;modify=20260101120000;perm=r;unix.mode=0644; report.txt",
        ),
        (
            &file,
            all,
            wo,
            None,
            "type=file;size=12;modify=20260101120000;perm=adfw;unix.mode=0644; report.txt",
        ),
        (
            &file,
            all,
            Access::default(),
            None,
            "type=file;size=12;modify=20260101120000;perm=;unix.mode=0644; report.txt",
        ),
        (
            &dir,
            all,
            rw,
            None,
            "type=dir;modify=20260101120000;perm=cdeflmp;unix.mode=0755; docs",
        ),
        (
            &dir,
            all,
            ro,
            None,
            "type=dir;modify=20260101120000;perm=el;unix.mode=0755; docs",
        ),
        (
            &dir,
            all,
            ro,
            Some("cdir"),
            "type=cdir;modify=20260101120000;perm=el;unix.mode=0755; docs",
        ),
        (
            &dir,
            all,
            rw,
            Some("pdir"),
            "type=pdir;modify=20260101120000;perm=cdeflmp;unix.mode=0755; docs",
        ),
        (
            &link,
            all,
            ro,
            None,
            "type=OS.unix=symlink;size=3;modify=19700101000000;perm=r;unix.mode=0777; ln",
        ),
        (
            &file,
            MlstFacts::from_names(&["size".into()]),
            rw,
            None,
            "size=12; report.txt",
        ),
        (&file, MlstFacts::from_names(&[]), rw, None, " report.txt"),
        (
            &unknown_mode,
            all,
            ro,
            None,
            "type=file;size=0;modify=19700101000000;perm=r; n",
        ),
        (
            &spaced,
            MlstFacts::from_names(&["unix.mode".into()]),
            ro,
            None,
            "unix.mode=4755; sp ace ",
        ),
    ];
    for (e, facts, access, kind, expected) in cases {
        let line = mlsx_line(e, &facts, access, kind);
        assert_eq!(line, expected);
        // Exactly one space separates facts and name.
        let (facts_part, name) = line.split_once(' ').unwrap();
        assert!(!facts_part.contains(' '));
        assert_eq!(name, e.name);
    }
}

/// The writer's reuse of the previous date text never changes a line: same minute, next
/// minute, the recent/old boundary inside one minute, negative times, and an offset with
/// seconds (so the shown minute differs from the UTC one).
#[test]
fn list_writer_matches_list_line_entry_by_entry() {
    // Not on a minute: the recent/old boundary then falls inside a minute.
    let now = JUL1 + 30;
    let boundary = now - 180 * DAY;
    let times = [
        JUL1 - 120,
        JUL1 - 119,
        JUL1 - 61,
        JUL1 - 60,
        boundary - 1,
        boundary,
        boundary + 1,
        boundary - 1,
        FEB19,
        FEB19,
        -1,
        -61,
        0,
        now + 30,
    ];
    for (unix, long_date, offset) in [
        (true, false, 0),
        (true, true, 3600),
        (false, false, -1800),
        (false, true, 0),
        (true, false, 30),
        (false, false, 45),
    ] {
        let format = fmt(unix, long_date, offset, now);
        let mut writer = ListWriter::new(format);
        for (i, &t) in times.iter().enumerate() {
            let kind = if i % 3 == 0 {
                EntryKind::Dir
            } else {
                EntryKind::File
            };
            let e = entry(&format!("n{i}"), kind, i as u64 * 1000, t, 0o640);
            let mut line = String::new();
            writer.write(&e, &mut line);
            assert_eq!(line, list_line(&e, &format), "{format:?} at {t}");
        }
    }
}
