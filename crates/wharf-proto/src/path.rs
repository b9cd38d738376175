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
    ///
    /// `max_len` is compared with the length in bytes of the displayed result
    /// (`/a/b` is 4). Control characters (C0, DEL, C1) anywhere in `arg`, even in a
    /// segment a later `..` would remove, give [`PathError::ForbiddenCharacter`].
    /// Only `/` separates segments: `\` and `%2e` are ordinary characters.
    pub fn join(&self, arg: &str, max_len: usize) -> Result<VirtualPath, PathError> {
        if arg.chars().any(char::is_control) {
            return Err(PathError::ForbiddenCharacter);
        }
        let mut segments = if arg.starts_with('/') {
            Vec::new()
        } else {
            self.segments.clone()
        };
        let mut len = display_len(&segments);
        for seg in arg.split('/') {
            match seg {
                "" | "." => {}
                ".." => {
                    if let Some(popped) = segments.pop() {
                        len -= popped.len() + 1;
                    }
                }
                _ => {
                    len += seg.len() + 1;
                    segments.push(seg.to_owned());
                }
            }
        }
        if len.max(1) > max_len {
            return Err(PathError::TooLong);
        }
        Ok(VirtualPath { segments })
    }

    /// Builds from already-clean segments (e.g. from configuration); returns `None` if
    /// any segment is empty, `.`, `..`, contains `/` or a control character.
    pub fn from_segments<I, S>(segments: I) -> Option<VirtualPath>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let segments: Vec<String> = segments.into_iter().map(Into::into).collect();
        if segments.iter().all(|s| is_clean_segment(s)) {
            Some(VirtualPath { segments })
        } else {
            None
        }
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
        segments.push(name.to_owned());
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

    /// Length in bytes of the displayed form (`/` is 1, `/a/b` is 4).
    pub fn display_len(&self) -> usize {
        display_len(&self.segments).max(1)
    }
}

/// Sum of `1 + len` over the segments (0 for the root).
fn display_len(segments: &[String]) -> usize {
    segments.iter().map(|s| s.len() + 1).sum()
}

/// Non-empty, not `.`/`..`, no `/`, no control character.
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
