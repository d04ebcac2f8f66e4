//! CRLs: openssl parses and enforces them, pkilint finds nothing, numbers increase,
//! deltas hold what changed since their base; bulk revocation.

mod common;

use common::{assert_ok, lint_crl, run_tool, tool, Pki};

fn issue(pki: &Pki, name: &str) -> String {
    let out = pki.json(&["cert", "issue", "--profile", "device", "--cn", name, "--san", &format!("dns:{name}.iot.internal"), "--out", name]);
    out["serial"].as_str().unwrap().to_string()
}

#[test]
fn full_and_delta_crls_work_with_openssl_and_pkilint() {
    let Some(openssl) = tool("openssl") else { return };
    let Some(pkilint) = tool("lint_crl") else { return };
    let pki = Pki::init();
    let d = pki.dir.path();
    let (good, bad, later) = (issue(&pki, "good"), issue(&pki, "bad"), issue(&pki, "later"));
    pki.ok(&["cert", "revoke", &bad, "--reason", "keyCompromise"]);

    let full = pki.json(&["crl", "generate", "--out", "full.crl"]);
    assert_eq!(full["number"], 1);
    assert_eq!(full["entries"], 1);
    let text = assert_ok(&run_tool(&openssl, &["crl", "-inform", "DER", "-in", "full.crl", "-noout", "-text"], d), "openssl crl");
    assert!(text.contains(&format!("Serial Number: {}", bad.to_uppercase())), "{text}");
    assert!(text.contains("Key Compromise") && text.contains("X509v3 CRL Number: \n                1"), "{text}");
    assert!(text.contains("URI:http://127.0.0.1:8080/crl/issuing-delta.crl"), "Freshest CRL: {text}");
    lint_crl(&pkilint, pki.dir.path(), "full.crl");

    // openssl verify with the CRL: the good certificate passes, the revoked one does not.
    let roots = pki.roots();
    std::fs::write(pki.path("issuing.pem"), pki.ok(&["ca", "show", "issuing", "--pem"])).unwrap();
    pki.ok(&["crl", "generate", "--out", "full.pem", "--pem"]);
    let verify = |cert: &str| {
        run_tool(&openssl, &["verify", "-crl_check", "-CAfile", roots.to_str().unwrap(), "-untrusted", "issuing.pem", "-CRLfile", "full.pem", cert], d)
    };
    assert_ok(&verify("good/cert.pem"), "verify good");
    let out = verify("bad/cert.pem");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("certificate revoked") || String::from_utf8_lossy(&out.stderr).contains("certificate revoked"));

    // A delta CRL lists what was revoked after its base, and names the base.
    pki.ok(&["cert", "revoke", &later, "--reason", "superseded", "--invalidity-date", "2026-01-02T03:04:05Z"]);
    let delta = pki.json(&["crl", "generate", "--delta", "--out", "delta.crl"]);
    assert_eq!(delta["number"], 3, "numbers are shared by full and delta CRLs");
    assert_eq!(delta["base_number"], 2);
    let text = assert_ok(&run_tool(&openssl, &["crl", "-inform", "DER", "-in", "delta.crl", "-noout", "-text"], d), "openssl crl delta");
    assert!(text.contains("Delta CRL Indicator: critical") && text.contains(&later.to_uppercase()), "{text}");
    assert!(!text.contains(&bad.to_uppercase()), "the base already lists it: {text}");
    assert!(text.contains("Invalidity Date"), "{text}");
    lint_crl(&pkilint, pki.dir.path(), "delta.crl");

    let shown = pki.json(&["crl", "show", "delta.crl"]);
    assert_eq!(shown["delta_base"], "2");
    assert_eq!(shown["entries"][0]["serial"], later);
    let _ = good;

    let err = pki.fails(&["crl", "show", "issuing.pem"]);
    assert!(err.contains("issuing.pem") && err.contains("CRL"), "{err}");
}

#[test]
fn delta_needs_a_full_crl_first() {
    let pki = Pki::init();
    let err = pki.fails(&["crl", "generate", "--delta", "--out", "d.crl"]);
    assert!(err.contains("no full CRL yet"), "{err}");
    assert!(!pki.path("d.crl").exists());
}

#[test]
fn bulk_revocation_by_profile_file_and_issuer() {
    let pki = Pki::init();
    let serials: Vec<String> = (0..5).map(|i| issue(&pki, &format!("unit{i}"))).collect();
    let server = pki.json(&["cert", "issue", "--profile", "server", "--cn", "api.internal", "--out", "api"]);

    std::fs::write(pki.path("batch.txt"), format!("# compromised batch\n{}\n{}\n", serials[0], serials[1])).unwrap();
    let out = pki.json(&["cert", "revoke", "--serials-file", "batch.txt", "--reason", "keyCompromise"]);
    assert_eq!(out["revoked"].as_array().unwrap().len(), 2);

    let out = pki.json(&["cert", "revoke", "--all", "--profile", "device", "--reason", "cessationOfOperation"]);
    assert_eq!(out["selected"], 3, "the two already revoked are not selected again");
    let revoked = pki.json(&["cert", "list", "--status", "revoked"]);
    assert_eq!(revoked.as_array().unwrap().len(), 5);
    assert_eq!(pki.json(&["cert", "list", "--status", "valid", "--profile", "server"])[0]["serial"], server["serial"]);

    let out = pki.json(&["cert", "revoke", "--all", "--issued-by", "issuing", "--reason", "cACompromise"]);
    assert_eq!(out["revoked"].as_array().unwrap().len(), 2, "the server certificate and init's admin certificate");
    let audit = pki.ok(&["audit", "export"]);
    assert_eq!(audit.matches("\"cert.revoked\"").count(), 7, "one audit entry per certificate");
    assert!(pki.ok(&["audit", "verify"]).contains("intact"));

    let err = pki.fails(&["cert", "revoke", "--all", "--reason", "superseded"]);
    assert!(err.contains("--issued-by") || err.contains("--profile") || err.contains("required"), "{err}");
}
