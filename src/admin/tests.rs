//! Router tests through `tower::ServiceExt::oneshot` (no HTTP socket) against a real,
//! in-process FTP server with real FTP sessions, so every answer reflects live state.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use futures_util::StreamExt;
use serde_json::Value;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::*;
use crate::server::RunningServer;

const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const BETA: &str = "Beta \"B\"";

struct Fixture {
    app: Router,
    server: Option<RunningServer>,
    ftp: SocketAddr,
    _dir: TempDir,
}

impl Fixture {
    async fn start() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("site")).unwrap();
        std::fs::write(root.join("site/hello.txt"), b"hello\n").unwrap();
        let site = |name: &str, id: u32, extra: &str, binding: &str| {
            format!(
                r#"<site name="{name}" id="{id}" {extra}>
        <application path="/"><virtualDirectory path="/" physicalPath="{root}/site" /></application>
        <bindings><binding protocol="ftp" bindingInformation="{binding}" /></bindings>
        <ftpServer>
          <security>
            <ssl controlChannelPolicy="SslAllow" dataChannelPolicy="SslAllow" />
            <authentication><anonymousAuthentication enabled="true" /></authentication>
          </security>
        </ftpServer>
      </site>"#,
                root = root.display()
            )
        };
        let xml = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<configuration>
  <system.applicationHost>
    <sites>
      {a}
      {b}
      {c}
    </sites>
  </system.applicationHost>
  <system.ftpServer>
    <security>
      <authorization><add accessType="Allow" users="*" permissions="Read" /></authorization>
    </security>
    <administration enabled="false" />
  </system.ftpServer>
</configuration>"#,
            a = site("Default FTP Site", 1, "", "127.0.0.1:0:"),
            b = site("Beta &quot;B&quot;", 2, "", "127.0.0.1:0:beta.example"),
            c = site(
                "Stopped",
                3,
                r#"serverAutoStart="false""#,
                "127.0.0.1:2999:stopped.example"
            ),
        );
        let origin = root.join("applicationHost.config");
        let loaded = crate::config::load_str(&xml, &origin);
        let config = loaded
            .config
            .unwrap_or_else(|| panic!("{:?}", loaded.diagnostics));
        let server = crate::server::start(config).await.unwrap();
        assert!(server.admin.is_none(), "administration is disabled here");
        let ftp = server.endpoints[0].addr;
        let state = AdminState::new(
            server.shared.clone(),
            server.endpoints.clone(),
            Token::new(TOKEN),
            CancellationToken::new(),
        );
        Fixture {
            app: router(state),
            server: Some(server),
            ftp,
            _dir: dir,
        }
    }

    fn registry(&self) -> &std::sync::Arc<crate::registry::Registry> {
        self.server.as_ref().unwrap().registry()
    }

    async fn call(&self, method: Method, uri: &str, headers: &[(&str, &str)]) -> Resp {
        self.call_body(method, uri, headers, Body::empty()).await
    }

    async fn call_body(
        &self,
        method: Method,
        uri: &str,
        headers: &[(&str, &str)],
        body: Body,
    ) -> Resp {
        let mut req = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let response = self
            .app
            .clone()
            .oneshot(req.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), 16 << 20)
            .await
            .unwrap();
        Resp {
            status,
            headers,
            body,
        }
    }

    /// GET with the token.
    async fn get(&self, uri: &str) -> Resp {
        self.call(Method::GET, uri, &[("authorization", &bearer())])
            .await
    }

    async fn get_json(&self, uri: &str) -> Value {
        let r = self.get(uri).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.text());
        assert_eq!(r.headers["content-type"], "application/json", "{uri}");
        r.json()
    }
}

struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

/// A line-level FTP client.
struct Ftp {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

impl Ftp {
    async fn connect(addr: SocketAddr) -> Ftp {
        let (r, w) = TcpStream::connect(addr).await.unwrap().into_split();
        let mut ftp = Ftp {
            reader: BufReader::new(r),
            writer: w,
        };
        assert_eq!(ftp.reply().await.0, 220);
        ftp
    }

