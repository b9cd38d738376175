//! LIST, NLST, MLSD, MLST and STAT with a path (RFC 959, RFC 3659 §7).
//!
//! Listings stream: entries come from the storage as the directory is read, a formatter
//! task turns them into lines, and the data channel writes them in batches, so a
//! directory of 100,000 entries never sits in memory.

use std::collections::HashSet;
use std::io;
use std::sync::{Arc, OnceLock};

use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use wharf_proto::command::ListArgs;
use wharf_proto::listing::{Access, Entry, EntryKind, ListFormat, ListWriter, mlsx_line};
use wharf_proto::{Reply, VirtualPath};

use super::super::data::{Payload, TransferContext};
use super::super::{Flow, Session};
use super::fileops::resolve_or_reply;
use crate::auth::Permission;
use crate::registry::TransferDirection;
use crate::storage::vdirs::Resolved;
use crate::storage::{LineReceiver, LineWriter, LineWriters, StorageErrorKind, format_lines};

/// LIST or NLST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    /// Long lines.
    List,
    /// Names only.
    Nlst,
}

/// The server's UTC offset for listings without `UseGmtTime`, read once at start-up
/// (before threads exist, as the `time` crate requires); UTC when unknown.
static LOCAL_UTC_OFFSET: OnceLock<i32> = OnceLock::new();

/// Records the local UTC offset; call before the runtime starts its threads.
pub fn init_local_offset() {
    let offset = time::UtcOffset::current_local_offset()
        .map(|o| o.whole_seconds())
        .unwrap_or(0);
    let _ = LOCAL_UTC_OFFSET.set(offset);
}

impl Session {
    fn list_format(&self) -> ListFormat {
        let flags = self.site.config.ftp.directory_browse;
        ListFormat {
            unix: flags.style_unix,
            long_date: flags.long_date,
            utc_offset_seconds: if flags.use_gmt_time {
                0
            } else {
                LOCAL_UTC_OFFSET.get().copied().unwrap_or(0)
            },
            now: time::OffsetDateTime::now_utc().unix_timestamp(),
        }
    }

    /// Virtual directories to show in a listing of `client_dir`.
    fn virtual_entries(&self, client_dir: &VirtualPath) -> Vec<Entry> {
        if !self
            .site
            .config
            .ftp
            .directory_browse
            .display_virtual_directories
        {
            return Vec::new();
        }
        let Some(logged) = self.logged_in() else {
            return Vec::new();
        };
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        logged
            .view
            .child_mounts(client_dir)
            .into_iter()
            .map(|name| Entry {
                name,
                kind: EntryKind::Dir,
                size: 0,
                modified: now,
                mode: 0o755,
                nlink: 1,
            })
            .collect()
    }

    /// Starts streaming the listing of `r` (a directory, or a single file): the lines for the
    /// virtual directories shown here, and a stream of chunks of lines for the rest. Each
    /// writer `writers` makes appends one line (without its end) for an entry, or nothing to
    /// leave the entry out; the storage formats on the threads that read the directory.
    async fn stream_listing(
        &self,
        client_path: &VirtualPath,
        r: &Resolved,
        writers: LineWriters,
    ) -> Result<(Vec<u8>, LineReceiver), Reply> {
        let virtual_entries = self.virtual_entries(client_path);
        let head = format_lines(&virtual_entries, &mut writers());
        // A virtual directory hides a physical entry of the same name.
        let dir_writers = if virtual_entries.is_empty() {
            writers.clone()
        } else {
            let shown: Arc<HashSet<String>> =
                Arc::new(virtual_entries.into_iter().map(|e| e.name).collect());
            let writers = writers.clone();
            Arc::new(move || -> LineWriter {
                let mut write = writers();
                let shown = shown.clone();
                Box::new(move |e: &Entry, out: &mut String| {
                    if !shown.contains(&e.name) {
                        write(e, out);
                    }
                })
            })
        };
        // A directory (nearly always): one lookup. A file: its own line.
        let rest = match r.storage.list_lines(&r.rel, dir_writers).await {
            Ok(rest) => rest,
            Err(e) if e.kind == StorageErrorKind::WrongKind => {
                let mut single = r
                    .storage
                    .metadata(&r.rel)
                    .await
                    .map_err(|e| self.storage_error(&e))?;
                single.name = client_path.file_name().unwrap_or_default().to_string();
                let (_, none) = mpsc::channel(1);
                return Ok((format_lines([&single], &mut writers()), none));
            }
            Err(e) => return Err(self.storage_error(&e)),
        };
        Ok((head, rest))
    }

