//! Session events for live views (`GET /api/v1/events`): `session.started`,
//! `session.updated`, `session.ended`, each with a strictly increasing id, fanned out on a
//! `broadcast` channel and kept in a bounded replay ring for `Last-Event-ID`.
//!
//! Rules that keep the FTP side fast:
//! - The transfer path never publishes. Transfer progress is picked up by [`run_sampler`],
//!   which looks at every live session once per [`EVENT_SAMPLE_INTERVAL`] and publishes one
//!   `session.updated` for each whose counters, state or command changed since its last
//!   event (at most one per session per interval).
//! - A command start publishes at once only when the session's previous update is at least
//!   [`UPDATE_MIN_INTERVAL`] old; otherwise the sampler carries the change. So no session
//!   produces more than about two updates per second, and 10,000 busy sessions cannot bury
//!   a subscriber.
//! - `session.updated` is skipped entirely while nobody is subscribed: it describes state
//!   that the next snapshot or sample shows anyway. `started` and `ended` always go into
//!   the ring so a client that reconnects with `Last-Event-ID` misses neither.
//! - Publishing takes only the bus's own short mutex (id, ring push, channel send) and never
//!   waits for a subscriber: a subscriber that falls behind the channel is told it lagged
//!   and starts again from a fresh snapshot.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::ended::EndedSession;
use super::handle::SessionHandle;
use super::record::SessionRecord;
use super::{Registry, lock};
use crate::limits::{EVENT_BACKLOG, EVENT_CHANNEL_CAPACITY};
pub use crate::limits::{EVENT_SAMPLE_INTERVAL, UPDATE_MIN_INTERVAL};

/// Which change an event reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A session was accepted.
    Started,
    /// A live session changed (command, user, site, counters, state).
    Updated,
    /// A session ended (its final record).
    Ended,
}

impl EventKind {
    /// The SSE event name (`session.started`, `session.updated`, `session.ended`).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Started => "session.started",
            EventKind::Updated => "session.updated",
            EventKind::Ended => "session.ended",
        }
    }
}

/// What an event carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventPayload {
    /// The live record at the time of the event (`started`, `updated`).
    Session(Box<SessionRecord>),
    /// The ended record (`ended`).
    Ended(Arc<EndedSession>),
}

impl EventPayload {
    /// The session's site at the time of the event.
    pub fn site_name(&self) -> &str {
        match self {
            EventPayload::Session(r) => &r.site_name,
            EventPayload::Ended(e) => &e.record.site_name,
        }
    }
}

/// One published event.
#[derive(Debug)]
pub struct Event {
    /// Strictly increasing over the life of the server.
    pub id: u64,
    /// What changed.
    pub kind: EventKind,
    /// The record.
    pub payload: EventPayload,
    /// The rendered form, filled by the first subscriber that sends the event so that N
    /// subscribers serialize it once.
    pub rendered: OnceLock<String>,
}

struct Ring {
    next_id: u64,
    backlog: VecDeque<Arc<Event>>,
}

/// The event bus of one registry.
pub struct EventBus {
    ring: Mutex<Ring>,
    tx: broadcast::Sender<Arc<Event>>,
    subscribers: Arc<AtomicUsize>,
    backlog_capacity: usize,
    epoch: Instant,
}

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBus")
            .field("subscribers", &self.subscribers.load(Ordering::Relaxed))
            .field("backlog_capacity", &self.backlog_capacity)
            .finish_non_exhaustive()
    }
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus::new(EVENT_BACKLOG, EVENT_CHANNEL_CAPACITY)
    }
}

/// A live subscription: the receiver, where the caller starts, and what it must replay.
#[derive(Debug)]
pub struct Subscription {
    /// Events published after the subscription was taken.
    pub rx: broadcast::Receiver<Arc<Event>>,
    /// The id of the last event published before the subscription: a snapshot taken now
    /// is "as of" this id (later events may repeat what it already shows).
    pub last_id: u64,
    /// With a resumable `Last-Event-ID`: the backlog events after it, oldest first.
    /// `None` when there was no id or it is no longer (or never was) in the backlog: the
    /// caller sends a fresh snapshot instead.
    pub replay: Option<Vec<Arc<Event>>>,
    /// The id the caller has seen everything up to: the `Last-Event-ID` when resuming,
    /// else `last_id` (what a snapshot taken now covers).
    pub seen_up_to: u64,
    _guard: SubscriberGuard,
}

#[derive(Debug)]
struct SubscriberGuard(Arc<AtomicUsize>);

