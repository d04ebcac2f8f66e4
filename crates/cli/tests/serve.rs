//! `ironpki serve`: CRLs, CA certificates and the trust bundle over HTTP, and revocations
//! from another process reaching the served CRL within a second.

mod common;

use std::time::Duration;

use common::{assert_ok, http_get, run_tool, tool, wait_until, Pki};

#[test]
fn serves_crls_and_ca_certificates() {
    let (Some(curl), Some(openssl)) = (tool("curl"), tool("openssl")) else { return };
    let pki = Pki::init();
    let good = pki.json(&["cert", "issue", "--profile", "device", "--cn", "a", "--san", "dns:a.iot.internal", "--out", "a"]);
    let server = pki.serve();

    let (status, headers, crl) = http_get(&curl, &server.url("/crl/issuing.crl"));
    assert_eq!(status, 200, "{headers}");
    let headers = headers.to_ascii_lowercase();
    assert!(headers.contains("content-type: application/pkix-crl"), "{headers}");
    assert!(headers.contains("cache-control: max-age=") && headers.contains("etag: ") && headers.contains("expires: "), "{headers}");
    std::fs::write(pki.path("served.crl"), &crl).unwrap();
    assert_ok(&run_tool(&openssl, &["crl", "-inform", "DER", "-in", "served.crl", "-noout"], pki.dir.path()), "openssl crl");
    let (status, _, delta) = http_get(&curl, &server.url("/crl/issuing-delta.crl"));
    assert_eq!(status, 200);
    std::fs::write(pki.path("delta.crl"), &delta).unwrap();
    assert!(pki.json(&["crl", "show", "delta.crl"])["delta_base"].is_string());

    // The URLs stamped into certificates point at this server's paths.
    let text = assert_ok(&run_tool(&openssl, &["x509", "-in", "a/cert.pem", "-noout", "-text"], pki.dir.path()), "x509");
    assert!(text.contains("/crl/issuing.crl") && text.contains("/ca/issuing.crt"), "{text}");
    let (status, _, der) = http_get(&curl, &server.url("/ca/issuing.crt"));
    assert_eq!(status, 200);
    let pem = pki.ok(&["ca", "show", "issuing", "--pem"]);
    assert_eq!(ironpki_x509::pem::one(pem.as_bytes(), "CERTIFICATE", "cert").unwrap(), der);
    let (status, _, roots) = http_get(&curl, &server.url("/roots.pem"));
    assert_eq!(status, 200);
    assert_eq!(String::from_utf8(roots).unwrap(), pki.ok(&["ca", "roots"]));

    let (status, headers, body) = http_get(&curl, &server.url("/crl/nosuch.crl"));
    assert_eq!(status, 404);
    assert!(headers.to_ascii_lowercase().contains("application/problem+json"));
    let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(problem["type"], "urn:ironpki:problem:unknown-ca");
    let (status, _, _) = http_get(&curl, &server.url("/nothing/here"));
    assert_eq!(status, 404);
    let (status, _, body) = http_get(&curl, &server.url("/healthz"));
    assert_eq!(status, 200);
    let health: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["crls"]["issuing"]["full"]["expired"], false);
    let _ = good;
}

#[test]
fn revocation_from_another_process_reaches_the_crl_within_a_second() {
    let Some(curl) = tool("curl") else { return };
    let pki = Pki::init();
    let cert = pki.json(&["cert", "issue", "--profile", "device", "--cn", "b", "--san", "dns:b.iot.internal", "--out", "b"]);
    let serial = cert["serial"].as_str().unwrap().to_string();
    let server = pki.serve();
    let listed = |path: &str| {
        let (status, _, body) = http_get(&curl, &server.url(path));
        status == 200 && ironpki_x509::inspect::summarize_crl(&body).is_ok_and(|c| c.entries.iter().any(|e| e.serial == serial))
    };
    assert!(!listed("/crl/issuing.crl"), "a CRL is published before the first request, without the serial");

    pki.ok(&["cert", "revoke", &serial, "--reason", "keyCompromise"]);
    let took = wait_until(Duration::from_secs(1), || listed("/crl/issuing.crl"));
    assert!(took.is_some(), "the full CRL did not list the revocation within 1 s");
}

fn pki_on_port(extra: &[(&str, &str)]) -> (Pki, String) {
    Pki::on_port(extra)
}

/// `cert verify --check-revocation` as a relying party outside the PKI runs it: the
/// PKI's roots, no home.
fn verify_as_outsider(pki: &Pki) -> std::process::Output {
    let roots = pki.roots();
    pki.cmd(&["cert", "verify", "v/fullchain.pem", "--roots", roots.to_str().unwrap(), "--check-revocation"])
        .env("IRONPKI_HOME", "/nonexistent")
        .output()
        .unwrap()
}

fn start(pki: &Pki, listen: &str) -> common::Server {
    pki.serve_at(listen)
}

#[test]
fn verify_check_revocation_uses_the_store_then_ocsp_then_crls() {
    if tool("curl").is_none() {
        return;
    }
    // OCSP named in the certificate, checked as an outsider would (no home).
    let (pki, listen) = pki_on_port(&[]);
    let serial = pki.json(&["cert", "issue", "--profile", "device", "--cn", "v", "--san", "dns:v.iot.internal", "--out", "v"])["serial"]
        .as_str()
        .unwrap()
        .to_string();
    let _server = start(&pki, &listen);
    let out = verify_as_outsider(&pki);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("good (OCSP http://"), "{}", String::from_utf8_lossy(&out.stdout));
    let local = pki.ok(&["cert", "verify", "v/cert.pem", "--check-revocation"]);
    assert!(local.contains("revocation: not revoked (this PKI's store)"), "{local}");

    pki.ok(&["cert", "revoke", &serial, "--reason", "keyCompromise"]);
    let e = pki.fails(&["cert", "verify", "v/cert.pem", "--check-revocation"]);
    assert!(e.contains("certificate is revoked since") && e.contains("keyCompromise"), "{e}");
    let refused = wait_until(Duration::from_secs(1), || {
        let out = verify_as_outsider(&pki);
        !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("revoked at")
    });
    assert!(refused.is_some(), "OCSP through --check-revocation did not report the revocation");
    drop(_server);

    // With OCSP turned off, certificates name only the CRL, and the CRL decides.
    let (pki, listen) = pki_on_port(&[("  ocsp: true\n", "  ocsp: false\n")]);
    let serial = pki.json(&["cert", "issue", "--profile", "device", "--cn", "w", "--san", "dns:w.iot.internal", "--out", "v"])["serial"]
        .as_str()
        .unwrap()
        .to_string();
    let _server = start(&pki, &listen);
    let out = verify_as_outsider(&pki);
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("not revoked (CRL http://"), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    pki.ok(&["cert", "revoke", &serial, "--reason", "superseded"]);
    let refused = wait_until(Duration::from_secs(1), || {
        let out = verify_as_outsider(&pki);
        !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("revoked (listed on the CRL)")
    });
    assert!(refused.is_some(), "the CRL through --check-revocation did not report the revocation");
}