    async fn start_listing(
        &mut self,
        verb: &'static str,
        client_path: VirtualPath,
        (head, rest): (Vec<u8>, LineReceiver),
    ) -> io::Result<Flow> {
        let Some(params) = self.take_data_params().await? else {
            return Ok(Flow::Continue);
        };
        let opening = "Opening ASCII mode data connection for directory listing.".to_string();
        let context = TransferContext::new(verb, client_path.to_string());
        self.begin_transfer(
            params,
            opening,
            (TransferDirection::Download, None),
            Payload::Lines { head, rest },
            context,
        )
        .await
    }

    pub(in crate::session) async fn cmd_list(
        &mut self,
        args: ListArgs,
        kind: ListKind,
    ) -> io::Result<Flow> {
        let arg = args.path.unwrap_or_else(|| ".".to_string());
        let (client_path, r) = resolve_or_reply!(self, &arg, Permission::Read);
        // `LIST *.txt` (what mget/mdelete send): when the name does not exist as written and
        // its last segment has `*` or `?`, list the parent directory filtered by the pattern.
        let pattern = match client_path.file_name() {
            Some(name) if is_glob(name) && r.storage.metadata(&r.rel).await.is_err() => {
                Some(name.to_string())
            }
            _ => None,
        };
        let (client_path, r) = match &pattern {
            Some(_) => {
                let parent = client_path.parent().to_string();
                resolve_or_reply!(self, &parent, Permission::Read)
            }
            None => (client_path, r),
        };
        let format = self.list_format();
        let writers: LineWriters = Arc::new(move || -> LineWriter {
            let pattern = pattern.clone();
            let keep = move |e: &Entry| pattern.as_deref().is_none_or(|p| glob_match(p, &e.name));
            match kind {
                ListKind::List => {
                    let mut writer = ListWriter::new(format);
                    Box::new(move |e: &Entry, out: &mut String| {
                        if keep(e) {
                            writer.write(e, out);
                        }
                    })
                }
                ListKind::Nlst => Box::new(move |e: &Entry, out: &mut String| {
                    if keep(e) {
                        out.push_str(&e.name);
                    }
                }),
            }
        });
        let lines = self.stream_listing(&client_path, &r, writers).await;
        match lines {
            Ok(lines) => {
                self.start_listing(
                    if kind == ListKind::List {
                        "LIST"
                    } else {
                        "NLST"
                    },
                    client_path,
                    lines,
                )
                .await
            }
            Err(reply) => self.send(reply).await,
        }
    }

    /// `perm=` facts for entries of a directory: authorization at the directory.
    fn access_at(&self, site_path: &VirtualPath) -> Access {
        Access {
            read: self.permits(site_path, Permission::Read),
            write: self.permits(site_path, Permission::Write),
        }
    }

