//! The live sessions page (`GET /`). Placeholder: the page's own work replaces this file.

use axum::response::Html;

/// The page.
pub async fn index() -> Html<&'static str> {
    Html(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Wharf sessions</title></head>\
         <body><h1>Wharf</h1><p>The live sessions page is not built yet. \
         The admin API is at <code>/api/v1/sessions</code>.</p></body></html>",
    )
}
