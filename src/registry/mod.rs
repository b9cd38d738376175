//! The sessions collection of each site (IIS `system.applicationHost/sites/site/ftpServer/sessions`),
//! read-only to everyone but the owning session task, and the bounded history of ended sessions.
//!
//! - [`handle`]: `SessionHandle`, the live, shared part of one session (atomics + a small mutex).
//! - [`record`]: `SessionRecord`, a point-in-time snapshot with the IIS attribute names.
//! - [`ended`]: `EndedSession`, `EndReason` and the bounded history.
//! - [`events`]: the event bus (started / updated / ended with ids, replay ring, sampler).
//!
//! The owning session task writes its handle; readers take snapshots without stopping it.
//! The registry lock is held only to insert, remove or clone `Arc`s out: nothing on the
//! transfer path touches it.

pub mod ended;
pub mod events;
pub mod handle;
pub mod record;

pub use ended::{EndReason, EndedSession, TerminateRequest};
pub use events::{Event, EventBus, EventKind, EventPayload};
pub use handle::{SessionHandle, SessionState, TransferDirection};
pub use record::{RecordView, SessionRecord, TlsRecord, TransferRecord, TransferView};

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use time::OffsetDateTime;
use uuid::Uuid;

/// All live sessions of the server, grouped by site on demand, and the ended history.
#[derive(Debug)]
pub struct Registry {
    live: RwLock<HashMap<Uuid, Arc<SessionHandle>>>,
    history: Mutex<History>,
    retention: usize,
    events: Arc<EventBus>,
}

#[derive(Debug, Default)]
struct History {
    ended: VecDeque<EndedSession>,
    totals: HashMap<String, SiteTotals>,
}

/// Per-site totals over the life of the server (for `/metrics`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SiteTotals {
    /// Live sessions now.
    pub current: u64,
    /// Ended sessions by reason, indexed like [`EndReason::ALL`].
    pub ended: [u64; EndReason::ALL.len()],
    /// `bytesSent` of ended sessions plus live ones.
    pub bytes_sent: u64,
    /// `bytesReceived` of ended sessions plus live ones.
    pub bytes_received: u64,
    /// Terminate requests delivered to a live session.
    pub terminations: u64,
}

/// Why `terminate` could not act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TerminateOutcome {
    /// The request was delivered to the live session.
    Requested,
    /// The session had already ended: its record.
    AlreadyEnded(Box<EndedSession>),
    /// No such session.
    NotFound,
}

impl Registry {
    /// An empty registry keeping at most `retention` ended sessions, with its own event bus.
    pub fn new(retention: usize) -> Registry {
        Registry::with_events(retention, Arc::new(EventBus::default()))
    }

    /// An empty registry publishing on `events`.
    pub fn with_events(retention: usize, events: Arc<EventBus>) -> Registry {
        Registry {
            live: RwLock::new(HashMap::new()),
            history: Mutex::new(History::default()),
            retention,
            events,
        }
    }

    /// The event bus: session handles must be created with it (`SessionHandle::new`).
    pub fn events(&self) -> &Arc<EventBus> {
        &self.events
    }

    /// Adds a live session and publishes `session.started`.
    pub fn insert(&self, handle: Arc<SessionHandle>) {
        debug_assert!(
            handle.publishes_on(&self.events),
            "session handles must be created with the registry's event bus"
        );
        write_lock(&self.live).insert(handle.id, handle.clone());
        handle.publish_started();
    }

    /// Moves a session from the live set to the ended history with its final record,
    /// publishes `session.ended` and wakes whoever waits for the end (terminate).
    pub fn finish(&self, handle: &SessionHandle, reason: EndReason) -> EndedSession {
        let now = OffsetDateTime::now_utc();
        let request = handle.terminate_request().cloned();
        let ended = EndedSession {
            record: handle.record(),
            end_reason: reason,
            end_time: now,
            terminated_by: request.as_ref().map(|r| r.actor.clone()),
            terminate_reason: request.and_then(|r| r.reason),
        };
        {
            // History before live, as in `totals`: a reader sees the session on exactly
            // one side.
            let mut history = lock(&self.history);
            let totals = history
                .totals
                .entry(ended.record.site_name.clone())
                .or_default();
            totals.ended[reason.index()] += 1;
            totals.bytes_sent += ended.record.bytes_sent;
            totals.bytes_received += ended.record.bytes_received;
            if self.retention > 0 {
                if history.ended.len() >= self.retention {
                    history.ended.pop_front();
                }
                history.ended.push_back(ended.clone());
            }
            write_lock(&self.live).remove(&handle.id);
        }
        self.events.publish_ended(handle, Arc::new(ended.clone()));
        ended
    }

    /// Per-site totals: live session counts and byte counters plus everything ended.
    pub fn totals(&self) -> HashMap<String, SiteTotals> {
        let (mut totals, handles) = {
            let history = lock(&self.history);
            (history.totals.clone(), self.handles())
        };
        for h in handles {
            let r = h.counters();
            let t = totals.entry(h.site_name().to_string()).or_default();
            t.current += 1;
            t.bytes_sent += r.0;
            t.bytes_received += r.1;
        }
        totals
    }

