//! Output helpers shared by `wharf sites` and `wharf sessions`: `-o table|json|xml`,
//! aligned tables, human-readable sizes (`1.2 MiB`) and durations (`3m12s`), and the
//! IIS-shaped XML of session objects when the API answered JSON.

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// `-o` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    #[default]
    Table,
    /// The API's JSON, pretty-printed.
    Json,
    /// The API's IIS-shaped XML.
    Xml,
}

/// `1023 B`, `1.2 KiB`, `12.5 MiB`, `120 GiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if value >= 100.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `45s`, `3m12s`, `2h05m`, `3d04h`.
pub fn human_duration(seconds: u64) -> String {
    let (d, h, m, s) = (
        seconds / 86_400,
        seconds % 86_400 / 3600,
        seconds % 3600 / 60,
        seconds % 60,
    );
    if d > 0 {
        format!("{d}d{h:02}h")
    } else if h > 0 {
        format!("{h}h{m:02}m")
    } else if m > 0 {
        format!("{m}m{s:02}s")
    } else {
        format!("{s}s")
    }
}

/// Parses an RFC 3339 time of the contract (empty → `None`).
pub fn parse_time(text: &str) -> Option<OffsetDateTime> {
    if text.is_empty() {
        return None;
    }
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// Whole seconds from `since` to `now` (0 when in the future).
pub fn seconds_between(since: OffsetDateTime, now: OffsetDateTime) -> u64 {
    u64::try_from((now - since).whole_seconds()).unwrap_or(0)
}

/// `value[key]` as text: strings as they are, numbers and booleans printed, null empty.
pub fn text(value: &Value, key: &str) -> String {
    scalar(value.get(key).unwrap_or(&Value::Null))
}

/// `value[key]` as an unsigned number (0 when absent).
pub fn number(value: &Value, key: &str) -> u64 {
    value.get(key).and_then(Value::as_u64).unwrap_or(0)
}

fn scalar(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Pretty-printed JSON with a final newline.
pub fn pretty_json(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

/// A table printed with aligned columns; the last column is not padded.
#[derive(Debug, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    right: Vec<bool>,
}

impl Table {
    /// A table with these column titles; a title starting with `>` is right-aligned.
    pub fn new(header: &[&str]) -> Table {
        Table {
            header: header
                .iter()
                .map(|h| h.trim_start_matches('>').to_string())
                .collect(),
            right: header.iter().map(|h| h.starts_with('>')).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (missing cells are empty).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Whether no row was added.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table as lines (no trailing newline on each).
    pub fn lines(&self) -> Vec<String> {
        let columns = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| width(h)).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(width(cell));
            }
        }
        let render = |cells: &[String]| {
            let mut line = String::new();
            for (i, column_width) in widths.iter().enumerate() {
                let cell = cells.get(i).map(String::as_str).unwrap_or("");
                let pad = column_width.saturating_sub(width(cell));
                if i > 0 {
                    line.push_str("  ");
                }
                if self.right[i] {
                    line.push_str(&" ".repeat(pad));
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    if i + 1 < columns {
                        line.push_str(&" ".repeat(pad));
                    }
                }
            }
            line.trim_end().to_string()
        };
        let mut lines = vec![render(&self.header)];
        lines.extend(self.rows.iter().map(|r| render(r)));
        lines
    }

    /// The table as text with a final newline.
    pub fn render(&self) -> String {
        let mut out = self.lines().join("\n");
        out.push('\n');
        out
    }
}

/// Display width, counting characters (good enough for the ASCII we print; user names
/// and paths with wide characters may misalign).
pub fn width(s: &str) -> usize {
    s.chars().count()
}

/// Shortens `s` to at most `max` characters, ending with `…` when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// Escapes an XML attribute value.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 => out.push_str(&format!("&#x{:X};", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// An element whose scalar members become attributes and whose object members become
/// child elements named after the member (`<session …><transfer …/></session>`); arrays
/// of scalars become `<item value="…"/>`-like children named by `array_child`.
pub fn xml_element(name: &str, value: &Value, indent: usize) -> String {
    let pad = "  ".repeat(indent);
    let Some(object) = value.as_object() else {
        return format!("{pad}<{name} value=\"{}\" />\n", xml_escape(&scalar(value)));
    };
    let mut attrs = String::new();
    let mut children = String::new();
    for (key, member) in object {
        match member {
            Value::Object(_) => children.push_str(&xml_element(key, member, indent + 1)),
            Value::Array(items) => {
                let child = singular(key);
                children.push_str(&format!("{pad}  <{key}>\n"));
                for item in items {
                    if item.is_object() {
                        children.push_str(&xml_element(&child, item, indent + 2));
                    } else {
                        children.push_str(&format!(
                            "{pad}    <{child} {}=\"{}\" />\n",
                            array_attribute(key),
                            xml_escape(&scalar(item))
                        ));
                    }
                }
                children.push_str(&format!("{pad}  </{key}>\n"));
            }
            Value::Null => {}
            other => attrs.push_str(&format!(" {key}=\"{}\"", xml_escape(&scalar(other)))),
        }
    }
    if children.is_empty() {
        format!("{pad}<{name}{attrs} />\n")
    } else {
        format!("{pad}<{name}{attrs}>\n{children}{pad}</{name}>\n")
    }
}

/// `<collection><item …/>…</collection>` for a JSON array of objects.
pub fn xml_collection(collection: &str, item: &str, items: &[Value]) -> String {
    if items.is_empty() {
        return format!("<{collection} />\n");
    }
    let mut out = format!("<{collection}>\n");
    for value in items {
        out.push_str(&xml_element(item, value, 1));
    }
    out.push_str(&format!("</{collection}>\n"));
    out
}

fn singular(key: &str) -> String {
    key.strip_suffix('s').unwrap_or(key).to_string()
}

fn array_attribute(key: &str) -> &'static str {
    match key {
        "bindings" => "bindingInformation",
        _ => "value",
    }
}

