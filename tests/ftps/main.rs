//! FTPS end to end: explicit and implicit TLS with real clients (curl, lftp, Python
//! ftplib) and a rustls client; the IIS channel policies and their reply codes; data-channel
//! resumption; client certificates; certificate reload; the session record's `tls` fields.

#[path = "../common/mod.rs"]
mod common;
mod support;

use std::time::Instant;

use common::config::ConfigXml;
use support::*;

const REQUIRE: &str = r#"controlChannelPolicy="SslRequire" dataChannelPolicy="SslRequire""#;

fn ssl(policy: &str, pki: &Pki) -> String {
    format!("{policy} {}", cert_attrs(pki))
}

async fn require_site(pki: &Pki) -> Server {
    start(Site {
        binding: "",
        ssl: &ssl(REQUIRE, pki),
        security: "",
    })
    .await
}

// ---------------------------------------------------------------------------------------
// Real clients

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_explicit_upload_download_list() {
    if !require_tool("curl") {
        return;
    }
    let pki = Pki::new();
    let server = require_site(&pki).await;
    let payload = noise(300_000);
    let work = tempfile::tempdir().unwrap();
    let local_up = work.path().join("up.bin");
    std::fs::write(&local_up, &payload).unwrap();
    let base = format!("ftp://127.0.0.1:{}/", server.addr.port());
    let ca = pki.ca_pem.display().to_string();
    let common = [
        "-sS",
        "--ssl-reqd",
        "--cacert",
        ca.as_str(),
        "--user",
        "anonymous:x",
    ];

    let up_url = format!("{base}up.bin");
    let mut args = common.to_vec();
    args.extend(["-T", local_up.to_str().unwrap(), up_url.as_str()]);
    let (ok, _, err) = run("curl", &args, None).await;
    assert!(ok, "curl upload: {err}");
    assert_eq!(
        std::fs::read(server.root.path().join("up.bin")).unwrap(),
        payload
    );

    let down = work.path().join("down.bin");
    let mut args = common.to_vec();
    args.extend(["-o", down.to_str().unwrap(), up_url.as_str()]);
    let (ok, _, err) = run("curl", &args, None).await;
    assert!(ok, "curl download: {err}");
    assert_eq!(std::fs::read(&down).unwrap(), payload);

    let mut args = common.to_vec();
    args.push(base.as_str());
    let (ok, out, err) = run("curl", &args, None).await;
    assert!(ok, "curl list: {err}");
    assert!(out.contains("up.bin"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_implicit_ftps_binding() {
    if !require_tool("curl") {
        return;
    }
    let pki = Pki::new();
    let server = start(Site {
        binding: r#"implicitTls="true""#,
        ssl: &ssl(REQUIRE, &pki),
        security: "",
    })
    .await;
    std::fs::write(
        server.root.path().join("hello.txt"),
        "hello over implicit TLS\n",
    )
    .unwrap();
    let ca = pki.ca_pem.display().to_string();
    let url = format!("ftps://127.0.0.1:{}/hello.txt", server.addr.port());
    let (ok, out, err) = run(
        "curl",
        &["-sS", "--cacert", &ca, "--user", "anonymous:x", &url],
        None,
    )
    .await;
    assert!(ok, "curl ftps://: {err}");
    assert_eq!(out, "hello over implicit TLS\n");
    let list = format!("ftps://127.0.0.1:{}/", server.addr.port());
    let (ok, out, err) = run(
        "curl",
        &["-sS", "--cacert", &ca, "--user", "anonymous:x", &list],
        None,
    )
    .await;
    assert!(ok, "curl ftps:// list: {err}");
    assert!(out.contains("hello.txt"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lftp_ssl_force_and_protect_data() {
    if !require_tool("lftp") {
        return;
    }
    let pki = Pki::new();
    let server = require_site(&pki).await;
    let work = tempfile::tempdir().unwrap();
    let payload = noise(200_000);
    std::fs::write(work.path().join("l.bin"), &payload).unwrap();
    let script = format!(
        "set cmd:fail-exit yes; set net:max-retries 1; set net:timeout 15; \
         set ssl:verify-certificate no; set ftp:ssl-force true; set ftp:ssl-protect-data true; \
         open -u anonymous,x ftp://127.0.0.1:{port}; \
         lcd {dir}; put l.bin -o lftp.bin; get lftp.bin -o back.bin; ls",
        port = server.addr.port(),
        dir = work.path().display()
    );
    let (ok, out, err) = run("lftp", &["-c", &script], None).await;
    assert!(ok, "lftp: {out}\n{err}");
    assert!(out.contains("lftp.bin"), "{out}");
    assert_eq!(
        std::fs::read(server.root.path().join("lftp.bin")).unwrap(),
        payload
    );
    assert_eq!(
        std::fs::read(work.path().join("back.bin")).unwrap(),
        payload
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_ftplib_ftp_tls_prot_p_and_ccc_with_curl_and_lftp() {
    if !require_tool("python3") {
        return;
    }
    let pki = Pki::new();
    // SslRequireCredentialsOnly lets the client drop to clear text after login (CCC).
    let server = start(Site {
        binding: "",
        ssl: &ssl(
            r#"controlChannelPolicy="SslRequireCredentialsOnly" dataChannelPolicy="SslRequire""#,
            &pki,
        ),
        security: "",
    })
    .await;
    let script = format!(
        r#"
import ftplib, io, ssl, hashlib
ctx = ssl.create_default_context(cafile={ca:?})
f = ftplib.FTP_TLS(context=ctx)
f.connect("127.0.0.1", {port})
feat = f.sendcmd("FEAT")
assert "AUTH TLS" in feat and "PBSZ" in feat and "PROT" in feat, feat
f.login("anonymous", "py@example")
f.prot_p()
data = bytes(range(256)) * 4096
f.storbinary("STOR py.bin", io.BytesIO(data))
out = io.BytesIO()
f.retrbinary("RETR py.bin", out.write)
assert out.getvalue() == data
assert "py.bin" in f.nlst()
print("version", f.sock.version())
print("ccc", f.ccc())
print("noop", f.voidcmd("NOOP"))
assert "py.bin" in f.nlst()
f.quit()
print("ok")
"#,
        ca = pki.ca_pem.display().to_string(),
        port = server.addr.port()
    );
    let (ok, out, err) = run("python3", &["-"], Some(&script)).await;
    assert!(ok, "ftplib: {out}\n{err}");
    assert!(out.contains("ccc 200"), "{out}");
    assert!(out.trim_end().ends_with("ok"), "{out}");
    // curl: CCC in its passive mode (curl does not send close_notify) and active mode.
    if require_tool("curl") {
        let ca = pki.ca_pem.display().to_string();
        let url = format!("ftp://127.0.0.1:{}/py.bin", server.addr.port());
        for mode in ["passive", "active"] {
            let (ok, out, err) = run(
                "curl",
                &[
                    "-sS",
                    "--ssl-reqd",
                    "--ftp-ssl-ccc",
                    "--ftp-ssl-ccc-mode",
                    mode,
                    "--cacert",
                    &ca,
                    "--user",
                    "anonymous:x",
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{size_download}",
                    &url,
                ],
                None,
            )
            .await;
            assert!(ok, "curl CCC {mode}: {err}");
            assert_eq!(out, (256 * 4096).to_string());
        }
    }
    // lftp: CCC after login.
    if require_tool("lftp") {
        let script = format!(
            "set cmd:fail-exit yes; set net:max-retries 1; set net:timeout 15; \
             set ssl:verify-certificate no; set ftp:ssl-force true; \
             set ftp:ssl-protect-data true; set ftp:ssl-use-ccc true; \
             open -u anonymous,x ftp://127.0.0.1:{}; ls",
            server.addr.port()
        );
        let (ok, out, err) = run("lftp", &["-c", &script], None).await;
        assert!(ok, "lftp CCC: {out}\n{err}");
        assert!(out.contains("py.bin"), "{out}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_64_mib_round_trip_with_checksum() {
    if !require_tool("curl") {
        return;
    }
    let pki = Pki::new();
    let server = require_site(&pki).await;
    let work = tempfile::tempdir().unwrap();
    let payload = noise(64 * 1024 * 1024);
    let sum = sha256(&payload);
    let up = work.path().join("big.bin");
    std::fs::write(&up, &payload).unwrap();
    drop(payload);
    let ca = pki.ca_pem.display().to_string();
    let url = format!("ftp://127.0.0.1:{}/big.bin", server.addr.port());
    let common = [
        "-sS",
        "--ssl-reqd",
        "--cacert",
        ca.as_str(),
        "--user",
        "anonymous:x",
    ];

    let t = Instant::now();
    let mut args = common.to_vec();
    args.extend(["-T", up.to_str().unwrap(), url.as_str()]);
    let (ok, _, err) = run("curl", &args, None).await;
    assert!(ok, "upload: {err}");
    let upload = t.elapsed();
    assert_eq!(
        sha256(&std::fs::read(server.root.path().join("big.bin")).unwrap()),
        sum
    );

    let down = work.path().join("down.bin");
    let t = Instant::now();
    let mut args = common.to_vec();
    args.extend(["-o", down.to_str().unwrap(), url.as_str()]);
    let (ok, _, err) = run("curl", &args, None).await;
    assert!(ok, "download: {err}");
    let download = t.elapsed();
    assert_eq!(sha256(&std::fs::read(&down).unwrap()), sum);
    let rate = |d: std::time::Duration| 64.0 / d.as_secs_f64();
    eprintln!(
        "64 MiB over TLS (PROT P, {} build): upload {:.2} s ({:.0} MiB/s), download {:.2} s ({:.0} MiB/s)",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        upload.as_secs_f64(),
        rate(upload),
        download.as_secs_f64(),
        rate(download)
    );
}

// ---------------------------------------------------------------------------------------
// Policies and reply codes

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_ssl_require_refuses_clear_text_user_with_534() {
    let pki = Pki::new();
    let server = require_site(&pki).await;
    let mut ftp = Ftp::connect(server.addr, pki.client_config(false, true)).await;
    let (code, text) = ftp.cmd("USER anonymous").await;
    assert_eq!(code, 534, "{text}");
    let (code, _) = ftp.cmd("PASS x").await;
    assert_eq!(code, 534);
    let (code, _) = ftp.cmd("PWD").await;
    assert_eq!(code, 530, "not logged in comes first");
    let (code, _) = ftp.cmd("ACCT x").await;
    assert_eq!(code, 534, "anything else in clear text");
    // What a client needs to start TLS still works in clear text.
    let (code, text) = ftp.cmd("FEAT").await;
    assert_eq!(code, 211);
    assert!(
        text.contains(" AUTH TLS\r\n") && text.contains(" PBSZ\r\n"),
        "{text}"
    );
    let (code, _) = ftp.cmd("PBSZ 0").await;
    assert_eq!(code, 503, "PBSZ before AUTH");
    let (code, _) = ftp.cmd("PROT P").await;
    assert_eq!(code, 503, "PROT before AUTH");
    let (code, _) = ftp.cmd("CCC").await;
    assert_eq!(code, 533, "CCC on a clear channel");
    let (code, _) = ftp.cmd("AUTH KERBEROS_V4").await;
    assert_eq!(code, 504);
    ftp.auth_tls().await;
    let (code, _) = ftp.cmd("AUTH TLS").await;
    assert_eq!(code, 503, "AUTH twice");
    ftp.login().await;
    let (code, _) = ftp.cmd("CCC").await;
    assert_eq!(code, 534, "CCC under SslRequire");
    let (code, _) = ftp.cmd("PROT P").await;
    assert_eq!(code, 503, "PROT before PBSZ");
    let (code, text) = ftp.cmd("PBSZ 1024").await;
    assert_eq!((code, text.trim_end()), (200, "200 PBSZ=0"));
    let (code, _) = ftp.cmd("PROT S").await;
    assert_eq!(code, 536);
    let (code, text) = ftp.cmd("PROT C").await;
    assert_eq!(code, 534, "PROT C under data SslRequire: {text}");
    // Still PROT C (the default): a transfer is refused with 521.
    let (first, _, _) = ftp.transfer("LIST", false, None, None).await;
    assert_eq!(first.0, 521, "{}", first.1);
    let (code, _) = ftp.cmd("PROT P").await;
    assert_eq!(code, 200);
    let (first, data, last) = ftp.transfer("NLST", true, None, None).await;
    assert_eq!((first.0, last.0), (150, 226), "{first:?} {last:?}");
    assert!(data.is_ok());
    let (code, _) = ftp.cmd("REIN").await;
    assert_eq!(code, 502, "REIN on TLS");
    let (code, _) = ftp.cmd("QUIT").await;
    assert_eq!(code, 221);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_ssl_deny_refuses_prot_p_with_534() {
    let pki = Pki::new();
    let server = start(Site {
        binding: "",
        ssl: &ssl(
            r#"controlChannelPolicy="SslRequire" dataChannelPolicy="SslDeny""#,
            &pki,
        ),
        security: "",
    })
    .await;
    std::fs::write(server.root.path().join("f.txt"), "clear data\n").unwrap();
    let mut ftp = Ftp::connect(server.addr, pki.client_config(false, true)).await;
    ftp.auth_tls().await;
    ftp.login().await;
    assert_eq!(ftp.cmd("PBSZ 0").await.0, 200);
    let (code, text) = ftp.cmd("PROT P").await;
    assert_eq!(code, 534, "{text}");
    assert_eq!(ftp.cmd("PROT C").await.0, 200);
    assert_eq!(ftp.cmd("TYPE I").await.0, 200);
    let (first, data, last) = ftp.transfer("RETR f.txt", false, None, None).await;
    assert_eq!((first.0, last.0), (150, 226));
    assert_eq!(data.unwrap(), b"clear data\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_only_policy_allows_clear_commands_after_tls_login() {
    let pki = Pki::new();
    let server = start(Site {
        binding: "",
        ssl: &ssl(
            r#"controlChannelPolicy="SslRequireCredentialsOnly" dataChannelPolicy="SslAllow""#,
            &pki,
        ),
        security: "",
    })
    .await;
    let mut ftp = Ftp::connect(server.addr, pki.client_config(false, true)).await;
    assert_eq!(ftp.cmd("USER anonymous").await.0, 534);
    assert_eq!(
        ftp.cmd("SYST").await.0,
        215,
        "other commands are fine in clear"
    );
    ftp.auth_tls().await;
    assert_eq!(ftp.cmd("CCC").await.0, 534, "CCC before login");
    ftp.login().await;
    // PROT C is allowed by dataChannelPolicy SslAllow: clear data after TLS login.
    assert_eq!(ftp.cmd("PBSZ 0").await.0, 200);
    assert_eq!(ftp.cmd("PROT C").await.0, 200);
    let (first, _, last) = ftp.transfer("LIST", false, None, None).await;
    assert_eq!((first.0, last.0), (150, 226));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_without_certificate_is_431_and_require_site_refuses_login() {
    // IIS default policies (SslRequire) and no certificate.
    let server = start(Site {
        binding: "",
        ssl: "",
        security: "",
    })
    .await;
    let pki = Pki::new();
    let mut ftp = Ftp::connect(server.addr, pki.client_config(false, true)).await;
    let (code, text) = ftp.cmd("FEAT").await;
    assert_eq!(code, 211);
    assert!(!text.contains("AUTH TLS"), "{text}");
    assert_eq!(ftp.cmd("AUTH TLS").await.0, 431);
    assert_eq!(ftp.cmd("USER anonymous").await.0, 534);
}

// ---------------------------------------------------------------------------------------
// Session record, resumption, client certificates, reload

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_record_shows_tls_fields() {
    let pki = Pki::new();
    let server = require_site(&pki).await;
    let mut ftp = Ftp::connect(server.addr, pki.client_config(false, true)).await;
    assert!(records(&server)[0].tls.is_none(), "clear text so far");
    ftp.auth_tls().await;
    ftp.login().await;
    let tls = records(&server)[0].tls.clone().unwrap();
    assert!(tls.control_protected);
    assert!(!tls.data_protected);
    assert_eq!(tls.protocol_version, "TLSv1.3");
    assert!(
        tls.cipher_suite.starts_with("TLS13_"),
        "{}",
        tls.cipher_suite
    );
    assert!(!tls.data_channel_resumed);
    assert_eq!(ftp.cmd("PBSZ 0").await.0, 200);
    assert_eq!(ftp.cmd("PROT P").await.0, 200);
    let (first, data, last) = ftp.transfer("LIST", true, None, None).await;
    assert_eq!((first.0, last.0), (150, 226), "{data:?}");
    let tls = records(&server)[0].tls.clone().unwrap();
    assert!(tls.control_protected && tls.data_protected);
    assert!(tls.data_channel_resumed, "rustls clients resume: {tls:?}");
    // A data connection that does not resume shows it.
    let fresh = pki.client_config(false, false);
    let (_, _, last) = ftp.transfer("LIST", true, None, Some(fresh)).await;
    assert_eq!(last.0, 226);
    assert!(
        !records(&server)[0]
            .tls
            .clone()
            .unwrap()
            .data_channel_resumed
    );
    let (code, text) = ftp.cmd("STAT").await;
    assert_eq!(code, 211);
    assert!(text.contains("TLSv1.3"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_data_channel_resumption_refuses_fresh_handshakes_with_522() {
    let pki = Pki::new();
    let server = start(Site {
        binding: "",
        ssl: &format!(
            r#"{} requireDataChannelResumption="true""#,
            ssl(REQUIRE, &pki)
        ),
        security: "",
    })
    .await;
    let mut ftp = Ftp::connect(server.addr, pki.client_config(false, true)).await;
    ftp.auth_tls().await;
    ftp.login().await;
    assert_eq!(ftp.cmd("PBSZ 0").await.0, 200);
    assert_eq!(ftp.cmd("PROT P").await.0, 200);
    let (first, _, last) = ftp
        .transfer("LIST", true, None, Some(pki.client_config(false, false)))
        .await;
    assert_eq!((first.0, last.0), (150, 522), "{last:?}");
    let (first, data, last) = ftp
        .transfer("STOR r.bin", true, Some(b"resumed"), None)
        .await;
    assert_eq!((first.0, last.0), (150, 226), "{data:?} {last:?}");
    assert_eq!(
        std::fs::read(server.root.path().join("r.bin")).unwrap(),
        b"resumed"
    );
    // Real clients resume too.
    if require_tool("curl") {
        let ca = pki.ca_pem.display().to_string();
        let url = format!("ftp://127.0.0.1:{}/r.bin", server.addr.port());
        let (ok, out, err) = run(
            "curl",
            &[
                "-sS",
                "--ssl-reqd",
                "--cacert",
                &ca,
                "--user",
                "anonymous:x",
                &url,
            ],
            None,
        )
        .await;
        assert!(ok, "curl with requireDataChannelResumption: {err}");
        assert_eq!(out, "resumed");
    }
}

/// A data connection may resume only its own control connection's TLS session: one that
/// presents a ticket issued to another control connection gets 522 (the client side keeps
/// control connection A's tickets in one store and uses it for B's data connection).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_connections_resume_only_their_own_control_session() {
    let pki = Pki::new();
    let server = start(Site {
        binding: "",
        ssl: &format!(
            r#"{} requireDataChannelResumption="true""#,
            ssl(REQUIRE, &pki)
        ),
        security: "",
    })
    .await;
    std::fs::write(server.root.path().join("f.txt"), b"own session").unwrap();
    let a_store = pki.client_config(false, true);
    let mut a = Ftp::connect(server.addr, a_store.clone()).await;
    a.auth_tls().await;
    a.login().await;
    let mut b = Ftp::connect(server.addr, pki.client_config(false, true)).await;
    b.auth_tls().await;
    b.login().await;
    for ftp in [&mut a, &mut b] {
        assert_eq!(ftp.cmd("PBSZ 0").await.0, 200);
        assert_eq!(ftp.cmd("PROT P").await.0, 200);
        assert_eq!(ftp.cmd("TYPE I").await.0, 200);
    }
    let (first, _, last) = b
        .transfer("RETR f.txt", true, None, Some(a_store.clone()))
        .await;
    assert_eq!((first.0, last.0), (150, 522), "{last:?}");
    // The same tickets still serve the control connection they were issued to.
    let (first, data, last) = a.transfer("RETR f.txt", true, None, None).await;
    assert_eq!((first.0, last.0), (150, 226), "{last:?}");
    assert_eq!(data.unwrap(), b"own session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implicit_tls_protects_data_by_default() {
    let pki = Pki::new();
    let server = start(Site {
        binding: r#"implicitTls="true""#,
        ssl: &ssl(REQUIRE, &pki),
        security: "",
    })
    .await;
    let mut ftp = Ftp::connect_implicit(server.addr, pki.client_config(false, true)).await;
    ftp.login().await;
    let (first, _, last) = ftp.transfer("LIST", true, None, None).await;
    assert_eq!((first.0, last.0), (150, 226));
    let tls = records(&server)[0].tls.clone().unwrap();
    assert!(tls.control_protected && tls.data_protected);
}

/// A site requiring TLS whose client certificates are checked against the test CA.
async fn client_certificate_site(policy: &str) -> (Pki, Server) {
    let pki = Pki::new();
    let security = format!(
        r#"<sslClientCertificates clientCertificatePolicy="{policy}" caFile="{}" />"#,
        pki.ca_pem.display()
    );
    let server = start(Site {
        binding: "",
        ssl: &ssl(REQUIRE, &pki),
        security: &security,
    })
    .await;
    (pki, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificates_are_validated_against_the_ca() {
    let (pki, server) = client_certificate_site("CertRequire").await;
    let mut ftp = Ftp::connect(server.addr, pki.client_config(true, true)).await;
    ftp.auth_tls().await;
    ftp.login().await;
    assert_eq!(ftp.cmd("PBSZ 0").await.0, 200);
    assert_eq!(ftp.cmd("PROT P").await.0, 200);
    let (_, _, last) = ftp.transfer("LIST", true, None, None).await;
    assert_eq!(last.0, 226);
    // Without a certificate the TLS session is refused and the connection closed.
    let mut bare = Ftp::connect(server.addr, pki.client_config(false, true)).await;
    let refused = bare.try_auth_tls().await;
    assert!(refused.is_err(), "a client without certificate got in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificate_allow_accepts_clients_without_one() {
    let (pki, server) = client_certificate_site("CertAllow").await;
    let mut ftp = Ftp::connect(server.addr, pki.client_config(false, true)).await;
    ftp.auth_tls().await;
    ftp.login().await;
    let mut with = Ftp::connect(server.addr, pki.client_config(true, true)).await;
    with.auth_tls().await;
    with.login().await;
    assert_eq!(with.cmd("PBSZ 0").await.0, 200);
    assert_eq!(with.cmd("PROT P").await.0, 200);
    let (_, _, last) = with.transfer("LIST", true, None, None).await;
    assert_eq!(last.0, 226);
    // A data connection must present the control connection's certificate (substatus 49).
    let (first, _, last) = with
        .transfer("LIST", true, None, Some(pki.client_config(false, false)))
        .await;
    assert_eq!((first.0, last.0), (150, 522), "{last:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_default_offers_tls_with_a_generated_self_signed_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let loaded = wharf::config::defaults::load_default();
    let mut config = loaded.config.unwrap();
    // As if saved beside a config file in `dir`: the state directory is `dir/.wharf`.
    config.source = Some(dir.path().join("applicationHost.config"));
    let mut site = (*config.sites[0]).clone();
    site.bindings[0].port = 0;
    site.virtual_directories[0].physical_path = dir.path().to_path_buf();
    config.sites[0] = std::sync::Arc::new(site);
    config.administration.enabled = false;
    let running = wharf::server::start(config).await.unwrap();
    let addr = running.addr_of("Default FTP Site").unwrap();
    let cert = dir.path().join(".wharf").join("self-signed-cert.pem");
    let pem = std::fs::read(&cert).expect("certificate generated in the state directory");
    use rustls::pki_types::pem::PemObject;
    let der = rustls::pki_types::CertificateDer::from_pem_slice(&pem).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der.clone()).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let mut ftp = Ftp::connect(addr, std::sync::Arc::new(client)).await;
    // SslAllow: clear text works, and TLS is offered.
    let (code, text) = ftp.cmd("FEAT").await;
    assert!(code == 211 && text.contains("AUTH TLS"), "{text}");
    ftp.auth_tls().await;
    assert_eq!(ftp.server_cert.as_ref(), Some(&der));
    ftp.login().await;
    running.shutdown(std::time::Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_reload_keeps_sessions() {
    let pki = Pki::new();
    let server = require_site(&pki).await;
    let mut ftp = Ftp::connect(server.addr, pki.client_config(false, true)).await;
    ftp.auth_tls().await;
    ftp.login().await;
    assert_eq!(ftp.cmd("PBSZ 0").await.0, 200);
    assert_eq!(ftp.cmd("PROT P").await.0, 200);
    let old = wharf::tls::thumbprint(&pki.server_der);
    let new_der = pki.issue_server(&pki.server_cert, &pki.server_key);
    let new = wharf::tls::thumbprint(&new_der);
    let reloaded = server.running.reload_certificates();
    assert_eq!(reloaded.len(), 1);
    assert_eq!(reloaded[0].1.as_ref().unwrap(), &new);
    assert_ne!(old, new);
    // The established session goes on, data connections included.
    assert_eq!(ftp.cmd("NOOP").await.0, 200);
    let (_, data, last) = ftp.transfer("LIST", true, None, None).await;
    assert_eq!(last.0, 226, "{data:?}");
    assert_eq!(
        wharf::tls::thumbprint(ftp.server_cert.as_ref().unwrap()),
        old,
        "the session keeps its certificate"
    );
    // A new session gets the new certificate.
    let mut fresh = Ftp::connect(server.addr, pki.client_config(false, false)).await;
    fresh.auth_tls().await;
    assert_eq!(
        wharf::tls::thumbprint(fresh.server_cert.as_ref().unwrap()),
        new
    );
    fresh.login().await;
    // A broken file keeps the previous certificate.
    std::fs::write(&pki.server_cert, "garbage").unwrap();
    assert!(server.running.reload_certificates()[0].1.is_err());
    let mut again = Ftp::connect(server.addr, pki.client_config(false, false)).await;
    again.auth_tls().await;
    assert_eq!(
        wharf::tls::thumbprint(again.server_cert.as_ref().unwrap()),
        new
    );
}

// ---------------------------------------------------------------------------------------
// The built binary: start-up messages, `config check`, SIGHUP

fn binary_config(dir: &std::path::Path, pki: &Pki, ssl: &str) -> std::path::PathBuf {
    let root = dir.join("root");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("bin.txt"), "from the binary\n").unwrap();
    let certs = cert_attrs(pki);
    let site = Site {
        binding: r#"implicitTls="true""#,
        ssl: &format!("{ssl} {certs}"),
        security: "",
    };
    let text = ConfigXml::new(vec![ftps_site("bin", "root", site)])
        .rules(r#"<add accessType="Allow" users="*" permissions="Read" />"#)
        .xml();
    let path = dir.join("applicationHost.config");
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_check_reports_certificates_and_missing_ones() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let path = binary_config(dir.path(), &pki, REQUIRE);
    let wharf = env!("CARGO_BIN_EXE_wharf");
    let (ok, out, err) = run(wharf, &["config", "check", path.to_str().unwrap()], None).await;
    assert!(ok, "{out}\n{err}");
    let thumbprint = wharf::tls::thumbprint(&pki.server_der);
    assert!(out.contains(&thumbprint), "{out}");
    // A require policy without certificate: a clear warning (and still valid).
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace(&cert_attrs(&pki), "");
    std::fs::write(&path, text).unwrap();
    let (ok, out, err) = run(wharf, &["config", "check", path.to_str().unwrap()], None).await;
    assert!(ok, "{out}\n{err}");
    assert!(
        err.contains("requires TLS") && err.contains("no certificate"),
        "{err}"
    );
    // A certificate file that does not load: an error.
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "<ssl ",
        r#"<ssl certificateFile="missing.crt" privateKeyFile="missing.key" "#,
    );
    std::fs::write(&path, text).unwrap();
    let (ok, out, err) = run(wharf, &["config", "check", path.to_str().unwrap()], None).await;
    assert!(!ok, "{out}\n{err}");
    assert!(err.contains("missing.crt"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_serves_implicit_ftps_and_reloads_certificates_on_sighup() {
    use tokio::io::AsyncBufReadExt;
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let path = binary_config(dir.path(), &pki, REQUIRE);
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_wharf"))
        .args(["serve", "--config", path.to_str().unwrap()])
        .env("WHARF_STATE_DIR", dir.path().join("state"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut addr = None;
    let mut ftps_line = None;
    while addr.is_none() || ftps_line.is_none() {
        let line = tokio::time::timeout(STEP, lines.next_line())
            .await
            .expect("start-up output")
            .unwrap()
            .expect("wharf exited");
        if let Some(rest) = line.split("listening on ftps://").nth(1) {
            addr = Some(rest.trim().parse::<std::net::SocketAddr>().unwrap());
        }
        if line.contains("offers FTPS") {
            ftps_line = Some(line);
        }
    }
    let addr = addr.unwrap();
    let old = wharf::tls::thumbprint(&pki.server_der);
    assert!(ftps_line.unwrap().contains(&old));
    let mut first = Ftp::connect_implicit(addr, pki.client_config(false, true)).await;
    first.login().await;
    assert_eq!(
        wharf::tls::thumbprint(first.server_cert.as_ref().unwrap()),
        old
    );

    let new = wharf::tls::thumbprint(&pki.issue_server(&pki.server_cert, &pki.server_key));
    let pid = child.id().unwrap() as libc::pid_t;
    // SAFETY: kill(2) on our own child with a valid signal number has no memory effects.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::kill(pid, libc::SIGHUP) };
    assert_eq!(rc, 0);
    let mut seen = None;
    for _ in 0..200 {
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        let mut probe = Ftp::connect_implicit(addr, pki.client_config(false, false)).await;
        let got = wharf::tls::thumbprint(probe.server_cert.as_ref().unwrap());
        let _ = probe.cmd("QUIT").await;
        if got == new {
            seen = Some(got);
            break;
        }
    }
    assert_eq!(seen.as_deref(), Some(new.as_str()), "SIGHUP did not reload");
    // The first session is still there and still works, data connections included.
    assert_eq!(first.cmd("NOOP").await.0, 200);
    assert_eq!(first.cmd("TYPE I").await.0, 200);
    let (_, data, last) = first.transfer("RETR bin.txt", true, None, None).await;
    assert_eq!(last.0, 226);
    assert_eq!(data.unwrap(), b"from the binary\n");
    if require_tool("curl") {
        let url = format!("ftps://{addr}/bin.txt");
        let ca = pki.ca_pem.display().to_string();
        let (ok, out, err) = run(
            "curl",
            &["-sS", "--cacert", &ca, "-u", "anonymous:x", &url],
            None,
        )
        .await;
        assert!(ok, "{err}");
        assert_eq!(out, "from the binary\n");
    }
    child.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls12_active_mode_and_resumption_with_ftplib_curl_and_lftp() {
    if !require_tool("python3") || !require_tool("curl") {
        return;
    }
    let pki = Pki::new();
    // Resumption required: TLS 1.2 session IDs must resume too, on active (PORT/EPRT)
    // data connections as well, where Wharf connects and still runs the server side.
    let server = start(Site {
        binding: "",
        ssl: &format!(
            r#"{} requireDataChannelResumption="true""#,
            ssl(REQUIRE, &pki)
        ),
        security: "",
    })
    .await;
    let script = format!(
        r#"
import ftplib, io, ssl

class ResumingFTP_TLS(ftplib.FTP_TLS):
    # ftplib does not offer the control session on data connections; this is the usual fix.
    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
            assert conn.session_reused, "data connection did not resume"
        return conn, size

ctx = ssl.create_default_context(cafile={ca:?})
ctx.maximum_version = ssl.TLSVersion.TLSv1_2
f = ResumingFTP_TLS(context=ctx)
f.connect("127.0.0.1", {port})
f.login("anonymous", "py@example")
f.prot_p()
assert f.sock.version() == "TLSv1.2", f.sock.version()
f.set_pasv(False)
data = b"active and protected\n" * 1000
f.storbinary("STOR active.bin", io.BytesIO(data))
out = io.BytesIO()
f.retrbinary("RETR active.bin", out.write)
assert out.getvalue() == data
f.set_pasv(True)
assert "active.bin" in f.nlst()
print(f.sendcmd("STAT"))
f.quit()
print("ok")
"#,
        ca = pki.ca_pem.display().to_string(),
        port = server.addr.port()
    );
    let (ok, out, err) = run("python3", &["-"], Some(&script)).await;
    assert!(ok, "ftplib: {out}\n{err}");
    assert!(out.contains("TLSv1.2"), "{out}");
    assert!(out.trim_end().ends_with("ok"), "{out}");
    let ended = server.running.registry().ended(None);
    assert!(
        ended.iter().any(|e| e
            .record
            .tls
            .as_ref()
            .is_some_and(|t| t.data_channel_resumed && t.protocol_version == "TLSv1.2")),
        "{ended:#?}"
    );

    let ca = pki.ca_pem.display().to_string();
    let url = format!("ftp://127.0.0.1:{}/active.bin", server.addr.port());
    let (ok, out, err) = run(
        "curl",
        &[
            "-sS",
            "--ssl-reqd",
            "--tls-max",
            "1.2",
            "--cacert",
            &ca,
            "--user",
            "anonymous:x",
            &url,
        ],
        None,
    )
    .await;
    // (curl 7.88 does not start TLS on active-mode data connections: passive here.)
    assert!(ok, "curl TLS 1.2: {err}");
    assert_eq!(out.len(), "active and protected\n".len() * 1000);
    if require_tool("lftp") {
        for priority in ["NORMAL", "NORMAL:-VERS-TLS1.3"] {
            let script = format!(
                "set cmd:fail-exit yes; set net:max-retries 1; set net:timeout 15; \
                 set ssl:verify-certificate no; set ftp:ssl-force true; \
                 set ftp:ssl-protect-data true; set ssl:priority {priority}; \
                 set ftp:passive-mode off; open -u anonymous,x ftp://127.0.0.1:{}; ls",
                server.addr.port()
            );
            let (ok, out, err) = run("lftp", &["-c", &script], None).await;
            assert!(
                ok,
                "lftp ({priority}) with requireDataChannelResumption: {out}\n{err}"
            );
            assert!(out.contains("active.bin"), "{out}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_is_not_held_up_by_a_stalled_tls_handshake() {
    let pki = Pki::new();
    let server = require_site(&pki).await;
    let mut ftp = Ftp::connect(server.addr, pki.client_config(false, true)).await;
    // AUTH TLS accepted, then the client never sends its ClientHello.
    assert_eq!(ftp.cmd("AUTH TLS").await.0, 234);
    let id = records(&server)[0].session_id;
    let started = Instant::now();
    server
        .running
        .registry()
        .terminate(id, "test", Some("stalled".into()));
    let ended = tokio::time::timeout(STEP, async {
        loop {
            if let Some(e) = server.running.registry().ended_session(id) {
                return e;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the session did not end");
    assert_eq!(ended.end_reason, wharf::registry::EndReason::Terminated);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}
