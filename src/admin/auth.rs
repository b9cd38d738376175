//! Who may use the admin API: the bearer token, its file, and the page's cookie.
//!
//! - Every route except `GET /` requires `Authorization: Bearer <token>`; the comparison
//!   is constant-time.
//! - The token lives in a file created on first start with mode 0600 (32 random bytes as
//!   64 hex digits) and reused afterwards.
//! - The live page is served without a token. It can authenticate either way: keep the
//!   token in `sessionStorage` and send the header, or be opened once as `/?token=<token>`,
//!   which sets the `HttpOnly; SameSite=Strict` cookie [`COOKIE_NAME`] and redirects to `/` so
//!   the token leaves the address bar (an `EventSource` cannot send headers; it sends the
//!   cookie). A request authenticated by the cookie alone that changes something (any
//!   method but GET/HEAD) must also carry `X-Wharf-Actor`, which a cross-site form cannot
//!   send: the CSRF guard on top of `SameSite`.

use std::fmt;
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, Request, State};
use axum::http::header::{AUTHORIZATION, COOKIE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::AdminState;
use super::error::ApiError;
use crate::config::Config;
use crate::config::files::{self, TOKEN_FILE_MAX};
use crate::limits::ADMIN_TOKEN_BYTES;

/// The cookie the page may authenticate with.
pub const COOKIE_NAME: &str = "wharf_admin_token";
/// The header naming who asks (`api`, `cli`, `page`); also the CSRF guard for cookies.
pub const ACTOR_HEADER: &str = "x-wharf-actor";

/// The bearer token (its `Debug` never shows it).
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> Token {
        Token(token.into())
    }

    /// The token text.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Constant-time comparison with a presented token.
    pub fn matches(&self, presented: &str) -> bool {
        constant_time_eq(self.0.as_bytes(), presented.as_bytes())
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

/// Compares without an early exit, so the time taken does not tell how many leading
/// bytes matched. The length is not secret (tokens are 64 hex digits).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Where the token lives: `administration@tokenFile`, else `admin.token` in the state
/// directory.
pub fn token_path(config: &Config) -> PathBuf {
    config
        .administration
        .token_file
        .clone()
        .unwrap_or_else(|| crate::state::state_dir(config).join("admin.token"))
}

/// Reads an existing token file: `Ok(None)` when it is missing or empty. It must be a
/// regular file of at most [`TOKEN_FILE_MAX`] bytes holding printable ASCII without spaces;
/// a file readable by others is warned about.
pub fn read_token_file(path: &Path) -> io::Result<Option<Token>> {
    let (file, metadata) = match files::open_regular(path) {
        Ok(opened) => opened,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let bytes = files::read_open(file, &metadata, TOKEN_FILE_MAX)?;
    let text = String::from_utf8_lossy(&bytes);
    let token = text.trim();
    if token.is_empty() {
        return Ok(None);
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{}: a token is printable ASCII without spaces",
                path.display()
            ),
        ));
    }
    let mode = metadata.permissions().mode();
    if mode & 0o077 != 0 {
        tracing::warn!(
            path = %path.display(),
            mode = format!("{:o}", mode & 0o777),
            "the admin token file is readable by other users; chmod 600 it"
        );
    }
    Ok(Some(Token::new(token)))
}

/// Reads the token file, or creates it (mode 0600, parent directories 0700) with a fresh
/// random token when it is missing or empty.
pub fn load_or_create_token(path: &Path) -> io::Result<Token> {
    for _ in 0..3 {
        if let Some(token) = read_token_file(path)? {
            return Ok(token);
        }
        let exists = match std::fs::symlink_metadata(path) {
            Ok(_) => true,
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(e) => return Err(e),
        };
        match write_new_token(path, !exists) {
            // Another process created it between our open and create: read theirs.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            other => return other,
        }
    }
    Err(io::Error::other(format!(
        "{}: the token file keeps changing",
        path.display()
    )))
}

fn write_new_token(path: &Path, create_new: bool) -> io::Result<Token> {
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
        && !parent.is_dir()
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)?;
    }
    let bytes: [u8; ADMIN_TOKEN_BYTES] = rand::random();
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).mode(0o600);
    if create_new {
        options.create_new(true);
    } else {
        options.truncate(true);
    }
    let mut file = options.open(path)?;
    // `mode` applies only at creation; an existing empty file may have looser bits.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(format!("{token}\n").as_bytes())?;
    file.sync_all()?;
    Ok(Token::new(token))
}

