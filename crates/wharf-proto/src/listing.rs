//! Directory listing formats from a neutral [`Entry`]: `LIST` in UNIX `ls -l` or IIS
//! MS-DOS style, `NLST` names, and RFC 3659 MLSx fact lines; MDTM/MFMT timestamps.
//!
//! Times outside the years 0000..=9999 are clamped to that range for display.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// 0000-01-01T00:00:00Z in Unix seconds.
const MIN_DISPLAY_TS: i64 = -62_167_219_200;
/// 9999-12-31T23:59:59Z in Unix seconds.
const MAX_DISPLAY_TS: i64 = 253_402_300_799;
/// `ls` shows the time instead of the year for files modified within this window.
const RECENT_SECONDS: i64 = 180 * 86_400;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Calendar fields of a Unix time (UTC), clamped to years 0000..=9999.
fn civil(unix_seconds: i64) -> OffsetDateTime {
    let ts = unix_seconds.clamp(MIN_DISPLAY_TS, MAX_DISPLAY_TS);
    OffsetDateTime::from_unix_timestamp(ts).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// What kind of object an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// Regular file.
    File,
    /// Directory.
    Dir,
    /// Symbolic link (shown as such only where the back-end reports it).
    Symlink,
}

/// A neutral directory entry, as storage back-ends report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// File name (one segment).
    pub name: String,
    /// Kind.
    pub kind: EntryKind,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, seconds since the Unix epoch (UTC).
    pub modified: i64,
    /// UNIX permission bits (e.g. `0o644`); 0 when unknown.
    pub mode: u32,
    /// Link count (1 when unknown).
    pub nlink: u64,
}

/// How LIST lines look (`directoryBrowse@showFlags`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListFormat {
    /// `StyleUnix`: `ls -l` lines; otherwise IIS MS-DOS lines.
    pub unix: bool,
    /// `LongDate`: four-digit years (MS-DOS) / always show the year (UNIX).
    pub long_date: bool,
    /// Offset of the displayed time from UTC in seconds (0 with `UseGmtTime`).
    pub utc_offset_seconds: i32,
    /// "Now" in Unix seconds, to choose `ls`'s recent (time) or old (year) form.
    pub now: i64,
}

/// One LIST line without CRLF.
///
/// UNIX: `drwxr-xr-x   1 owner    group               0 Jul  1 09:02 docs` (year instead of
/// time when older than ~6 months or in the future, or always with `long_date`).
/// MS-DOS: `07-01-19  09:03AM       <DIR>          docs` or with `long_date`
/// `07-01-2019  09:03AM ...`; files show the size right-aligned in 20 columns.
///
/// Exact UNIX layout: `{mode} {nlink:>3} owner    group {size:>15} {date} {name}` where
/// `mode` is the kind (`d`, `l`, `-`) and nine permission characters (with `s`/`S`,
/// `t`/`T` for set-id and sticky bits; when the permission bits are 0 the defaults `0755` for
/// directories, `0644` for files and `0777` for links are shown) and `date` is
/// `Mon dd HH:MM` when the entry is at most 180 days old and not in the future
/// relative to `now`, else `Mon dd  YYYY` (always the latter with `long_date`).
///
/// Exact MS-DOS layout: `MM-DD-YY  hh:mmAM {field} {name}` where `field` is
/// `      <DIR>         ` for directories and the size right-aligned in 20 columns
/// otherwise (links count as files); `YY` becomes `YYYY` with `long_date`.
///
/// Times are shown shifted by `utc_offset_seconds`; the name is written as is.
pub fn list_line(entry: &Entry, format: &ListFormat) -> String {
    let mut line = String::with_capacity(80);
    ListWriter::new(*format).write(entry, &mut line);
    line
}

