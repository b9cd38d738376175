//! `GET /api/v1/sites`: every configured site, its state, bindings and live session count.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

use super::AdminState;
use super::error;
use super::json::to_vec;
use crate::config::model::{Binding, SiteConfig};

/// The routes of this resource.
pub fn routes() -> Router<AdminState> {
    Router::new().route("/api/v1/sites", get(list).fallback(error::get_only))
}

#[derive(Serialize)]
struct SiteJson<'a> {
    name: &'a str,
    id: u32,
    state: &'static str,
    bindings: Vec<String>,
    sessions: u64,
}

async fn list(State(state): State<AdminState>) -> Response {
    let totals = state.shared.registry.totals();
    let sites: Vec<SiteJson<'_>> = state
        .shared
        .config
        .sites
        .iter()
        .map(|site| {
            let started = state.is_started(&site.name);
            SiteJson {
                name: &site.name,
                id: site.id,
                state: if started { "Started" } else { "Stopped" },
                bindings: site
                    .bindings
                    .iter()
                    .map(|b| binding_information(b, state.bound_port(site, b)))
                    .collect(),
                sessions: totals.get(&site.name).map_or(0, |t| t.current),
            }
        })
        .collect();
    #[derive(Serialize)]
    struct Body<'a> {
        sites: Vec<SiteJson<'a>>,
    }
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        to_vec(&Body { sites }),
    )
        .into_response()
}

/// IIS `bindingInformation` (`IP:port:host`, `*` for all addresses, IPv6 in brackets),
/// with the port actually bound when the configuration said 0.
pub fn binding_information(b: &Binding, port: u16) -> String {
    let ip = match b.ip {
        None => "*".to_string(),
        Some(std::net::IpAddr::V6(v6)) => format!("[{v6}]"),
        Some(ip) => ip.to_string(),
    };
    format!("{ip}:{port}:{}", b.host.as_deref().unwrap_or(""))
}

impl AdminState {
    /// True when `site` runs (`serverAutoStart`).
    pub fn is_started(&self, site: &str) -> bool {
        self.shared.sites.iter().any(|s| &*s.name == site)
    }

    /// The port a binding listens on (the configured one unless it was 0).
    pub fn bound_port(&self, site: &SiteConfig, b: &Binding) -> u16 {
        if b.port != 0 {
            return b.port;
        }
        self.endpoints
            .iter()
            .find(|e| {
                b.ip.is_none_or(|ip| ip == e.addr.ip())
                    && e.bindings
                        .iter()
                        .any(|(s, h)| s == &site.name && h == &b.host)
            })
            .map_or(0, |e| e.addr.port())
    }
}
