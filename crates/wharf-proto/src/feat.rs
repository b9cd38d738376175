//! FEAT (RFC 2389) vocabulary: the feature lines the server advertises.

/// Inputs that change the FEAT list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatOptions {
    /// Advertise `UTF8` (site `allowUTF8`).
    pub utf8: bool,
    /// Advertise `AUTH TLS`, `PBSZ`, `PROT` (a certificate is configured).
    pub tls: bool,
    /// The MLST line body from [`crate::listing::MlstFacts::feat_line`] is passed separately.
    pub host: bool,
}

/// The feature lines (without the leading space), e.g. `["EPRT", "EPSV", "HOST", "MDTM", ...]`,
/// in a stable order; `mlst_line` is the body after `MLST `.
pub fn feature_lines(options: &FeatOptions, mlst_line: &str) -> Vec<String> {
    let _ = (options, mlst_line);
    todo!()
}
