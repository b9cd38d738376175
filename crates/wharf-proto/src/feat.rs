//! FEAT (RFC 2389) vocabulary: the feature lines the server advertises.

/// Inputs that change the FEAT list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatOptions {
    /// Advertise `UTF8` (site `allowUTF8`).
    pub utf8: bool,
    /// Advertise `AUTH TLS`, `PBSZ`, `PROT` (a certificate is configured).
    pub tls: bool,
    /// Advertise `HOST` (RFC 7151 virtual hosts are enabled).
    ///
    /// (The MLST line body from [`crate::listing::MlstFacts::feat_line`] is passed
    /// separately to [`feature_lines`].)
    pub host: bool,
}

/// The feature lines (without the leading space), e.g. `["EPRT", "EPSV", "HOST", "MDTM", ...]`,
/// in a stable order; `mlst_line` is the body after `MLST `.
///
/// Alphabetical: `AUTH TLS`\*, `CLNT`, `EPRT`, `EPSV`, `HOST`\*, `MDTM`, `MFMT`,
/// `MLST …`, `PASV`, `PBSZ`\*, `PROT`\*, `REST STREAM`, `SIZE`, `TVFS`, `UTF8`\*
/// (\* only when the matching option is on).
pub fn feature_lines(options: &FeatOptions, mlst_line: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut add = |on: bool, line: &str| {
        if on {
            lines.push(line.to_owned());
        }
    };
    add(options.tls, "AUTH TLS");
    add(true, "CLNT");
    add(true, "EPRT");
    add(true, "EPSV");
    add(options.host, "HOST");
    add(true, "MDTM");
    add(true, "MFMT");
    let mlst = mlst_line.trim();
    if mlst.is_empty() {
        add(true, "MLST");
    } else {
        add(true, &format!("MLST {mlst}"));
    }
    add(true, "PASV");
    add(options.tls, "PBSZ");
    add(options.tls, "PROT");
    add(true, "REST STREAM");
    add(true, "SIZE");
    add(true, "TVFS");
    add(options.utf8, "UTF8");
    lines
}