    /// Handles of the live sessions (cloned `Arc`s; the lock is released before returning).
    pub fn handles(&self) -> Vec<Arc<SessionHandle>> {
        read_lock(&self.live).values().cloned().collect()
    }

    /// The live session with this id.
    pub fn get(&self, id: Uuid) -> Option<Arc<SessionHandle>> {
        read_lock(&self.live).get(&id).cloned()
    }

    /// Snapshots of the live sessions of one site (all sites with `None`), oldest first.
    pub fn sessions(&self, site: Option<&str>) -> Vec<SessionRecord> {
        let mut records = Vec::new();
        self.visit_sessions(site, |view| records.push(view.to_record()));
        records
    }

    /// Calls `visit` with each live session (optionally of one site), oldest first, each
    /// borrowed under its lock in turn: renderers write straight from the sessions.
    pub fn visit_sessions(&self, site: Option<&str>, mut visit: impl FnMut(&RecordView<'_>)) {
        let now = Instant::now();
        let mut handles = self.handles();
        if let Some(site) = site {
            handles.retain(|h| h.site_name().as_ref() == site);
        }
        // Sort the pointers, not the records (a record is a few hundred bytes), by a key
        // computed once per session (comparing `OffsetDateTime`s normalises offsets).
        handles.sort_by_cached_key(|h| (h.start_time.unix_timestamp_nanos(), h.id));
        for handle in &handles {
            handle.view(now, &mut visit);
        }
    }

    /// Number of live sessions on every site.
    pub fn len(&self) -> usize {
        read_lock(&self.live).len()
    }

    /// No live session at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of live sessions on `site`.
    pub fn count(&self, site: &str) -> usize {
        read_lock(&self.live)
            .values()
            .filter(|h| h.site_name().as_ref() == site)
            .count()
    }

    /// The ended history (oldest first), optionally for one site.
    pub fn ended(&self, site: Option<&str>) -> Vec<EndedSession> {
        lock(&self.history)
            .ended
            .iter()
            .filter(|e| site.is_none_or(|s| e.record.site_name == s))
            .cloned()
            .collect()
    }

    /// The ended record of `id`, if it is still in the history.
    pub fn ended_session(&self, id: Uuid) -> Option<EndedSession> {
        lock(&self.history)
            .ended
            .iter()
            .rev()
            .find(|e| e.record.session_id == id)
            .cloned()
    }

    /// Asks a live session to end (the IIS `Terminate` method). The session task does the
    /// FTP-visible work: 426 on a running transfer, `421 <reason>`, close, history.
    pub fn terminate(&self, id: Uuid, actor: &str, reason: Option<String>) -> TerminateOutcome {
        match self.get(id) {
            Some(handle) => {
                let first = handle.terminate_request().is_none();
                handle.request_terminate(TerminateRequest {
                    actor: actor.to_string(),
                    reason,
                });
                if first {
                    lock(&self.history)
                        .totals
                        .entry(handle.site_name().to_string())
                        .or_default()
                        .terminations += 1;
                }
                TerminateOutcome::Requested
            }
            None => match self.ended_session(id) {
                Some(ended) => TerminateOutcome::AlreadyEnded(Box::new(ended)),
                None => TerminateOutcome::NotFound,
            },
        }
    }
}

// A poisoned lock only means another thread panicked while holding it; the data (plain
// maps and records) stays consistent, so keep serving rather than propagate the panic.
fn read_lock<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

fn write_lock<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;

    fn handle(registry: &Registry, site: &str) -> Arc<SessionHandle> {
        let client: SocketAddr = "127.0.0.1:50000".parse().unwrap();
        let server: SocketAddr = "127.0.0.1:21".parse().unwrap();
        Arc::new(SessionHandle::new(
            Arc::from(site),
            client,
            server,
            tokio_util::sync::CancellationToken::new(),
            registry.events().clone(),
        ))
    }

    #[test]
    fn records_follow_commands_and_counters() {
        let registry = Registry::new(10);
        let h = handle(&registry, "alpha");
        registry.insert(h.clone());
        h.command_started("USER alice".into());
        h.command_started("PASS ***".into());
        h.set_user("alice");
        h.reply_sent(230);
        h.add_transfer(TransferDirection::Download, 100);
        h.add_received(7);
        let records = registry.sessions(Some("alpha"));
        assert_eq!(records.len(), 1);
        let r = &records[0];
        assert_eq!(r.current_command, "PASS ***");
        assert_eq!(r.previous_command, "USER alice");
        assert_eq!(r.user_name, "alice");
        assert_eq!(r.last_error_status, 230);
        assert_eq!((r.bytes_sent, r.bytes_received), (100, 7));
        assert_eq!(r.client_ip.to_string(), "127.0.0.1");
        assert_eq!(r.session_id.get_version_num(), 4);
        assert!(registry.sessions(Some("beta")).is_empty());
        assert_eq!(registry.sessions(None).len(), 1);
    }