/// An XML document: the declaration the API sends, then `body`.
pub fn xml_document(body: String) -> String {
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{body}")
}

/// Ensures a final newline.
pub fn with_newline(mut text: String) -> String {
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1024), "1.0 KiB");
        assert_eq!(human_bytes(1_258_291), "1.2 MiB");
        assert_eq!(human_bytes(150 * 1024 * 1024), "150 MiB");
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(192), "3m12s");
        assert_eq!(human_duration(7500), "2h05m");
        assert_eq!(human_duration(3 * 86_400 + 4 * 3600), "3d04h");
    }

    #[test]
    fn tables_align() {
        let mut t = Table::new(&["NAME", ">SIZE", "NOTE"]);
        t.row(vec!["a".into(), "1 B".into(), "x".into()]);
        t.row(vec!["long name".into(), "10.0 KiB".into(), "".into()]);
        assert_eq!(
            t.render(),
            "NAME           SIZE  NOTE\na               1 B  x\nlong name  10.0 KiB\n"
        );
        assert_eq!(truncate("abcdef", 4), "abc…");
    }

    #[test]
    fn xml_of_a_session() {
        let v: Value = serde_json::from_str(
            r#"{"sessionId":"x","userName":"<Anonymous>","transfer":{"bytes":3,"size":null},"tls":null}"#,
        )
        .unwrap();
        assert_eq!(
            xml_collection("sessions", "session", &[v]),
            "<sessions>\n  <session sessionId=\"x\" userName=\"&lt;Anonymous&gt;\">\n    <transfer bytes=\"3\" />\n  </session>\n</sessions>\n"
        );
        let site: Value =
            serde_json::from_str(r#"{"name":"S","bindings":["127.0.0.1:21:"]}"#).unwrap();
        assert_eq!(
            xml_element("site", &site, 0),
            "<site name=\"S\">\n  <bindings>\n    <binding bindingInformation=\"127.0.0.1:21:\" />\n  </bindings>\n</site>\n"
        );
    }
}
