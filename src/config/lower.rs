//! Lowering the positioned XML tree into the model, with diagnostics.
//!
//! The walk follows the tables of [`super::schema`]: `Lowerer::enter` resolves
//! `configSource`, then warns about every attribute and child element that is unknown or
//! not supported; the `lower_*` functions read the supported ones into the model. Nothing
//! stops at the first problem: every diagnostic is collected, and the model is returned
//! only when none is an error.
//!
//! Order of work: `configSource` files are read first (phase 1), then `siteDefaults`, the
//! sites, the server-level `system.ftpServer`, and the `<location>` elements (which need
//! the site names). Diagnostics are sorted into file order at the end.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use roxmltree::{Document, NodeId};
use wharf_proto::VirtualPath;

use super::Loaded;
use super::diagnostics::{Diagnostic, Severity};
use super::expand;
use super::files;
use super::model::{
    AccessType, AdminTls, AdministrationConfig, AuthRule, AuthorizationRules, Binding,
    ClientCertificatePolicy, Config, ControlChannelPolicy, DataChannelPolicy, FtpServerConfig,
    GlobalConfig, IsolationMode, Permissions, ShowFlags, SiteConfig, UserAccount, VirtualDirectory,
};
use super::schema::{self, Schema, Support};
use super::xml::{self, Attr, Elem};

/// See [`super::load_file`].
pub fn load_file(path: &Path) -> Loaded {
    match files::read_to_string(path, files::CONFIG_FILE_MAX) {
        Ok(text) => load_checked(&text, path, &expand::env_lookup, NamedFiles::Open),
        Err(err) => Loaded {
            config: None,
            diagnostics: vec![Diagnostic {
                severity: Severity::Error,
                file: path.to_path_buf(),
                line: 1,
                column: 1,
                message: format!("cannot read the configuration file: {err}"),
            }],
        },
    }
}

/// See [`super::load_str`].
pub fn load_str(text: &str, origin: &Path) -> Loaded {
    load_with_env(text, origin, &expand::env_lookup)
}

/// Environment lookup used for `%VAR%` (the process environment outside tests).
pub(crate) type Env<'e> = &'e dyn Fn(&str) -> Option<String>;

/// Whether lowering opens the files the configuration names (certificates, keys, CA
/// lists, the token file) to report what `serve` would fail on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NamedFiles {
    /// Open and check them ([`load_file`]: `serve` and `config check`).
    Open,
    /// Leave them alone ([`load_str`]: edits, tests of the text alone).
    Skip,
}

/// [`load_str`] with an explicit environment for `%VAR%` expansion.
pub(crate) fn load_with_env(text: &str, origin: &Path, env: Env<'_>) -> Loaded {
    load_checked(text, origin, env, NamedFiles::Skip)
}

/// Parses and lowers `text`; `named_files` says whether the files it names are checked.
pub(crate) fn load_checked(
    text: &str,
    origin: &Path,
    env: Env<'_>,
    named_files: NamedFiles,
) -> Loaded {
    let (_, body) = xml::split_bom(text);
    let doc = match xml::parse(body) {
        Ok(doc) => doc,
        Err(err) => {
            return Loaded {
                config: None,
                diagnostics: vec![Diagnostic {
                    severity: Severity::Error,
                    file: origin.to_path_buf(),
                    line: err.line,
                    column: err.column,
                    message: format!("XML syntax error: {}", err.message),
                }],
            };
        }
    };
    let root = Elem::new(doc.root_element(), origin, 0);
    let mut diags = Vec::new();

    // Phase 1: read every configSource file of a supported section.
    let mut refs = Vec::new();
    collect_includes(root, &schema::CONFIGURATION, &mut refs);
    let mut sources: Vec<(PathBuf, String)> = Vec::new();
    let mut pending: Vec<(NodeId, &str, Option<usize>)> = Vec::new();
    for r in &refs {
        let shown = origin.parent().unwrap_or(Path::new("")).join(r.attr.value);
        if r.attr.value.trim().is_empty() {
            diags.push(located(
                Severity::Error,
                &r.attr,
                "configSource is empty; name the file that holds this section".into(),
            ));
            pending.push((r.node, r.section, None));
            continue;
        }
        match files::read_to_string(&shown, files::CONFIG_FILE_MAX) {
            Ok(text) => {
                sources.push((shown, text));
                pending.push((r.node, r.section, Some(sources.len() - 1)));
            }
            Err(err) => {
                diags.push(located(
                    Severity::Error,
                    &r.attr,
                    format!(
                        "cannot read configSource file \"{}\": {err}",
                        shown.display()
                    ),
                ));
                pending.push((r.node, r.section, None));
            }
        }
    }
    let docs: Vec<Option<Document<'_>>> = sources
        .iter()
        .enumerate()
        .map(
            |(i, (path, text))| match xml::parse(xml::split_bom(text).1) {
                Ok(doc) => Some(doc),
                Err(err) => {
                    diags.push((
                        i + 1,
                        Diagnostic {
                            severity: Severity::Error,
                            file: path.clone(),
                            line: err.line,
                            column: err.column,
                            message: format!("XML syntax error: {}", err.message),
                        },
                    ));
                    None
                }
            },
        )
        .collect();
    let mut includes = HashMap::new();
    for (node, section, source) in pending {
        let included = source.and_then(|i| {
            let doc = docs[i].as_ref()?;
            let root = Elem::new(doc.root_element(), &sources[i].0, i + 1);
            if root.name() != section {
                diags.push(located(
                    Severity::Error,
                    &root,
                    format!(
                        "the root element of a configSource file must be <{section}>, \
                         the section that references it; found <{}>",
                        root.name()
                    ),
                ));
                return None;
            }
            if let Some(a) = root.attr("configSource") {
                diags.push(located(
                    Severity::Error,
                    &a,
                    "a configSource file cannot itself use configSource".into(),
                ));
                return None;
            }
            Some(root)
        });
        includes.insert(node, included);
    }

    let mut lowerer = Lowerer {
        diags,
        includes,
        env,
        named_files,
        origin,
    };
    let config = lowerer.lower_configuration(root, origin);
    let mut diags = lowerer.diags;
    diags.sort_by_key(|(doc, d)| (*doc, d.line, d.column));
    let has_error = diags.iter().any(|(_, d)| d.severity == Severity::Error);
    Loaded {
        config: if has_error { None } else { config },
        diagnostics: diags.into_iter().map(|(_, d)| d).collect(),
    }
}

/// A `configSource` attribute on a section of the main file.
struct IncludeRef<'a> {
    node: NodeId,
    section: &'a str,
    attr: Attr<'a>,
}

/// Finds `configSource` on supported sections of the main document.
fn collect_includes<'a>(el: Elem<'a>, schema: &'static Schema, out: &mut Vec<IncludeRef<'a>>) {
    if schema.section
        && let Some(attr) = el.attr("configSource")
    {
        out.push(IncludeRef {
            node: el.node.id(),
            section: el.name(),
            attr,
        });
        return;
    }
    for child in el.children() {
        if let Some(item) = schema.child(child.name())
            && let Some(child_schema) = item.schema
        {
            collect_includes(child, child_schema, out);
        }
    }
}

/// Something with a file:line:col.
trait Located {
    fn location(&self) -> (usize, &Path, u32, u32);
}

impl Located for Elem<'_> {
    fn location(&self) -> (usize, &Path, u32, u32) {
        let (line, column) = self.pos();
        (self.doc, self.file, line, column)
    }
}

impl Located for Attr<'_> {
    fn location(&self) -> (usize, &Path, u32, u32) {
        (self.doc, self.file, self.line, self.column)
    }
}

fn located(severity: Severity, at: &dyn Located, message: String) -> (usize, Diagnostic) {
    let (doc, file, line, column) = at.location();
    (
        doc,
        Diagnostic {
            severity,
            file: file.to_path_buf(),
            line,
            column,
            message,
        },
    )
}

/// An element that has been checked against its schema table.
#[derive(Clone, Copy)]
struct Sec<'a> {
    el: Elem<'a>,
    schema: &'static Schema,
}

/// `site/ftpServer` settings being merged (IIS defaults ← siteDefaults ← site).
#[derive(Clone)]
struct FtpSettings<'a> {
    ftp: FtpServerConfig,
    auto_start: bool,
    /// Where the file-naming TLS attributes in force were written (for diagnostics).
    tls_files: TlsFileAttrs<'a>,
}

/// The attributes that name TLS files, as inherited: a file that fails to load is reported
/// at the attribute that named it.
#[derive(Clone, Copy, Default)]
struct TlsFileAttrs<'a> {
    certificate_file: Option<Attr<'a>>,
    private_key_file: Option<Attr<'a>>,
    certificate_store: Option<Attr<'a>>,
    server_cert_hash: Option<Attr<'a>>,
    self_signed_certificate: Option<Attr<'a>>,
    ca_file: Option<Attr<'a>>,
}

