//! The REST API over HTTPS, driven with curl: authentication (tokens, client
//! certificates), roles and their limits, renewal by mTLS, problem documents, and
//! logs that never carry a secret.

mod common;

use common::{api, tool, Auth, Pki};
use serde_json::json;

fn audit(pki: &Pki) -> Vec<serde_json::Value> {
    pki.ok(&["audit", "export"]).lines().map(|l| serde_json::from_str(l).expect("audit line")).collect()
}

fn problem_type(body: &serde_json::Value) -> &str {
    body["type"].as_str().unwrap_or_default()
}

#[test]
fn operator_tokens_are_held_to_their_profiles_and_names() {
    let (Some(curl), Some(openssl)) = (tool("curl"), tool("openssl")) else { return };
    let pki = Pki::init();
    let operator = pki.ok(&["token", "create", "--role", "operator", "--profiles", "device", "--san-pattern", "*.iot.internal"]);
    let operator = operator.trim();
    let auditor = pki.json(&["token", "create", "--role", "auditor"])["token"].as_str().expect("token").to_string();
    let server = pki.serve();
    let audit_before = pki.audit_len();
    let certs_before = pki.count_certs();

    let (device_csr, _) = pki.csr(&openssl, "k1", "d1.iot.internal", "DNS:d1.iot.internal");
    let (status, _, body) = api(&pki, &curl, "POST", &server.api_url("/certificates"), Auth::Bearer(operator), Some(&json!({"profile": "device", "csr": device_csr})));
    assert_eq!(status, 201, "{body}");
    let serial = body["serial"].as_str().expect("serial").to_string();
    assert!(body["certificate"].as_str().unwrap_or_default().starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(body["chain"].as_str().unwrap_or_default().contains("BEGIN CERTIFICATE"));
    assert!(body["not_after"].as_str().is_some());
    let listed = pki.json(&["cert", "list"]);
    let recorded = listed.as_array().expect("list").iter().find(|c| c["serial"] == serial.as_str()).expect("the certificate is in the store");
    assert_eq!(recorded["requester"].as_str().unwrap_or_default().split(':').next(), Some("token"));

    // Another profile, and a name outside the pattern: 403 with a problem document.
    let (status, headers, body) = api(&pki, &curl, "POST", &server.api_url("/certificates"), Auth::Bearer(operator), Some(&json!({"profile": "server", "csr": device_csr})));
    assert_eq!((status, problem_type(&body)), (403, "urn:ironpki:problem:forbidden"), "{body}");
    assert!(headers.to_ascii_lowercase().contains("content-type: application/problem+json"), "{headers}");
    assert!(body["detail"].as_str().unwrap_or_default().contains("server"), "{body}");
    // The profile allows any depth under .iot.internal; the token only one label.
    let (outside_csr, _) = pki.csr(&openssl, "k2", "x.y.iot.internal", "DNS:x.y.iot.internal");
    let (status, _, body) = api(&pki, &curl, "POST", &server.api_url("/certificates"), Auth::Bearer(operator), Some(&json!({"profile": "device", "csr": outside_csr})));
    assert_eq!(status, 403, "{body}");
    assert!(body["detail"].as_str().unwrap_or_default().contains("x.y.iot.internal"), "{body}");
    // Client-certificate profiles are for admins only.
    let (status, _, _) = api(&pki, &curl, "POST", &server.api_url("/certificates/issue"), Auth::Bearer(operator), Some(&json!({"profile": "admin", "common_name": "d2.iot.internal"})));
    assert_eq!(status, 403);

    // The auditor reads but cannot revoke; nobody gets in without credentials.
    let (status, _, body) = api(&pki, &curl, "GET", &server.api_url(&format!("/certificates/{serial}")), Auth::Bearer(&auditor), None);
    assert_eq!((status, body["status"].as_str()), (200, Some("valid")), "{body}");
    let (status, _, body) = api(&pki, &curl, "POST", &server.api_url(&format!("/certificates/{serial}/revoke")), Auth::Bearer(&auditor), Some(&json!({"reason": "keyCompromise"})));
    assert_eq!((status, problem_type(&body)), (403, "urn:ironpki:problem:forbidden"), "{body}");
    let (status, headers, body) = api(&pki, &curl, "GET", &server.api_url("/certificates"), Auth::None, None);
    assert_eq!((status, problem_type(&body)), (401, "urn:ironpki:problem:unauthenticated"), "{body}");
    assert!(headers.to_ascii_lowercase().contains("www-authenticate: bearer"), "{headers}");
    let (status, _, _) = api(&pki, &curl, "GET", &server.api_url("/certificates"), Auth::Bearer("ipk_0000000000000000_00"), None);
    assert_eq!(status, 401);

    // Every denial is in the audit log, and nothing was issued by them.
    drop(server);
    let denied = audit(&pki).iter().filter(|e| e["action"] == "access.denied").count();
    assert_eq!(denied, 4, "four denials recorded");
    assert!(pki.audit_len() > audit_before);
    assert_eq!(pki.count_certs(), certs_before + 1, "only the one device certificate was issued");
}

#[test]
fn admin_certificate_tokens_and_revocation_over_the_api() {
    let (Some(curl), Some(openssl)) = (tool("curl"), tool("openssl")) else { return };
    let pki = Pki::init();
    let (cert, key) = (pki.home().join("admin/fullchain.pem"), pki.home().join("admin/key.pem"));
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&key).expect("admin key").permissions());
    assert_eq!(mode & 0o777, 0o600);
    let server = pki.serve();
    let admin = Auth::Cert(&cert, &key);

    let (status, _, body) = api(&pki, &curl, "GET", &server.api_url("/cas"), admin, None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items"].as_array().map(Vec::len), Some(2));

    // An operator token made over the API, used, listed without its secret, revoked.
    let (status, _, body) = api(&pki, &curl, "POST", &server.api_url("/tokens"), Auth::Cert(&cert, &key), Some(&json!({"role": "operator", "profiles": ["server"]})));
    assert_eq!(status, 201, "{body}");
    let token = body["token"].as_str().expect("secret").to_string();
    let id = body["id"].as_str().expect("id").to_string();
    let (status, _, body) = api(&pki, &curl, "POST", &server.api_url("/certificates/issue"), Auth::Bearer(&token), Some(&json!({"profile": "server", "common_name": "web.internal"})));
    assert_eq!(status, 201, "{body}");
    assert!(body["private_key"].as_str().unwrap_or_default().contains("PRIVATE KEY"));
    let serial = body["serial"].as_str().expect("serial").to_string();
    let (_, _, listed) = api(&pki, &curl, "GET", &server.api_url("/tokens"), Auth::Cert(&cert, &key), None);
    assert!(!listed.to_string().contains(&token[20..]), "secrets are never listed");
    assert!(listed["items"].as_array().expect("items").iter().any(|t| t["id"] == id.as_str()));

    let (status, _, body) = api(&pki, &curl, "POST", &server.api_url(&format!("/certificates/{serial}/revoke")), Auth::Bearer(&token), Some(&json!({"reason": "superseded"})));
    assert_eq!((status, body["status"].as_str()), (200, Some("revoked")), "{body}");
    let (status, _, body) = api(&pki, &curl, "POST", &server.api_url(&format!("/certificates/{serial}/revoke")), Auth::Bearer(&token), None);
    assert_eq!((status, problem_type(&body)), (409, "urn:ironpki:problem:conflict"), "{body}");

    let (status, _, _) = api(&pki, &curl, "DELETE", &server.api_url(&format!("/tokens/{id}")), Auth::Cert(&cert, &key), None);
    assert_eq!(status, 204);
    let refused = common::wait_until(std::time::Duration::from_secs(5), || {
        api(&pki, &curl, "GET", &server.api_url("/certificates"), Auth::Bearer(&token), None).0 == 401
    });
    assert!(refused.is_some(), "a revoked token stops working");

    // Listing with filters and a cursor: every certificate once.
    for i in 0..5 {
        pki.ok(&["cert", "issue", "--profile", "server", "--cn", &format!("h{i}.internal"), "--out", &format!("h{i}")]);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/certificates?profile=server&limit=2&cursor={c}"),
            None => "/certificates?profile=server&limit=2".into(),
        };
        let (status, _, page) = api(&pki, &curl, "GET", &server.api_url(&path), Auth::Cert(&cert, &key), None);
        assert_eq!(status, 200, "{page}");
        seen.extend(page["items"].as_array().expect("items").iter().map(|c| c["serial"].as_str().unwrap_or_default().to_string()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (6, 6), "five issued here and one over the API, each once");
    let (status, _, page) = api(&pki, &curl, "GET", &server.api_url("/certificates?name=h3.internal"), Auth::Cert(&cert, &key), None);
    assert_eq!((status, page["items"].as_array().map(Vec::len)), (200, Some(1)), "{page}");
    let (status, _, body) = api(&pki, &curl, "GET", &server.api_url("/certificates?status=bogus"), Auth::Cert(&cert, &key), None);
    assert_eq!((status, problem_type(&body)), (400, "urn:ironpki:problem:bad-request"));

    // Metrics count what happened.
    let metrics = std::process::Command::new(&curl)
        .args(["-s", "--cacert"])
        .arg(pki.roots())
        .arg("--cert")
        .arg(&cert)
        .arg("--key")
        .arg(&key)
        .arg(format!("{}/metrics", server.tls_base))
        .output()
        .expect("curl");
    let metrics = String::from_utf8_lossy(&metrics.stdout);
    assert!(metrics.contains("ironpki_certificates_issued_total{profile=\"server\",protocol=\"rest-keygen\"} 1"), "{metrics}");
    assert!(metrics.contains("ironpki_revocations_total{reason=\"superseded\"} 1"), "{metrics}");
    assert!(metrics.contains("ironpki_certificates_expiring{profile=\"ironpki-listener\",within=\"7d\"} 1"), "{metrics}");
    let _ = openssl;

    // No secret reached the log.
    drop(server);
    let log = std::fs::read_to_string(pki.path("serve.log")).expect("log");
    assert!(log.contains("request_id"), "requests are logged with their id");
    assert!(!log.contains(&token[4..]), "the token is not logged");
    assert!(!log.contains("PRIVATE KEY") && !log.contains(common::PASSPHRASE), "no key or passphrase in the log");
}

#[test]
fn renewal_by_mtls_keeps_the_identity_and_refuses_revoked_certificates() {
    let (Some(curl), Some(openssl)) = (tool("curl"), tool("openssl")) else { return };
    let pki = Pki::init();
    let (device_csr, device_key) = pki.csr(&openssl, "k3", "d7.iot.internal", "DNS:d7.iot.internal");
    std::fs::write(pki.path("d7.csr"), &device_csr).expect("csr");
    pki.ok(&["cert", "sign", "--profile", "device", "--csr", "d7.csr", "--out", "d7.leaf", "--chain-out", "d7.chain"]);
    let device_cert = pki.path("d7.crt");
    let chain = std::fs::read_to_string(pki.path("d7.leaf")).expect("leaf") + &std::fs::read_to_string(pki.path("d7.chain")).expect("chain");
    std::fs::write(&device_cert, chain).expect("write chain");
    let server = pki.serve();

    let (new_csr, _) = pki.csr(&openssl, "k4", "d7.iot.internal", "DNS:d7.iot.internal");
    let (status, _, body) = api(&pki, &curl, "POST", &server.api_url("/certificates/renew"), Auth::Cert(&device_cert, &device_key), Some(&json!({"csr": new_csr})));
    assert_eq!(status, 201, "{body}");
    let renewed = body["serial"].as_str().expect("serial").to_string();
    assert!(audit(&pki).iter().any(|e| e["action"] == "cert.renewed" && e["target"].as_str().unwrap_or_default().ends_with(&renewed)));

    // Another identity is refused; so is renewal without a certificate.
    let (other_csr, _) = pki.csr(&openssl, "k5", "d8.iot.internal", "DNS:d8.iot.internal");
    let (status, _, body) = api(&pki, &curl, "POST", &server.api_url("/certificates/renew"), Auth::Cert(&device_cert, &device_key), Some(&json!({"csr": other_csr})));
    assert_eq!((status, problem_type(&body)), (400, "urn:ironpki:problem:refused"), "{body}");
    let (status, _, _) = api(&pki, &curl, "POST", &server.api_url("/certificates/renew"), Auth::None, Some(&json!({"csr": new_csr})));
    assert_eq!(status, 401);

    // Once revoked, the old certificate no longer authenticates.
    let old = pki.json(&["cert", "list", "--profile", "device"]);
    let old_serial = old.as_array().expect("list").iter().map(|c| c["serial"].as_str().unwrap_or_default().to_string()).find(|s| *s != renewed).expect("old");
    pki.ok(&["cert", "revoke", &old_serial, "--reason", "superseded"]);
    let refused = common::wait_until(std::time::Duration::from_secs(5), || {
        let (status, _, _) = api(&pki, &curl, "POST", &server.api_url("/certificates/renew"), Auth::Cert(&device_cert, &device_key), Some(&json!({"csr": new_csr})));
        status == 401
    });
    assert!(refused.is_some(), "a revoked certificate cannot renew");
}

#[test]
fn a_device_sending_its_leaf_alone_is_verified_through_our_intermediates() {
    let (Some(curl), Some(openssl)) = (tool("curl"), tool("openssl")) else { return };
    let pki = Pki::init();
    let (csr, key) = pki.csr(&openssl, "leaf1", "d9.iot.internal", "DNS:d9.iot.internal");
    std::fs::write(pki.path("d9.csr"), &csr).expect("csr");
    pki.ok(&["cert", "sign", "--profile", "device", "--csr", "d9.csr", "--out", "d9.leaf", "--chain-out", "d9.chain"]);
    let server = pki.serve();
    let (new_csr, _) = pki.csr(&openssl, "leaf2", "d9.iot.internal", "DNS:d9.iot.internal");
    let (status, _, body) = api(&pki, &curl, "POST", &server.api_url("/certificates/renew"), Auth::Cert(&pki.path("d9.leaf"), &key), Some(&json!({"csr": new_csr})));
    assert_eq!(status, 201, "{body}");

    // Our intermediates complete a path; they do not make a foreign certificate trusted.
    let foreign_key = pki.path("foreign.key");
    let foreign = pki.path("foreign.pem");
    let out = std::process::Command::new(&openssl)
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=d9.iot.internal"])
        .arg("-keyout")
        .arg(&foreign_key)
        .arg("-out")
        .arg(&foreign)
        .output()
        .unwrap();
    assert!(out.status.success());
    let (status, _, _) = api(&pki, &curl, "POST", &server.api_url("/certificates/renew"), Auth::Cert(&foreign, &foreign_key), Some(&json!({"csr": new_csr})));
    assert_eq!(status, 0, "the handshake is refused");
}