/// Writes [`list_line`]s into one buffer. Entries of one directory often share their
/// modification minute, and the calendar conversion and date text are the costly part of a
/// line, so the date text of the previous entry is reused when its minute (and, for UNIX
/// lines, its recent-or-old form) is the same.
#[derive(Debug, Clone)]
pub struct ListWriter {
    format: ListFormat,
    /// (minute of `modified`, recent form) of `date`.
    cached: Option<(i64, bool)>,
    /// The date-and-time text of the cached minute, with the separators around it.
    date: String,
}

impl ListWriter {
    /// A writer for lines in `format`.
    pub fn new(format: ListFormat) -> ListWriter {
        ListWriter {
            format,
            cached: None,
            date: String::with_capacity(32),
        }
    }

    /// Appends the LIST line of `entry` (no line end) to `out`.
    pub fn write(&mut self, entry: &Entry, out: &mut String) {
        let format = self.format;
        let age = format.now.saturating_sub(entry.modified);
        let recent = format.unix && !format.long_date && (0..=RECENT_SECONDS).contains(&age);
        let shown = entry
            .modified
            .saturating_add(i64::from(format.utc_offset_seconds));
        let key = (shown.div_euclid(60), recent);
        if self.cached != Some(key) {
            self.date.clear();
            write_date(&format, entry.modified, recent, &mut self.date);
            self.cached = Some(key);
        }
        // Writing into a String cannot fail.
        // Numbers are right-aligned by hand: through `fmt` they were a fifth of a large
        // listing's user time.
        if format.unix {
            push_mode(entry.kind, entry.mode, out);
            out.push(' ');
            push_right_aligned(out, entry.nlink, 3);
            out.push_str(" owner    group ");
            push_right_aligned(out, entry.size, 15);
            out.push(' ');
            out.push_str(&self.date);
        } else {
            out.push_str(&self.date);
            match entry.kind {
                EntryKind::Dir => out.push_str("      <DIR>         "),
                _ => push_right_aligned(out, entry.size, 20),
            }
            out.push(' ');
        }
        out.push_str(&entry.name);
    }
}

/// The date part of a LIST line: UNIX `Jul  1 09:02 ` or `Jul  1  2019 `, MS-DOS
/// `07-01-19  09:03AM ` (the separators around it included).
fn write_date(format: &ListFormat, modified: i64, recent: bool, out: &mut String) {
    use std::fmt::Write;
    let shown = civil(modified.saturating_add(i64::from(format.utc_offset_seconds)));
    let (year, month, day) = (shown.year(), u8::from(shown.month()), shown.day());
    let (hour, minute) = (shown.hour(), shown.minute());
    if format.unix {
        let mon = MONTHS[usize::from(month) - 1];
        if recent {
            let _ = write!(out, "{mon} {day:>2} {hour:02}:{minute:02} ");
        } else {
            let _ = write!(out, "{mon} {day:>2}  {year:04} ");
        }
    } else {
        if format.long_date {
            let _ = write!(out, "{month:02}-{day:02}-{year:04}");
        } else {
            let _ = write!(out, "{month:02}-{day:02}-{:02}", year % 100);
        }
        let (hour12, ampm) = match hour {
            0 => (12, "AM"),
            1..=11 => (hour, "AM"),
            12 => (12, "PM"),
            _ => (hour - 12, "PM"),
        };
        let _ = write!(out, "  {hour12:02}:{minute:02}{ampm} ");
    }
}