    pub(in crate::session) async fn cmd_mlsd(&mut self, path: Option<String>) -> io::Result<Flow> {
        let arg = path.unwrap_or_else(|| ".".to_string());
        let (client_path, r) = resolve_or_reply!(self, &arg, Permission::Read);
        match r.storage.metadata(&r.rel).await {
            Ok(e) if e.kind == EntryKind::Dir => {}
            Ok(_) => return self.ok(501, "MLSD needs a directory.").await,
            Err(e) => return self.storage_failed(e).await,
        }
        let facts = self.mlst_facts;
        let access = self.access_at(&r.site_path);
        let writers: LineWriters = Arc::new(move || -> LineWriter {
            Box::new(move |e: &Entry, out: &mut String| {
                out.push_str(&mlsx_line(e, &facts, access, None));
            })
        });
        match self.stream_listing(&client_path, &r, writers).await {
            Ok(lines) => self.start_listing("MLSD", client_path, lines).await,
            Err(reply) => self.send(reply).await,
        }
    }

    pub(in crate::session) async fn cmd_mlst(&mut self, path: Option<String>) -> io::Result<Flow> {
        let arg = path.unwrap_or_else(|| ".".to_string());
        let (client_path, r) = resolve_or_reply!(self, &arg, Permission::Read);
        let mut entry = match r.storage.metadata(&r.rel).await {
            Ok(e) => e,
            Err(e) => return self.storage_failed(e).await,
        };
        entry.name = client_path.to_string();
        let access = self.access_at(&r.site_path);
        let line = mlsx_line(&entry, &self.mlst_facts, access, None);
        self.reply(Reply::multi(
            250,
            vec![
                format!("Listing {client_path}"),
                format!(" {line}"),
                "End.".to_string(),
            ],
        ))
        .await?;
        Ok(Flow::Continue)
    }

    /// STAT with a path: the LIST lines over the control connection (213), streamed.
    pub(in crate::session) async fn stat_path(&mut self, arg: &str) -> io::Result<Flow> {
        let (client_path, r) = resolve_or_reply!(self, arg, Permission::Read);
        let format = self.list_format();
        // A leading space keeps every listing line distinct from the end line.
        let writers: LineWriters = Arc::new(move || -> LineWriter {
            let mut writer = ListWriter::new(format);
            Box::new(move |e: &Entry, out: &mut String| {
                out.push(' ');
                writer.write(e, out);
            })
        });
        let (lines_head, mut lines) = match self.stream_listing(&client_path, &r, writers).await {
            Ok(lines) => lines,
            Err(reply) => return self.send(reply).await,
        };
        let head = format!("213-Status of {client_path}:\r\n");
        self.write_raw(head.as_bytes()).await?;
        if !lines_head.is_empty() {
            self.write_raw(&lines_head).await?;
        }
        while let Some(chunk) = lines.recv().await {
            match chunk {
                Ok(chunk) => self.write_raw(&chunk).await?,
                Err(e) => {
                    tracing::warn!(error = %e, "listing failed during STAT");
                    break;
                }
            }
        }
        self.reply(Reply::new(213, "End of status.")).await?;
        Ok(Flow::Continue)
    }

    /// Writes part of a streamed multi-line reply (its final line goes through `reply`).
    async fn write_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.handle.add_sent(bytes.len() as u64);
        self.control.write_all(bytes).await
    }
}

fn is_glob(name: &str) -> bool {
    name.contains(['*', '?'])
}

/// Shell-style match of `*` (any run) and `?` (one character), case-sensitive.
fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                backtrack = Some((pi, ni));
                pi += 1;
            }
            Some(c) if *c == '?' || *c == n[ni] => {
                pi += 1;
                ni += 1;
            }
            _ => match backtrack {
                Some((bp, bn)) => {
                    pi = bp + 1;
                    ni = bn + 1;
                    backtrack = Some((bp, bn + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs_match_like_a_shell() {
        assert!(glob_match("*.txt", "a.txt"));
        assert!(glob_match("*.txt", ".txt"));
        assert!(!glob_match("*.txt", "a.txt.bak"));
        assert!(glob_match("a?c*", "abcdef"));
        assert!(!glob_match("a?c", "ac"));
        assert!(glob_match("*a*b*", "xxaxxbxx"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("?", ""));
    }
}
