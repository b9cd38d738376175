//! The sessions collections (IIS `ftpServer/sessions`): list with filters, show one,
//! terminate one, the ended history. The collection is read-only: PUT, PATCH and DELETE
//! answer 405 with `Allow` and a message naming the terminate method.

use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AdminState;
use super::auth::ACTOR_HEADER;
use super::error::{self, ApiError};
use super::json::{self, EndedSessionJson, SessionJson};
use super::negotiate::{self, Format, Rendered};
use crate::config::model::SiteConfig;
use crate::limits::{TERMINATE_REASON_MAX, TERMINATE_WAIT};
use crate::registry::{RecordView, SessionState, TerminateOutcome};

/// The routes of this resource.
pub fn routes() -> Router<AdminState> {
    Router::new()
        .route(
            "/api/v1/sessions",
            get(list_all).fallback(error::sessions_read_only),
        )
        .route(
            "/api/v1/sessions/ended",
            get(ended).fallback(error::sessions_read_only),
        )
        .route(
            "/api/v1/sites/{site}/sessions",
            get(list_site).fallback(error::sessions_read_only),
        )
        .route(
            "/api/v1/sites/{site}/sessions/{id}",
            get(show).fallback(error::sessions_read_only),
        )
        .route(
            "/api/v1/sites/{site}/sessions/{id}/terminate",
            post(terminate).fallback(error::terminate_post_only),
        )
}

/// `?userName= &clientIp= &state= &minIdleSeconds=` (all optional, combined with AND).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterQuery {
    user_name: Option<String>,
    client_ip: Option<String>,
    state: Option<String>,
    min_idle_seconds: Option<String>,
}

/// Parsed filters.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    user_name: Option<String>,
    client_ip: Option<IpAddr>,
    state: Option<SessionState>,
    min_idle_seconds: Option<u64>,
}

const STATES: [SessionState; 5] = [
    SessionState::Authenticating,
    SessionState::Idle,
    SessionState::Executing,
    SessionState::Transferring,
    SessionState::Closing,
];

impl Filter {
    fn parse(query: Result<Query<FilterQuery>, QueryRejection>) -> Result<Filter, ApiError> {
        let Query(q) = query.map_err(|e| ApiError::BadRequest(format!("bad query: {e}")))?;
        let non_empty = |v: Option<String>| v.filter(|s| !s.is_empty());
        let client_ip = match non_empty(q.client_ip) {
            None => None,
            Some(text) => Some(
                text.trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<IpAddr>()
                    .map_err(|_| {
                        ApiError::BadRequest(format!("clientIp: {text:?} is not an IP address"))
                    })?
                    .to_canonical(),
            ),
        };
        let state = match non_empty(q.state) {
            None => None,
            Some(text) => Some(
                STATES
                    .into_iter()
                    .find(|s| s.as_str().eq_ignore_ascii_case(&text))
                    .ok_or_else(|| {
                        ApiError::BadRequest(format!(
                            "state: {text:?} is not one of authenticating, idle, executing, transferring, closing"
                        ))
                    })?,
            ),
        };
        let min_idle_seconds = match non_empty(q.min_idle_seconds) {
            None => None,
            Some(text) => Some(text.parse::<u64>().map_err(|_| {
                ApiError::BadRequest(format!(
                    "minIdleSeconds: {text:?} is not a whole number of seconds"
                ))
            })?),
        };
        Ok(Filter {
            user_name: non_empty(q.user_name),
            client_ip,
            state,
            min_idle_seconds,
        })
    }

    /// True when `r` passes every filter. User names compare case-insensitively (as
    /// account names do).
    pub fn matches(&self, r: &RecordView<'_>) -> bool {
        self.user_name
            .as_deref()
            .is_none_or(|u| r.user_name.eq_ignore_ascii_case(u))
            && self.client_ip.is_none_or(|ip| r.client_ip == ip)
            && self.state.is_none_or(|s| r.state == s)
            && self.min_idle_seconds.is_none_or(|n| r.idle_seconds >= n)
    }
}

async fn list_all(
    State(state): State<AdminState>,
    format: Format,
    query: Result<Query<FilterQuery>, QueryRejection>,
) -> Result<Rendered, ApiError> {
    let filter = Filter::parse(query)?;
    render_list(&state, None, filter, format).await
}