    async fn reply(&mut self) -> (u16, String) {
        let mut text = String::new();
        let mut first = String::new();
        tokio::time::timeout(Duration::from_secs(10), self.reader.read_line(&mut first))
            .await
            .expect("reply in time")
            .unwrap();
        let code: u16 = first.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
        text.push_str(&first);
        if first.as_bytes().get(3) == Some(&b'-') {
            loop {
                let mut line = String::new();
                if self.reader.read_line(&mut line).await.unwrap() == 0 {
                    break;
                }
                text.push_str(&line);
                if line.starts_with(&format!("{code} ")) {
                    break;
                }
            }
        }
        (code, text)
    }

    async fn cmd(&mut self, line: &str) -> (u16, String) {
        self.writer
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .unwrap();
        self.reply().await
    }

    async fn login_anonymous(&mut self) {
        assert_eq!(self.cmd("USER anonymous").await.0, 331);
        assert_eq!(self.cmd("PASS guest@").await.0, 230);
    }
}

/// Waits until the registry shows `n` live sessions.
async fn wait_sessions(f: &Fixture, n: usize) {
    for _ in 0..500 {
        if f.registry().handles().len() == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "expected {n} sessions, have {}",
        f.registry().handles().len()
    );
}

/// The session object's members in the admin contract (IIS attributes and extensions).
pub(super) const SESSION_KEYS: [&str; 21] = [
    "sessionId",
    "sessionStartTime",
    "userName",
    "clientIp",
    "currentCommand",
    "previousCommand",
    "commandStartTime",
    "bytesSent",
    "bytesReceived",
    "lastErrorStatus",
    "siteName",
    "hostName",
    "clientPort",
    "serverIp",
    "serverPort",
    "state",
    "currentDirectory",
    "idleSeconds",
    "dataMode",
    "transfer",
    "tls",
];

fn assert_session_keys(v: &Value, extra: &[&str]) {
    let got: Vec<&str> = v
        .as_object()
        .expect("a session object")
        .keys()
        .map(String::as_str)
        .collect();
    let want: Vec<&str> = SESSION_KEYS.iter().chain(extra).copied().collect();
    assert_eq!(got, want, "attribute names and order");
}

#[tokio::test]
async fn every_api_route_requires_the_token() {
    let f = Fixture::start().await;
    let routes = [
        (Method::GET, "/api/v1/sites"),
        (Method::GET, "/api/v1/sessions"),
        (Method::GET, "/api/v1/sessions/ended"),
        (Method::GET, "/api/v1/sites/1/sessions"),
        (
            Method::GET,
            "/api/v1/sites/1/sessions/0b7e1c2a-5d2c-4f6e-9a1b-3c4d5e6f7a8b",
        ),
        (
            Method::POST,
            "/api/v1/sites/1/sessions/0b7e1c2a-5d2c-4f6e-9a1b-3c4d5e6f7a8b/terminate",
        ),
        (Method::GET, "/api/v1/events"),
        (Method::GET, "/metrics"),
    ];
    let wrong = format!("Bearer {}", "f".repeat(64));
    for (method, uri) in routes {
        for headers in [
            vec![],
            vec![("authorization", wrong.as_str())],
            vec![("authorization", "Basic YWRtaW46YWRtaW4=")],
            vec![("cookie", "wharf_admin_token=nope")],
        ] {
            let r = f.call(method.clone(), uri, &headers).await;
            assert_eq!(
                r.status,
                StatusCode::UNAUTHORIZED,
                "{method} {uri} {headers:?}"
            );
            assert_eq!(r.headers["www-authenticate"], "Bearer realm=\"wharf\"");
            assert!(r.json()["error"].as_str().unwrap().contains("token"));
        }
    }
    // Scheme is case-insensitive.
    let r = f
        .call(
            Method::GET,
            "/api/v1/sites",
            &[("authorization", &format!("bearer {TOKEN}"))],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn the_page_is_public_and_can_set_the_cookie() {
    let f = Fixture::start().await;
    let r = f.call(Method::GET, "/", &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let r = f.call(Method::GET, "/?token=wrong", &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = f.call(Method::GET, &format!("/?token={TOKEN}"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers["location"], "/");
    let cookie = r.headers["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with(&format!("wharf_admin_token={TOKEN};")));
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let pair = cookie.split(';').next().unwrap();
    let r = f
        .call(Method::GET, "/api/v1/sessions", &[("cookie", pair)])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    // A state-changing request on the cookie alone needs X-Wharf-Actor (CSRF guard).
    let uri = "/api/v1/sites/1/sessions/0b7e1c2a-5d2c-4f6e-9a1b-3c4d5e6f7a8b/terminate";
    let r = f.call(Method::POST, uri, &[("cookie", pair)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = f
        .call(
            Method::POST,
            uri,
            &[("cookie", pair), ("x-wharf-actor", "page")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = f.call(Method::POST, "/", &[]).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn sites_show_state_bindings_and_counts() {
    let f = Fixture::start().await;
    let _a = Ftp::connect(f.ftp).await;
    let mut b = Ftp::connect(f.ftp).await;
    assert_eq!(b.cmd("HOST beta.example").await.0, 220);
    wait_sessions(&f, 2).await;
    let v = f.get_json("/api/v1/sites").await;
    let port = f.ftp.port();
    assert_eq!(
        v,
        serde_json::json!({"sites": [
            {"name": "Default FTP Site", "id": 1, "state": "Started",
             "bindings": [format!("127.0.0.1:{port}:")], "sessions": 1},
            {"name": BETA, "id": 2, "state": "Started",
             "bindings": [format!("127.0.0.1:{port}:beta.example")], "sessions": 1},
            {"name": "Stopped", "id": 3, "state": "Stopped",
             "bindings": ["127.0.0.1:2999:stopped.example"], "sessions": 0},
        ]})
    );
}

#[tokio::test]
async fn sessions_list_with_filters() {
    let f = Fixture::start().await;
    let mut anon = Ftp::connect(f.ftp).await;
    anon.login_anonymous().await;
    assert_eq!(anon.cmd("CWD /").await.0, 250);
    let _fresh = Ftp::connect(f.ftp).await;
    wait_sessions(&f, 2).await;

    let v = f.get_json("/api/v1/sessions").await;
    let sessions = v["sessions"].as_array().unwrap();
    assert_eq!(v.as_object().unwrap().len(), 1, "only \"sessions\"");
    assert_eq!(sessions.len(), 2);
    for s in sessions {
        assert_session_keys(s, &[]);
    }
    let logged = sessions
        .iter()
        .find(|s| s["userName"] == "<Anonymous>")
        .expect("the anonymous session");
    assert_eq!(logged["currentCommand"], "CWD /");
    assert_eq!(logged["previousCommand"], "PASS ***");
    assert_eq!(logged["lastErrorStatus"], 250);
    assert_eq!(logged["state"], "idle");
    assert_eq!(logged["clientIp"], "127.0.0.1");
    assert_eq!(logged["serverPort"], f.ftp.port());
    assert_eq!(logged["siteName"], "Default FTP Site");
    assert_eq!(logged["dataMode"], "");
    assert_eq!(logged["transfer"], Value::Null);
    assert_eq!(logged["tls"], Value::Null);
    assert!(logged["bytesSent"].as_u64().unwrap() > 0);
    assert!(logged["commandStartTime"].as_str().unwrap().ends_with('Z'));
    let fresh = sessions.iter().find(|s| s["userName"] == "").unwrap();
    assert_eq!(fresh["state"], "authenticating");
    assert_eq!(fresh["commandStartTime"], "");

    let count = |v: Value| v["sessions"].as_array().unwrap().len();
    let cases = [
        ("?userName=%3CAnonymous%3E", 1),
        ("?userName=%3Canonymous%3E", 1),
        ("?userName=alice", 0),
        ("?clientIp=127.0.0.1", 2),
        ("?clientIp=::ffff:127.0.0.1", 2),
        ("?clientIp=10.0.0.1", 0),
        ("?state=idle", 1),
        ("?state=authenticating", 1),
        ("?state=transferring", 0),
        ("?minIdleSeconds=0", 2),
        ("?minIdleSeconds=3600", 0),
        ("?state=idle&userName=%3CAnonymous%3E&clientIp=127.0.0.1", 1),
        ("?userName=&state=", 2),
        ("?unknownParameter=1", 2),
    ];
    for (query, n) in cases {
        assert_eq!(
            count(f.get_json(&format!("/api/v1/sessions{query}")).await),
            n,
            "{query}"
        );
    }
    for bad in [
        "?clientIp=not-an-ip",
        "?state=sleeping",
        "?minIdleSeconds=-1",
        "?minIdleSeconds=soon",
    ] {
        let r = f.get(&format!("/api/v1/sessions{bad}")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(r.json()["error"].is_string());
    }

    // The site route: same filters, plus "site".
    let v = f
        .get_json("/api/v1/sites/Default%20FTP%20Site/sessions?state=idle")
        .await;
    assert_eq!(v["site"], "Default FTP Site");
    assert_eq!(count(v), 1);
    assert_eq!(count(f.get_json("/api/v1/sites/1/sessions").await), 2);
    assert_eq!(
        count(
            f.get_json("/api/v1/sites/default%20ftp%20site/sessions")
                .await
        ),
        2
    );
    assert_eq!(
        count(f.get_json("/api/v1/sites/Beta%20%22B%22/sessions").await),
        0
    );
    assert_eq!(count(f.get_json("/api/v1/sites/Stopped/sessions").await), 0);
    let r = f.get("/api/v1/sites/%FF/sessions").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "not UTF-8");
    assert!(r.json()["error"].is_string());
    let r = f.get("/api/v1/sites/Nope/sessions").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.json()["error"].as_str().unwrap().contains("Nope"));
}

#[tokio::test]
async fn show_one_session() {
    let f = Fixture::start().await;
    let mut c = Ftp::connect(f.ftp).await;
    c.login_anonymous().await;
    wait_sessions(&f, 1).await;
    let id = f.registry().handles()[0].id;
    let v = f
        .get_json(&format!("/api/v1/sites/Default%20FTP%20Site/sessions/{id}"))
        .await;
    assert_session_keys(&v, &[]);
    assert_eq!(v["sessionId"], id.to_string());
    assert_eq!(v["userName"], "<Anonymous>");
    // Wrong site, unknown id, not an id.
    for uri in [
        format!("/api/v1/sites/2/sessions/{id}"),
        format!("/api/v1/sites/1/sessions/{}", uuid::Uuid::new_v4()),
        "/api/v1/sites/1/sessions/12345".to_string(),
        format!("/api/v1/sites/Nope/sessions/{id}"),
    ] {
        let r = f.get(&uri).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri}");
        assert!(r.json()["error"].is_string());
    }
    assert_eq!(c.cmd("QUIT").await.0, 221);
    wait_sessions(&f, 0).await;
    let r = f.get(&format!("/api/v1/sites/1/sessions/{id}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.json()["error"].as_str().unwrap().contains("ended"));
}

#[tokio::test]
async fn writes_on_sessions_are_405_with_allow() {
    let f = Fixture::start().await;
    let _c = Ftp::connect(f.ftp).await;
    wait_sessions(&f, 1).await;
    let id = f.registry().handles()[0].id;
    let auth = bearer();
    let read_only = "sessions are read-only; use POST /api/v1/sites/{site}/sessions/{id}/terminate (the IIS Terminate method)";
    let session = format!("/api/v1/sites/1/sessions/{id}");
    for uri in [
        "/api/v1/sessions",
        "/api/v1/sites/1/sessions",
        "/api/v1/sessions/ended",
        session.as_str(),
    ] {
        for method in [Method::PUT, Method::PATCH, Method::DELETE, Method::POST] {
            let r = f
                .call(method.clone(), uri, &[("authorization", &auth)])
                .await;
            assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}");
            assert_eq!(r.headers["allow"], "GET", "{method} {uri}");
            assert_eq!(r.json()["error"], read_only);
        }
    }
    for method in [Method::GET, Method::PUT, Method::DELETE] {
        let r = f
            .call(
                method.clone(),
                &format!("{session}/terminate"),
                &[("authorization", &auth)],
            )
            .await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(r.headers["allow"], "POST");
        assert!(r.json()["error"].as_str().unwrap().contains("POST"));
    }
    for uri in ["/api/v1/sites", "/metrics", "/api/v1/events"] {
        let r = f
            .call(Method::DELETE, uri, &[("authorization", &auth)])
            .await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{uri}");
        assert_eq!(r.headers["allow"], "GET");
    }
    // The session is untouched.
    assert_eq!(f.registry().handles().len(), 1);
    let r = f.get("/api/v1/nothing-here").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.json()["error"].is_string());
}

#[tokio::test]
async fn xml_by_accept() {
    let f = Fixture::start().await;
    let mut c = Ftp::connect(f.ftp).await;
    c.login_anonymous().await;
    wait_sessions(&f, 1).await;
    let id = f.registry().handles()[0].id;
    let xml_get = |uri: String| {
        let auth = bearer();
        let f = &f;
        async move {
            let r = f
                .call(
                    Method::GET,
                    &uri,
                    &[("authorization", &auth), ("accept", "application/xml")],
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{uri}");
            assert_eq!(r.headers["content-type"], "application/xml; charset=utf-8");
            r.text()
        }
    };
    let text = xml_get("/api/v1/sessions".into()).await;
    let doc = roxmltree::Document::parse(&text).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "sessions");
    let sessions: Vec<_> = root.children().filter(|n| n.is_element()).collect();
    assert_eq!(sessions.len(), 1);
    let s = sessions[0];
    assert_eq!(s.tag_name().name(), "session");
    let names: Vec<&str> = s.attributes().map(|a| a.name()).collect();
    assert_eq!(names, SESSION_KEYS[..19].to_vec(), "IIS attribute names");
    assert_eq!(s.attribute("sessionId"), Some(id.to_string().as_str()));
    assert_eq!(s.attribute("userName"), Some("<Anonymous>"));
    assert_eq!(s.attribute("previousCommand"), Some("USER anonymous"));
    assert_eq!(s.attribute("lastErrorStatus"), Some("230"));
    assert!(text.contains("userName=\"&lt;Anonymous&gt;\""));

    let text = xml_get("/api/v1/sites/1/sessions".into()).await;
    let doc = roxmltree::Document::parse(&text).unwrap();
    assert_eq!(
        doc.root_element().attribute("site"),
        Some("Default FTP Site")
    );
    let text = xml_get(format!("/api/v1/sites/1/sessions/{id}")).await;
    let doc = roxmltree::Document::parse(&text).unwrap();
    assert_eq!(doc.root_element().tag_name().name(), "session");

    assert_eq!(c.cmd("QUIT").await.0, 221);
    wait_sessions(&f, 0).await;
    let text = xml_get("/api/v1/sessions/ended".into()).await;
    let doc = roxmltree::Document::parse(&text).unwrap();
    let e = doc.root_element().first_element_child().unwrap();
    assert_eq!(e.attribute("endReason"), Some("quit"));
    assert_eq!(e.attribute("currentCommand"), Some("QUIT"));
    assert!(e.attribute("terminatedBy").is_none());
    // JSON stays the default, and wins ties.
    let r = f
        .call(
            Method::GET,
            "/api/v1/sessions",
            &[
                ("authorization", &bearer()),
                ("accept", "application/json, application/xml"),
            ],
        )
        .await;
    assert_eq!(r.headers["content-type"], "application/json");
}

#[tokio::test]
async fn terminate_through_the_api() {
    let f = Fixture::start().await;
    let mut c = Ftp::connect(f.ftp).await;
    c.login_anonymous().await;
    let mut d = Ftp::connect(f.ftp).await;
    wait_sessions(&f, 2).await;
    let id_c = f
        .registry()
        .handles()
        .into_iter()
        .find(|h| h.record().user_name == "<Anonymous>")
        .unwrap()
        .id;
    let id_d = f
        .registry()
        .handles()
        .into_iter()
        .find(|h| h.id != id_c)
        .unwrap()
        .id;
    let auth = bearer();
    let post = |uri: String, headers: Vec<(&'static str, String)>, body: &'static str| {
        let f = &f;
        async move {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            f.call_body(Method::POST, &uri, &headers, Body::from(body))
                .await
        }
    };
    let uri_c = format!("/api/v1/sites/Default%20FTP%20Site/sessions/{id_c}/terminate");

    // Bad requests change nothing.
    let r = post(
        uri_c.clone(),
        vec![("authorization", auth.clone())],
        "not json",
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = post(
        uri_c.clone(),
        vec![
            ("authorization", auth.clone()),
            ("x-wharf-actor", "robot".into()),
        ],
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = post(
        format!("/api/v1/sites/2/sessions/{id_c}/terminate"),
        vec![("authorization", auth.clone())],
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "wrong site");
    let r = post(
        format!(
            "/api/v1/sites/1/sessions/{}/terminate",
            uuid::Uuid::new_v4()
        ),
        vec![("authorization", auth.clone())],
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(f.registry().handles().len(), 2);

    let started = std::time::Instant::now();
    let r = post(
        uri_c.clone(),
        vec![
            ("authorization", auth.clone()),
            ("content-type", "application/json".into()),
        ],
        r#"{"reason":"maintenance at 10:00"}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(started.elapsed() < Duration::from_secs(1));
    let v = r.json();
    assert_eq!(
        v.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["terminated", "session"]
    );
    assert_eq!(v["terminated"], true);
    let s = &v["session"];
    assert_session_keys(
        s,
        &["endReason", "endTime", "terminatedBy", "terminateReason"],
    );
    assert_eq!(s["sessionId"], id_c.to_string());
    assert_eq!(s["endReason"], "terminated");
    assert_eq!(s["terminatedBy"], "api");
    assert_eq!(s["terminateReason"], "maintenance at 10:00");
    assert_eq!(s["lastErrorStatus"], 421);
    // The client was told why.
    let (code, text) = c.reply().await;
    assert_eq!(code, 421);
    assert_eq!(text, "421 maintenance at 10:00\r\n");

    // Again: already ended.
    let r = post(uri_c.clone(), vec![("authorization", auth.clone())], "").await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert_eq!(v["terminated"], false);
    assert_eq!(v["alreadyEnded"], true);
    assert_eq!(v["session"]["terminateReason"], "maintenance at 10:00");

    // Actor from the header, no reason.
    let r = post(
        format!("/api/v1/sites/1/sessions/{id_d}/terminate"),
        vec![
            ("authorization", auth.clone()),
            ("x-wharf-actor", "CLI".into()),
        ],
        "{}",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert_eq!(v["session"]["terminatedBy"], "cli");
    assert_eq!(v["session"]["terminateReason"], Value::Null);
    let (code, _) = d.reply().await;
    assert_eq!(code, 421);

    // The history has both, oldest first; ?site= filters.
    let v = f.get_json("/api/v1/sessions/ended").await;
    let ended = v["sessions"].as_array().unwrap();
    assert_eq!(ended.len(), 2);
    assert_eq!(ended[0]["sessionId"], id_c.to_string());
    assert_eq!(ended[1]["sessionId"], id_d.to_string());
    let by_site = |q: &'static str| {
        let f = &f;
        async move {
            f.get_json(&format!("/api/v1/sessions/ended?site={q}"))
                .await["sessions"]
                .as_array()
                .unwrap()
                .len()
        }
    };
    assert_eq!(by_site("Default%20FTP%20Site").await, 2);
    assert_eq!(by_site("2").await, 0);
    assert_eq!(
        f.get("/api/v1/sessions/ended?site=Nope").await.status,
        StatusCode::NOT_FOUND
    );
    assert!(f.registry().handles().is_empty());
}

#[tokio::test]
async fn metrics_reflect_activity() {
    let f = Fixture::start().await;
    let mut c = Ftp::connect(f.ftp).await;
    c.login_anonymous().await;
    assert_eq!(c.cmd("NOOP").await.0, 200);
    assert_eq!(c.cmd("XYZZY").await.0, 500);
    let mut bad = Ftp::connect(f.ftp).await;
    assert_eq!(bad.cmd("USER nobody").await.0, 331);
    assert_eq!(bad.cmd("PASS wrong").await.0, 530);
    assert_eq!(bad.cmd("QUIT").await.0, 221);
    let mut beta = Ftp::connect(f.ftp).await;
    assert_eq!(beta.cmd("HOST beta.example").await.0, 220);
    wait_sessions(&f, 2).await;
    let id = f
        .registry()
        .handles()
        .iter()
        .find(|h| h.site_name().as_ref() == "Default FTP Site")
        .unwrap()
        .id;
    assert_eq!(
        f.registry().terminate(id, "api", None),
        crate::registry::TerminateOutcome::Requested
    );
    wait_sessions(&f, 1).await;

    let r = f.get("/metrics").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.headers["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = r.text();
    let value = |series: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no series {series} in\n{text}"))
    };
    let d = "site=\"Default FTP Site\"";
    assert_eq!(value(&format!("wharf_sessions_current{{{d}}}")), 0);
    assert_eq!(
        value("wharf_sessions_current{site=\"Beta \\\"B\\\"\"}"),
        1,
        "label values are escaped"
    );
    assert_eq!(value("wharf_sessions_current{site=\"Stopped\"}"), 0);
    assert_eq!(
        value(&format!(
            "wharf_sessions_ended_total{{{d},reason=\"quit\"}}"
        )),
        1
    );
    assert_eq!(
        value(&format!(
            "wharf_sessions_ended_total{{{d},reason=\"terminated\"}}"
        )),
        1
    );
    assert_eq!(value(&format!("wharf_terminations_total{{{d}}}")), 1);
    assert_eq!(
        value(&format!("wharf_logins_total{{{d},result=\"success\"}}")),
        1
    );
    assert_eq!(
        value(&format!("wharf_logins_total{{{d},result=\"failure\"}}")),
        1
    );
    assert_eq!(
        value(&format!("wharf_commands_total{{{d},verb=\"USER\"}}")),
        2
    );
    assert_eq!(
        value(&format!("wharf_commands_total{{{d},verb=\"NOOP\"}}")),
        1
    );
    assert_eq!(
        value(&format!("wharf_commands_total{{{d},verb=\"other\"}}")),
        1
    );
    // A command counts on the site it arrived at: HOST on Default; its 220 on Beta.
    assert_eq!(
        value(&format!("wharf_commands_total{{{d},verb=\"HOST\"}}")),
        1
    );
    assert_eq!(
        value("wharf_replies_total{site=\"Beta \\\"B\\\"\",class=\"2xx\"}"),
        1
    );
    // 220 ×3 (banners), 230, 200, 221.
    assert_eq!(
        value(&format!("wharf_replies_total{{{d},class=\"2xx\"}}")),
        6
    );
    assert_eq!(
        value(&format!("wharf_replies_total{{{d},class=\"3xx\"}}")),
        2
    );
    // 421 on terminate.
    assert_eq!(
        value(&format!("wharf_replies_total{{{d},class=\"4xx\"}}")),
        1
    );
    assert_eq!(
        value(&format!("wharf_replies_total{{{d},class=\"5xx\"}}")),
        2
    );
    assert!(value(&format!("wharf_bytes_sent_total{{{d}}}")) > 100);
    assert!(value(&format!("wharf_bytes_received_total{{{d}}}")) > 20);
    for name in [
        "wharf_sessions_current",
        "wharf_sessions_ended_total",
        "wharf_bytes_sent_total",
        "wharf_bytes_received_total",
        "wharf_commands_total",
        "wharf_replies_total",
        "wharf_logins_total",
        "wharf_terminations_total",
    ] {
        assert!(text.contains(&format!("# TYPE {name} ")), "{name}");
    }
    assert!(!text.contains("anonymous") && !text.contains(&id.to_string()));
}

#[tokio::test]
async fn events_start_with_a_snapshot() {
    let f = Fixture::start().await;
    let mut c = Ftp::connect(f.ftp).await;
    c.login_anonymous().await;
    wait_sessions(&f, 1).await;
    let req = Request::get("/api/v1/events")
        .header("authorization", bearer())
        .body(Body::empty())
        .unwrap();
    let response = f.app.clone().oneshot(req).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut body = response.into_body().into_data_stream();
    let mut text = String::new();
    while !text.contains("\n\n") {
        let chunk = tokio::time::timeout(Duration::from_secs(5), body.next())
            .await
            .expect("snapshot in time")
            .expect("stream open")
            .unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    let mut event = "";
    let mut data = "";
    let mut id = "";
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("event: ") {
            event = v;
        } else if let Some(v) = line.strip_prefix("data: ") {
            data = v;
        } else if let Some(v) = line.strip_prefix("id: ") {
            id = v;
        }
    }
    assert_eq!(event, "snapshot");
    assert!(id.parse::<u64>().unwrap() <= f.registry().events().last_id());
    let v: Value = serde_json::from_str(data).unwrap();
    let sessions = v["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0]["userName"], "<Anonymous>");
    assert_session_keys(&sessions[0], &[]);
    // Bad site filter.
    let r = f.get("/api/v1/events?site=Nope").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}
