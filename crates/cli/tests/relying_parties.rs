//! Independent relying parties follow the revocation information in what we issue,
//! fetched from `serve`: pyhanko-certvalidator requiring revocation information for
//! every certificate of the path (and CRL and OCSP together), and `openssl verify
//! -crl_check_all` with the full and delta CRLs. The CRLs' caching headers never let a
//! cache keep one past the next one's publication.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{assert_ok, http_get, lint_crl, python_with, run_tool, test_script, tool, wait_until, Pki};

fn issue(pki: &Pki, name: &str) -> String {
    let out = pki.json(&["cert", "issue", "--profile", "device", "--cn", name, "--san", &format!("dns:{name}.iot.internal"), "--out", name]);
    out["serial"].as_str().unwrap().to_string()
}

fn text_of(openssl: &Path, pki: &Pki, file: &Path) -> String {
    assert_ok(&run_tool(openssl, &["x509", "-in", file.to_str().unwrap(), "-noout", "-text"], pki.dir.path()), "openssl x509")
}

fn max_age(headers: &str) -> i64 {
    let line = headers.lines().find(|l| l.to_ascii_lowercase().starts_with("cache-control:")).expect("Cache-Control");
    let value = line.split("max-age=").nth(1).expect("max-age");
    value.split(',').next().unwrap().trim().parse().expect("max-age number")
}

#[test]
fn intermediates_and_leaves_point_at_their_revocation_information() {
    let Some(openssl) = tool("openssl") else { return };
    let (pki, listen) = Pki::on_port(&[]);
    let base = format!("http://{listen}");
    issue(&pki, "sensor");
    let inter = text_of(&openssl, &pki, &pki.home().join("ca/issuing/cert.pem"));
    assert!(inter.contains(&format!("URI:{base}/crl/root.crl")), "the root's CRL: {inter}");
    assert!(inter.contains(&format!("OCSP - URI:{base}/ocsp")), "OCSP for the root's subordinates: {inter}");
    assert!(inter.contains(&format!("CA Issuers - URI:{base}/ca/root.crt")), "the root certificate: {inter}");
    assert!(!inter.contains("Freshest CRL"), "the root publishes full CRLs only: {inter}");
    let leaf = text_of(&openssl, &pki, &pki.path("sensor/cert.pem"));
    assert!(leaf.contains("Freshest CRL") && leaf.contains(&format!("URI:{base}/crl/issuing-delta.crl")), "{leaf}");
    assert!(leaf.contains(&format!("URI:{base}/crl/issuing.crl")), "{leaf}");

    // With delta CRLs off, nothing names one.
    let (quiet, _) = Pki::on_port(&[("delta_crl: true", "delta_crl: false")]);
    issue(&quiet, "sensor");
    let leaf = text_of(&openssl, &quiet, &quiet.path("sensor/cert.pem"));
    assert!(!leaf.contains("Freshest CRL") && leaf.contains("issuing.crl"), "{leaf}");
    let err = quiet.fails(&["crl", "generate", "--delta", "--out", "d.crl"]);
    assert!(err.contains("publishes no delta CRLs"), "{err}");
}

#[test]
fn independent_validators_check_every_certificate_of_the_path() {
    let Some(openssl) = tool("openssl") else { return };
    let Some(curl) = tool("curl") else { return };
    let Some(python) = python_with("pyhanko_certvalidator") else { return };
    let Some(pkilint) = tool("lint_crl") else { return };
    let (pki, listen) = Pki::on_port(&[]);
    let server = pki.serve_at(&listen);
    let (_good, bad) = (issue(&pki, "good"), issue(&pki, "bad"));
    pki.ok(&["cert", "revoke", &bad, "--reason", "keyCompromise"]);
    let listed = || {
        let (status, _, body) = http_get(&curl, &server.url("/crl/issuing.crl"));
        status == 200 && ironpki_x509::inspect::summarize_crl(&body).is_ok_and(|c| c.entries.iter().any(|e| e.serial == bad))
    };
    assert!(wait_until(Duration::from_secs(5), listed).is_some(), "the CRL did not list the revocation");

    // What serve does on its own is recorded as the replica's.
    let audit = pki.ok(&["audit", "export"]);
    let published = audit.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()).find(|e| e["action"] == "crl.published");
    assert!(published.is_some_and(|e| e["actor"].as_str().unwrap().starts_with("serve:")), "{audit}");

    let roots = pki.roots();
    let script = test_script("pyhanko_validate.py");
    for mode in ["require", "both-ee", "both-all"] {
        let run = |dir: &str| {
            let args = [script.to_str().unwrap(), mode, roots.to_str().unwrap(), &format!("{dir}/chain.pem"), &format!("{dir}/cert.pem")];
            let out = run_tool(&python, &args, pki.dir.path());
            (out.status.code(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
        };
        let (code, said) = run("good");
        assert_eq!((code, said.trim()), (Some(0), "valid"), "{mode}: the good certificate");
        let (code, said) = run("bad");
        assert_eq!(code, Some(2), "{mode}: the revoked certificate: {said}");
    }

    // openssl with every CRL of the path: the root's, and the intermediate's full and delta.
    let mut crls = String::new();
    for (path, file) in [("/crl/root.crl", "root.crl"), ("/crl/issuing.crl", "full.crl"), ("/crl/issuing-delta.crl", "delta.crl")] {
        let (status, headers, body) = http_get(&curl, &server.url(path));
        assert_eq!(status, 200, "{path}");
        std::fs::write(pki.path(file), &body).unwrap();
        let summary = ironpki_x509::inspect::summarize_crl(&body).unwrap();
        let life = summary.next_update.unwrap().unix_timestamp() - summary.this_update.unix_timestamp();
        let age = max_age(&headers);
        match file {
            "delta.crl" => assert!(life == 3600 && age > 0 && age <= 1800, "{path}: life {life}, max-age {age}"),
            "root.crl" => assert!(life == 180 * 86_400 && age > 0 && age <= 86_400, "{path}: life {life}, max-age {age}"),
            _ => assert!(life == 7 * 86_400 && age > 0 && age <= 86_400, "{path}: life {life}, max-age {age}"),
        }
        lint_crl(&pkilint, pki.dir.path(), file);
        crls += &assert_ok(&run_tool(&openssl, &["crl", "-inform", "DER", "-in", file], pki.dir.path()), "openssl crl");
    }
    std::fs::write(pki.path("crls.pem"), crls).unwrap();
    let verify = |dir: &str| {
        let (chain, cert) = (format!("{dir}/chain.pem"), format!("{dir}/cert.pem"));
        let args = ["verify", "-crl_check_all", "-use_deltas", "-CAfile", roots.to_str().unwrap(), "-untrusted", &chain, "-CRLfile", "crls.pem", &cert];
        run_tool(&openssl, &args, pki.dir.path())
    };
    assert_ok(&verify("good"), "openssl verify -crl_check_all, good");
    let out = verify("bad");
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success() && said.contains("certificate revoked"), "{said}");
}
