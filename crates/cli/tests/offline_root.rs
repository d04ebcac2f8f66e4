//! An offline root still publishes: at a key ceremony (`ca sign-crl`) it signs its CRL
//! and a delegated OCSP responder certificate, which `serve` publishes; `/healthz` warns
//! before the CRL lapses.

mod common;

use std::time::Duration;

use common::{assert_ok, http_get, run_tool, tool, wait_until, Pki};

/// An offline-root PKI whose URLs point at a free loopback port.
fn offline_pki() -> (Pki, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let pki = Pki::new();
    let config = ironpki_config::template("Vault Org").replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"));
    std::fs::write(pki.path("c.yaml"), config).unwrap();
    pki.ok(&["init", "--config", "c.yaml", "--root-offline", "vault"]);
    (pki, format!("127.0.0.1:{port}"))
}

fn health(curl: &std::path::Path, server: &common::Server) -> (u16, serde_json::Value) {
    let (status, _, body) = http_get(curl, &server.url("/healthz"));
    (status, serde_json::from_slice(&body).unwrap())
}

#[test]
fn the_key_ceremony_signs_what_serve_publishes_for_an_offline_root() {
    let Some(openssl) = tool("openssl") else { return };
    let Some(curl) = tool("curl") else { return };
    let (pki, listen) = offline_pki();
    pki.ok(&["cert", "issue", "--profile", "server", "--cn", "web.internal", "--out", "web"]);

    let server = pki.serve_at(&listen);
    let (status, body) = health(&curl, &server);
    assert_eq!(status, 200, "{body}");
    assert!(body["warnings"][0].as_str().unwrap().contains("has no CRL"), "{body}");
    assert_eq!(http_get(&curl, &server.url("/crl/root.crl")).0, 404);
    drop(server);

    // The ceremony: wrong places are refused and change nothing.
    let e = pki.fails(&["ca", "sign-crl", "--ca", "issuing", "--key-dir", "vault"]);
    assert!(e.contains("online"), "{e}");
    let e = pki.fails(&["ca", "sign-crl", "--ca", "root", "--key-dir", "nowhere"]);
    assert!(e.contains("nowhere"), "{e}");
    let done = pki.json(&["ca", "sign-crl", "--ca", "root", "--key-dir", "vault", "--next-update", "20d"]);
    assert_eq!(done["crl"]["next_update"].as_i64().unwrap() - done["crl"]["this_update"].as_i64().unwrap(), 20 * 86_400);
    let key = pki.home().join("ca/root/ocsp-responder.key");
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&key).unwrap().permissions()) & 0o777, 0o600);
    assert!(std::fs::read_to_string(&key).unwrap().contains("ENCRYPTED PRIVATE KEY"));

    let server = pki.serve_at(&listen);
    let (status, body) = health(&curl, &server);
    assert_eq!(status, 200, "{body}");
    let warning = body["warnings"][0].as_str().unwrap();
    assert!(warning.contains("lapses in 20 days") || warning.contains("lapses in 19 days"), "{body}");

    // openssl checks every CRL of the path, the root's from the ceremony.
    let roots = pki.roots();
    let fetch_crls = || {
        let mut crls = String::new();
        for (path, file) in [("/crl/root.crl", "root.crl"), ("/crl/issuing.crl", "issuing.crl")] {
            let (status, _, body) = http_get(&curl, &server.url(path));
            assert_eq!(status, 200, "{path}");
            std::fs::write(pki.path(file), body).unwrap();
            crls += &assert_ok(&run_tool(&openssl, &["crl", "-inform", "DER", "-in", file], pki.dir.path()), "openssl crl");
        }
        std::fs::write(pki.path("crls.pem"), crls).unwrap();
        let args = ["verify", "-crl_check_all", "-CAfile", roots.to_str().unwrap(), "-untrusted", "web/chain.pem", "-CRLfile", "crls.pem", "web/cert.pem"];
        run_tool(&openssl, &args, pki.dir.path())
    };
    assert_ok(&fetch_crls(), "openssl verify -crl_check_all");

    // The ceremony's responder answers for the root's subordinates.
    std::fs::write(pki.path("root.pem"), pki.ok(&["ca", "show", "root", "--pem"])).unwrap();
    let url = server.url("/ocsp");
    let ocsp = |cert: &str| {
        let args = ["ocsp", "-issuer", "root.pem", "-cert", cert, "-url", &url, "-CAfile", roots.to_str().unwrap(), "-respout", "root-ocsp.der"];
        assert_ok(&run_tool(&openssl, &args, pki.dir.path()), "openssl ocsp")
    };
    assert!(ocsp("web/chain.pem").contains("web/chain.pem: good"));

    // pkilint finds nothing in what the ceremony signed, nor in its responder's answers.
    let responder = pki.home().join("ca/root/ocsp-responder.pem");
    for (linter, args) in [
        ("lint_crl", vec!["lint", "-t", "CRL", "-p", "PKIX", "-s", "WARNING", "root.crl"]),
        ("lint_pkix_cert", vec!["lint", "-s", "WARNING", responder.to_str().unwrap()]),
        ("lint_ocsp_response", vec!["lint", "-s", "WARNING", "root-ocsp.der"]),
    ] {
        let Some(pkilint) = tool(linter) else { return };
        let out = run_tool(&pkilint, &args, pki.dir.path());
        let findings = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && findings.trim().is_empty(), "{linter}: {findings}");
    }

    // Revoking the intermediate needs the next ceremony; a running serve picks its CRL up.
    pki.ok(&["ca", "revoke", "issuing", "--reason", "keyCompromise"]);
    pki.ok(&["ca", "sign-crl", "--ca", "root", "--key-dir", "vault"]);
    let issuing = pki.json(&["ca", "show", "issuing"])["ca"]["serial"].as_str().unwrap().to_string();
    let listed = || {
        let (_, _, body) = http_get(&curl, &server.url("/crl/root.crl"));
        ironpki_x509::inspect::summarize_crl(&body).is_ok_and(|c| c.entries.iter().any(|e| e.serial == issuing))
    };
    assert!(wait_until(Duration::from_secs(5), listed).is_some(), "serve did not pick up the ceremony's CRL");
    let out = fetch_crls();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success() && said.contains("certificate revoked"), "{said}");
    assert!(ocsp("web/chain.pem").contains("web/chain.pem: revoked"));
    let (_, body) = health(&curl, &server);
    assert!(body["warnings"].as_array().unwrap().is_empty(), "the new CRL is good for 180 days: {body}");
    assert!(pki.ok(&["audit", "verify"]).contains("intact"));
}