/// How a request presented the token.
enum Presented<'a> {
    Bearer(&'a str),
    Cookie(&'a str),
    Nothing,
}

fn presented(headers: &HeaderMap) -> Presented<'_> {
    if let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let value = value.trim();
        if let Some((scheme, token)) = value.split_once(' ')
            && scheme.eq_ignore_ascii_case("bearer")
        {
            return Presented::Bearer(token.trim());
        }
        return Presented::Nothing;
    }
    for value in headers.get_all(COOKIE) {
        let Ok(value) = value.to_str() else { continue };
        for pair in value.split(';') {
            if let Some((name, token)) = pair.trim().split_once('=')
                && name == COOKIE_NAME
            {
                return Presented::Cookie(token);
            }
        }
    }
    Presented::Nothing
}

/// Middleware of every API route.
pub async fn require_token(
    State(state): State<AdminState>,
    request: Request,
    next: Next,
) -> Response {
    match presented(request.headers()) {
        Presented::Bearer(t) if state.token.matches(t) => next.run(request).await,
        Presented::Cookie(t) if state.token.matches(t) => {
            let safe = matches!(*request.method(), Method::GET | Method::HEAD);
            if !safe && !request.headers().contains_key(ACTOR_HEADER) {
                return ApiError::Forbidden(
                    "a request authenticated by cookie must send X-Wharf-Actor".into(),
                )
                .into_response();
            }
            next.run(request).await
        }
        _ => ApiError::Unauthorized.into_response(),
    }
}

/// `GET /?token=…`.
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    token: Option<String>,
}

/// Middleware of `GET /`: with `?token=`, check it, set the cookie and redirect to `/`;
/// without, serve the page.
pub async fn page_login(
    State(state): State<AdminState>,
    query: Result<Query<PageQuery>, QueryRejection>,
    request: Request,
    next: Next,
) -> Response {
    let Some(token) = query.ok().and_then(|q| q.0.token) else {
        return next.run(request).await;
    };
    if !state.token.matches(&token) {
        return ApiError::Unauthorized.into_response();
    }
    // Over HTTPS the browser must never send it back in clear text.
    let secure = if state.https { "; Secure" } else { "" };
    let cookie = format!("{COOKIE_NAME}={token}; HttpOnly; SameSite=Strict; Path=/{secure}");
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    headers.insert(LOCATION, HeaderValue::from_static("/"));
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        headers.insert(SET_COOKIE, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_is_eq() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn token_file_is_created_0600_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/sub/admin.token");
        let first = load_or_create_token(&path).unwrap();
        assert_eq!(first.expose().len(), 64);
        assert!(first.expose().bytes().all(|b| b.is_ascii_hexdigit()));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let parent = std::fs::metadata(path.parent().unwrap()).unwrap();
        assert_eq!(parent.permissions().mode() & 0o777, 0o700);
        let again = load_or_create_token(&path).unwrap();
        assert_eq!(first, again);
        assert_eq!(format!("{first:?}"), "Token(***)");

        std::fs::write(&path, "  my-own-token\n").unwrap();
        assert_eq!(
            load_or_create_token(&path).unwrap().expose(),
            "my-own-token"
        );
        std::fs::write(&path, "").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let fresh = load_or_create_token(&path).unwrap();
        assert_eq!(fresh.expose().len(), 64);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::write(&path, "two words").unwrap();
        assert!(load_or_create_token(&path).is_err());
    }

    #[test]
    fn presented_tokens() {
        let mut h = HeaderMap::new();
        assert!(matches!(presented(&h), Presented::Nothing));
        h.insert(AUTHORIZATION, HeaderValue::from_static("bearer  abc "));
        assert!(matches!(presented(&h), Presented::Bearer("abc")));
        h.insert(AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert!(matches!(presented(&h), Presented::Nothing));
        let mut h = HeaderMap::new();
        h.insert(
            COOKIE,
            HeaderValue::from_static("a=b; wharf_admin_token=xyz; c=d"),
        );
        assert!(matches!(presented(&h), Presented::Cookie("xyz")));
    }
}
