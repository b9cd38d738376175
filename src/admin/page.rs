//! The live sessions page (`GET /`): one self-contained HTML document, its CSS and
//! JavaScript inlined from `assets/` at compile time, so the admin router serves a single
//! route and the page loads nothing from the network but the admin API itself.
//!
//! Authentication: the page is served without a token; it asks for the admin token once
//! (or takes it from the URL fragment `#token=…`, which browsers never send to a server),
//! keeps it in `sessionStorage` for the tab, and sends it as `Authorization: Bearer` on
//! every API call. A page opened once as `/?token=…` is instead authenticated by the
//! admin API's `HttpOnly` cookie (see `auth.rs`): the page probes for it at load and then
//! sends no header. The event stream (`GET /api/v1/events`) is read with `fetch` and a
//! streaming body reader, because `EventSource` cannot send an `Authorization` header;
//! it reconnects with `Last-Event-ID`.
//!
//! Elements carry stable `data-session-id`, `data-field` and `data-action` attributes for
//! tests and scripts (`tests/page`).

use axum::response::Html;

/// The whole page.
pub const PAGE: &str = concat!(
    include_str!("assets/head.html"),
    "<style>\n",
    include_str!("assets/page.css"),
    "</style>\n</head>\n<body>\n",
    include_str!("assets/body.html"),
    "<script>\n",
    include_str!("assets/page.js"),
    "</script>\n</body>\n</html>\n"
);

/// `GET /`: the live sessions page.
pub async fn index() -> Html<&'static str> {
    Html(PAGE)
}

#[cfg(test)]
mod tests {
    use super::PAGE;

    #[test]
    fn the_page_is_self_contained() {
        assert!(PAGE.starts_with("<!DOCTYPE html>"));
        for needle in [
            "<script>",
            "</script>",
            "<style>",
            "id=\"token-form\"",
            "id=\"terminate-dialog\"",
        ] {
            assert!(PAGE.contains(needle), "{needle}");
        }
        // No external resources: nothing is fetched from another origin.
        for forbidden in ["http://", "https://", "src=", "<link"] {
            assert!(!PAGE.contains(forbidden), "{forbidden}");
        }
    }
}