    #[test]
    fn site_change_moves_the_session() {
        let registry = Registry::new(10);
        let h = handle(&registry, "alpha");
        registry.insert(h.clone());
        h.set_site(Arc::from("beta"), "beta.example");
        assert_eq!(registry.count("alpha"), 0);
        assert_eq!(registry.count("beta"), 1);
        assert_eq!(registry.sessions(Some("beta"))[0].host_name, "beta.example");
    }

    #[test]
    fn ended_history_is_bounded_and_keeps_the_terminate_request() {
        let registry = Registry::new(2);
        let mut ids = Vec::new();
        for _ in 0..3 {
            let h = handle(&registry, "alpha");
            registry.insert(h.clone());
            ids.push(h.id);
            assert_eq!(
                registry.terminate(h.id, "api", Some("maintenance".into())),
                TerminateOutcome::Requested
            );
            assert!(h.cancel_token().is_cancelled());
            registry.finish(&h, EndReason::Terminated);
        }
        let ended = registry.ended(None);
        assert_eq!(ended.len(), 2);
        assert_eq!(ended[0].record.session_id, ids[1]);
        assert_eq!(ended[1].terminated_by.as_deref(), Some("api"));
        assert_eq!(ended[1].terminate_reason.as_deref(), Some("maintenance"));
        assert!(registry.sessions(None).is_empty());
        match registry.terminate(ids[2], "api", None) {
            TerminateOutcome::AlreadyEnded(e) => assert_eq!(e.end_reason, EndReason::Terminated),
            other => panic!("expected the ended record, got {other:?}"),
        }
        assert_eq!(
            registry.terminate(ids[0], "api", None),
            TerminateOutcome::NotFound
        );
    }

    #[test]
    fn totals_count_live_and_ended_sessions_per_site() {
        let registry = Registry::new(0);
        let a = handle(&registry, "alpha");
        let b = handle(&registry, "alpha");
        let c = handle(&registry, "beta");
        for h in [&a, &b, &c] {
            registry.insert(h.clone());
        }
        a.add_sent(100);
        b.add_received(7);
        c.add_sent(1);
        assert_eq!(
            registry.terminate(a.id, "api", None),
            TerminateOutcome::Requested
        );
        // A second request for the same session is not a second termination.
        assert_eq!(
            registry.terminate(a.id, "cli", None),
            TerminateOutcome::Requested
        );
        registry.finish(&a, EndReason::Terminated);
        b.add_sent(5);
        let totals = registry.totals();
        let alpha = &totals["alpha"];
        assert_eq!(alpha.current, 1);
        assert_eq!(alpha.bytes_sent, 105, "ended plus live");
        assert_eq!(alpha.bytes_received, 7);
        assert_eq!(alpha.terminations, 1);
        assert_eq!(alpha.ended[EndReason::Terminated.index()], 1);
        assert_eq!(alpha.ended.iter().sum::<u64>(), 1);
        assert_eq!(totals["beta"].current, 1);
        assert!(
            registry.ended(None).is_empty(),
            "retention 0 keeps no history"
        );
        for (i, r) in EndReason::ALL.iter().enumerate() {
            assert_eq!(r.index(), i);
        }
    }

    #[tokio::test]
    async fn waiting_for_the_end_wakes_on_finish_even_without_history() {
        let registry = Arc::new(Registry::new(0));
        let h = handle(&registry, "alpha");
        registry.insert(h.clone());
        assert!(
            h.wait_ended(std::time::Duration::from_millis(20))
                .await
                .is_none()
        );
        let waiter = {
            let h = h.clone();
            tokio::spawn(async move { h.wait_ended(std::time::Duration::from_secs(5)).await })
        };
        tokio::task::yield_now().await;
        registry.terminate(h.id, "api", Some("bye".into()));
        registry.finish(&h, EndReason::Terminated);
        let ended = waiter.await.unwrap().expect("woken with the record");
        assert_eq!(ended.terminate_reason.as_deref(), Some("bye"));
        // Already ended: returns at once.
        assert!(h.wait_ended(std::time::Duration::ZERO).await.is_some());
    }

    #[test]
    fn transfer_progress_is_visible_while_running() {
        let h = handle(&Registry::new(1), "alpha");
        h.transfer_started(TransferDirection::Upload, "/big.bin".into(), None);
        h.add_transfer(TransferDirection::Upload, 4096);
        let r = h.record();
        assert_eq!(r.state, SessionState::Transferring);
        let t = r.transfer.expect("transfer shown");
        assert_eq!((t.bytes, t.path.as_str()), (4096, "/big.bin"));
        assert_eq!(r.bytes_received, 4096);
        h.transfer_finished();
        assert!(h.record().transfer.is_none());
    }
}
