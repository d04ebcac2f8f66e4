//! Revoking an intermediate: it stops issuing at once (in the CLI and in a running
//! `serve`), the root's CRL lists it so `openssl verify -crl_check_all` rejects what it
//! issued, and the root's OCSP responder answers "revoked" for it.

mod common;

use std::time::Duration;

use common::{api, assert_ok, http_get, run_tool, tool, wait_until, Auth, Pki};

#[test]
fn a_revoked_intermediate_stops_issuing_and_is_listed_by_its_root() {
    let Some(openssl) = tool("openssl") else { return };
    let Some(curl) = tool("curl") else { return };
    let (pki, listen) = Pki::on_port(&[]);
    let server = pki.serve_at(&listen);
    pki.ok(&["cert", "issue", "--profile", "device", "--cn", "dev", "--san", "dns:dev.iot.internal", "--out", "dev"]);
    let issuing = pki.json(&["ca", "show", "issuing"])["ca"]["serial"].as_str().unwrap().to_string();

    // A CA certificate is revoked as a CA, not as a certificate; a root not at all.
    let e = pki.fails(&["cert", "revoke", &issuing, "--ca", "root", "--reason", "cACompromise"]);
    assert!(e.contains("ironpki ca revoke issuing"), "{e}");
    let e = pki.fails(&["ca", "revoke", "root", "--reason", "cACompromise"]);
    assert!(e.contains("is a root"), "{e}");
    let e = pki.fails(&["ca", "revoke", "issuing", "--reason", "because"]);
    assert!(e.contains("reason"), "{e}");

    pki.ok(&["ca", "revoke", "issuing", "--reason", "cACompromise"]);
    let cas = pki.json(&["ca", "list"]);
    let status = |name: &str| cas.as_array().unwrap().iter().find(|c| c["name"] == name).unwrap()["status"].clone();
    assert_eq!((status("issuing"), status("root")), ("revoked".into(), "active".into()));
    let e = pki.fails(&["ca", "revoke", "issuing", "--reason", "cACompromise"]);
    assert!(e.contains("already revoked"), "{e}");
    let e = pki.fails(&["cert", "issue", "--profile", "device", "--cn", "late", "--san", "dns:late.iot.internal", "--out", "late"]);
    assert!(e.contains("\"issuing\" is revoked"), "{e}");
    assert!(!pki.path("late").exists());

    // The running server retires it too.
    let (cert, key) = (pki.home().join("admin/fullchain.pem"), pki.home().join("admin/key.pem"));
    let body = serde_json::json!({ "profile": "device", "common_name": "api-late", "sans": ["dns:api-late.iot.internal"] });
    let refused = wait_until(Duration::from_secs(5), || {
        let (status, _, _) = api(&pki, &curl, "POST", &server.api_url("/certificates/issue"), Auth::Cert(&cert, &key), Some(&body));
        status == 400
    });
    assert!(refused.is_some(), "serve kept issuing from a revoked CA");

    // The root's CRL lists it, and openssl rejects the leaf with every CRL of the path.
    let listed = || {
        let (status, _, body) = http_get(&curl, &server.url("/crl/root.crl"));
        status == 200 && ironpki_x509::inspect::summarize_crl(&body).is_ok_and(|c| c.entries.iter().any(|e| e.serial == issuing))
    };
    assert!(wait_until(Duration::from_secs(5), listed).is_some(), "the root's CRL does not list the intermediate");
    let mut crls = String::new();
    for (path, file) in [("/crl/root.crl", "root.crl"), ("/crl/issuing.crl", "issuing.crl")] {
        let (_, _, body) = http_get(&curl, &server.url(path));
        std::fs::write(pki.path(file), body).unwrap();
        crls += &assert_ok(&run_tool(&openssl, &["crl", "-inform", "DER", "-in", file], pki.dir.path()), "openssl crl");
    }
    std::fs::write(pki.path("crls.pem"), crls).unwrap();
    let roots = pki.roots();
    let args = ["verify", "-crl_check_all", "-CAfile", roots.to_str().unwrap(), "-untrusted", "dev/chain.pem", "-CRLfile", "crls.pem", "dev/cert.pem"];
    let out = run_tool(&openssl, &args, pki.dir.path());
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success() && said.contains("certificate revoked"), "{said}");

    // The root's OCSP responder answers for it.
    std::fs::write(pki.path("root.pem"), pki.ok(&["ca", "show", "root", "--pem"])).unwrap();
    let url = server.url("/ocsp");
    let args = ["ocsp", "-issuer", "root.pem", "-cert", "dev/chain.pem", "-url", &url, "-CAfile", roots.to_str().unwrap()];
    let said = assert_ok(&run_tool(&openssl, &args, pki.dir.path()), "openssl ocsp");
    assert!(said.contains("dev/chain.pem: revoked") && said.contains("cACompromise"), "{said}");

    let audit = pki.ok(&["audit", "export"]);
    assert!(audit.contains("\"ca.revoked\"") && audit.contains("\"target\":\"ca:issuing\""), "{audit}");
    assert!(pki.ok(&["audit", "verify"]).contains("intact"));
}