async fn list_site(
    State(state): State<AdminState>,
    site: Result<Path<String>, PathRejection>,
    format: Format,
    query: Result<Query<FilterQuery>, QueryRejection>,
) -> Result<Rendered, ApiError> {
    let Path(site) = site.map_err(bad_path)?;
    let site = state.find_site(&site)?;
    let filter = Filter::parse(query)?;
    render_list(&state, Some(site.name.clone()), filter, format).await
}

/// Builds and renders a list off the async workers: 10,000 records take milliseconds of
/// CPU that FTP sessions on the same runtime should not wait behind.
async fn render_list(
    state: &AdminState,
    site: Option<String>,
    filter: Filter,
    format: Format,
) -> Result<Rendered, ApiError> {
    let registry = state.shared.registry.clone();
    tokio::task::spawn_blocking(move || {
        let body = match format {
            Format::Json => {
                json::live_sessions_body(&registry, site.as_deref(), |r| filter.matches(r))
            }
            Format::Xml => {
                let mut records = registry.sessions(site.as_deref());
                records.retain(|r| filter.matches(&r.view()));
                negotiate::sessions_xml(site.as_deref(), &records)
            }
        };
        Rendered { format, body }
    })
    .await
    .map_err(|e| ApiError::Internal(format!("list task failed: {e}")))
}

async fn show(
    State(state): State<AdminState>,
    path: Result<Path<(String, String)>, PathRejection>,
    format: Format,
) -> Result<Rendered, ApiError> {
    let Path((site, id)) = path.map_err(bad_path)?;
    let site = state.find_site(&site)?;
    let id = parse_id(&id)?;
    let handle = state
        .shared
        .registry
        .get(id)
        .filter(|h| *h.site_name() == *site.name);
    let Some(handle) = handle else {
        return Err(match state.shared.registry.ended_session(id) {
            Some(e) if e.record.site_name == site.name => ApiError::NotFound(format!(
                "session {id} has ended ({}); see GET /api/v1/sessions/ended",
                e.end_reason
            )),
            _ => no_session(id, &site.name),
        });
    };
    let record = handle.record();
    Ok(Rendered {
        format,
        body: match format {
            Format::Json => json::session_body(&record),
            Format::Xml => negotiate::session_xml(&record),
        },
    })
}

/// `?site=` on the ended history.
#[derive(Debug, Default, Deserialize)]
pub struct EndedQuery {
    site: Option<String>,
}

async fn ended(
    State(state): State<AdminState>,
    format: Format,
    query: Result<Query<EndedQuery>, QueryRejection>,
) -> Result<Rendered, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(format!("bad query: {e}")))?;
    let site = match q.site.filter(|s| !s.is_empty()) {
        Some(s) => Some(state.find_site(&s)?.name.clone()),
        None => None,
    };
    let ended = state.shared.registry.ended(site.as_deref());
    Ok(Rendered {
        format,
        body: match format {
            Format::Json => json::ended_body(&ended),
            Format::Xml => negotiate::ended_xml(&ended),
        },
    })
}

/// Body of `POST …/terminate`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TerminateBody {
    reason: Option<String>,
}