impl<'a> TlsFileAttrs<'a> {
    /// The attribute whose value resolved to `path`.
    fn naming(&self, path: &Path, ftp: &FtpServerConfig) -> Option<Attr<'a>> {
        let ssl = &ftp.ssl;
        [
            (ssl.certificate_file.as_deref(), self.certificate_file),
            (ssl.private_key_file.as_deref(), self.private_key_file),
            (ssl.certificate_store.as_deref(), self.certificate_store),
            (ftp.ssl_client_certificates.ca_file.as_deref(), self.ca_file),
        ]
        .into_iter()
        .find(|(p, _)| *p == Some(path))
        .and_then(|(_, a)| a)
    }
}

/// A site as read, before cross-site checks and authorization.
struct SiteDraft<'a> {
    el: Elem<'a>,
    name: Option<(String, Attr<'a>)>,
    id: Option<(u32, Attr<'a>)>,
    auto_start: bool,
    bindings: Vec<(Binding, Attr<'a>)>,
    vdirs: Vec<VirtualDirectory>,
    ftp: FtpServerConfig,
    /// `<location>` paths of this site with their authorization operations, in file order.
    locations: Vec<(VirtualPath, Vec<AuthOp<'a>>)>,
}

/// One entry of an `authorization` collection.
enum AuthOp<'a> {
    Add(AuthRule, Elem<'a>),
    Remove {
        access_type: Option<AccessType>,
        users: Vec<String>,
        roles: Vec<String>,
        el: Elem<'a>,
    },
    Clear,
}

struct Lowerer<'a, 'e> {
    diags: Vec<(usize, Diagnostic)>,
    includes: HashMap<NodeId, Option<Elem<'a>>>,
    env: Env<'e>,
    named_files: NamedFiles,
    /// The main file (the state directory is beside it).
    origin: &'e Path,
}

const BOOLS: &str = "true, false";

const CONTROL_CHANNEL_POLICIES: &[(&str, ControlChannelPolicy)] = &[
    ("SslAllow", ControlChannelPolicy::SslAllow),
    ("SslRequire", ControlChannelPolicy::SslRequire),
    (
        "SslRequireCredentialsOnly",
        ControlChannelPolicy::SslRequireCredentialsOnly,
    ),
];

const CLIENT_CERTIFICATE_POLICIES: &[(&str, ClientCertificatePolicy)] = &[
    ("CertIgnore", ClientCertificatePolicy::CertIgnore),
    ("CertAllow", ClientCertificatePolicy::CertAllow),
    ("CertRequire", ClientCertificatePolicy::CertRequire),
];

const DATA_CHANNEL_POLICIES: &[(&str, DataChannelPolicy)] = &[
    ("SslAllow", DataChannelPolicy::SslAllow),
    ("SslRequire", DataChannelPolicy::SslRequire),
    ("SslDeny", DataChannelPolicy::SslDeny),
];

const ISOLATION_MODES: &[(&str, IsolationMode)] = &[
    ("None", IsolationMode::None),
    (
        "StartInUsersDirectory",
        IsolationMode::StartInUsersDirectory,
    ),
    (
        "IsolateRootDirectoryOnly",
        IsolationMode::IsolateRootDirectoryOnly,
    ),
    (
        "IsolateAllDirectories",
        IsolationMode::IsolateAllDirectories,
    ),
];

/// IIS isolation modes Wharf refuses (they need Windows or a provider).
const UNSUPPORTED_ISOLATION_MODES: &[&str] = &["ActiveDirectory", "Custom"];

const ACCESS_TYPES: &[(&str, AccessType)] =
    &[("Allow", AccessType::Allow), ("Deny", AccessType::Deny)];

const SHOW_FLAGS: &[&str] = &[
    "LongDate",
    "StyleUnix",
    "DisplayAvailableBytes",
    "DisplayVirtualDirectories",
    "UseGmtTime",
];

const PERMISSIONS: &[&str] = &["Read", "Write"];

const U32: RangeInclusive<u64> = 0..=u32::MAX as u64;

impl<'a> Lowerer<'a, '_> {
    // -----------------------------------------------------------------------------------
    // diagnostics

    fn warn(&mut self, at: &dyn Located, message: impl Into<String>) {
        self.diags
            .push(located(Severity::Warning, at, message.into()));
    }

    fn error(&mut self, at: &dyn Located, message: impl Into<String>) {
        self.diags
            .push(located(Severity::Error, at, message.into()));
    }

    fn support_warning(&mut self, at: &dyn Located, support: Support, what: &str) {
        match support {
            Support::Yes => {}
            Support::Checked => self.warn(
                at,
                format!("{what} is not supported yet; its value is checked but has no effect"),
            ),
            Support::NotYet => self.warn(at, format!("{what} is not supported yet; ignored")),
            Support::WindowsOnly => self.warn(at, format!("{what} is Windows-only; ignored")),
            Support::Ignored(why) => self.warn(at, format!("{what} is ignored: {why}")),
        }
    }

    // -----------------------------------------------------------------------------------
    // walking

    /// Resolves `configSource` and checks `el` against `schema`; `None` when the section
    /// lives in a file that could not be loaded (already reported).
    fn enter(&mut self, el: Elem<'a>, schema: &'static Schema) -> Option<Sec<'a>> {
        let mut el = el;
        if schema.section
            && el.doc == 0
            && let Some(source) = el.attr("configSource")
        {
            let other_attr = el
                .attributes()
                .any(|a| a.namespace.is_some() || a.name != "configSource");
            if other_attr || el.children().next().is_some() {
                self.error(
                    &source,
                    format!(
                        "<{}> has configSource, so it must have no other attributes or child \
                         elements (they belong in \"{}\")",
                        el.name(),
                        source.value
                    ),
                );
            }
            match self.includes.get(&el.node.id()) {
                Some(Some(root)) => el = *root,
                Some(None) => return None,
                None => {
                    self.error(
                        &source,
                        format!("configSource is not supported on <{}> here", el.name()),
                    );
                    return None;
                }
            }
        }
        self.check(el, schema);
        Some(Sec { el, schema })
    }

    /// Warns about unknown and unsupported attributes, children and text of `el`.
    fn check(&mut self, el: Elem<'a>, schema: &'static Schema) {
        let tag = el.name();
        for a in el.attributes() {
            if a.namespace.is_some() {
                self.warn(&a, format!("unknown attribute {} on <{tag}>", a.name));
                continue;
            }
            if let Some(item) = schema.attribute(a.name) {
                self.support_warning(
                    &a,
                    item.support,
                    &format!("attribute {} on <{tag}>", a.name),
                );
            } else if a.name == "configSource" {
                if !schema.section {
                    self.warn(
                        &a,
                        format!(
                            "configSource on <{tag}> is ignored: only configuration sections can \
                             be moved to another file"
                        ),
                    );
                }
            } else if schema::LOCKING_ATTRIBUTES.contains(&a.name) {
                self.warn(
                    &a,
                    format!(
                        "attribute {} on <{tag}> is ignored: {}",
                        a.name,
                        schema::LOCKING
                    ),
                );
            } else {
                let hint = did_you_mean(a.name, schema.attributes.iter().map(|i| i.name));
                self.warn(&a, format!("unknown attribute {} on <{tag}>{hint}", a.name));
            }
        }
        let mut seen: Vec<&str> = Vec::new();
        for node in el.node.children() {
            if node.is_text() {
                let text = node.text().unwrap_or("");
                let trimmed = text.trim_start();
                if !trimmed.is_empty() {
                    let offset = node.range().start + (text.len() - trimmed.len());
                    let (line, column) = xml::position(node, offset);
                    self.diags.push((
                        el.doc,
                        Diagnostic {
                            severity: Severity::Warning,
                            file: el.file.to_path_buf(),
                            line,
                            column,
                            message: format!("unexpected text in <{tag}>; ignored"),
                        },
                    ));
                }
                continue;
            }
            if !node.is_element() {
                continue;
            }
            let child = Elem::new(node, el.file, el.doc);
            let name = child.name();
            match schema.child(name) {
                Some(item) => {
                    if item.support == Support::Yes && !item.many {
                        if seen.contains(&name) {
                            self.error(
                                &child,
                                format!(
                                    "<{name}> may appear only once in <{tag}>; this one is \
                                     ignored"
                                ),
                            );
                        } else {
                            seen.push(name);
                        }
                    }
                    self.support_warning(&child, item.support, &format!("<{name}>"));
                }
                None => {
                    let hint = did_you_mean(name, schema.children.iter().map(|i| i.name));
                    self.warn(&child, format!("unknown element <{name}> in <{tag}>{hint}"));
                }
            }
        }
    }

    /// The table of child `name` of `s` (a supported child).
    fn child_schema(s: Sec<'a>, name: &str) -> Option<&'static Schema> {
        let found = s.schema.child(name).and_then(|item| item.schema);
        debug_assert!(
            found.is_some(),
            "{} has no supported child {name}",
            s.schema.path
        );
        found
    }

    /// The first child `name` of `s`, entered.
    fn kid(&mut self, s: Sec<'a>, name: &str) -> Option<Sec<'a>> {
        let schema = Self::child_schema(s, name)?;
        let el = s.el.children().find(|c| c.name() == name)?;
        self.enter(el, schema)
    }

    /// Every child `name` of `s`, entered, in file order.
    fn kids(&mut self, s: Sec<'a>, name: &str) -> Vec<Sec<'a>> {
        let Some(schema) = Self::child_schema(s, name) else {
            return Vec::new();
        };
        let children: Vec<Elem<'a>> = s.el.children().filter(|c| c.name() == name).collect();
        children
            .into_iter()
            .filter_map(|c| self.enter(c, schema))
            .collect()
    }

    // -----------------------------------------------------------------------------------
    // values

    /// The attribute `name` of `s` (which must be in its table).
    fn raw(s: Sec<'a>, name: &str) -> Option<Attr<'a>> {
        debug_assert!(
            s.schema.attribute(name).is_some(),
            "{} has no attribute {name}",
            s.schema.path
        );
        s.el.attr(name)
    }

    fn invalid(&mut self, a: &Attr<'a>, accepted: &str) {
        self.error(
            a,
            format!(
                "invalid value {:?} for {}; accepted: {accepted}",
                a.value, a.name
            ),
        );
    }

    fn bool(&mut self, s: Sec<'a>, name: &str) -> Option<bool> {
        let a = Self::raw(s, name)?;
        match a.value.trim() {
            v if v.eq_ignore_ascii_case("true") => Some(true),
            v if v.eq_ignore_ascii_case("false") => Some(false),
            _ => {
                self.invalid(&a, BOOLS);
                None
            }
        }
    }

    fn uint(&mut self, s: Sec<'a>, name: &str, range: RangeInclusive<u64>) -> Option<u64> {
        let a = Self::raw(s, name)?;
        let v = a.value.trim();
        match v.parse::<u64>() {
            Ok(n) if v.bytes().all(|b| b.is_ascii_digit()) && range.contains(&n) => Some(n),
            _ => {
                self.invalid(
                    &a,
                    &format!("an integer from {} to {}", range.start(), range.end()),
                );
                None
            }
        }
    }

    fn seconds(&mut self, s: Sec<'a>, name: &str, range: RangeInclusive<u64>) -> Option<Duration> {
        self.uint(s, name, range).map(Duration::from_secs)
    }

    fn enumeration<T: Copy>(
        &mut self,
        s: Sec<'a>,
        name: &str,
        values: &[(&'static str, T)],
    ) -> Option<T> {
        let a = Self::raw(s, name)?;
        self.enum_value(&a, values)
    }

    fn enum_value<T: Copy>(&mut self, a: &Attr<'a>, values: &[(&'static str, T)]) -> Option<T> {
        let v = a.value.trim();
        match values.iter().find(|(n, _)| n.eq_ignore_ascii_case(v)) {
            Some((_, value)) => Some(*value),
            None => {
                self.invalid(a, &names(values.iter().map(|(n, _)| *n)));
                None
            }
        }
    }

    /// A string attribute; `Some(None)` when present but empty.
    fn text(s: Sec<'a>, name: &str) -> Option<Option<String>> {
        Self::raw(s, name).map(|a| (!a.value.is_empty()).then(|| a.value.to_string()))
    }

    /// Flags (`"A, B"`), case-insensitive; `None` (after an error) on an unknown flag.
    fn flags(&mut self, a: &Attr<'a>, accepted: &[&'static str]) -> Option<Vec<&'static str>> {
        let mut out = Vec::new();
        for part in a.value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match accepted.iter().find(|f| f.eq_ignore_ascii_case(part)) {
                Some(flag) => out.push(*flag),
                None => {
                    self.error(
                        a,
                        format!(
                            "invalid value {:?} for {}: unknown flag {part:?}; accepted: a \
                             comma-separated list of {}",
                            a.value,
                            a.name,
                            names(accepted.iter().copied())
                        ),
                    );
                    return None;
                }
            }
        }
        Some(out)
    }

    /// A path attribute: `%VAR%` expanded, relative ones resolved against the directory of
    /// the file it is written in.
    fn path(&mut self, a: &Attr<'a>) -> Option<PathBuf> {
        if a.value.trim().is_empty() {
            self.error(a, format!("{} is empty", a.name));
            return None;
        }
        let expanded = match expand::expand_with(a.value, |n| (self.env)(n)) {
            Ok(v) => v,
            Err(err) => {
                self.error(a, format!("{} {:?}: {err}", a.name, a.value));
                return None;
            }
        };
        let path = PathBuf::from(&expanded);
        let path: PathBuf = if path.is_absolute() {
            path
        } else {
            base_dir(a.file).join(path)
        };
        let path: PathBuf = path.components().collect();
        if looks_like_windows_path(&expanded) {
            self.warn(
                a,
                format!(
                    "{} {:?} looks like a Windows path; Wharf uses it as a Linux path: {}",
                    a.name,
                    a.value,
                    path.display()
                ),
            );
        }
        Some(path)
    }

    // -----------------------------------------------------------------------------------
    // configuration

    fn lower_configuration(&mut self, root: Elem<'a>, origin: &Path) -> Option<Config> {
        if root.name() != "configuration" {
            self.error(
                &root,
                format!(
                    "the root element must be <configuration>, found <{}>",
                    root.name()
                ),
            );
            return None;
        }
        let root = self.enter(root, &schema::CONFIGURATION)?;

        let mut drafts = Vec::new();
        let mut sites_el = None;
        if let Some(app_host) = self.kid(root, "system.applicationHost") {
            sites_el = app_host.el.children().find(|c| c.name() == "sites");
            if let Some(sites) = self.kid(app_host, "sites") {
                drafts = self.lower_sites(sites);
            }
        }
        self.check_sites(&mut drafts);

        let mut global = GlobalDraft {
            config: GlobalConfig::default(),
            administration: AdministrationConfig::default(),
            administration_attrs: AdministrationAttrs::default(),
            users: Vec::new(),
            authorization: Vec::new(),
        };
        if let Some(ftp) = self.kid(root, "system.ftpServer") {
            self.lower_global(ftp, &mut global);
        }
        for location in self.kids(root, "location") {
            self.lower_location(location, &mut drafts, &mut global);
        }
        self.finish_administration(&mut global);

        if drafts.is_empty() {
            let at = sites_el.unwrap_or(root.el);
            self.error(
                &at,
                "no FTP site is configured: add a <site> with a <binding protocol=\"ftp\"> \
                 under system.applicationHost/sites",
            );
        }

        let server_rules = {
            let mut rules = Vec::new();
            self.apply_auth_ops(&mut rules, &global.authorization);
            rules
        };
        let mut sites = Vec::new();
        for draft in drafts {
            let authorization = self.site_authorization(&server_rules, &draft.locations);
            let (Some((name, _)), Some((id, _))) = (draft.name, draft.id) else {
                continue;
            };
            sites.push(Arc::new(SiteConfig {
                name,
                id,
                server_auto_start: draft.auto_start,
                bindings: draft.bindings.into_iter().map(|(b, _)| b).collect(),
                virtual_directories: draft.vdirs,
                ftp: draft.ftp,
                authorization,
            }));
        }
        Some(Config {
            source: Some(origin.to_path_buf()),
            sites,
            global: global.config,
            users: global.users,
            administration: global.administration,
        })
    }

    // -----------------------------------------------------------------------------------
    // sites

    fn lower_sites(&mut self, sites: Sec<'a>) -> Vec<SiteDraft<'a>> {
        let mut defaults = FtpSettings {
            ftp: FtpServerConfig::default(),
            auto_start: true,
            tls_files: TlsFileAttrs::default(),
        };
        let mut default_site_auto_start = true;
        if let Some(site_defaults) = self.kid(sites, "siteDefaults") {
            if let Some(v) = self.bool(site_defaults, "serverAutoStart") {
                default_site_auto_start = v;
            }
            if let Some(ftp) = self.kid(site_defaults, "ftpServer") {
                self.apply_ftp_server(ftp, &mut defaults);
            }
        }
        let mut drafts = Vec::new();
        let site_elements: Vec<Elem<'a>> =
            sites.el.children().filter(|c| c.name() == "site").collect();
        for el in site_elements {
            if !is_ftp_site(el) {
                continue;
            }
            let Some(site) = Self::child_schema(sites, "site").and_then(|sch| self.enter(el, sch))
            else {
                continue;
            };
            drafts.push(self.lower_site(site, &defaults, default_site_auto_start));
        }
        drafts
    }

    fn lower_site(
        &mut self,
        site: Sec<'a>,
        defaults: &FtpSettings<'a>,
        default_auto_start: bool,
    ) -> SiteDraft<'a> {
        let name = match Self::raw(site, "name") {
            Some(a) if !a.value.trim().is_empty() => Some((a.value.to_string(), a)),
            Some(a) => {
                self.error(&a, "site name is empty");
                None
            }
            None => {
                self.error(&site.el, "<site> needs a name attribute");
                None
            }
        };
        let id = match Self::raw(site, "id") {
            Some(a) => self
                .uint(site, "id", 1..=u32::MAX as u64)
                .and_then(|v| u32::try_from(v).ok())
                .map(|v| (v, a)),
            None => {
                self.error(&site.el, "<site> needs an id attribute");
                None
            }
        };
        let site_auto_start = self
            .bool(site, "serverAutoStart")
            .unwrap_or(default_auto_start);

        let mut bindings = Vec::new();
        if let Some(list) = self.kid(site, "bindings") {
            let entries: Vec<Elem<'a>> = list.el.children().collect();
            for entry in entries {
                match entry.name() {
                    "clear" => {
                        if let Some(schema) = Self::child_schema(list, "clear") {
                            self.enter(entry, schema);
                        }
                        bindings.clear();
                    }
                    "binding" if is_ftp_binding(entry) => {
                        let Some(schema) = Self::child_schema(list, "binding") else {
                            continue;
                        };
                        let Some(b) = self.enter(entry, schema) else {
                            continue;
                        };
                        let implicit = self.bool(b, "implicitTls");
                        match Self::raw(b, "bindingInformation") {
                            Some(a) => match parse_binding_information(a.value) {
                                Ok(mut binding) => {
                                    if let Some(v) = implicit {
                                        binding.implicit_tls = v;
                                    }
                                    bindings.push((binding, a))
                                }
                                Err(why) => self.error(
                                    &a,
                                    format!(
                                        "invalid value {:?} for bindingInformation ({why}); \
                                         accepted: IP:port:host where IP is an address, * or a \
                                         bracketed IPv6 address, port 0-65535 and host optional, \
                                         e.g. *:21: or [::1]:21:ftp.example.com",
                                        a.value
                                    ),
                                ),
                            },
                            None => self.error(&b.el, "<binding> needs bindingInformation"),
                        }
                    }
                    // Other protocols belong to the web server; not ours to judge.
                    _ => {}
                }
            }
        }

        let mut vdirs: Vec<VirtualDirectory> = Vec::new();
        for app in self.kids(site, "application") {
            let app_path = match Self::raw(app, "path") {
                Some(a) => match parse_virtual_path(a.value) {
                    Ok(segments) => Some(segments),
                    Err(why) => {
                        self.error(&a, format!("invalid application path {:?}: {why}", a.value));
                        None
                    }
                },
                None => {
                    self.error(&app.el, "<application> needs a path attribute (e.g. \"/\")");
                    None
                }
            };
            for vdir in self.kids(app, "virtualDirectory") {
                let vpath = match Self::raw(vdir, "path") {
                    Some(a) => match parse_virtual_path(a.value) {
                        Ok(segments) => app_path.as_ref().and_then(|base| {
                            let full: Vec<String> =
                                base.iter().chain(segments.iter()).cloned().collect();
                            let path = virtual_path(full);
                            if path.is_none() {
                                self.error(
                                    &a,
                                    format!("invalid virtual directory path {:?}", a.value),
                                );
                            }
                            path.map(|p| (p, a))
                        }),
                        Err(why) => {
                            self.error(
                                &a,
                                format!("invalid virtual directory path {:?}: {why}", a.value),
                            );
                            None
                        }
                    },
                    None => {
                        self.error(&vdir.el, "<virtualDirectory> needs a path attribute");
                        None
                    }
                };
                let physical = match Self::raw(vdir, "physicalPath") {
                    Some(a) => self.path(&a),
                    None => {
                        self.error(
                            &vdir.el,
                            "<virtualDirectory> needs a physicalPath attribute",
                        );
                        None
                    }
                };
                if let (Some((path, a)), Some(physical_path)) = (vpath, physical) {
                    if vdirs.iter().any(|v| v.path == path) {
                        self.error(
                            &a,
                            format!("virtual directory {path} is defined twice in this site"),
                        );
                    } else {
                        vdirs.push(VirtualDirectory {
                            path,
                            physical_path,
                        });
                    }
                }
            }
        }
        if !vdirs.iter().any(|v| v.path.is_root()) {
            let shown = name.as_ref().map(|(n, _)| n.as_str()).unwrap_or("");
            self.error(
                &site.el,
                format!(
                    "site {shown:?} has no root virtual directory: add <application path=\"/\"> \
                     with <virtualDirectory path=\"/\" physicalPath=\"…\" />"
                ),
            );
        }

        let mut settings = defaults.clone();
        if let Some(ftp) = self.kid(site, "ftpServer") {
            self.apply_ftp_server(ftp, &mut settings);
        }
        let ssl = &settings.ftp.ssl;
        let shown = name.as_ref().map(|(n, _)| n.as_str()).unwrap_or("");
        let requires_tls = ssl.control_channel_policy != ControlChannelPolicy::SslAllow
            || ssl.data_channel_policy == DataChannelPolicy::SslRequire;
        let implicit = bindings.iter().any(|(b, _)| b.implicit_tls);
        if (requires_tls || implicit) && !ssl.has_certificate() {
            let why = if requires_tls {
                format!(
                    "requires TLS (controlChannelPolicy {:?}, dataChannelPolicy {:?}; \
                     SslRequire is the IIS default when <ssl> does not set them)",
                    ssl.control_channel_policy, ssl.data_channel_policy
                )
            } else {
                "has an implicit-TLS binding (port 990 or implicitTls=\"true\")".to_string()
            };
            let hint = if ssl.server_cert_hash.is_some() {
                "serverCertHash names a certificate but no certificateStore directory to find it \
                 in (Wharf reads PEM files, not the Windows store)"
            } else {
                "no certificate is configured"
            };
            let message = format!(
                "site {shown:?} {why} but {hint}: clients will be refused (AUTH 431, USER 534); \
                 set certificateFile and privateKeyFile on <ssl> (or certificateStore with \
                 serverCertHash), or set both policies to SslAllow"
            );
            self.warn(&site.el, message);
        }
        if ssl.certificate_file.is_some() != ssl.private_key_file.is_some() {
            self.error(
                &site.el,
                format!(
                    "site {shown:?}: <ssl> certificateFile and privateKeyFile go together; \
                     set both"
                ),
            );
        }
        let pair_complete = ssl.certificate_file.is_some() == ssl.private_key_file.is_some();
        if self.named_files == NamedFiles::Open && pair_complete {
            self.check_tls_files(&site.el, shown, &settings);
        }
        if settings.ftp.ssl_client_certificates.policy != ClientCertificatePolicy::CertIgnore
            && settings.ftp.ssl_client_certificates.ca_file.is_none()
        {
            self.error(
                &site.el,
                format!(
                    "site {shown:?}: clientCertificatePolicy {:?} needs <sslClientCertificates \
                     caFile=\"…\"> naming the PEM file of the CAs client certificates must \
                     chain to",
                    settings.ftp.ssl_client_certificates.policy
                ),
            );
        }

        SiteDraft {
            el: site.el,
            name,
            id,
            auto_start: site_auto_start && settings.auto_start,
            bindings,
            vdirs,
            ftp: settings.ftp,
            locations: Vec::new(),
        }
    }

    /// Loads the TLS files of a site as start-up will, reporting a failure at the attribute
    /// that names the file (inherited from `siteDefaults` or the site's own).
    fn check_tls_files(&mut self, site: &Elem<'a>, shown: &str, settings: &FtpSettings<'a>) {
        let state_dir = crate::state::state_dir_for(Some(self.origin));
        let Err(e) = crate::tls::check_site_files(&settings.ftp, &state_dir) else {
            return;
        };
        let attrs = &settings.tls_files;
        let at = e
            .path()
            .and_then(|p| attrs.naming(p, &settings.ftp))
            .or(match &e {
                crate::tls::TlsError::NotInStore(..) => attrs.server_cert_hash,
                _ => None,
            })
            .or(attrs.certificate_store.filter(|_| {
                settings.ftp.ssl.certificate_file.is_none()
                    && settings.ftp.ssl.certificate_store.is_some()
            }))
            .or(attrs.self_signed_certificate);
        let message = format!("site {shown:?}: TLS: {e}");
        match at {
            Some(a) => self.error(&a, message),
            None => self.error(site, message),
        }
    }

    /// Unique names, ids and bindings across sites.
    fn check_sites(&mut self, drafts: &mut [SiteDraft<'a>]) {
        for i in 0..drafts.len() {
            let (before, rest) = drafts.split_at(i);
            let site = &rest[0];
            if let Some((name, a)) = &site.name
                && let Some(other) = before.iter().find(|o| {
                    o.name
                        .as_ref()
                        .is_some_and(|(n, _)| n.to_lowercase() == name.to_lowercase())
                })
            {
                let (line, _) = other.el.pos();
                self.error(
                    a,
                    format!("duplicate site name {name:?} (also used by the site at line {line})"),
                );
            }
            if let Some((id, a)) = &site.id
                && let Some(other) = before
                    .iter()
                    .find(|o| o.id.as_ref().is_some_and(|(n, _)| n == id))
            {
                let (line, _) = other.el.pos();
                self.error(
                    a,
                    format!("duplicate site id {id} (also used by the site at line {line})"),
                );
            }
            for (j, (binding, a)) in site.bindings.iter().enumerate() {
                let same = |b: &Binding| b == binding;
                let owner = before
                    .iter()
                    .find(|o| o.bindings.iter().any(|(b, _)| same(b)))
                    .map(|o| o.name.as_ref().map(|(n, _)| n.clone()).unwrap_or_default());
                if let Some(owner) = owner {
                    self.error(
                        a,
                        format!("binding {:?} is already used by site {owner:?}", a.value),
                    );
                } else if site.bindings[..j].iter().any(|(b, _)| same(b)) {
                    self.error(
                        a,
                        format!("binding {:?} is listed twice in this site", a.value),
                    );
                }
            }
        }
        self.check_shared_ports(drafts);
    }

    /// Start-up opens one listening socket per `IP:port` of the started sites, where a `*`
    /// binding takes in every binding of its port: those bindings must all be implicit TLS,
    /// or none (the first byte on the socket is either a TLS handshake or nothing).
    fn check_shared_ports(&mut self, drafts: &[SiteDraft<'a>]) {
        let started = || drafts.iter().filter(|d| d.auto_start);
        let wildcard_ports: Vec<u16> = started()
            .flat_map(|d| d.bindings.iter())
            .filter(|(b, _)| b.ip.is_none() && b.port != 0)
            .map(|(b, _)| b.port)
            .collect();
        let socket = |b: &Binding| {
            if wildcard_ports.contains(&b.port) {
                (None, b.port)
            } else {
                (b.ip, b.port)
            }
        };
        let mut first: HashMap<(Option<IpAddr>, u16), (&Binding, &Attr<'a>, String)> =
            HashMap::new();
        let mut errors = Vec::new();
        for draft in started() {
            let site = draft
                .name
                .as_ref()
                .map(|(n, _)| n.clone())
                .unwrap_or_default();
            for (binding, a) in &draft.bindings {
                match first.get(&socket(binding)) {
                    None => {
                        first.insert(socket(binding), (binding, a, site.clone()));
                    }
                    Some((other, other_attr, owner))
                        if other.implicit_tls != binding.implicit_tls =>
                    {
                        let (this_kind, other_kind) = if binding.implicit_tls {
                            ("implicit TLS", "explicit")
                        } else {
                            ("explicit", "implicit TLS")
                        };
                        errors.push((
                            *a,
                            format!(
                                "binding {:?} of site {site:?} is {this_kind} but shares port {} \
                                 with the {other_kind} binding {:?} of site {owner:?} (line {}); \
                                 one port cannot be both: implicit TLS is port 990 or \
                                 implicitTls=\"true\"",
                                a.value, binding.port, other_attr.value, other_attr.line
                            ),
                        ));
                    }
                    Some(_) => {}
                }
            }
        }
        for (a, message) in errors {
            self.error(&a, message);
        }
    }

    // -----------------------------------------------------------------------------------
    // site/ftpServer

    fn apply_ftp_server(&mut self, s: Sec<'a>, cfg: &mut FtpSettings<'a>) {
        if let Some(v) = self.bool(s, "allowUTF8") {
            cfg.ftp.allow_utf8 = v;
        }
        if let Some(v) = self.bool(s, "serverAutoStart") {
            cfg.auto_start = v;
        }
        let ftp = &mut cfg.ftp;
        let tls_files = &mut cfg.tls_files;

        if let Some(c) = self.kid(s, "connections") {
            let conn = &mut ftp.connections;
            if let Some(v) = self.seconds(c, "controlChannelTimeout", U32) {
                conn.control_channel_timeout = v;
            }
            if let Some(v) = self.seconds(c, "dataChannelTimeout", U32) {
                conn.data_channel_timeout = v;
            }
            if let Some(v) = self.seconds(c, "unauthenticatedTimeout", U32) {
                conn.unauthenticated_timeout = v;
            }
            if let Some(v) = self.uint(c, "maxConnections", U32) {
                conn.max_connections = u32::try_from(v).unwrap_or(u32::MAX);
            }
            if let Some(v) = self.bool(c, "resetOnMaxConnections") {
                conn.reset_on_max_connections = v;
            }
            if let Some(v) = self.uint(c, "serverListenBacklog", 1..=65535) {
                conn.server_listen_backlog = u32::try_from(v).unwrap_or(u32::MAX);
            }
            // Checked only (the schema table warns that they have no effect yet).
            self.bool(c, "disableSocketPooling");
            self.uint(c, "maxBandwidth", U32);
            self.uint(c, "minBytesPerSecond", U32);
        }

        if let Some(sec) = self.kid(s, "security") {
            if let Some(ssl) = self.kid(sec, "ssl") {
                if let Some(v) =
                    self.enumeration(ssl, "controlChannelPolicy", CONTROL_CHANNEL_POLICIES)
                {
                    ftp.ssl.control_channel_policy = v;
                }
                if let Some(v) = self.enumeration(ssl, "dataChannelPolicy", DATA_CHANNEL_POLICIES) {
                    ftp.ssl.data_channel_policy = v;
                }
                if let Some(v) = Self::text(ssl, "serverCertHash") {
                    ftp.ssl.server_cert_hash = v.map(|h| h.trim().to_string());
                }
                if let Some(v) = self.bool(ssl, "ssl128") {
                    ftp.ssl.ssl128 = v;
                }
                let attrs = &mut *tls_files;
                if let Some(a) = Self::raw(ssl, "certificateFile") {
                    ftp.ssl.certificate_file = self.path(&a);
                    attrs.certificate_file = Some(a);
                }
                if let Some(a) = Self::raw(ssl, "privateKeyFile") {
                    ftp.ssl.private_key_file = self.path(&a);
                    attrs.private_key_file = Some(a);
                }
                if let Some(a) = Self::raw(ssl, "certificateStore") {
                    ftp.ssl.certificate_store = self.path(&a);
                    attrs.certificate_store = Some(a);
                }
                if let Some(a) = Self::raw(ssl, "serverCertHash") {
                    attrs.server_cert_hash = Some(a);
                }
                if let Some(v) = self.bool(ssl, "selfSignedCertificate") {
                    ftp.ssl.self_signed_certificate = v;
                    attrs.self_signed_certificate = Self::raw(ssl, "selfSignedCertificate");
                }
                if let Some(v) = self.bool(ssl, "requireDataChannelResumption") {
                    ftp.ssl.require_data_channel_resumption = v;
                }
                if let Some(a) = Self::raw(ssl, "serverCertHash")
                    && let Some(hash) = &ftp.ssl.server_cert_hash
                    && crate::tls::normalize_thumbprint(hash).is_none()
                {
                    self.error(
                        &a,
                        format!(
                            "invalid value {:?} for serverCertHash; accepted: the certificate's \
                             SHA-1 thumbprint, 40 hexadecimal digits (spaces and colons allowed)",
                            a.value
                        ),
                    );
                }
            }
            if let Some(cc) = self.kid(sec, "sslClientCertificates") {
                let cfg = &mut ftp.ssl_client_certificates;
                if let Some(v) =
                    self.enumeration(cc, "clientCertificatePolicy", CLIENT_CERTIFICATE_POLICIES)
                {
                    cfg.policy = v;
                }
                if let Some(a) = Self::raw(cc, "caFile") {
                    cfg.ca_file = self.path(&a);
                    tls_files.ca_file = Some(a);
                }
            }
            if let Some(auth) = self.kid(sec, "authentication") {
                if let Some(anonymous) = self.kid(auth, "anonymousAuthentication")
                    && let Some(v) = self.bool(anonymous, "enabled")
                {
                    ftp.authentication.anonymous = v;
                }
                if let Some(basic) = self.kid(auth, "basicAuthentication")
                    && let Some(v) = self.bool(basic, "enabled")
                {
                    ftp.authentication.basic = v;
                }
            }
            if let Some(dcs) = self.kid(sec, "dataChannelSecurity") {
                if let Some(v) = self.bool(dcs, "matchClientAddressForPort") {
                    ftp.data_channel_security.match_client_address_for_port = v;
                }
                if let Some(v) = self.bool(dcs, "matchClientAddressForPasv") {
                    ftp.data_channel_security.match_client_address_for_pasv = v;
                }
            }
            if let Some(filtering) = self.kid(sec, "commandFiltering")
                && let Some(v) = self.uint(filtering, "maxCommandLine", 16..=1_048_576)
            {
                ftp.max_command_line = usize::try_from(v).unwrap_or(usize::MAX);
            }
        }

        if let Some(m) = self.kid(s, "messages") {
            let messages = &mut ftp.messages;
            if let Some(v) = Self::text(m, "bannerMessage") {
                messages.banner_message = v;
            }
            if let Some(v) = Self::text(m, "greetingMessage") {
                messages.greeting_message = v;
            }
            if let Some(v) = Self::text(m, "exitMessage") {
                messages.exit_message = v;
            }
            if let Some(v) = Self::text(m, "maxClientsMessage") {
                messages.max_clients_message = v;
            }
            if let Some(v) = self.bool(m, "suppressDefaultBanner") {
                messages.suppress_default_banner = v;
            }
            if let Some(v) = self.bool(m, "allowLocalDetailedErrors") {
                messages.allow_local_detailed_errors = v;
            }
            if let Some(v) = self.bool(m, "expandVariables") {
                messages.expand_variables = v;
            }
        }

        if let Some(fh) = self.kid(s, "fileHandling") {
            let handling = &mut ftp.file_handling;
            if let Some(v) = self.bool(fh, "keepPartialUploads") {
                handling.keep_partial_uploads = v;
            }
            if let Some(v) = self.bool(fh, "allowReplaceOnRename") {
                handling.allow_replace_on_rename = v;
            }
            if let Some(v) = self.bool(fh, "allowReadUploadsInProgress") {
                handling.allow_read_uploads_in_progress = v;
            }
        }

        if let Some(fw) = self.kid(s, "firewallSupport")
            && let Some(a) = Self::raw(fw, "externalIp4Address")
        {
            let v = a.value.trim();
            if v.is_empty() {
                ftp.external_ip4_address = None;
            } else {
                match v.parse::<Ipv4Addr>() {
                    Ok(ip) => ftp.external_ip4_address = Some(ip),
                    Err(_) => self.invalid(&a, "an IPv4 address, e.g. 198.51.100.20"),
                }
            }
        }

        if let Some(db) = self.kid(s, "directoryBrowse")
            && let Some(a) = Self::raw(db, "showFlags")
            && let Some(flags) = self.flags(&a, SHOW_FLAGS)
        {
            let mut show = ShowFlags::default();
            for flag in flags {
                match flag {
                    "LongDate" => show.long_date = true,
                    "StyleUnix" => show.style_unix = true,
                    "DisplayAvailableBytes" => show.display_available_bytes = true,
                    "DisplayVirtualDirectories" => show.display_virtual_directories = true,
                    _ => show.use_gmt_time = true,
                }
            }
            if show.display_available_bytes {
                self.warn(
                    &a,
                    "showFlags DisplayAvailableBytes is not supported yet; ignored",
                );
            }
            ftp.directory_browse = show;
        }

        if let Some(iso) = self.kid(s, "userIsolation")
            && let Some(a) = Self::raw(iso, "mode")
        {
            let v = a.value.trim();
            if let Some(mode) = UNSUPPORTED_ISOLATION_MODES
                .iter()
                .find(|m| m.eq_ignore_ascii_case(v))
            {
                self.error(
                    &a,
                    format!(
                        "userIsolation mode {mode:?} is not supported; accepted: {}",
                        names(ISOLATION_MODES.iter().map(|(n, _)| *n))
                    ),
                );
            } else if let Some(mode) = self.enum_value(&a, ISOLATION_MODES) {
                ftp.user_isolation = mode;
            }
        }
    }

    // -----------------------------------------------------------------------------------
    // system.ftpServer (server level)

    fn lower_global(&mut self, s: Sec<'a>, global: &mut GlobalDraft<'a>) {
        if let Some(fw) = self.kid(s, "firewallSupport") {
            let low = self.uint(fw, "lowDataChannelPort", 0..=65535);
            let high = self.uint(fw, "highDataChannelPort", 0..=65535);
            let low_attr = Self::raw(fw, "lowDataChannelPort");
            let high_attr = Self::raw(fw, "highDataChannelPort");
            let bad_low = low_attr.is_some() && low.is_none();
            let bad_high = high_attr.is_some() && high.is_none();
            if !bad_low && !bad_high {
                let (low, high) = (low.unwrap_or(0), high.unwrap_or(0));
                const RANGE: &str =
                    "0 (with the other port 0 too: the OS picks) or a port from 1024 to 65535";
                if low == 0 && high == 0 {
                    global.config.passive_ports = None;
                } else if !(1024..=65535).contains(&low) {
                    match low_attr {
                        Some(a) => self.invalid(&a, RANGE),
                        None => self.error(
                            &fw.el,
                            "highDataChannelPort is set, so lowDataChannelPort must be set too \
                             (1024 to 65535)",
                        ),
                    }
                } else if !(1024..=65535).contains(&high) {
                    match high_attr {
                        Some(a) => self.invalid(&a, RANGE),
                        None => self.error(
                            &fw.el,
                            "lowDataChannelPort is set, so highDataChannelPort must be set too \
                             (1024 to 65535)",
                        ),
                    }
                } else if low > high {
                    self.error(
                        &fw.el,
                        format!(
                            "lowDataChannelPort {low} is greater than highDataChannelPort {high}"
                        ),
                    );
                } else {
                    global.config.passive_ports = Some((low as u16, high as u16));
                }
            }
        }
        if let Some(caching) = self.kid(s, "caching")
            && let Some(cache) = self.kid(caching, "credentialsCache")
        {
            if let Some(v) = self.bool(cache, "enabled") {
                global.config.credentials_cache.enabled = v;
            }
            if let Some(v) = self.seconds(cache, "flushInterval", 5..=604_800) {
                global.config.credentials_cache.flush_interval = v;
            }
        }
        if let Some(runtime) = self.kid(s, "serverRuntime")
            && let Some(hns) = self.kid(runtime, "hostNameSupport")
            && let Some(v) = self.bool(hns, "useDomainNameAsHostName")
        {
            global.config.use_domain_name_as_host_name = v;
        }
        if let Some(sec) = self.kid(s, "security") {
            if let Some(authz) = self.kid(sec, "authorization") {
                let ops = self.authorization_ops(authz);
                global.authorization.extend(ops);
            }
            if let Some(users) = self.kid(sec, "users") {
                self.lower_users(users, &mut global.users);
            }
            // security/authentication only holds denyByFailure (warned by the table).
            self.kid(sec, "authentication");
        }
        if let Some(admin) = self.kid(s, "administration") {
            self.lower_administration(admin, global);
        }
    }

    fn lower_users(&mut self, s: Sec<'a>, users: &mut Vec<UserAccount>) {
        for add in self.kids(s, "add") {
            let name = match Self::raw(add, "name") {
                Some(a) => match check_user_name(a.value) {
                    Ok(()) => Some((a.value.to_string(), a)),
                    Err(why) => {
                        self.error(&a, format!("invalid user name {:?}: {why}", a.value));
                        None
                    }
                },
                None => {
                    self.error(&add.el, "<add> needs a name attribute");
                    None
                }
            };
            let shown = name.as_ref().map(|(n, _)| n.as_str()).unwrap_or("");
            let password = match Self::raw(add, "password") {
                Some(a) => match check_password_hash(a.value) {
                    Ok(()) => Some(a.value.to_string()),
                    Err(why) => {
                        // The value is never echoed: it may be a clear-text password.
                        self.error(
                            &a,
                            format!(
                                "password of user {shown:?} {why}; it must be an argon2id PHC \
                                 hash ($argon2id$…), which \"wharf user add\" writes"
                            ),
                        );
                        None
                    }
                },
                None => {
                    self.error(
                        &add.el,
                        format!("user {shown:?} needs a password attribute ($argon2id$…)"),
                    );
                    None
                }
            };
            let roles = Self::raw(add, "roles")
                .map(|a| split_list(a.value))
                .unwrap_or_default();
            if let (Some((name, a)), Some(password_hash)) = (name, password) {
                if users
                    .iter()
                    .any(|u| u.name.to_lowercase() == name.to_lowercase())
                {
                    self.error(&a, format!("user {name:?} is defined twice"));
                } else {
                    users.push(UserAccount {
                        name,
                        password_hash,
                        roles,
                    });
                }
            }
        }
    }

    fn lower_administration(&mut self, s: Sec<'a>, global: &mut GlobalDraft<'a>) {
        let admin = &mut global.administration;
        let attrs = &mut global.administration_attrs;
        attrs.element = Some(s.el);
        if let Some(v) = self.bool(s, "enabled") {
            admin.enabled = v;
        }
        if let Some(a) = Self::raw(s, "bindingInformation") {
            attrs.binding = Some(a);
            match a.value.trim().parse::<SocketAddr>() {
                Ok(addr) => admin.binding = addr,
                Err(_) => self.invalid(&a, "IP:port, e.g. 127.0.0.1:2180 or [::1]:2180"),
            }
        }
        if let Some(a) = Self::raw(s, "tokenFile")
            && let Some(path) = self.path(&a)
        {
            attrs.token_file = Some(a);
            admin.token_file = Some(path);
        }
        if let Some(v) = self.uint(s, "endedSessionsRetention", 0..=1_000_000) {
            admin.ended_sessions_retention = usize::try_from(v).unwrap_or(usize::MAX);
        }
        if let Some(v) = self.seconds(s, "headerReadTimeout", 1..=3600) {
            admin.header_read_timeout = v;
        }
        if let Some(v) = self.uint(s, "maxConnections", 1..=1_000_000) {
            admin.max_connections = u32::try_from(v).unwrap_or(u32::MAX);
        }
        if let Some(v) = self.uint(s, "maxEventSubscribers", 0..=1_000_000) {
            admin.max_event_subscribers = u32::try_from(v).unwrap_or(u32::MAX);
        }
        if let Some(a) = Self::raw(s, "certificateFile") {
            attrs.certificate_file = Some(a);
            attrs.certificate_path = self.path(&a);
        }
        if let Some(a) = Self::raw(s, "privateKeyFile") {
            attrs.private_key_file = Some(a);
            attrs.private_key_path = self.path(&a);
        }
        if let Some(v) = self.bool(s, "allowUnencryptedRemote") {
            admin.allow_unencrypted_remote = v;
        }
    }

    /// What needs the whole `administration` section (it may be set more than once, at top
    /// level and in `<location path="">`): the certificate pair, HTTPS off loopback, and the
    /// files it names.
    fn finish_administration(&mut self, global: &mut GlobalDraft<'a>) {
        let attrs = global.administration_attrs.clone();
        let Some(element) = attrs.element else {
            return;
        };
        let admin = &mut global.administration;
        match (
            attrs.certificate_path.clone(),
            attrs.private_key_path.clone(),
        ) {
            (Some(certificate_file), Some(private_key_file)) => {
                admin.tls = Some(AdminTls {
                    certificate_file,
                    private_key_file,
                });
            }
            (None, None) => {}
            _ if attrs.certificate_file.is_some() != attrs.private_key_file.is_some() => {
                self.error(
                    &element,
                    "<administration> certificateFile and privateKeyFile go together; set both",
                );
            }
            // One of them was invalid (already reported).
            _ => {}
        }
        let admin = global.administration.clone();
        if !admin.enabled {
            return;
        }
        if admin.tls.is_none()
            && !admin.binding.ip().to_canonical().is_loopback()
            && !admin.allow_unencrypted_remote
        {
            let message = format!(
                "the admin API would listen on {} (not loopback) in plain HTTP: the bearer \
                 token and session data would cross the network in clear text; set \
                 certificateFile and privateKeyFile on <administration> to serve HTTPS, bind \
                 it to 127.0.0.1, or set allowUnencryptedRemote=\"true\" (behind a TLS proxy)",
                admin.binding
            );
            match attrs.binding {
                Some(a) => self.error(&a, message),
                None => self.error(&element, message),
            }
        }
        if self.named_files != NamedFiles::Open {
            return;
        }
        if let Some(tls) = &admin.tls
            && let Err(e) =
                crate::tls::https_server_config(&tls.certificate_file, &tls.private_key_file)
        {
            let at = if e.path() == Some(tls.private_key_file.as_path()) {
                attrs.private_key_file
            } else {
                attrs.certificate_file
            };
            let message = format!("administration: HTTPS certificate: {e}");
            match at {
                Some(a) => self.error(&a, message),
                None => self.error(&element, message),
            }
        }
        if let (Some(path), Some(a)) = (&admin.token_file, attrs.token_file)
            && let Err(e) = crate::admin::auth::read_token_file(path)
        {
            self.error(
                &a,
                format!("administration tokenFile {}: {e}", path.display()),
            );
        }
    }

    // -----------------------------------------------------------------------------------
    // <location> and authorization

    fn lower_location(
        &mut self,
        loc: Sec<'a>,
        drafts: &mut [SiteDraft<'a>],
        global: &mut GlobalDraft<'a>,
    ) {
        let path_attr = Self::raw(loc, "path");
        let path = path_attr.map(|a| a.value.trim()).unwrap_or("");
        if path.is_empty() || path == "." {
            // Server level, like the top-level <system.ftpServer>.
            let ftp: Vec<Elem<'a>> = loc
                .el
                .children()
                .filter(|c| c.name() == "system.ftpServer")
                .collect();
            for el in ftp {
                if let Some(ftp) = self.enter(el, &schema::FTP_SERVER_GLOBAL) {
                    self.lower_global(ftp, global);
                }
            }
            return;
        }
        let Some(path_attr) = path_attr else { return };
        let trimmed = path.trim_matches('/');
        let (site_name, rest) = trimmed.split_once('/').unwrap_or((trimmed, ""));
        let has_ftp = loc.el.children().any(|c| c.name() == "system.ftpServer");
        let Some(site) = drafts.iter_mut().find(|d| {
            d.name
                .as_ref()
                .is_some_and(|(n, _)| n.to_lowercase() == site_name.to_lowercase())
        }) else {
            if has_ftp {
                self.warn(
                    &path_attr,
                    format!("location path {path:?} names no FTP site ({site_name:?}); ignored"),
                );
            }
            return;
        };
        let vpath = match parse_virtual_path(&format!("/{rest}")) {
            Ok(segments) => virtual_path(segments),
            Err(_) => None,
        };
        let Some(vpath) = vpath else {
            self.error(
                &path_attr,
                format!("invalid location path {path:?}: expected \"Site\" or \"Site/dir/…\""),
            );
            return;
        };
        let mut ops = Vec::new();
        if let Some(ftp) = self.kid(loc, "system.ftpServer")
            && let Some(sec) = self.kid(ftp, "security")
            && let Some(authz) = self.kid(sec, "authorization")
        {
            ops = self.authorization_ops(authz);
        }
        match site.locations.iter_mut().find(|(p, _)| *p == vpath) {
            Some((_, existing)) => existing.extend(ops),
            None => site.locations.push((vpath, ops)),
        }
    }

    fn authorization_ops(&mut self, s: Sec<'a>) -> Vec<AuthOp<'a>> {
        let mut ops = Vec::new();
        let entries: Vec<Elem<'a>> = s.el.children().collect();
        for entry in entries {
            let name = entry.name();
            if !matches!(name, "add" | "remove" | "clear") {
                continue;
            }
            let Some(schema) = Self::child_schema(s, name) else {
                continue;
            };
            let Some(e) = self.enter(entry, schema) else {
                continue;
            };
            match name {
                "clear" => ops.push(AuthOp::Clear),
                "add" => {
                    let access_type = match Self::raw(e, "accessType") {
                        Some(a) => self.enum_value(&a, ACCESS_TYPES),
                        None => {
                            self.error(
                                &e.el,
                                "authorization <add> needs accessType; accepted: Allow, Deny",
                            );
                            None
                        }
                    };
                    let users = Self::raw(e, "users")
                        .map(|a| split_list(a.value))
                        .unwrap_or_default();
                    let roles = Self::raw(e, "roles")
                        .map(|a| split_list(a.value))
                        .unwrap_or_default();
                    let permissions = match Self::raw(e, "permissions") {
                        Some(a) => self.flags(&a, PERMISSIONS).map(|flags| Permissions {
                            read: flags.contains(&"Read"),
                            write: flags.contains(&"Write"),
                        }),
                        None => Some(Permissions::default()),
                    };
                    if users.is_empty() && roles.is_empty() {
                        self.warn(
                            &e.el,
                            "this authorization rule names no users and no roles, so it matches \
                             nobody",
                        );
                    }
                    if let (Some(access_type), Some(permissions)) = (access_type, permissions) {
                        ops.push(AuthOp::Add(
                            AuthRule {
                                access_type,
                                users,
                                roles,
                                permissions,
                            },
                            e.el,
                        ));
                    }
                }
                _ => {
                    let access_type = match Self::raw(e, "accessType") {
                        Some(a) => match self.enum_value(&a, ACCESS_TYPES) {
                            Some(t) => Some(t),
                            None => continue,
                        },
                        None => None,
                    };
                    ops.push(AuthOp::Remove {
                        access_type,
                        users: Self::raw(e, "users")
                            .map(|a| split_list(a.value))
                            .unwrap_or_default(),
                        roles: Self::raw(e, "roles")
                            .map(|a| split_list(a.value))
                            .unwrap_or_default(),
                        el: e.el,
                    });
                }
            }
        }
        ops
    }

    /// Applies collection operations in order; diagnostics name the operation at fault.
    fn apply_auth_ops(&mut self, rules: &mut Vec<AuthRule>, ops: &[AuthOp<'a>]) {
        for op in ops {
            match op {
                AuthOp::Clear => rules.clear(),
                AuthOp::Add(rule, el) => {
                    if rules.iter().any(|r| {
                        r.access_type == rule.access_type
                            && same_list(&r.users, &rule.users)
                            && same_list(&r.roles, &rule.roles)
                    }) {
                        self.error(
                            el,
                            format!(
                                "duplicate authorization rule: accessType={:?} users={:?} \
                                 roles={:?} is already in effect here (inherited or earlier); \
                                 <remove> it or <clear/> first",
                                rule.access_type,
                                rule.users.join(","),
                                rule.roles.join(",")
                            ),
                        );
                    } else {
                        rules.push(rule.clone());
                    }
                }
                AuthOp::Remove {
                    access_type,
                    users,
                    roles,
                    el,
                } => {
                    let before = rules.len();
                    rules.retain(|r| {
                        !(access_type.is_none_or(|t| t == r.access_type)
                            && same_list(&r.users, users)
                            && same_list(&r.roles, roles))
                    });
                    if rules.len() == before {
                        self.warn(el, "<remove> matches no authorization rule in effect here");
                    }
                }
            }
        }
    }

    /// The effective rules for `/` and each location path of a site.
    fn site_authorization(
        &mut self,
        server_rules: &[AuthRule],
        locations: &[(VirtualPath, Vec<AuthOp<'a>>)],
    ) -> AuthorizationRules {
        let mut order: Vec<usize> = (0..locations.len()).collect();
        order.sort_by_key(|&i| locations[i].0.segments().len());
        let mut by_path: Vec<(VirtualPath, Vec<AuthRule>)> = Vec::new();
        by_path.push((VirtualPath::root(), server_rules.to_vec()));
        for i in order {
            let (path, ops) = &locations[i];
            let mut rules = if path.is_root() {
                std::mem::take(&mut by_path[0].1)
            } else {
                by_path
                    .iter()
                    .filter(|(p, _)| is_prefix(p, path))
                    .max_by_key(|(p, _)| p.segments().len())
                    .map(|(_, r)| r.clone())
                    .unwrap_or_default()
            };
            self.apply_auth_ops(&mut rules, ops);
            if path.is_root() {
                by_path[0].1 = rules;
            } else {
                by_path.push((path.clone(), rules));
            }
        }
        AuthorizationRules { by_path }
    }
}

/// `system.ftpServer` settings being gathered (top level and `<location path="">`).
struct GlobalDraft<'a> {
    config: GlobalConfig,
    administration: AdministrationConfig,
    administration_attrs: AdministrationAttrs<'a>,
    users: Vec<UserAccount>,
    authorization: Vec<AuthOp<'a>>,
}

/// Where the `administration` values in force were written, and the certificate paths
/// until both are known.
#[derive(Clone, Default)]
struct AdministrationAttrs<'a> {
    element: Option<Elem<'a>>,
    binding: Option<Attr<'a>>,
    token_file: Option<Attr<'a>>,
    certificate_file: Option<Attr<'a>>,
    private_key_file: Option<Attr<'a>>,
    certificate_path: Option<PathBuf>,
    private_key_path: Option<PathBuf>,
}

// ---------------------------------------------------------------------------------------
// helpers

/// `prefix` is an ancestor of (or equal to) `path`, segment-wise.
fn is_prefix(prefix: &VirtualPath, path: &VirtualPath) -> bool {
    let (p, q) = (prefix.segments(), path.segments());
    p.len() <= q.len() && p.iter().zip(q).all(|(a, b)| a == b)
}

fn same_list(a: &[String], b: &[String]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.to_lowercase() == y.to_lowercase())
}

/// `"a, b,,c"` → `["a", "b", "c"]`.
pub(crate) fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// `"A, B, C"` for messages.
fn names<'n>(it: impl Iterator<Item = &'n str>) -> String {
    it.collect::<Vec<_>>().join(", ")
}

/// ` (did you mean "x"? names are case-sensitive)` when only the case differs.
fn did_you_mean<'n>(name: &str, mut known: impl Iterator<Item = &'n str>) -> String {
    known
        .find(|k| k.eq_ignore_ascii_case(name))
        .map(|k| format!(" (did you mean {k:?}? names are case-sensitive)"))
        .unwrap_or_default()
}

/// The absolute directory of `file` (relative paths in it are resolved against this).
pub(crate) fn base_dir(file: &Path) -> PathBuf {
    let parent = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let absolute = std::path::absolute(parent).unwrap_or_else(|_| parent.to_path_buf());
    absolute.components().collect()
}

fn looks_like_windows_path(p: &str) -> bool {
    let b = p.as_bytes();
    p.contains('\\') || (b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':')
}

fn is_ftp_binding(el: Elem<'_>) -> bool {
    el.attr("protocol")
        .is_some_and(|a| a.value.trim().eq_ignore_ascii_case("ftp"))
}

/// A site is an FTP site when its bindings (after `<clear/>`) include an `ftp` one.
fn is_ftp_site(site: Elem<'_>) -> bool {
    let mut ftp = false;
    for bindings in site.children().filter(|c| c.name() == "bindings") {
        for entry in bindings.children() {
            match entry.name() {
                "clear" => ftp = false,
                "binding" if is_ftp_binding(entry) => ftp = true,
                _ => {}
            }
        }
    }
    ftp
}

/// `IP:port:host` (IP a literal, `*` or empty for all unassigned, IPv6 in brackets).
pub(crate) fn parse_binding_information(value: &str) -> Result<Binding, String> {
    let (ip, rest) = if let Some(inner) = value.strip_prefix('[') {
        let close = inner
            .find(']')
            .ok_or("missing \"]\" after the IPv6 address")?;
        let ip: Ipv6Addr = inner[..close]
            .parse()
            .map_err(|_| format!("{:?} is not an IPv6 address", &inner[..close]))?;
        let rest = inner[close + 1..]
            .strip_prefix(':')
            .ok_or("expected \":port:host\" after the IPv6 address")?;
        (Some(IpAddr::V6(ip)), rest)
    } else {
        let (ip, rest) = value
            .split_once(':')
            .ok_or("expected three parts separated by \":\"")?;
        let ip = match ip {
            "*" | "" => None,
            _ => Some(IpAddr::V4(ip.parse::<Ipv4Addr>().map_err(|_| {
                format!("{ip:?} is not an IPv4 address, * or a bracketed IPv6 address")
            })?)),
        };
        (ip, rest)
    };
    let (port, host) = rest
        .split_once(':')
        .ok_or("expected three parts separated by \":\"")?;
    if host.contains(':') {
        return Err("too many \":\" (IPv6 addresses must be in brackets)".into());
    }
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{port:?} is not a port number"));
    }
    let port: u16 = port
        .parse()
        .map_err(|_| format!("port {port} is out of range"))?;
    if host
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '|' | '\\' | '/'))
    {
        return Err(format!("{host:?} is not a host name"));
    }
    Ok(Binding {
        ip,
        port,
        host: (!host.is_empty()).then(|| host.to_lowercase()),
        // IIS: a binding on port 990 is implicit FTPS (binding@implicitTls overrides).
        implicit_tls: port == crate::tls::IMPLICIT_FTPS_PORT,
    })
}

/// Clean segments into a [`VirtualPath`] (`None` if a segment is not clean).
fn virtual_path(segments: Vec<String>) -> Option<VirtualPath> {
    if segments.is_empty() {
        Some(VirtualPath::root())
    } else {
        VirtualPath::from_segments(segments)
    }
}

/// A configured virtual path (`/`, `/a/b`) as segments.
fn parse_virtual_path(value: &str) -> Result<Vec<String>, String> {
    if !value.starts_with('/') {
        return Err("it must start with \"/\"".into());
    }
    let segments: Vec<String> = value
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if segments.iter().any(|s| s == "." || s == "..") {
        return Err("\".\" and \"..\" are not allowed".into());
    }
    Ok(segments)
}

/// Account names: not empty, no surrounding spaces, no control characters, no `|` (the
/// `host|user` separator) and no `,`.
pub(crate) fn check_user_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        Err("it is empty")
    } else if name.trim() != name {
        Err("it starts or ends with white space")
    } else if name.chars().any(|c| c.is_control()) {
        Err("it contains a control character")
    } else if name.contains('|') {
        Err("it contains \"|\", the host|user separator")
    } else if name.contains(',') {
        Err("it contains \",\"")
    } else {
        Ok(())
    }
}

/// A PHC argon2id string, parsed.
pub(crate) fn check_password_hash(hash: &str) -> Result<(), &'static str> {
    if !hash.starts_with("$argon2id$") {
        return Err("does not start with \"$argon2id$\"");
    }
    let parsed = argon2::password_hash::PasswordHash::new(hash)
        .map_err(|_| "is not a well-formed PHC string")?;
    if parsed.salt.is_none() || parsed.hash.is_none() {
        return Err("has no salt or no hash part");
    }
    argon2::Params::try_from(&parsed)
        .map(|_| ())
        .map_err(|_| "has invalid argon2 parameters")
}