impl Drop for SubscriberGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl EventBus {
    /// A bus keeping `backlog` events for replay and buffering up to `channel` events per
    /// subscriber before it lags.
    pub fn new(backlog: usize, channel: usize) -> EventBus {
        let (tx, _) = broadcast::channel(channel.max(1));
        // Ids continue across restarts: they start from the wall clock (in units of
        // 1/1000 ms), so a `Last-Event-ID` kept from a previous run is older than anything
        // in the new backlog and gets a snapshot rather than a wrong resume. Still below
        // 2^53, so JavaScript reads them exactly.
        let start = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64 * 1000)
            .unwrap_or(0)
            .max(1);
        EventBus {
            ring: Mutex::new(Ring {
                next_id: start,
                backlog: VecDeque::with_capacity(backlog.min(4096)),
            }),
            tx,
            subscribers: Arc::new(AtomicUsize::new(0)),
            backlog_capacity: backlog,
            epoch: Instant::now(),
        }
    }

    /// Subscribes; with `resume_after` (a `Last-Event-ID`), also returns the events after it
    /// when the backlog still has them all.
    pub fn subscribe(&self, resume_after: Option<u64>) -> Subscription {
        self.subscribers.fetch_add(1, Ordering::Relaxed);
        let guard = SubscriberGuard(self.subscribers.clone());
        let ring = lock(&self.ring);
        let rx = self.tx.subscribe();
        let last_id = ring.next_id - 1;
        let oldest = ring.backlog.front().map_or(ring.next_id, |e| e.id);
        let replay = resume_after
            .filter(|&after| after <= last_id && after.saturating_add(1) >= oldest)
            .map(|after| {
                ring.backlog
                    .iter()
                    .filter(|e| e.id > after)
                    .cloned()
                    .collect()
            });
        drop(ring);
        let seen_up_to = match (&replay, resume_after) {
            (Some(_), Some(after)) => after,
            _ => last_id,
        };
        Subscription {
            rx,
            last_id,
            replay,
            seen_up_to,
            _guard: guard,
        }
    }

    /// True while at least one subscriber listens.
    pub fn has_subscribers(&self) -> bool {
        self.subscribers.load(Ordering::Relaxed) > 0
    }

    /// The id of the last event published.
    pub fn last_id(&self) -> u64 {
        lock(&self.ring).next_id - 1
    }

    /// Events still in the replay ring, oldest first.
    pub fn backlog(&self) -> Vec<Arc<Event>> {
        lock(&self.ring).backlog.iter().cloned().collect()
    }

    /// Milliseconds since the bus was created, plus one (0 means "never").
    pub(super) fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64 + 1
    }

    /// Publishes `session.started`.
    pub(super) fn publish_started(&self, handle: &SessionHandle, record: SessionRecord) {
        let mut ring = lock(&self.ring);
        if handle.ended_record().is_some() {
            return;
        }
        self.push(
            &mut ring,
            EventKind::Started,
            EventPayload::Session(Box::new(record)),
        );
    }

    /// Publishes `session.updated` unless the session has already ended (its `ended` event
    /// is the last word; the check and the `ended` publication share the lock).
    pub(super) fn publish_updated(&self, handle: &SessionHandle, record: SessionRecord) {
        let mut ring = lock(&self.ring);
        if handle.ended_record().is_some() {
            return;
        }
        self.push(
            &mut ring,
            EventKind::Updated,
            EventPayload::Session(Box::new(record)),
        );
    }

    /// Marks the handle ended and publishes `session.ended`.
    pub(super) fn publish_ended(&self, handle: &SessionHandle, ended: Arc<EndedSession>) {
        let mut ring = lock(&self.ring);
        if !handle.set_ended(ended.clone()) {
            return;
        }
        self.push(&mut ring, EventKind::Ended, EventPayload::Ended(ended));
    }

    fn push(&self, ring: &mut Ring, kind: EventKind, payload: EventPayload) {
        let event = Arc::new(Event {
            id: ring.next_id,
            kind,
            payload,
            rendered: OnceLock::new(),
        });
        ring.next_id += 1;
        if self.backlog_capacity > 0 {
            if ring.backlog.len() >= self.backlog_capacity {
                ring.backlog.pop_front();
            }
            ring.backlog.push_back(event.clone());
        }
        // Never blocks; an error only means nobody is subscribed right now.
        let _ = self.tx.send(event);
    }
}

/// Publishes transfer progress and other changes the command path left to it, once per
/// [`EVENT_SAMPLE_INTERVAL`], until `stop` fires.
pub async fn run_sampler(registry: Arc<Registry>, stop: CancellationToken) {
    let mut tick = tokio::time::interval(EVENT_SAMPLE_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        sample(&registry);
    }
}

