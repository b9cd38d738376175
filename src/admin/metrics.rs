//! `GET /metrics`: Prometheus text exposition, labelled by site (and reason, verb, class,
//! result): never by user or session, so the series count stays bounded.

use std::fmt::Write as _;

use axum::Router;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;

use super::AdminState;
use super::error;
use crate::registry::{EndReason, SiteTotals};

/// The routes of this resource.
pub fn routes() -> Router<AdminState> {
    Router::new().route("/metrics", get(metrics).fallback(error::get_only))
}

async fn metrics(State(state): State<AdminState>) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        render(&state),
    )
}

/// The exposition text.
pub fn render(state: &AdminState) -> String {
    let totals = state.shared.registry.totals();
    // Every configured site, plus any site name sessions reported that the configuration
    // does not know (cannot happen today; keeps numbers from vanishing if it ever does).
    let mut sites: Vec<&str> = state
        .shared
        .config
        .sites
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    for name in totals.keys() {
        if !sites.contains(&name.as_str()) {
            sites.push(name);
        }
    }
    let zero = SiteTotals::default();
    let total = |site: &str| totals.get(site).unwrap_or(&zero);
    let runtime = |site: &str| state.shared.sites.iter().find(|s| &*s.name == site);

    let mut out = String::with_capacity(4096);
    header(
        &mut out,
        "wharf_sessions_current",
        "gauge",
        "Live FTP sessions.",
    );
    for site in &sites {
        sample(
            &mut out,
            "wharf_sessions_current",
            &[("site", site)],
            total(site).current,
        );
    }
    header(
        &mut out,
        "wharf_sessions_ended_total",
        "counter",
        "Ended FTP sessions by end reason.",
    );
    for site in &sites {
        for reason in EndReason::ALL {
            sample(
                &mut out,
                "wharf_sessions_ended_total",
                &[("site", site), ("reason", reason.as_str())],
                total(site).ended[reason.index()],
            );
        }
    }
    header(
        &mut out,
        "wharf_bytes_sent_total",
        "counter",
        "Payload bytes sent on control and data channels.",
    );
    for site in &sites {
        sample(
            &mut out,
            "wharf_bytes_sent_total",
            &[("site", site)],
            total(site).bytes_sent,
        );
    }
    header(
        &mut out,
        "wharf_bytes_received_total",
        "counter",
        "Payload bytes received on control and data channels.",
    );
    for site in &sites {
        sample(
            &mut out,
            "wharf_bytes_received_total",
            &[("site", site)],
            total(site).bytes_received,
        );
    }
    header(
        &mut out,
        "wharf_commands_total",
        "counter",
        "FTP commands received, by verb.",
    );
    for site in &sites {
        if let Some(rt) = runtime(site) {
            for (verb, n) in rt.metrics.commands() {
                sample(
                    &mut out,
                    "wharf_commands_total",
                    &[("site", site), ("verb", verb)],
                    n,
                );
            }
        }
    }
    header(
        &mut out,
        "wharf_replies_total",
        "counter",
        "FTP replies sent, by class.",
    );
    for site in &sites {
        let replies = runtime(site)
            .map(|rt| rt.metrics.replies())
            .unwrap_or_default();
        for (i, n) in replies.iter().enumerate() {
            let class = ["1xx", "2xx", "3xx", "4xx", "5xx"][i];
            sample(
                &mut out,
                "wharf_replies_total",
                &[("site", site), ("class", class)],
                *n,
            );
        }
    }
    header(
        &mut out,
        "wharf_logins_total",
        "counter",
        "Login attempts, by result.",
    );
    for site in &sites {
        let (ok, failed) = runtime(site)
            .map(|rt| rt.metrics.logins())
            .unwrap_or_default();
        sample(
            &mut out,
            "wharf_logins_total",
            &[("site", site), ("result", "success")],
            ok,
        );
        sample(
            &mut out,
            "wharf_logins_total",
            &[("site", site), ("result", "failure")],
            failed,
        );
    }
    header(
        &mut out,
        "wharf_terminations_total",
        "counter",
        "Sessions terminated by an administrator.",
    );
    for site in &sites {
        sample(
            &mut out,
            "wharf_terminations_total",
            &[("site", site)],
            total(site).terminations,
        );
    }
    out
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: u64) {
    out.push_str(name);
    out.push('{');
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push_str("=\"");
        escape_label(v, out);
        out.push('"');
    }
    let _ = writeln!(out, "}} {value}");
}

/// Escapes a label value for the text format: backslash, double quote and line feed.
pub fn escape_label(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        let mut s = String::new();
        escape_label("a\\b\"c\nd é", &mut s);
        assert_eq!(s, "a\\\\b\\\"c\\nd é");
        let mut out = String::new();
        sample(&mut out, "m", &[("site", "x\"y"), ("verb", "RETR")], 3);
        assert_eq!(out, "m{site=\"x\\\"y\",verb=\"RETR\"} 3\n");
    }
}
