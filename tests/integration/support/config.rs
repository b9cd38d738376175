//! Configuration templates (with `{ROOT}` / `{HASH:…}` placeholders for [`super::TestServer`]),
//! built with the shared [`crate::common::config`] builder.

pub use crate::common::config::{ConfigXml, SiteXml, location};

/// The standard single-site configuration (`Test`).
pub fn standard() -> String {
    ConfigXml::single(SiteXml::new("Test")).xml()
}

/// The standard configuration with extra `ftpServer` children.
pub fn with_ftp(ftp_extra: &str) -> String {
    ConfigXml::single(SiteXml::new("Test").ftp(ftp_extra)).xml()
}
