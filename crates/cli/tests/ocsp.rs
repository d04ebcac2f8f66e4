//! The OCSP responder of `ironpki serve`, driven by `openssl ocsp`: good, then revoked
//! within a second of `ironpki cert revoke` in another process; GET and POST; several
//! certificates at once; pkilint on every status; malformed requests.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{assert_ok, run_tool, tool, wait_until, Pki, Server};

struct Setup {
    pki: Pki,
    server: Server,
    openssl: std::path::PathBuf,
    curl: std::path::PathBuf,
}

fn setup() -> Option<Setup> {
    let (openssl, curl) = (tool("openssl")?, tool("curl")?);
    let pki = Pki::init();
    std::fs::write(pki.path("issuing.pem"), pki.ok(&["ca", "show", "issuing", "--pem"])).unwrap();
    pki.roots();
    let server = pki.serve();
    Some(Setup { pki, server, openssl, curl })
}

impl Setup {
    fn issue(&self, name: &str) -> String {
        let out = self.pki.json(&["cert", "issue", "--profile", "device", "--cn", name, "--san", &format!("dns:{name}.iot.internal"), "--out", name]);
        out["serial"].as_str().unwrap().to_string()
    }

    /// `openssl ocsp` against the server; returns (success, stdout + stderr).
    fn openssl_ocsp(&self, args: &[&str]) -> (bool, String) {
        let url = self.server.url("/ocsp");
        let mut all = vec!["ocsp", "-issuer", "issuing.pem", "-url", &url, "-CAfile", "roots.pem"];
        all.extend_from_slice(args);
        let out = run_tool(&self.openssl, &all, self.pki.dir.path());
        (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
    }

    fn curl(&self, args: &[&str]) -> (u16, Vec<u8>, String) {
        let body = self.pki.path("curl.body");
        let out = Command::new(&self.curl)
            .current_dir(self.pki.dir.path())
            .args(["-s", "-o", body.to_str().unwrap(), "-w", "%{http_code} %{content_type}"])
            .args(args)
            .output()
            .unwrap();
        let meta = String::from_utf8_lossy(&out.stdout).into_owned();
        let status = meta.split(' ').next().unwrap_or("0").parse().unwrap_or(0);
        (status, std::fs::read(&body).unwrap_or_default(), meta)
    }
}

#[test]
fn openssl_sees_good_then_revoked_within_a_second() {
    let Some(s) = setup() else { return };
    let serial = s.issue("dev1");
    let (ok, text) = s.openssl_ocsp(&["-cert", "dev1/cert.pem"]);
    assert!(ok && text.contains("Response verify OK") && text.contains("dev1/cert.pem: good"), "{text}");

    s.pki.ok(&["cert", "revoke", &serial, "--reason", "keyCompromise"]);
    let mut last = String::new();
    let took = wait_until(Duration::from_secs(1), || {
        last = s.openssl_ocsp(&["-cert", "dev1/cert.pem", "-no_nonce"]).1;
        last.contains("dev1/cert.pem: revoked")
    });
    assert!(took.is_some(), "OCSP did not say revoked within 1 s: {last}");
    let (ok, text) = s.openssl_ocsp(&["-cert", "dev1/cert.pem"]);
    assert!(ok && text.contains("Response verify OK") && text.contains("Reason: keyCompromise"), "{text}");

    // The same through GET, as RFC 5019 clients and CDNs use it.
    let (_, text) = s.openssl_ocsp(&["-cert", "dev1/cert.pem", "-no_nonce", "-reqout", "req.der"]);
    assert!(text.contains("revoked"), "{text}");
    let request = std::fs::read(s.pki.path("req.der")).unwrap();
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(&request);
    let url = s.server.url(&format!("/ocsp/{}", encoded.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D")));
    let (status, body, meta) = s.curl(&[&url]);
    assert_eq!(status, 200, "{meta}");
    assert!(meta.contains("application/ocsp-response"), "{meta}");
    std::fs::write(s.pki.path("get.der"), body).unwrap();
    let out = run_tool(&s.openssl, &["ocsp", "-respin", "get.der", "-issuer", "issuing.pem", "-CAfile", "roots.pem", "-cert", "dev1/cert.pem"], s.pki.dir.path());
    let text = assert_ok(&out, "openssl ocsp -respin");
    assert!(text.contains("dev1/cert.pem: revoked"), "{text}");
}

#[test]
fn several_certificates_unknown_serials_and_caching_headers() {
    let Some(s) = setup() else { return };
    s.issue("a");
    s.issue("b");
    let (ok, text) = s.openssl_ocsp(&["-cert", "a/cert.pem", "-cert", "b/cert.pem", "-serial", "0x4242"]);
    assert!(ok, "{text}");
    assert!(text.contains("a/cert.pem: good") && text.contains("b/cert.pem: good") && text.contains("0x4242: unknown"), "{text}");

    let (_, text) = s.openssl_ocsp(&["-cert", "a/cert.pem", "-no_nonce", "-reqout", "a.req"]);
    assert!(text.contains("good"));
    let (status, _, _) = s.curl(&["-D", "headers.txt", "--data-binary", "@a.req", "-H", "Content-Type: application/ocsp-request", &s.server.url("/ocsp")]);
    assert_eq!(status, 200);
    let headers = std::fs::read_to_string(s.pki.path("headers.txt")).unwrap().to_ascii_lowercase();
    for h in ["cache-control: max-age=", "etag: ", "last-modified: ", "expires: "] {
        assert!(headers.contains(h), "missing {h}: {headers}");
    }
}

#[test]
fn malformed_and_foreign_requests_get_the_right_error() {
    let Some(s) = setup() else { return };
    s.issue("c");
    let url = s.server.url("/ocsp");
    let ct = "Content-Type: application/ocsp-request";
    let read_status = |body: &[u8]| -> String {
        std::fs::write(s.pki.path("err.der"), body).unwrap();
        let out = run_tool(&s.openssl, &["ocsp", "-respin", "err.der", "-resp_text", "-noverify"], s.pki.dir.path());
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)).to_ascii_lowercase()
    };

    std::fs::write(s.pki.path("garbage.req"), b"this is not DER").unwrap();
    let (status, body, _) = s.curl(&["--data-binary", "@garbage.req", "-H", ct, &url]);
    assert_eq!(status, 200);
    assert!(read_status(&body).contains("malformedrequest"));

    let (_, text) = s.openssl_ocsp(&["-cert", "c/cert.pem", "-no_nonce", "-reqout", "c.req"]);
    assert!(text.contains("good"));
    let full = std::fs::read(s.pki.path("c.req")).unwrap();
    std::fs::write(s.pki.path("trunc.req"), &full[..full.len() / 2]).unwrap();
    let (status, body, _) = s.curl(&["--data-binary", "@trunc.req", "-H", ct, &url]);
    assert_eq!(status, 200);
    assert!(read_status(&body).contains("malformedrequest"));

    let (status, body, meta) = s.curl(&["--data-binary", "@c.req", "-H", "Content-Type: text/plain", &url]);
    assert_eq!(status, 415, "{meta}");
    assert!(String::from_utf8_lossy(&body).contains("urn:ironpki:problem:bad-content-type"));

    std::fs::write(s.pki.path("big.req"), vec![0x30u8; 100_000]).unwrap();
    let (status, body, _) = s.curl(&["--data-binary", "@big.req", "-H", ct, &url]);
    assert_eq!(status, 413);
    assert!(String::from_utf8_lossy(&body).contains("too-large"));

    let (status, body, _) = s.curl(&[&s.server.url("/ocsp/%%%not-base64%%%")]);
    assert_eq!(status, 200);
    assert!(read_status(&body).contains("malformedrequest"));

    // A certificate of another CA: unauthorized.
    let other = Pki::new();
    other.ok(&["init", "--name", "Elsewhere"]);
    std::fs::write(s.pki.path("other-issuing.pem"), other.ok(&["ca", "show", "issuing", "--pem"])).unwrap();
    let out = run_tool(&s.openssl, &["ocsp", "-issuer", "other-issuing.pem", "-serial", "0x01", "-url", &url, "-noverify"], s.pki.dir.path());
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)).to_ascii_lowercase();
    assert!(text.contains("unauthorized"), "{text}");

    // The server is still answering.
    let (ok, text) = s.openssl_ocsp(&["-cert", "c/cert.pem"]);
    assert!(ok && text.contains("c/cert.pem: good"), "{text}");
}

