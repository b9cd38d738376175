//! Tests for the FEAT list.

use wharf_proto::feat::{FeatOptions, feature_lines};
use wharf_proto::listing::MlstFacts;

#[test]
fn all_options() {
    let mlst = MlstFacts::default().feat_line();
    let lines = feature_lines(
        &FeatOptions {
            utf8: true,
            tls: true,
            host: true,
        },
        &mlst,
    );
    assert_eq!(
        lines,
        [
            "AUTH TLS",
            "CLNT",
            "EPRT",
            "EPSV",
            "HOST",
            "MDTM",
            "MFMT",
            "MLST type*;size*;modify*;perm*;unix.mode*;",
            "PASV",
            "PBSZ",
            "PROT",
            "REST STREAM",
            "SIZE",
            "TVFS",
            "UTF8",
        ]
    );
}

#[test]
fn minimal_options() {
    let lines = feature_lines(
        &FeatOptions {
            utf8: false,
            tls: false,
            host: false,
        },
        "size*;",
    );
    assert_eq!(
        lines,
        [
            "CLNT",
            "EPRT",
            "EPSV",
            "MDTM",
            "MFMT",
            "MLST size*;",
            "PASV",
            "REST STREAM",
            "SIZE",
            "TVFS",
        ]
    );
}

#[test]
fn each_option_adds_only_its_lines() {
    let base = FeatOptions {
        utf8: false,
        tls: false,
        host: false,
    };
    let count = |o: FeatOptions| feature_lines(&o, "x;").len();
    let n = count(base);
    assert_eq!(count(FeatOptions { utf8: true, ..base }), n + 1);
    assert_eq!(count(FeatOptions { host: true, ..base }), n + 1);
    assert_eq!(count(FeatOptions { tls: true, ..base }), n + 3);
    let tls = feature_lines(&FeatOptions { tls: true, ..base }, "x;");
    for l in ["AUTH TLS", "PBSZ", "PROT"] {
        assert!(tls.iter().any(|x| x == l));
    }
    assert!(feature_lines(&FeatOptions { utf8: true, ..base }, "x;").contains(&"UTF8".to_owned()));
    // Lines never contain CR/LF or a leading space.
    for line in feature_lines(
        &FeatOptions {
            utf8: true,
            tls: true,
            host: true,
        },
        "a;",
    ) {
        assert!(!line.starts_with(' ') && !line.contains('\r') && !line.contains('\n'));
    }
    // An empty MLST body gives a bare "MLST".
    assert!(feature_lines(&base, "").contains(&"MLST".to_owned()));
}