/// `drwxr-xr-x`-style mode string, appended to `s`.
fn push_mode(kind: EntryKind, mode: u32, s: &mut String) {
    let (type_char, default) = match kind {
        EntryKind::File => (b'-', 0o644),
        EntryKind::Dir => (b'd', 0o755),
        EntryKind::Symlink => (b'l', 0o777),
    };
    let mode = if mode & 0o7777 == 0 { default } else { mode };
    let mut text = [type_char; 10];
    // (read bit, write bit, exec bit, special bit, special char)
    let triples = [
        (0o400, 0o200, 0o100, 0o4000, b's'),
        (0o040, 0o020, 0o010, 0o2000, b's'),
        (0o004, 0o002, 0o001, 0o1000, b't'),
    ];
    for (i, (r, w, x, special, special_char)) in triples.into_iter().enumerate() {
        text[1 + 3 * i] = if mode & r != 0 { b'r' } else { b'-' };
        text[2 + 3 * i] = if mode & w != 0 { b'w' } else { b'-' };
        let exec = mode & x != 0;
        text[3 + 3 * i] = match (mode & special != 0, exec) {
            (true, true) => special_char,
            (true, false) => special_char.to_ascii_uppercase(),
            (false, true) => b'x',
            (false, false) => b'-',
        };
    }
    // Only ASCII was written.
    s.push_str(std::str::from_utf8(&text).unwrap_or("----------"));
}

/// `n` right-aligned in `width` columns (wider numbers take the room they need).
fn push_right_aligned(s: &mut String, n: u64, width: usize) {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(n);
    for _ in digits.len()..width {
        s.push(' ');
    }
    s.push_str(digits);
}

/// Which MLSx facts to emit (OPTS MLST); all on by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MlstFacts {
    /// `type=`
    pub kind: bool,
    /// `size=`
    pub size: bool,
    /// `modify=`
    pub modify: bool,
    /// `perm=`
    pub perm: bool,
    /// `unix.mode=`
    pub unix_mode: bool,
}

impl Default for MlstFacts {
    fn default() -> Self {
        MlstFacts {
            kind: true,
            size: true,
            modify: true,
            perm: true,
            unix_mode: true,
        }
    }
}

impl MlstFacts {
    /// Applies `OPTS MLST` fact names (case-insensitive; unknown names ignored).
    pub fn from_names(names: &[String]) -> Self {
        let mut facts = MlstFacts {
            kind: false,
            size: false,
            modify: false,
            perm: false,
            unix_mode: false,
        };
        for name in names {
            match name.trim().to_ascii_lowercase().as_str() {
                "type" => facts.kind = true,
                "size" => facts.size = true,
                "modify" => facts.modify = true,
                "perm" => facts.perm = true,
                "unix.mode" => facts.unix_mode = true,
                _ => {}
            }
        }
        facts
    }

    /// Each fact name with whether it is enabled, in the canonical order.
    fn all(&self) -> [(&'static str, bool); 5] {
        [
            ("type", self.kind),
            ("size", self.size),
            ("modify", self.modify),
            ("perm", self.perm),
            ("unix.mode", self.unix_mode),
        ]
    }

    /// The `OPTS MLST` confirmation text, e.g. `type;size;modify;perm;unix.mode;`.
    /// Empty when no fact is enabled.
    pub fn names(&self) -> String {
        self.all()
            .iter()
            .filter(|(_, on)| *on)
            .map(|(name, _)| format!("{name};"))
            .collect()
    }

    /// The FEAT line body: `type*;size*;modify*;perm*;unix.mode*;` (star = enabled).
    pub fn feat_line(&self) -> String {
        self.all()
            .iter()
            .map(|(name, on)| format!("{name}{};", if *on { "*" } else { "" }))
            .collect()
    }
}

/// Permissions to show in `perm=` (RFC 3659 §7.5.5), from what the user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Access {
    /// May read (files: `r`; dirs: `e` and `l`).
    pub read: bool,
    /// May write (files: `a`, `d`, `f`, `w`; dirs: `c`, `d`, `f`, `m`, `p`).
    pub write: bool,
}