/// One pass of the sampler: an update for every live session that changed since its last
/// event. Returns how many were published.
pub fn sample(registry: &Registry) -> usize {
    if !registry.events().has_subscribers() {
        return 0;
    }
    let mut published = 0;
    for handle in registry.handles() {
        if handle.changed_since_last_event() {
            handle.publish_update();
            published += 1;
        }
    }
    published
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;
    use crate::registry::{EndReason, TransferDirection};

    fn handle(bus: &Arc<EventBus>) -> Arc<SessionHandle> {
        let client: SocketAddr = "127.0.0.1:50000".parse().unwrap();
        let server: SocketAddr = "127.0.0.1:21".parse().unwrap();
        Arc::new(SessionHandle::new(
            Arc::from("alpha"),
            client,
            server,
            CancellationToken::new(),
            bus.clone(),
        ))
    }

    fn kinds(events: &[Arc<Event>]) -> Vec<EventKind> {
        events.iter().map(|e| e.kind).collect()
    }

    #[test]
    fn ids_increase_and_the_ring_is_bounded() {
        let registry = Registry::with_events(10, Arc::new(EventBus::new(3, 16)));
        let bus = registry.events().clone();
        let sub = bus.subscribe(None);
        let first = sub.last_id;
        for _ in 0..3 {
            let h = handle(&bus);
            registry.insert(h.clone());
            registry.finish(&h, EndReason::Quit);
        }
        let backlog = bus.backlog();
        assert_eq!(backlog.len(), 3, "only the last three events are kept");
        assert!(backlog.windows(2).all(|w| w[1].id == w[0].id + 1));
        assert_eq!(bus.last_id(), first + 6);
        assert_eq!(backlog.last().unwrap().id, first + 6);
        // Resumable from the event just before the oldest kept one...
        let oldest = backlog[0].id;
        let sub = bus.subscribe(Some(oldest - 1));
        assert_eq!(sub.seen_up_to, oldest - 1);
        let resumed = sub.replay.expect("resumable");
        assert_eq!(resumed.len(), 3);
        assert_eq!(bus.subscribe(None).seen_up_to, bus.last_id());
        // ...but not from older ones, nor from ids this bus never issued.
        assert!(bus.subscribe(Some(oldest - 2)).replay.is_none());
        assert!(bus.subscribe(Some(bus.last_id() + 1)).replay.is_none());
        assert!(
            bus.subscribe(Some(bus.last_id()))
                .replay
                .is_some_and(|r| r.is_empty())
        );
        assert!(bus.subscribe(None).replay.is_none());
    }

    #[test]
    fn updates_are_rate_limited_and_never_follow_the_end() {
        let registry = Registry::new(10);
        let bus = registry.events().clone();
        let mut sub = bus.subscribe(None);
        let h = handle(&bus);
        registry.insert(h.clone());
        h.command_started("USER alice".into());
        // Within UPDATE_MIN_INTERVAL of the previous update: left to the sampler.
        h.command_started("PASS ***".into());
        h.set_user("alice");
        let mut got = Vec::new();
        while let Ok(e) = sub.rx.try_recv() {
            got.push(e);
        }
        assert_eq!(
            kinds(&got),
            vec![EventKind::Started, EventKind::Updated],
            "one immediate update"
        );
        match &got[1].payload {
            EventPayload::Session(r) => assert_eq!(r.current_command, "USER alice"),
            other => panic!("unexpected payload {other:?}"),
        }
        // The sampler publishes the rest once...
        assert_eq!(sample(&registry), 1);
        let e = sub.rx.try_recv().expect("sampled update");
        match &e.payload {
            EventPayload::Session(r) => {
                assert_eq!(r.current_command, "PASS ***");
                assert_eq!(r.user_name, "alice");
            }
            other => panic!("unexpected payload {other:?}"),
        }
        // ...and nothing while nothing changes.
        assert_eq!(sample(&registry), 0);
        h.transfer_started(TransferDirection::Download, "/f".into(), Some(10));
        h.add_transfer(TransferDirection::Download, 5);
        assert_eq!(sample(&registry), 1);
        registry.finish(&h, EndReason::Quit);
        let _ = sub.rx.try_recv();
        let ended = sub.rx.try_recv().expect("ended");
        assert_eq!(ended.kind, EventKind::Ended);
        // A late update attempt after the end publishes nothing.
        h.publish_update();
        assert!(sub.rx.try_recv().is_err());
        assert_eq!(sample(&registry), 0);
    }

    #[test]
    fn no_subscriber_means_no_updates_but_started_and_ended_are_kept() {
        let registry = Registry::new(10);
        let bus = registry.events().clone();
        let h = handle(&bus);
        registry.insert(h.clone());
        h.command_started("NOOP".into());
        assert_eq!(sample(&registry), 0);
        registry.finish(&h, EndReason::ClientClosed);
        assert_eq!(
            kinds(&bus.backlog()),
            vec![EventKind::Started, EventKind::Ended]
        );
        assert!(h.ended_record().is_some());
    }

    #[test]
    fn a_lagging_subscriber_is_told_instead_of_blocking_the_publisher() {
        let registry = Registry::with_events(10, Arc::new(EventBus::new(8, 4)));
        let bus = registry.events().clone();
        let mut sub = bus.subscribe(None);
        for _ in 0..10 {
            let h = handle(&bus);
            registry.insert(h.clone());
        }
        assert!(matches!(
            sub.rx.try_recv(),
            Err(broadcast::error::TryRecvError::Lagged(_))
        ));
    }
}
