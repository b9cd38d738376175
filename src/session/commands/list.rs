//! LIST, NLST, MLSD, MLST and STAT with a path (RFC 959, RFC 3659 §7).
//!
//! Listings stream: entries come from the storage as the directory is read, a formatter
//! task turns them into lines, and the data channel writes them in batches, so a
//! directory of 100,000 entries never sits in memory.

use std::collections::HashSet;
use std::io;
use std::sync::OnceLock;

use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use wharf_proto::command::ListArgs;
use wharf_proto::listing::{Access, Entry, EntryKind, ListFormat, ListWriter, mlsx_line};
use wharf_proto::{Reply, VirtualPath};

use super::super::data::{Payload, TransferContext};
use super::super::{Flow, Session};
use super::fileops::resolve_or_reply;
use crate::auth::Permission;
use crate::limits::{LIST_BATCH, LIST_CHANNEL_DEPTH};
use crate::registry::TransferDirection;
use crate::storage::StorageError;
use crate::storage::vdirs::Resolved;

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

    /// Starts streaming entries of `r` (a directory, or a single file) as lines made by
    /// `format`, which appends one line (without its end) for an entry, or nothing to leave
    /// the entry out. Each message is a chunk of whole CRLF-terminated lines, one per
    /// storage batch.
    async fn stream_listing(
        &self,
        client_path: &VirtualPath,
        r: &Resolved,
        mut format: impl FnMut(&Entry, &mut String) + Send + 'static,
    ) -> Result<mpsc::Receiver<Result<Vec<u8>, StorageError>>, Reply> {
        let entry = r
            .storage
            .metadata(&r.rel)
            .await
            .map_err(|e| self.storage_error(&e))?;
        let (tx, rx) = mpsc::channel(LIST_CHANNEL_DEPTH);
        if entry.kind != EntryKind::Dir {
            let mut single = entry;
            single.name = client_path.file_name().unwrap_or_default().to_string();
            let _ = tx.send(Ok(format_lines([&single], &mut format))).await;
            return Ok(rx);
        }
        let mut entries = r
            .storage
            .list(&r.rel)
            .await
            .map_err(|e| self.storage_error(&e))?;
        let virtual_entries = self.virtual_entries(client_path);
        tokio::spawn(async move {
            let shown: HashSet<String> = virtual_entries.iter().map(|e| e.name.clone()).collect();
            if !virtual_entries.is_empty()
                && tx
                    .send(Ok(format_lines(&virtual_entries, &mut format)))
                    .await
                    .is_err()
            {
                return;
            }
            while let Some(item) = entries.recv().await {
                let chunk = item.map(|batch| {
                    let physical = batch.iter().filter(|e| !shown.contains(&e.name));
                    format_lines(physical, &mut format)
                });
                let failed = chunk.is_err();
                if tx.send(chunk).await.is_err() || failed {
                    return;
                }
            }
        });
        Ok(rx)
    }

    async fn start_listing(
        &mut self,
        verb: &'static str,
        client_path: VirtualPath,
        lines: mpsc::Receiver<Result<Vec<u8>, StorageError>>,
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
            Payload::Lines(lines),
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
        let keep = move |e: &Entry| pattern.as_deref().is_none_or(|p| glob_match(p, &e.name));
        let mut writer = ListWriter::new(self.list_format());
        let lines = match kind {
            ListKind::List => {
                self.stream_listing(&client_path, &r, move |e, out| {
                    if keep(e) {
                        writer.write(e, out);
                    }
                })
                .await
            }
            ListKind::Nlst => {
                self.stream_listing(&client_path, &r, move |e, out| {
                    if keep(e) {
                        out.push_str(&e.name);
                    }
                })
                .await
            }
        };
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
        match self
            .stream_listing(&client_path, &r, move |e, out| {
                out.push_str(&mlsx_line(e, &facts, access, None));
            })
            .await
        {
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
        let mut writer = ListWriter::new(self.list_format());
        // A leading space keeps every listing line distinct from the end line.
        let mut lines = match self
            .stream_listing(&client_path, &r, move |e, out| {
                out.push(' ');
                writer.write(e, out);
            })
            .await
        {
            Ok(lines) => lines,
            Err(reply) => return self.send(reply).await,
        };
        let head = format!("213-Status of {client_path}:\r\n");
        self.write_raw(head.as_bytes()).await?;
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

/// The lines `format` makes for `entries`, each ended by CRLF, in one buffer.
fn format_lines<'a>(
    entries: impl IntoIterator<Item = &'a Entry>,
    format: &mut impl FnMut(&Entry, &mut String),
) -> Vec<u8> {
    let mut chunk = String::with_capacity(LIST_BATCH * 80);
    for entry in entries {
        let before = chunk.len();
        format(entry, &mut chunk);
        if chunk.len() > before {
            chunk.push_str("\r\n");
        }
    }
    chunk.into_bytes()
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
