//! `ApiError`: every failure of the admin API as a status and `{"error": "…"}`.
//!
//! Internal causes are logged here and never returned to the client.

use axum::Json;
use axum::http::header::{ALLOW, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The error text of PUT, PATCH and DELETE on sessions (the IIS collection is read-only).
pub const READ_ONLY: &str = "sessions are read-only; use POST /api/v1/sites/{site}/sessions/{id}/terminate (the IIS Terminate method)";

/// A failed admin request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// No token, or the wrong one (401).
    Unauthorized,
    /// Authenticated, but the request is refused (403).
    Forbidden(String),
    /// Unknown route, site or session (404).
    NotFound(String),
    /// A malformed query or body (400).
    BadRequest(String),
    /// A method the route does not support (405), with the `Allow` value.
    MethodNotAllowed {
        /// The `Allow` header.
        allow: &'static str,
        /// The message.
        message: String,
    },
    /// Something broke inside; the detail is logged, not returned (500).
    Internal(String),
    /// A bound is reached (503, `Retry-After: 5`): too many event streams.
    Unavailable(String),
}

impl ApiError {
    /// The status code.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The text sent to the client.
    pub fn message(&self) -> &str {
        match self {
            ApiError::Unauthorized => {
                "missing or invalid bearer token (send Authorization: Bearer <token from the admin token file>)"
            }
            ApiError::Forbidden(m)
            | ApiError::NotFound(m)
            | ApiError::BadRequest(m)
            | ApiError::Unavailable(m)
            | ApiError::MethodNotAllowed { message: m, .. } => m,
            ApiError::Internal(_) => "internal error",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(%cause, "admin API request failed");
        }
        let mut response =
            (self.status(), Json(json!({ "error": self.message() }))).into_response();
        match &self {
            ApiError::Unauthorized => {
                response.headers_mut().insert(
                    WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"wharf\""),
                );
            }
            ApiError::MethodNotAllowed { allow, .. } => {
                response
                    .headers_mut()
                    .insert(ALLOW, HeaderValue::from_static(allow));
            }
            ApiError::Unavailable(_) => {
                response
                    .headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from_static("5"));
            }
            _ => {}
        }
        response
    }
}

/// Router fallback: an unknown route.
pub async fn not_found() -> ApiError {
    ApiError::NotFound("no such route; see docs/admin-api.md".into())
}

/// Method fallback of read-only GET routes that are not sessions (sites, events, metrics).
pub async fn get_only() -> ApiError {
    ApiError::MethodNotAllowed {
        allow: "GET",
        message: "method not allowed; this route only answers GET".into(),
    }
}

/// Method fallback of the sessions collections and of a session.
pub async fn sessions_read_only() -> ApiError {
    ApiError::MethodNotAllowed {
        allow: "GET",
        message: READ_ONLY.into(),
    }
}

/// Method fallback of `…/terminate`.
pub async fn terminate_post_only() -> ApiError {
    ApiError::MethodNotAllowed {
        allow: "POST",
        message: "terminate is an action: use POST (body {\"reason\": \"…\"} optional)".into(),
    }
}
