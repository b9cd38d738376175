//! Certificates from PEM files: a certificate/key pair, a certificate directory searched by
//! SHA-1 thumbprint (`serverCertHash`, as IIS writes it), and the self-signed certificate
//! that Wharf generates in the state directory on first start.

use std::path::{Path, PathBuf};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha1::{Digest, Sha1};

use super::TlsError;
use crate::config::files::{self, PEM_FILE_MAX};

/// A certificate chain (leaf first) with its private key, and where it came from.
#[derive(Debug)]
pub struct LoadedCertificate {
    /// The chain, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key.
    pub key: PrivateKeyDer<'static>,
    /// The leaf's SHA-1 thumbprint (upper-case hex, as IIS shows it).
    pub thumbprint: String,
    /// The certificate file (for messages).
    pub certificate_file: PathBuf,
    /// The file the key came from (for messages).
    pub key_file: PathBuf,
}

/// The SHA-1 thumbprint of a DER certificate: 40 upper-case hex digits, no separators
/// (the form IIS writes in `serverCertHash`).
pub fn thumbprint(der: &[u8]) -> String {
    let digest = Sha1::digest(der);
    digest.iter().map(|b| format!("{b:02X}")).collect()
}

/// `serverCertHash` as written by people: spaces, colons and the invisible left-to-right
/// mark that Windows' certificate dialog puts in front of a copied thumbprint are removed;
/// `None` unless 40 hex digits remain. Upper-case.
pub fn normalize_thumbprint(text: &str) -> Option<String> {
    let cleaned: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | ':' | '\u{200e}' | '\u{200f}' | '\u{feff}' | '\t'))
        .collect();
    (cleaned.len() == 40 && cleaned.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| cleaned.to_ascii_uppercase())
}

/// Reads a PEM file: a regular file of at most [`PEM_FILE_MAX`] bytes (a FIFO or a device
/// named by mistake is an error at once, not a hang).
fn read_pem(path: &Path) -> Result<Vec<u8>, TlsError> {
    files::read(path, PEM_FILE_MAX).map_err(|e| TlsError::Read(path.to_path_buf(), e))
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read_pem(path)?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Pem(path.to_path_buf(), e.to_string()))?;
    if chain.is_empty() {
        return Err(TlsError::Pem(
            path.to_path_buf(),
            "no \"BEGIN CERTIFICATE\" block".to_string(),
        ));
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read_pem(path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| {
        TlsError::Pem(
            path.to_path_buf(),
            format!("no usable private key (PKCS#8, PKCS#1 or SEC1 PEM): {e}"),
        )
    })
}

/// Loads `certificateFile` + `privateKeyFile`.
pub fn load_pair(certificate: &Path, key_file: &Path) -> Result<LoadedCertificate, TlsError> {
    let chain = read_chain(certificate)?;
    let key = read_key(key_file)?;
    Ok(LoadedCertificate {
        thumbprint: thumbprint(&chain[0]),
        chain,
        key,
        certificate_file: certificate.to_path_buf(),
        key_file: key_file.to_path_buf(),
    })
}

/// Finds the certificate whose leaf has thumbprint `hash` in `dir` (`certificateStore`).
///
/// Every `*.pem`, `*.crt` and `*.cer` file is read; the first certificate of a file is its
/// leaf. The key is taken from the same file when it holds one, else from the file with
/// the same stem and the extension `.key` (`site.crt` + `site.key`, `site.pem` + `site.key`).
pub fn find_in_store(dir: &Path, hash: &str) -> Result<LoadedCertificate, TlsError> {
    let wanted = normalize_thumbprint(hash).ok_or_else(|| TlsError::BadThumbprint(hash.into()))?;
    let entries = std::fs::read_dir(dir).map_err(|e| TlsError::Read(dir.to_path_buf(), e))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                    matches!(e.to_ascii_lowercase().as_str(), "pem" | "crt" | "cer")
                })
        })
        .collect();
    files.sort();
    for file in files {
        let Ok(chain) = read_chain(&file) else {
            continue;
        };
        if thumbprint(&chain[0]) != wanted {
            continue;
        }
        let (key, key_file) = match read_key(&file) {
            Ok(key) => (key, file.clone()),
            Err(_) => {
                let sibling = file.with_extension("key");
                if !sibling.is_file() {
                    return Err(TlsError::MissingKey(file, sibling));
                }
                (read_key(&sibling)?, sibling)
            }
        };
        return Ok(LoadedCertificate {
            thumbprint: wanted,
            chain,
            key,
            certificate_file: file,
            key_file,
        });
    }
    Err(TlsError::NotInStore(dir.to_path_buf(), wanted))
}

/// File names of the generated self-signed certificate in the state directory.
pub const SELF_SIGNED_CERT: &str = "self-signed-cert.pem";
/// See [`SELF_SIGNED_CERT`].
pub const SELF_SIGNED_KEY: &str = "self-signed-key.pem";

