//! The agent with IronPKI's REST API as its source: the first certificate with an
//! operator token, renewals authenticated by the certificate in place (mutual TLS, no
//! token needed any more), and a revoked certificate replaced with the token again.

mod common;

use std::time::Duration;

use common::agent::CertFiles;
use common::{api, tool, wait_until, Auth, Pki};

fn audit_actions(pki: &Pki) -> Vec<serde_json::Value> {
    let out = pki.ok(&["audit", "export", "--format", "jsonl"]);
    out.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

#[test]
fn the_rest_api_issues_with_a_token_and_renews_with_the_certificate() {
    let (Some(openssl), Some(curl)) = (tool("openssl"), tool("curl")) else { return };
    let (pki, listen) = Pki::on_port(&[]);
    let server = pki.serve_at(&listen);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let token = pki.json(&["token", "create", "--role", "operator", "--profiles", "client", "--description", "agent"])["token"].as_str().unwrap().to_string();
    std::fs::write(d.join("token"), &token).unwrap();
    // The bundle held differs from the server's (a trailing line): the agent refreshes it.
    std::fs::write(d.join("roots.pem"), std::fs::read_to_string(pki.roots()).unwrap() + "\n").unwrap();
    let files = CertFiles { dir: d.join("tls") };
    let t = files.dir.display();
    let config = d.join("agent.yaml");
    std::fs::write(
        &config,
        format!(
            "state_dir: {state}\nroots: {roots}\nroots_url: \"{url}/roots.pem\"\ncertificates:\n  - name: svc\n    api: {{ url: \"{url}\", token_file: {token}, profile: client, lifetime: 2h }}\n    common_name: svc.internal\n    files: {{ key: {t}/key.pem, cert: {t}/cert.pem, chain: {t}/chain.pem }}\n",
            state = d.join("state").display(),
            roots = d.join("roots.pem").display(),
            url = server.tls_base,
            token = d.join("token").display(),
        ),
    )
    .unwrap();
    let cfg = config.display().to_string();

    let out = pki.run(&["agent", "--once", "--config", &cfg]);
    assert!(out.status.success() && String::from_utf8_lossy(&out.stderr).contains("\"action\":\"roots.updated\""), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read(d.join("roots.pem")).unwrap(), std::fs::read(pki.roots()).unwrap());
    let first = files.serial().expect("issued with the token");
    assert!(files.pair_matches(&openssl));
    let shown = pki.json(&["cert", "show", &first]);
    let lifetime = shown["record"]["not_after"].as_i64().unwrap() - shown["record"]["issued_at"].as_i64().unwrap();
    assert!((7100..=7300).contains(&lifetime), "lifetime {lifetime}");

    // Without the token, the certificate in place renews itself.
    std::fs::remove_file(d.join("token")).unwrap();
    pki.ok(&["agent", "--once", "--force", "--config", &cfg]);
    let second = files.serial().unwrap();
    assert_ne!(second, first);
    assert!(files.pair_matches(&openssl));
    assert!(audit_actions(&pki).iter().any(|e| e["action"] == "cert.renewed" && e["target"].as_str().unwrap_or_default().ends_with(&second)));

    // Revoked, it can no longer renew itself: without the token the pass fails and leaves
    // the pair alone; with it, a new certificate is issued.
    pki.ok(&["cert", "revoke", &second, "--reason", "keyCompromise"]);
    let chain = d.join("tls/chain.pem");
    // The HTTPS listener refuses it at once (the store says revoked).
    let presented = d.join("presented.pem");
    std::fs::write(&presented, std::fs::read_to_string(files.cert()).unwrap() + &std::fs::read_to_string(&chain).unwrap()).unwrap();
    let (status, _, _) = api(&pki, &curl, "POST", &server.api_url("/certificates/renew"), Auth::Cert(&presented, &files.key()), Some(&serde_json::json!({ "csr": "-" })));
    assert_eq!(status, 401);
    // The agent learns it from OCSP once the responder's pre-signed answer is re-signed
    // (a pass before that has nothing to do); then its pass fails without a token.
    let (mut log, mut succeeded) = (String::new(), true);
    let learnt = wait_until(Duration::from_secs(10), || {
        let out = pki.run(&["agent", "--once", "--config", &cfg]);
        log = String::from_utf8_lossy(&out.stderr).into_owned();
        succeeded = out.status.success();
        log.contains("\"action\":\"ocsp.revoked\"")
    });
    assert!(learnt.is_some(), "{log}");
    assert!(!succeeded, "{log}");
    assert!(log.contains("no token_file") || log.contains("401"), "{log}");
    assert_eq!(files.serial().as_deref(), Some(second.as_str()));
    std::fs::write(d.join("token"), &token).unwrap();
    pki.ok(&["agent", "--once", "--config", &cfg]);
    let third = files.serial().unwrap();
    assert!(third != second && third != first);
    assert!(files.pair_matches(&openssl));
}
