//! `GET /api/v1/events`: Server-Sent Events for live views.
//!
//! The stream opens with `snapshot` (`{"sessions":[…]}`, every live session), then sends
//! `session.started`, `session.updated` and `session.ended` as they are published, each
//! with its `id:`. A client that reconnects with `Last-Event-ID` gets the events it missed
//! from the bus's backlog instead of a snapshot, when the backlog still holds them all; else
//! (too old, or an id from before a restart) it gets a fresh snapshot. A subscriber that
//! falls too far behind also gets a fresh snapshot rather than slowing anyone down. Events
//! already reflected in a snapshot (id ≤ the snapshot's id) are skipped. Keep-alive
//! comments flow every [`SSE_KEEP_ALIVE`]; the stream ends when the server drains.
//!
//! `?site=NAME` (an extension) limits the snapshot and the events to one site.
//!
//! At most `administration@maxEventSubscribers` streams are open at once: each holds a
//! permit of [`AdminState::event_slots`] until the client goes away; one more is answered
//! `503` with a JSON error.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::Stream;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use super::AdminState;
use super::error::{self, ApiError};
use super::json;
use crate::limits::SSE_KEEP_ALIVE;
use crate::registry::events::Subscription;
use crate::registry::{Event, EventPayload, Registry};

/// The routes of this resource.
pub fn routes() -> Router<AdminState> {
    Router::new().route("/api/v1/events", get(events).fallback(error::get_only))
}

/// `?site=`.
#[derive(Debug, Default, Deserialize)]
pub struct EventsQuery {
    site: Option<String>,
}

async fn events(
    State(state): State<AdminState>,
    headers: HeaderMap,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(format!("bad query: {e}")))?;
    let site = match q.site.filter(|s| !s.is_empty()) {
        Some(s) => Some(state.find_site(&s)?.name.clone()),
        None => None,
    };
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let slot = state.event_slots.clone().try_acquire_owned().map_err(|_| {
        ApiError::Unavailable(format!(
            "too many event subscribers (administration maxEventSubscribers is {}); retry later",
            state.shared.config.administration.max_event_subscribers
        ))
    })?;
    let registry = state.shared.registry.clone();
    let subscription = registry.events().subscribe(resume);
    let stream = event_stream(registry, subscription, site, state.shutdown.clone());
    // The permit lives as long as the stream: hyper drops it when the client is gone.
    let stream = futures_util::StreamExt::map(stream, move |event| {
        let _held = &slot;
        event
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(SSE_KEEP_ALIVE))
        .into_response())
}

struct StreamState {
    registry: Arc<Registry>,
    subscription: Subscription,
    replay: VecDeque<Arc<Event>>,
    snapshot_due: bool,
    last_sent: u64,
    site: Option<String>,
    shutdown: CancellationToken,
}

/// The event stream of one subscriber.
pub fn event_stream(
    registry: Arc<Registry>,
    subscription: Subscription,
    site: Option<String>,
    shutdown: CancellationToken,
) -> impl Stream<Item = Result<SseEvent, Infallible>> + Send + 'static {
    let (replay, snapshot_due) = match &subscription.replay {
        Some(events) => (events.iter().cloned().collect(), false),
        None => (VecDeque::new(), true),
    };
    let state = StreamState {
        last_sent: subscription.seen_up_to,
        registry,
        subscription,
        replay,
        snapshot_due,
        site,
        shutdown,
    };
    futures_util::stream::unfold(state, |mut st| async move {
        let event = next_event(&mut st).await?;
        Some((Ok(event), st))
    })
}

async fn next_event(st: &mut StreamState) -> Option<SseEvent> {
    loop {
        if st.shutdown.is_cancelled() {
            return None;
        }
        if st.snapshot_due {
            st.snapshot_due = false;
            // The registry is changed before an event is published, so a snapshot built
            // after reading this id reflects every event up to it: those are skipped.
            let as_of = st.registry.events().last_id().max(st.last_sent);
            st.last_sent = as_of;
            return Some(snapshot(&st.registry, st.site.clone(), as_of).await);
        }
        let event = match st.replay.pop_front() {
            Some(e) => e,
            None => {
                let received = tokio::select! {
                    _ = st.shutdown.cancelled() => return None,
                    r = st.subscription.rx.recv() => r,
                };
                match received {
                    Ok(e) => e,
                    Err(RecvError::Lagged(missed)) => {
                        tracing::debug!(missed, "SSE subscriber lagged; sending a snapshot");
                        st.snapshot_due = true;
                        continue;
                    }
                    Err(RecvError::Closed) => return None,
                }
            }
        };
        if event.id <= st.last_sent {
            continue;
        }
        st.last_sent = event.id;
        if st
            .site
            .as_deref()
            .is_some_and(|s| s != event.payload.site_name())
        {
            continue;
        }
        return Some(render(&event));
    }
}

/// The SSE form of a bus event (rendered once, shared by every subscriber).
pub fn render(event: &Event) -> SseEvent {
    let data = event.rendered.get_or_init(|| {
        let bytes = match &event.payload {
            EventPayload::Session(r) => json::session_body(r),
            EventPayload::Ended(e) => json::ended_session_body(e),
        };
        String::from_utf8(bytes).unwrap_or_default()
    });
    SseEvent::default()
        .event(event.kind.as_str())
        .id(event.id.to_string())
        .data(data.as_str())
}

async fn snapshot(registry: &Arc<Registry>, site: Option<String>, as_of: u64) -> SseEvent {
    let registry = registry.clone();
    let body = tokio::task::spawn_blocking(move || {
        let records = registry.sessions(site.as_deref());
        json::sessions_body(None, &records)
    })
    .await
    .unwrap_or_else(|_| br#"{"sessions":[]}"#.to_vec());
    SseEvent::default()
        .event("snapshot")
        .id(as_of.to_string())
        .data(String::from_utf8(body).unwrap_or_default())
}