/// The self-signed certificate in `state_dir`, generated (for `names`, plus `localhost`,
/// `127.0.0.1` and `::1`) when missing. The key file is written with mode 0600.
pub fn self_signed(state_dir: &Path, names: &[String]) -> Result<LoadedCertificate, TlsError> {
    use std::io::Write;
    use std::os::unix::fs::DirBuilderExt;
    use std::os::unix::fs::OpenOptionsExt;
    if !state_dir.is_dir() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(state_dir)
            .map_err(|e| TlsError::Write(state_dir.to_path_buf(), e))?;
    }
    if let Some(existing) = existing_self_signed(state_dir)? {
        return Ok(existing);
    }
    let cert_path = state_dir.join(SELF_SIGNED_CERT);
    let key_path = state_dir.join(SELF_SIGNED_KEY);
    let mut sans = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    for n in names {
        if !sans.iter().any(|s| s.eq_ignore_ascii_case(n)) {
            sans.push(n.clone());
        }
    }
    let generated =
        rcgen::generate_simple_self_signed(sans).map_err(|e| TlsError::Generate(e.to_string()))?;
    let write = |path: &Path, text: &str, mode: u32| -> Result<(), TlsError> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(path)
            .map_err(|e| TlsError::Write(path.to_path_buf(), e))?;
        f.write_all(text.as_bytes())
            .map_err(|e| TlsError::Write(path.to_path_buf(), e))
    };
    write(&key_path, &generated.signing_key.serialize_pem(), 0o600)?;
    write(&cert_path, &generated.cert.pem(), 0o644)?;
    tracing::info!(certificate = %cert_path.display(), "generated a self-signed TLS certificate");
    load_pair(&cert_path, &key_path)
}

/// The self-signed certificate already in `state_dir`; `None` when a file is missing (then
/// both are generated). Something else than a regular file at either path is an error:
/// writing over a FIFO would block.
pub fn existing_self_signed(state_dir: &Path) -> Result<Option<LoadedCertificate>, TlsError> {
    let cert_path = state_dir.join(SELF_SIGNED_CERT);
    let key_path = state_dir.join(SELF_SIGNED_KEY);
    let mut present = true;
    for path in [&cert_path, &key_path] {
        match files::open_regular(path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => present = false,
            Err(e) => return Err(TlsError::Read(path.clone(), e)),
        }
    }
    if !present {
        return Ok(None);
    }
    load_pair(&cert_path, &key_path).map(Some)
}

/// Loads the CA certificates of `sslClientCertificates@caFile`.
pub fn load_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    read_chain(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_pair(dir: &Path, stem: &str, combined: bool) -> String {
        let ck = rcgen::generate_simple_self_signed(vec![format!("{stem}.example")]).unwrap();
        let cert = ck.cert.pem();
        let key = ck.signing_key.serialize_pem();
        if combined {
            std::fs::write(dir.join(format!("{stem}.pem")), format!("{cert}{key}")).unwrap();
        } else {
            std::fs::write(dir.join(format!("{stem}.crt")), cert).unwrap();
            std::fs::write(dir.join(format!("{stem}.key")), key).unwrap();
        }
        thumbprint(ck.cert.der())
    }

    #[test]
    fn thumbprints_are_normalized_like_iis_writes_them() {
        let t = "3a 7f 0c 1e 9b 2d 4c 6a 8e 0f 1a 2b 3c 4d 5e 6f 7a 8b 9c 0d";
        assert_eq!(
            normalize_thumbprint(t).unwrap(),
            "3A7F0C1E9B2D4C6A8E0F1A2B3C4D5E6F7A8B9C0D"
        );
        assert!(
            normalize_thumbprint(
                "\u{200e}3A:7F:0C:1E:9B:2D:4C:6A:8E:0F:1A:2B:3C:4D:5E:6F:7A:8B:9C:0D"
            )
            .is_some()
        );
        assert!(normalize_thumbprint("3A7F").is_none());
        assert!(normalize_thumbprint("ZZ7F0C1E9B2D4C6A8E0F1A2B3C4D5E6F7A8B9C0D").is_none());
        assert_eq!(
            thumbprint(b"abc"),
            "A9993E364706816ABA3E25717850C26C9CD0D89D"
        );
    }

    #[test]
    fn store_lookup_selects_by_thumbprint_with_key_beside_or_inside() {
        let dir = tempfile::tempdir().unwrap();
        let a = write_pair(dir.path(), "alpha", false);
        let b = write_pair(dir.path(), "beta", true);
        let found = find_in_store(dir.path(), &a.to_lowercase()).unwrap();
        assert_eq!(found.thumbprint, a);
        assert!(found.certificate_file.ends_with("alpha.crt"));
        let found = find_in_store(dir.path(), &b).unwrap();
        assert!(found.certificate_file.ends_with("beta.pem"));
        let missing = find_in_store(dir.path(), &"0".repeat(40)).unwrap_err();
        assert!(matches!(missing, TlsError::NotInStore(..)), "{missing}");
        std::fs::remove_file(dir.path().join("alpha.key")).unwrap();
        let no_key = find_in_store(dir.path(), &a).unwrap_err();
        assert!(matches!(no_key, TlsError::MissingKey(..)), "{no_key}");
    }

    #[test]
    fn pair_loading_reports_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        write_pair(dir.path(), "s", false);
        let ok = load_pair(&dir.path().join("s.crt"), &dir.path().join("s.key")).unwrap();
        assert_eq!(ok.chain.len(), 1);
        std::fs::write(dir.path().join("empty.crt"), "nothing").unwrap();
        let e = load_pair(&dir.path().join("empty.crt"), &dir.path().join("s.key")).unwrap_err();
        assert!(e.to_string().contains("BEGIN CERTIFICATE"), "{e}");
        let e = load_pair(&dir.path().join("s.crt"), &dir.path().join("s.crt")).unwrap_err();
        assert!(e.to_string().contains("private key"), "{e}");
        let e = load_pair(&dir.path().join("nope.crt"), &dir.path().join("s.key")).unwrap_err();
        assert!(matches!(e, TlsError::Read(..)));
    }

    #[test]
    fn self_signed_is_generated_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = self_signed(dir.path(), &["ftp.example".to_string()]).unwrap();
        let again = self_signed(dir.path(), &[]).unwrap();
        assert_eq!(first.thumbprint, again.thumbprint);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(SELF_SIGNED_KEY))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