async fn terminate(
    State(state): State<AdminState>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Path((site, id)) = path.map_err(bad_path)?;
    let site = state.find_site(&site)?;
    let id = parse_id(&id)?;
    let actor = actor(&headers)?;
    let reason = parse_reason(&body)?;
    let registry = &state.shared.registry;
    let handle = registry.get(id).filter(|h| *h.site_name() == *site.name);
    let outcome = match &handle {
        Some(_) => registry.terminate(id, actor, reason),
        None => match registry.ended_session(id) {
            Some(e) => TerminateOutcome::AlreadyEnded(Box::new(e)),
            None => TerminateOutcome::NotFound,
        },
    };
    match outcome {
        TerminateOutcome::Requested => {
            let handle = handle.ok_or_else(|| ApiError::Internal("handle vanished".into()))?;
            match handle.wait_ended(TERMINATE_WAIT).await {
                Some(ended) => Ok(terminate_reply(
                    StatusCode::OK,
                    TerminateJson {
                        terminated: true,
                        already_ended: None,
                        pending: None,
                        session: TerminateSession::Ended(EndedSessionJson::from(&*ended)),
                    },
                )),
                None => {
                    let record = handle.record();
                    Ok(terminate_reply(
                        StatusCode::ACCEPTED,
                        TerminateJson {
                            terminated: false,
                            already_ended: None,
                            pending: Some(true),
                            session: TerminateSession::Live(SessionJson::from(&record)),
                        },
                    ))
                }
            }
        }
        TerminateOutcome::AlreadyEnded(ended) if ended.record.site_name == site.name => {
            Ok(terminate_reply(
                StatusCode::OK,
                TerminateJson {
                    terminated: false,
                    already_ended: Some(true),
                    pending: None,
                    session: TerminateSession::Ended(EndedSessionJson::from(&*ended)),
                },
            ))
        }
        _ => Err(no_session(id, &site.name)),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TerminateJson<'a> {
    terminated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    already_ended: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pending: Option<bool>,
    session: TerminateSession<'a>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum TerminateSession<'a> {
    Ended(EndedSessionJson<'a>),
    Live(SessionJson<'a>),
}

fn terminate_reply(status: StatusCode, body: TerminateJson<'_>) -> Response {
    (
        status,
        [(CONTENT_TYPE, "application/json")],
        json::to_vec(&body),
    )
        .into_response()
}

/// `X-Wharf-Actor`: `api` (default), `cli` or `page`.
fn actor(headers: &HeaderMap) -> Result<&'static str, ApiError> {
    let Some(value) = headers.get(ACTOR_HEADER) else {
        return Ok("api");
    };
    let value = value.to_str().unwrap_or("").trim();
    ["api", "cli", "page"]
        .into_iter()
        .find(|a| a.eq_ignore_ascii_case(value))
        .ok_or_else(|| ApiError::BadRequest("X-Wharf-Actor must be api, cli or page".into()))
}

/// The optional `{"reason": "…"}`. The reason travels in the `421` reply, so control
/// characters become spaces and it is cut at [`TERMINATE_REASON_MAX`] characters.
fn parse_reason(body: &[u8]) -> Result<Option<String>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let parsed: TerminateBody = serde_json::from_slice(body).map_err(|e| {
        ApiError::BadRequest(format!("body must be empty or {{\"reason\": \"…\"}}: {e}"))
    })?;
    Ok(parsed.reason.and_then(|r| {
        let clean: String = r
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(TERMINATE_REASON_MAX)
            .collect();
        let clean = clean.trim();
        (!clean.is_empty()).then(|| clean.to_string())
    }))
}

fn bad_path(e: PathRejection) -> ApiError {
    ApiError::BadRequest(format!("bad path: {e}"))
}

fn parse_id(text: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text)
        .map_err(|_| ApiError::NotFound(format!("no session {text:?}: session ids are UUIDs")))
}

fn no_session(id: Uuid, site: &str) -> ApiError {
    ApiError::NotFound(format!("no session {id} on site {site:?}"))
}

impl AdminState {
    /// The configured site named `name` (exact, then case-insensitive), or with that id.
    pub fn find_site(&self, name: &str) -> Result<Arc<SiteConfig>, ApiError> {
        let sites = &self.shared.config.sites;
        sites
            .iter()
            .find(|s| s.name == name)
            .or_else(|| sites.iter().find(|s| s.name.eq_ignore_ascii_case(name)))
            .or_else(|| {
                name.parse::<u32>()
                    .ok()
                    .and_then(|id| sites.iter().find(|s| s.id == id))
            })
            .cloned()
            .ok_or_else(|| ApiError::NotFound(format!("no site {name:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_single_lines() {
        assert_eq!(parse_reason(b"").unwrap(), None);
        assert_eq!(parse_reason(b" \n").unwrap(), None);
        assert_eq!(parse_reason(b"{}").unwrap(), None);
        assert_eq!(parse_reason(br#"{"reason":"  "}"#).unwrap(), None);
        assert_eq!(
            parse_reason(br#"{"reason":"disk\r\n421 fake"}"#).unwrap(),
            Some("disk  421 fake".into())
        );
        let long = format!(r#"{{"reason":"{}"}}"#, "x".repeat(1000));
        assert_eq!(
            parse_reason(long.as_bytes()).unwrap().unwrap().len(),
            TERMINATE_REASON_MAX
        );
        assert!(parse_reason(b"reason=x").is_err());
        assert!(parse_reason(br#"{"reason":"x","force":true}"#).is_err());
    }
}
