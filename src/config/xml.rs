//! The positioned XML tree: roxmltree documents plus file:line:col for every element and
//! attribute, so lowering can name exactly where a value came from.

use std::fmt;
use std::path::Path;

use roxmltree::{Document, Node, ParsingOptions};

/// A well-formedness error, positioned (1-based line and column, in characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlError {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// What roxmltree reported, without its own position suffix.
    pub message: String,
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for XmlError {}

/// The UTF-8 byte order mark many Windows tools write at the start of applicationHost.config.
const BOM: &str = "\u{feff}";

/// Splits a leading byte order mark off (`("\u{feff}", rest)` or `("", text)`). Parsing the
/// rest keeps line 1 columns right; editors put the mark back in front.
pub fn split_bom(text: &str) -> (&str, &str) {
    match text.strip_prefix(BOM) {
        Some(rest) => (BOM, rest),
        None => ("", text),
    }
}

/// Parses `text` (without BOM, see [`split_bom`]) into a roxmltree document. DTDs are refused.
pub fn parse(text: &str) -> Result<Document<'_>, XmlError> {
    let options = ParsingOptions {
        allow_dtd: false,
        ..ParsingOptions::default()
    };
    Document::parse_with_options(text, options).map_err(|err| {
        let pos = err.pos();
        let message = err.to_string().replacen(&format!(" at {pos}"), "", 1);
        let (line, column) = match err {
            // roxmltree reports these at 1:1; the end of the text is where the reader stopped.
            roxmltree::Error::UnexpectedEndOfStream | roxmltree::Error::UnclosedRootNode => {
                end_position(text)
            }
            _ => (pos.row, pos.col),
        };
        XmlError {
            line,
            column,
            message,
        }
    })
}

/// Line and column just after the last character of `text`.
fn end_position(text: &str) -> (u32, u32) {
    let line = 1 + text.matches('\n').count();
    let last = text.rsplit('\n').next().unwrap_or("");
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(last.chars().count() + 1).unwrap_or(u32::MAX),
    )
}

/// 1-based line and column of byte offset `offset` in `node`'s document.
pub fn position(node: Node<'_, '_>, offset: usize) -> (u32, u32) {
    let pos = node.document().text_pos_at(offset);
    (pos.row, pos.col)
}

/// An element of a loaded document, with the file it came from.
#[derive(Clone, Copy)]
pub struct Elem<'a> {
    /// The roxmltree node (always an element).
    pub node: Node<'a, 'a>,
    /// The file named in diagnostics.
    pub file: &'a Path,
    /// Which loaded document: 0 for the main file, then `configSource` files in load order.
    pub doc: usize,
}

impl fmt::Debug for Elem<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (line, column) = self.pos();
        write!(
            f,
            "<{}> at {}:{line}:{column}",
            self.name(),
            self.file.display()
        )
    }
}

/// One attribute of an [`Elem`], with its position.
#[derive(Debug, Clone, Copy)]
pub struct Attr<'a> {
    /// Local name.
    pub name: &'a str,
    /// Namespace URI, for `prefix:name` attributes.
    pub namespace: Option<&'a str>,
    /// Unescaped value.
    pub value: &'a str,
    /// The file named in diagnostics.
    pub file: &'a Path,
    /// Document index (see [`Elem::doc`]).
    pub doc: usize,
    /// 1-based line of the attribute name.
    pub line: u32,
    /// 1-based column of the attribute name.
    pub column: u32,
}

impl<'a> Elem<'a> {
    /// Wraps an element node.
    pub fn new(node: Node<'a, 'a>, file: &'a Path, doc: usize) -> Self {
        Elem { node, file, doc }
    }

    /// The local tag name.
    pub fn name(&self) -> &'a str {
        self.node.tag_name().name()
    }

    /// 1-based line and column of the `<` that opens the element.
    pub fn pos(&self) -> (u32, u32) {
        position(self.node, self.node.range().start)
    }

    /// Every attribute, in document order.
    pub fn attributes(&self) -> impl Iterator<Item = Attr<'a>> + 'a {
        let node = self.node;
        let (file, doc) = (self.file, self.doc);
        node.attributes().map(move |a| {
            let (line, column) = position(node, a.range().start);
            Attr {
                name: a.name(),
                namespace: a.namespace(),
                value: a.value(),
                file,
                doc,
                line,
                column,
            }
        })
    }

    /// The attribute `name` (without namespace), if present.
    pub fn attr(&self, name: &str) -> Option<Attr<'a>> {
        self.attributes()
            .find(|a| a.namespace.is_none() && a.name == name)
    }

    /// Child elements, in document order.
    pub fn children(&self) -> impl Iterator<Item = Elem<'a>> + 'a {
        let (file, doc) = (self.file, self.doc);
        self.node
            .children()
            .filter(|n| n.is_element())
            .map(move |n| Elem::new(n, file, doc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_error_is_positioned() {
        let err = parse("<configuration>\n  <sites>\n  </site>\n</configuration>").unwrap_err();
        assert_eq!((err.line, err.column), (3, 3));
        assert_eq!(err.message, "expected 'sites' tag, not 'site'");
    }

    #[test]
    fn unclosed_root_is_reported_at_the_end() {
        let err = parse("<configuration>\n  <sites>").unwrap_err();
        assert_eq!((err.line, err.column), (2, 10));
    }

    #[test]
    fn bad_attribute_syntax() {
        let err = parse("<a>\n <b x=1/>\n</a>").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(!err.message.contains(" at 2:"), "{}", err.message);
    }

    #[test]
    fn dtd_is_refused() {
        assert!(parse("<!DOCTYPE x [<!ENTITY a 'b'>]><x/>").is_err());
    }

    #[test]
    fn bom_is_split_off() {
        let (bom, rest) = split_bom("\u{feff}<a/>");
        assert_eq!(bom, "\u{feff}");
        assert_eq!(rest, "<a/>");
        assert_eq!(split_bom("<a/>"), ("", "<a/>"));
    }

    #[test]
    fn element_and_attribute_positions() {
        let doc = parse("<a>\n  <b  x=\"1\"\n     y='2'/>\n</a>").unwrap();
        let root = Elem::new(doc.root_element(), Path::new("f.config"), 0);
        assert_eq!(root.pos(), (1, 1));
        let b = root.children().next().unwrap();
        assert_eq!(b.name(), "b");
        assert_eq!(b.pos(), (2, 3));
        let x = b.attr("x").unwrap();
        assert_eq!((x.line, x.column, x.value), (2, 7, "1"));
        let y = b.attr("y").unwrap();
        assert_eq!((y.line, y.column, y.value), (3, 6, "2"));
        assert!(b.attr("z").is_none());
    }
}