#[test]
fn pkilint_finds_nothing_in_good_revoked_and_unknown_responses() {
    let Some(pkilint) = tool("lint_ocsp_response") else { return };
    let Some(s) = setup() else { return };
    let good = s.issue("g");
    let bad = s.issue("r");
    s.pki.ok(&["cert", "revoke", &bad, "--reason", "superseded"]);
    let _ = good;
    let cases = [("good.der", vec!["-cert", "g/cert.pem"]), ("revoked.der", vec!["-cert", "r/cert.pem"]), ("unknown.der", vec!["-serial", "0x7777"])];
    for (file, args) in cases {
        let mut all = args.clone();
        all.extend(["-respout", file]);
        let deadline_ok = wait_until(Duration::from_secs(2), || {
            let (ok, text) = s.openssl_ocsp(&all);
            ok && (file != "revoked.der" || text.contains("revoked"))
        });
        assert!(deadline_ok.is_some(), "{file}");
        let out = run_tool(&pkilint, &["lint", "-s", "WARNING", file], s.pki.dir.path());
        let findings = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && findings.trim().is_empty(), "pkilint {file}: {findings}");
    }
}

#[test]
fn ocsp_check_reports_good_then_revoked() {
    let Some(s) = setup() else { return };
    let serial = s.issue("chk");
    let url = s.server.url("/ocsp");
    let out = s.pki.json(&["ocsp", "check", "chk/cert.pem", "--url", &url]);
    assert_eq!(out["status"], "good");
    assert_eq!(out["signed_by"], "delegated responder");
    s.pki.ok(&["cert", "revoke", &serial, "--reason", "affiliationChanged"]);
    let mut last = String::new();
    let revoked = wait_until(Duration::from_secs(1), || {
        let o = s.pki.run(&["ocsp", "check", "chk/cert.pem", "--url", &url]);
        last = String::from_utf8_lossy(&o.stdout).into_owned();
        !o.status.success() && last.contains("revoked at") && last.contains("affiliationChanged")
    });
    assert!(revoked.is_some(), "{last}");
    let err = s.pki.fails(&["ocsp", "check", "chk/cert.pem", "--url", "http://127.0.0.1:1/ocsp"]);
    assert!(err.contains("127.0.0.1:1"), "{err}");
}
