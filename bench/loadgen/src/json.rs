//! Just enough JSON to print flat result objects, one per line.

use std::fmt::Write as _;
use std::io::Write as _;

/// A flat JSON object whose fields keep their insertion order.
#[derive(Debug, Default)]
pub struct Obj {
    fields: Vec<(String, String)>,
}

impl Obj {
    /// An empty object.
    pub fn new() -> Self {
        Self::default()
    }

    fn raw(mut self, k: &str, v: String) -> Self {
        self.fields.retain(|(key, _)| key != k);
        self.fields.push((k.to_string(), v));
        self
    }

    /// A string field.
    pub fn str(self, k: &str, v: &str) -> Self {
        self.raw(k, quote(v))
    }

    /// A number field (non-finite numbers become null).
    pub fn num(self, k: &str, v: f64) -> Self {
        let text = if v.is_finite() {
            format!("{v}")
        } else {
            "null".to_string()
        };
        self.raw(k, text)
    }

    /// An integer field.
    pub fn int(self, k: &str, v: u64) -> Self {
        self.raw(k, v.to_string())
    }

    /// A boolean field.
    pub fn bool(self, k: &str, v: bool) -> Self {
        self.raw(k, v.to_string())
    }

    /// A list of numbers.
    pub fn nums(self, k: &str, v: &[f64]) -> Self {
        let items: Vec<String> = v
            .iter()
            .map(|x| {
                if x.is_finite() {
                    format!("{x}")
                } else {
                    "null".into()
                }
            })
            .collect();
        self.raw(k, format!("[{}]", items.join(",")))
    }

    /// Appends the fields of `other` (replacing same-named ones).
    pub fn merge(mut self, other: Obj) -> Self {
        for (k, v) in other.fields {
            self = self.raw(&k, v);
        }
        self
    }

    /// False when the object says `"ok": false`.
    pub fn is_ok(&self) -> bool {
        !self.fields.iter().any(|(k, v)| k == "ok" && v == "false")
    }

    fn render(&self) -> String {
        let mut s = String::from("{");
        for (i, (k, v)) in self.fields.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            let _ = write!(s, "{}:{}", quote(k), v);
        }
        s.push('}');
        s
    }
}

fn quote(v: &str) -> String {
    let mut s = String::with_capacity(v.len() + 2);
    s.push('"');
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(s, "\\u{:04x}", c as u32);
            }
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// Prints one line and flushes (the harness reads the output while the process runs).
pub fn emit(o: Obj) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", o.render());
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_flat_objects() {
        let o = Obj::new()
            .str("a", "x\"y\n")
            .int("b", 3)
            .num("c", 1.5)
            .bool("ok", true)
            .nums("d", &[1.0, f64::NAN]);
        assert_eq!(
            o.render(),
            r#"{"a":"x\"y\n","b":3,"c":1.5,"ok":true,"d":[1,null]}"#
        );
        assert!(o.is_ok());
        assert!(!Obj::new().bool("ok", false).is_ok());
    }
}
