//! JSON or IIS-shaped XML, chosen by `Accept`, and the hand-written XML.
//!
//! The XML mirrors IIS's `ftpServer/sessions` collection: one `<session>` element per
//! session whose attributes carry the IIS names (`sessionId`, `userName`, …) and the Wharf
//! extensions; the nested `transfer` and `tls` objects become child elements. Attribute
//! values are escaped for XML 1.0 (`& < > " '`, tab, CR and LF as character references);
//! characters XML 1.0 cannot carry at all (other control characters) become U+FFFD.

use std::convert::Infallible;
use std::fmt::Write as _;

use axum::extract::FromRequestParts;
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::registry::record::format_time;
use crate::registry::{EndedSession, SessionRecord};

/// The representation a client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/json` (the default).
    Json,
    /// `application/xml` or `text/xml`.
    Xml,
}

impl Format {
    /// The preferred format of `Accept`: XML only when an XML type has a higher quality
    /// than every JSON-capable range (`application/json`, `application/*`, `*/*`); ties and
    /// anything unparseable mean JSON.
    pub fn from_headers(headers: &HeaderMap) -> Format {
        let mut best_json = -1.0f32;
        let mut best_xml = -1.0f32;
        for value in headers.get_all(ACCEPT) {
            let Ok(value) = value.to_str() else { continue };
            for range in value.split(',') {
                let mut parts = range.split(';');
                let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
                let q = parts
                    .filter_map(|p| p.trim().strip_prefix("q="))
                    .find_map(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0);
                if q <= 0.0 {
                    continue;
                }
                match media.as_str() {
                    "application/xml" | "text/xml" => best_xml = best_xml.max(q),
                    "application/json" | "application/*" | "*/*" => best_json = best_json.max(q),
                    _ => {}
                }
            }
        }
        if best_xml > best_json {
            Format::Xml
        } else {
            Format::Json
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Format {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Format::from_headers(&parts.headers))
    }
}

/// A rendered body with its content type.
#[derive(Debug)]
pub struct Rendered {
    /// The format.
    pub format: Format,
    /// The bytes.
    pub body: Vec<u8>,
}

impl IntoResponse for Rendered {
    fn into_response(self) -> Response {
        let content_type = match self.format {
            Format::Json => "application/json",
            Format::Xml => "application/xml; charset=utf-8",
        };
        (
            StatusCode::OK,
            [(CONTENT_TYPE, HeaderValue::from_static(content_type))],
            self.body,
        )
            .into_response()
    }
}

/// `<sessions [site="…"]><session …/>…</sessions>`.
pub fn sessions_xml(site: Option<&str>, records: &[SessionRecord]) -> Vec<u8> {
    let mut x = Xml::document();
    x.open("sessions");
    if let Some(site) = site {
        x.attr("site", site);
    }
    x.end_start();
    for r in records {
        write_session(&mut x, r, None);
    }
    x.close("sessions");
    x.finish()
}

/// `<sessions><session … endReason="…" …/>…</sessions>` (ended sessions, oldest first).
pub fn ended_xml(ended: &[EndedSession]) -> Vec<u8> {
    let mut x = Xml::document();
    x.open("sessions");
    x.end_start();
    for e in ended {
        write_session(&mut x, &e.record, Some(e));
    }
    x.close("sessions");
    x.finish()
}

/// One `<session …/>`.
pub fn session_xml(record: &SessionRecord) -> Vec<u8> {
    let mut x = Xml::document();
    write_session(&mut x, record, None);
    x.finish()
}

fn write_session(x: &mut Xml, r: &SessionRecord, ended: Option<&EndedSession>) {
    x.open("session");
    x.attr("sessionId", &r.session_id.to_string());
    x.attr("sessionStartTime", &format_time(r.session_start_time));
    x.attr("userName", &r.user_name);
    x.attr("clientIp", &r.client_ip.to_string());
    x.attr("currentCommand", &r.current_command);
    x.attr("previousCommand", &r.previous_command);
    x.attr(
        "commandStartTime",
        &r.command_start_time.map(format_time).unwrap_or_default(),
    );
    x.attr("bytesSent", &r.bytes_sent.to_string());
    x.attr("bytesReceived", &r.bytes_received.to_string());
    x.attr("lastErrorStatus", &r.last_error_status.to_string());
    x.attr("siteName", &r.site_name);
    x.attr("hostName", &r.host_name);
    x.attr("clientPort", &r.client_port.to_string());
    x.attr("serverIp", &r.server_ip.to_string());
    x.attr("serverPort", &r.server_port.to_string());
    x.attr("state", r.state.as_str());
    x.attr("currentDirectory", &r.current_directory);
    x.attr("idleSeconds", &r.idle_seconds.to_string());
    x.attr("dataMode", &r.data_mode);
    if let Some(e) = ended {
        x.attr("endReason", e.end_reason.as_str());
        x.attr("endTime", &format_time(e.end_time));
        if let Some(by) = &e.terminated_by {
            x.attr("terminatedBy", by);
        }
        if let Some(reason) = &e.terminate_reason {
            x.attr("terminateReason", reason);
        }
    }
    if r.transfer.is_none() && r.tls.is_none() {
        x.end_empty();
        return;
    }
    x.end_start();
    if let Some(t) = &r.transfer {
        x.open("transfer");
        x.attr("direction", t.direction.as_str());
        x.attr("path", &t.path);
        x.attr("bytes", &t.bytes.to_string());
        if let Some(size) = t.size {
            x.attr("size", &size.to_string());
        }
        x.attr("startTime", &format_time(t.start_time));
        x.attr("bytesPerSecond", &t.bytes_per_second.to_string());
        x.end_empty();
    }
    if let Some(t) = &r.tls {
        x.open("tls");
        x.attr("controlProtected", bool_str(t.control_protected));
        x.attr("dataProtected", bool_str(t.data_protected));
        x.attr("protocolVersion", &t.protocol_version);
        x.attr("cipherSuite", &t.cipher_suite);
        x.attr("dataChannelResumed", bool_str(t.data_channel_resumed));
        x.end_empty();
    }
    x.close("session");
}

fn bool_str(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// A minimal XML writer: elements and escaped attributes, nothing else.
struct Xml {
    out: String,
}

impl Xml {
    fn document() -> Xml {
        Xml {
            out: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
        }
    }

    fn open(&mut self, name: &str) {
        self.out.push('<');
        self.out.push_str(name);
    }

    fn attr(&mut self, name: &str, value: &str) {
        self.out.push(' ');
        self.out.push_str(name);
        self.out.push_str("=\"");
        escape_attr(value, &mut self.out);
        self.out.push('"');
    }

    fn end_start(&mut self) {
        self.out.push('>');
    }

    fn end_empty(&mut self) {
        self.out.push_str(" />");
    }

    fn close(&mut self, name: &str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    fn finish(mut self) -> Vec<u8> {
        self.out.push('\n');
        self.out.into_bytes()
    }
}

/// Appends `value` escaped for a double-quoted XML 1.0 attribute.
pub fn escape_attr(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Kept as references: a literal tab or line break in an attribute would be
            // normalized to a space by any XML parser.
            '\t' | '\n' | '\r' => {
                let _ = write!(out, "&#{};", c as u32);
            }
            // Not allowed in XML 1.0, not even as a reference.
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(accept: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(ACCEPT, HeaderValue::from_str(accept).unwrap());
        h
    }

    #[test]
    fn accept_negotiation() {
        assert_eq!(Format::from_headers(&HeaderMap::new()), Format::Json);
        assert_eq!(
            Format::from_headers(&headers("application/xml")),
            Format::Xml
        );
        assert_eq!(Format::from_headers(&headers("text/xml")), Format::Xml);
        assert_eq!(Format::from_headers(&headers("*/*")), Format::Json);
        assert_eq!(
            Format::from_headers(&headers("application/json, application/xml")),
            Format::Json
        );
        assert_eq!(
            Format::from_headers(&headers("application/json;q=0.5, application/xml")),
            Format::Xml
        );
        assert_eq!(
            Format::from_headers(&headers("application/xml;q=0, */*")),
            Format::Json
        );
        assert_eq!(
            Format::from_headers(&headers("text/html, application/xml;q=0.9, */*;q=0.8")),
            Format::Xml
        );
    }

    #[test]
    fn attributes_are_escaped() {
        let mut s = String::new();
        escape_attr("a&b<c>d\"e'f\tg\nh\ri\u{1}j é", &mut s);
        assert_eq!(
            s,
            "a&amp;b&lt;c&gt;d&quot;e&apos;f&#9;g&#10;h&#13;i\u{fffd}j é"
        );
    }

    #[test]
    fn session_xml_shape() {
        let mut r = crate::admin::json::tests::sample_record();
        r.current_command = "RETR \"a&b\".txt".into();
        let xml = String::from_utf8(sessions_xml(Some("Default FTP Site"), &[r])).unwrap();
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<sessions site=\"Default FTP Site\"><session sessionId=\"0b7e1c2a-5d2c-4f6e-9a1b-3c4d5e6f7a8b\" sessionStartTime=\"2026-11-24T09:41:12.345Z\" userName=\"&lt;Anonymous&gt;\" clientIp=\"::1\" currentCommand=\"RETR &quot;a&amp;b&quot;.txt\" previousCommand=\"PASV\" commandStartTime=\"\" bytesSent=\"10\" bytesReceived=\"20\" lastErrorStatus=\"150\" siteName=\"Default FTP Site\""), "{xml}");
        assert!(xml.contains("dataMode=\"PASV\"><transfer direction=\"download\" path=\"/x\" bytes=\"123\" startTime=\"2026-11-24T09:41:13.000Z\" bytesPerSecond=\"789\" /></session></sessions>\n"), "{xml}");
    }
}
