//! Directory listing formats from a neutral [`Entry`]: `LIST` in UNIX `ls -l` or IIS
//! MS-DOS style, `NLST` names, and RFC 3659 MLSx fact lines; MDTM/MFMT timestamps.

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
/// UNIX: `drwxr-xr-x   1 owner    group           0 Jul  1 09:02 docs` (year instead of
/// time when older than ~6 months or in the future, or always with `long_date`).
/// MS-DOS: `07-01-19  09:03AM       <DIR>          docs` or with `long_date`
/// `07-01-2019  09:03AM ...`; files show the size right-aligned in 20 columns.
pub fn list_line(entry: &Entry, format: &ListFormat) -> String {
    let _ = (entry, format);
    todo!()
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
        let _ = names;
        todo!()
    }

    /// The `OPTS MLST` confirmation text, e.g. `type;size;modify;perm;unix.mode;`.
    pub fn names(&self) -> String {
        todo!()
    }

    /// The FEAT line body: `type*;size*;modify*;perm*;unix.mode*;` (star = enabled).
    pub fn feat_line(&self) -> String {
        todo!()
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
pub fn mlsx_line(
    entry: &Entry,
    facts: &MlstFacts,
    access: Access,
    kind_override: Option<&str>,
) -> String {
    let _ = (entry, facts, access, kind_override);
    todo!()
}

/// `YYYYMMDDHHMMSS` in UTC (MDTM reply, MLSx `modify`).
pub fn format_timeval(unix_seconds: i64) -> String {
    let _ = unix_seconds;
    todo!()
}

/// Parses `YYYYMMDDHHMMSS[.sss]` (UTC) into Unix seconds; `None` when invalid.
pub fn parse_timeval(text: &str) -> Option<i64> {
    let _ = text;
    todo!()
}