/// One MLSx fact line without CRLF and without the leading space:
/// `type=file;size=12;modify=20260101120000;perm=adfrw;unix.mode=0644; name`.
/// `kind_override` replaces the type fact (`cdir`/`pdir` for MLSD's `.` and `..`).
///
/// Facts come in the order type, size, modify, perm, unix.mode, each only when
/// enabled in `facts`, then one space and the name. Details:
/// - `type` is `file`, `dir`, or `OS.unix=symlink` for links (as ProFTPD does).
/// - `size` is given for files and links only (RFC 3659 leaves it undefined for dirs).
/// - `perm` letters are sorted: files `adfrw`, directories `cdeflmp` (an override
///   `cdir`/`pdir` counts as a directory); the fact is `perm=;` with no access.
/// - `unix.mode` is four octal digits, omitted when the mode is unknown (0).
pub fn mlsx_line(
    entry: &Entry,
    facts: &MlstFacts,
    access: Access,
    kind_override: Option<&str>,
) -> String {
    let is_dir = match kind_override {
        Some(kind) => {
            kind.eq_ignore_ascii_case("dir")
                || kind.eq_ignore_ascii_case("cdir")
                || kind.eq_ignore_ascii_case("pdir")
        }
        None => entry.kind == EntryKind::Dir,
    };
    let mut out = String::new();
    if facts.kind {
        let kind = kind_override.unwrap_or(match entry.kind {
            EntryKind::File => "file",
            EntryKind::Dir => "dir",
            EntryKind::Symlink => "OS.unix=symlink",
        });
        out.push_str(&format!("type={kind};"));
    }
    if facts.size && !is_dir {
        out.push_str(&format!("size={};", entry.size));
    }
    if facts.modify {
        out.push_str(&format!("modify={};", format_timeval(entry.modified)));
    }
    if facts.perm {
        let mut letters: Vec<char> = Vec::new();
        if is_dir {
            if access.read {
                letters.extend(['e', 'l']);
            }
            if access.write {
                letters.extend(['c', 'd', 'f', 'm', 'p']);
            }
        } else {
            if access.read {
                letters.push('r');
            }
            if access.write {
                letters.extend(['a', 'd', 'f', 'w']);
            }
        }
        letters.sort_unstable();
        let letters: String = letters.into_iter().collect();
        out.push_str(&format!("perm={letters};"));
    }
    if facts.unix_mode && entry.mode & 0o7777 != 0 {
        out.push_str(&format!("unix.mode={:04o};", entry.mode & 0o7777));
    }
    out.push(' ');
    out.push_str(&entry.name);
    out
}

/// `YYYYMMDDHHMMSS` in UTC (MDTM reply, MLSx `modify`).
///
/// Times outside the years 0000..=9999 are clamped to that range.
pub fn format_timeval(unix_seconds: i64) -> String {
    let t = civil(unix_seconds);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Parses `YYYYMMDDHHMMSS[.sss]` (UTC) into Unix seconds; `None` when invalid.
///
/// Exactly fourteen ASCII digits, optionally followed by `.` and one or more digits
/// (ignored). Month, day (for that month and year), hour and minute are validated;
/// the second may be 60 (a leap second, RFC 3659), counted as the next minute.
pub fn parse_timeval(text: &str) -> Option<i64> {
    let (main, fraction) = match text.split_once('.') {
        Some((main, fraction)) => (main, Some(fraction)),
        None => (text, None),
    };
    if let Some(fraction) = fraction
        && (fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let b = main.as_bytes();
    if b.len() != 14 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let num = |range: std::ops::Range<usize>| {
        b[range]
            .iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'))
    };
    let year = i32::try_from(num(0..4)).ok()?;
    let month = Month::try_from(u8::try_from(num(4..6)).ok()?).ok()?;
    let day = u8::try_from(num(6..8)).ok()?;
    let (hour, minute, second) = (num(8..10), num(10..12), num(12..14));
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let date = Date::from_calendar_date(year, month, day).ok()?;
    let time = Time::from_hms(hour as u8, minute as u8, second.min(59) as u8).ok()?;
    let ts = PrimitiveDateTime::new(date, time)
        .assume_utc()
        .unix_timestamp();
    Some(ts + i64::from(second == 60))
}
