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
        status == 200 && {
            std::fs::write(pki.path("poll.crl"), &body).unwrap();
            pki.json(&["crl", "show", "poll.crl"])["entries"].as_array().unwrap().iter().any(|e| e["serial"] == serial)
        }
    };
    assert!(!listed("/crl/issuing.crl"), "a CRL is published before the first request, without the serial");

    pki.ok(&["cert", "revoke", &serial, "--reason", "keyCompromise"]);
    let took = wait_until(Duration::from_secs(1), || listed("/crl/issuing.crl"));
    assert!(took.is_some(), "the full CRL did not list the revocation within 1 s");
}
