//! The API against its OpenAPI document (schemathesis: property-based requests, every
//! response checked against the document, no 5xx), and the metrics against promtool.

mod common;

use std::process::Command;

use common::cluster::issue_once;
use common::{api, tool, Auth, Pki};

#[test]
fn schemathesis_finds_no_server_error_and_no_response_off_the_document() {
    let (Some(curl), Some(schemathesis)) = (tool("curl"), tool("schemathesis")) else { return };
    let pki = Pki::init();
    let server = pki.serve();
    let (cert, key) = (pki.home().join("admin/fullchain.pem"), pki.home().join("admin/key.pem"));
    let (status, _, served) = api(&pki, &curl, "GET", &server.api_url("/openapi.json"), Auth::None, None);
    let file: serde_json::Value = serde_json::from_str(include_str!("../../server/openapi.json")).expect("document");
    assert_eq!((status, &served), (200, &file), "the served document is the one in the repository");

    // Authenticated as the admin client certificate, so that tokens the stateful phase
    // revokes are never the test's own credentials.
    let out = Command::new(schemathesis)
        .current_dir(pki.dir.path())
        .arg("run")
        .arg(server.api_url("/openapi.json"))
        .args(["--url", &server.tls_base, "--tls-verify"])
        .arg(pki.roots())
        .arg("--request-cert")
        .arg(&cert)
        .arg("--request-cert-key")
        .arg(&key)
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance",
            "--max-examples",
            "20",
        ])
        .env("SCHEMATHESIS_HOOKS", "")
        .output()
        .expect("schemathesis");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "schemathesis found problems:\n{report}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(report.contains("Tested: 16"), "every operation was exercised:\n{report}");
    let cases = report.lines().skip_while(|l| !l.starts_with("Test cases:")).nth(1).unwrap_or_default();
    assert!(cases.contains("passed") && !cases.contains("fail") && !cases.contains("error"), "{report}");
}

#[test]
fn metrics_pass_promtool() {
    let (Some(curl), Some(openssl), Some(promtool)) = (tool("curl"), tool("openssl"), tool("promtool")) else { return };
    let pki = Pki::init();
    let token = pki.operator_token();
    let body = pki.device_request(&openssl, "m1.iot.internal");
    let server = pki.serve();
    let serial = issue_once(&curl, &pki.roots(), &server.tls_base, &token, &body).expect("issued");
    std::fs::write(pki.path("m1.pem"), pki.ok(&["cert", "show", &serial, "--pem"])).expect("pem");
    pki.ok(&["ocsp", "check", "m1.pem", "--url", &server.url("/ocsp")]);

    let auditor = pki.ok(&["token", "create", "--role", "auditor"]);
    let out = Command::new(&curl)
        .args(["-s", "--fail", "--cacert"])
        .arg(pki.roots())
        .args(["-H", &format!("Authorization: Bearer {}", auditor.trim()), &format!("{}/metrics", server.tls_base)])
        .output()
        .expect("curl");
    assert!(out.status.success(), "an auditor reads the metrics");
    let metrics = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(metrics.contains("ironpki_certificates_issued_total{profile=\"device\",protocol=\"rest\"} 1"), "{metrics}");
    assert!(metrics.contains("ironpki_ocsp_requests_total{status=\"good\"} 1"), "{metrics}");
    assert!(metrics.contains("ironpki_issuance_duration_seconds_bucket{profile=\"device\",protocol=\"rest\",le=\"+Inf\"} 1"), "{metrics}");
    assert!(metrics.contains("ironpki_crl_age_seconds{ca=\"issuing\",kind=\"full\"}"), "{metrics}");

    let mut check = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool");
    std::io::Write::write_all(&mut check.stdin.take().expect("stdin"), metrics.as_bytes()).expect("write");
    let result = check.wait_with_output().expect("promtool");
    assert!(
        result.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
}
