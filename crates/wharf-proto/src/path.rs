//! Lexical client-path normalisation into a [`VirtualPath`].
//!
//! A `VirtualPath` is absolute, `/`-separated, with no empty, `.` or `..` segments and
//! no NUL or control characters. `..` at the root stays at the root (as every FTP server
//! does), so no client string can name anything above the tree it is resolved in.

use std::fmt;

/// Why a client path was refused (reply 553/501).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    /// NUL or another control character in the path.
    ForbiddenCharacter,
    /// Longer than the limit given to [`VirtualPath::join`].
    TooLong,
}

/// A normalised absolute virtual path.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VirtualPath {
    segments: Vec<String>,
}

impl VirtualPath {
    /// `/`
    pub fn root() -> Self {
        VirtualPath {
            segments: Vec::new(),
        }
    }

    /// Resolves a client argument against `self` (the current directory): absolute
    /// arguments start at the root; `.`/`..`/empty segments are normalised; `..` never
    /// goes above the root. A `~` argument is not special. `max_len` caps the result.
    pub fn join(&self, arg: &str, max_len: usize) -> Result<VirtualPath, PathError> {
        let _ = (arg, max_len);
        todo!()
    }

    /// Builds from already-clean segments (e.g. from configuration); returns `None` if
    /// any segment is empty, `.`, `..`, contains `/` or a control character.
    pub fn from_segments<I, S>(segments: I) -> Option<VirtualPath>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let segments: Vec<String> = segments.into_iter().map(Into::into).collect();
        segments
            .iter()
            .all(|s| is_clean_segment(s))
            .then_some(VirtualPath { segments })
    }

    /// The segments, outermost first.
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// True for `/`.
    pub fn is_root(&self) -> bool {
        self.segments.is_empty()
    }

    /// The parent (`/` for `/`).
    pub fn parent(&self) -> VirtualPath {
        let mut segments = self.segments.clone();
        segments.pop();
        VirtualPath { segments }
    }

    /// Last segment, `None` for `/`.
    pub fn file_name(&self) -> Option<&str> {
        self.segments.last().map(String::as_str)
    }

    /// Appends one clean segment (`None` if the segment is not clean).
    pub fn child(&self, name: &str) -> Option<VirtualPath> {
        if !is_clean_segment(name) {
            return None;
        }
        let mut segments = self.segments.clone();
        segments.push(name.to_string());
        Some(VirtualPath { segments })
    }

    /// True when `prefix` is `self` or an ancestor of it (segment-wise, case-sensitive).
    pub fn starts_with(&self, prefix: &VirtualPath) -> bool {
        self.segments.starts_with(&prefix.segments)
    }

    /// `self` with `prefix` removed, as a path under `/`; `None` if not a prefix.
    pub fn strip_prefix(&self, prefix: &VirtualPath) -> Option<VirtualPath> {
        self.segments
            .strip_prefix(prefix.segments.as_slice())
            .map(|rest| VirtualPath {
                segments: rest.to_vec(),
            })
    }

    /// `self` followed by all segments of `rest`.
    pub fn concat(&self, rest: &VirtualPath) -> VirtualPath {
        let mut segments = self.segments.clone();
        segments.extend(rest.segments.iter().cloned());
        VirtualPath { segments }
    }
}

/// A segment that can appear in a `VirtualPath`.
fn is_clean_segment(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains('/') && !s.chars().any(char::is_control)
}

impl fmt::Display for VirtualPath {
    /// `/` or `/a/b`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.segments.is_empty() {
            return f.write_str("/");
        }
        for s in &self.segments {
            write!(f, "/{s}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for VirtualPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VirtualPath({self})")
    }
}
