//! ACME accounts through `serve`, driven by the `acme` library (certbot's): the
//! directory, nonces, account creation and lookup, update, deactivation, and a replayed
//! request refused for its nonce; both engines keep one account per key.

mod common;

use common::{python_with, run_tool, test_script, Pki};

#[test]
fn the_acme_library_creates_finds_updates_and_deactivates_an_account() {
    let Some(python) = python_with("acme") else { return };
    let (pki, listen) = Pki::on_port(&[]);
    let server = pki.serve_at(&listen);
    let directory = server.tls_base.clone() + "/acme/acme/directory";
    let roots = pki.roots();
    let script = test_script("acme_account.py");
    let out = run_tool(&python, &[script.to_str().unwrap(), &directory, roots.to_str().unwrap()], pki.dir.path());
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}\n{}", String::from_utf8_lossy(&out.stderr));
    let seen: serde_json::Value = serde_json::from_str(said.trim()).unwrap();
    let account = seen["account_url"].as_str().unwrap();
    assert!(account.starts_with(&format!("{}/acme/acme/acct/", server.tls_base)), "{seen}");
    assert_eq!(seen["eab_required"], false);
    assert_eq!((seen["status"].as_str(), seen["contact"][0].as_str()), (Some("valid"), Some("mailto:ops@example.com")));
    assert_eq!(seen["existing"], account, "the same key finds the same account");
    assert_eq!(seen["unknown_key"], "urn:ietf:params:acme:error:accountDoesNotExist");
    assert_eq!(seen["queried_status"], "valid");
    assert_eq!(seen["updated_contact"][0], "mailto:new@example.com");
    assert_eq!(seen["replay"], serde_json::json!([200, 400, "urn:ietf:params:acme:error:badNonce", true]));
    assert_eq!(seen["key_change_to_taken_key"], serde_json::json!([409, "urn:ietf:params:acme:error:conflict", seen["taken_account"]]));
    assert_eq!((&seen["key_change"][0], &seen["key_change"][1]), (&serde_json::json!(200), &serde_json::json!("valid")));
    assert_eq!(seen["found_with_new_key"], account, "the account answers to its new key");
    assert_eq!(seen["found_with_old_key"], "urn:ietf:params:acme:error:accountDoesNotExist");
    assert_eq!(seen["deactivated"], "deactivated");
    assert_eq!(seen["after_deactivation"], "urn:ietf:params:acme:error:unauthorized");
    assert_eq!(seen["rsa_status"], "valid");

    let audit = pki.ok(&["audit", "export"]);
    let actions: Vec<String> = audit
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["action"].as_str().unwrap_or_default().starts_with("acme."))
        .map(|e| format!("{} {}", e["action"].as_str().unwrap(), e["actor"].as_str().unwrap().starts_with("acme:acme/")))
        .collect();
    assert_eq!(
        actions,
        [
            "acme.account.created true",
            "acme.account.created true",
            "acme.account.updated true",
            "acme.account.key_changed true",
            "acme.account.deactivated true",
            "acme.account.created true"
        ],
        "{audit}"
    );
}

/// A provisioner with `eab: true`: newAccount needs a key from `acme eab create`, which
/// binds one account; used, wrong and revoked keys are refused.
#[test]
fn external_account_binding_keys_bind_one_account() {
    let Some(python) = python_with("acme") else { return };
    let second = "dns_resolver: system\n    - name: eab\n      profile: server\n      eab: true";
    let (pki, listen) = Pki::on_port(&[("dns_resolver: system      # or ADDR:PORT: the resolver every validation lookup uses", second)]);
    let made = pki.json(&["acme", "eab", "create", "--provisioner", "eab", "--expires", "1d"]);
    let revoked = pki.json(&["acme", "eab", "create", "--provisioner", "eab"]);
    pki.ok(&["acme", "eab", "revoke", revoked["kid"].as_str().unwrap()]);
    let e = pki.fails(&["acme", "eab", "create", "--provisioner", "nosuch"]);
    assert!(e.contains("no ACME provisioner named \"nosuch\""), "{e}");
    // Neither the MAC key nor its base64url form is in the store's files.
    let hmac_b64 = made["hmac_key"].as_str().unwrap();
    let raw = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, hmac_b64).unwrap();
    assert_eq!(raw.len(), 32);
    for file in ["ironpki.db", "ironpki.db-wal"] {
        let bytes = std::fs::read(pki.home().join(file)).unwrap_or_default();
        let holds = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
        assert!(!holds(&raw) && !holds(hmac_b64.as_bytes()), "{file} holds the MAC key in clear");
    }

    let server = pki.serve_at(&listen);
    let directory = server.tls_base.clone() + "/acme/eab/directory";
    let roots = pki.roots();
    let args = [
        test_script("acme_eab.py").to_str().unwrap().to_string(),
        directory,
        roots.to_str().unwrap().to_string(),
        made["kid"].as_str().unwrap().to_string(),
        made["hmac_key"].as_str().unwrap().to_string(),
        revoked["kid"].as_str().unwrap().to_string(),
        revoked["hmac_key"].as_str().unwrap().to_string(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run_tool(&python, &args, pki.dir.path());
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}\n{}", String::from_utf8_lossy(&out.stderr));
    let seen: serde_json::Value = serde_json::from_str(said.trim()).unwrap();
    assert_eq!(seen["without"], "urn:ietf:params:acme:error:externalAccountRequired");
    assert_eq!(seen["wrong_hmac"], "urn:ietf:params:acme:error:unauthorized");
    assert_eq!(seen["with"], "valid");
    assert_eq!(seen["reused"], "urn:ietf:params:acme:error:unauthorized", "a key binds one account");
    assert_eq!(seen["revoked"], "urn:ietf:params:acme:error:unauthorized");

    let keys = pki.json(&["acme", "eab", "list"]);
    let bound = keys.as_array().unwrap().iter().find(|k| k["kid"] == made["kid"]).unwrap();
    assert!(bound["account_id"].is_string(), "{keys}");
    let audit = pki.ok(&["audit", "export"]);
    assert!(audit.contains("\"acme.eab.created\"") && audit.contains("\"acme.eab.revoked\""));
    assert!(!audit.contains(made["hmac_key"].as_str().unwrap()), "the MAC key is never logged");
}

/// A complete issuance with the acme library: order, http-01 against its responder,
/// finalize, download; the certificate verifies with openssl and passes pkilint; a
/// foreign name is refused before any validation, and a wrong answer fails with the reason.
#[test]
fn the_acme_library_orders_validates_and_downloads_a_certificate() {
    let Some(python) = python_with("acme") else { return };
    let Some(openssl) = common::tool("openssl") else { return };
    let Some(pkilint) = common::tool("lint_pkix_cert") else { return };
    let port = std::net::TcpListener::bind("[::]:0").unwrap().local_addr().unwrap().port().to_string();
    let (pki, listen) = Pki::on_port(&[("http01_port: 80 ", &format!("http01_port: {port} "))]);
    let server = pki.serve_at(&listen);
    let directory = server.tls_base.clone() + "/acme/acme/directory";
    let roots = pki.roots();
    let out_dir = pki.path("acme-out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let script = test_script("acme_order.py");
    let args = [script.to_str().unwrap(), &directory, roots.to_str().unwrap(), &port, out_dir.to_str().unwrap()];
    let out = run_tool(&python, &args, pki.dir.path());
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}\n{}", String::from_utf8_lossy(&out.stderr));
    let seen: serde_json::Value = serde_json::from_str(said.trim()).unwrap();
    assert_eq!(seen["challenge_types"], serde_json::json!(["dns-01", "http-01", "tls-alpn-01"]), "every challenge of the provisioner is offered");
    assert_eq!(seen["order_status"], "valid");
    assert_eq!(seen["orders_listed"], true, "the account's orders URL lists the order");
    assert_eq!(seen["foreign_name"], "urn:ietf:params:acme:error:rejectedIdentifier");
    assert_eq!(seen["wrong_answer"][0], "invalid");
    assert_eq!(seen["wrong_answer"][1], "urn:ietf:params:acme:error:incorrectResponse");
    assert!(seen["wrong_answer"][2].as_str().unwrap().contains("not the key authorization"), "{seen}");

    // The chain: the certificate for both names, then the intermediate; openssl verifies it.
    let fullchain = std::fs::read_to_string(out_dir.join("fullchain.pem")).unwrap();
    let blocks: Vec<&str> = fullchain.split_inclusive("-----END CERTIFICATE-----\n").collect();
    assert_eq!(blocks.len(), 2, "{fullchain}");
    std::fs::write(pki.path("acme-out/leaf.pem"), blocks[0]).unwrap();
    std::fs::write(pki.path("acme-out/chain.pem"), blocks[1]).unwrap();
    let verified = run_tool(
        &openssl,
        &["verify", "-purpose", "sslserver", "-CAfile", roots.to_str().unwrap(), "-untrusted", "acme-out/chain.pem", "acme-out/leaf.pem"],
        pki.dir.path(),
    );
    assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stdout));
    let text = String::from_utf8(run_tool(&openssl, &["x509", "-in", "acme-out/leaf.pem", "-noout", "-text"], pki.dir.path()).stdout).unwrap();
    assert!(text.contains("DNS:localhost") && text.contains("IP Address:127.0.0.1"), "{text}");
    // pkilint's one finding is the single-label name `localhost` (the server profile allows
    // it for development): nothing else in what ACME issued.
    let lint = run_tool(&pkilint, &["lint", "-s", "WARNING", "acme-out/leaf.pem"], pki.dir.path());
    let findings = String::from_utf8_lossy(&lint.stdout);
    let counted = findings.matches("(ERROR)").count() + findings.matches("(WARNING)").count() + findings.matches("(FATAL)").count();
    assert!(counted == 1 && findings.contains("pkix.invalid_domain_name_syntax") && findings.contains("\"localhost\""), "{findings}");

    assert_eq!(seen["stranger_revoke"], "urn:ietf:params:acme:error:unauthorized");
    assert_eq!(seen["revoked_twice"], "urn:ietf:params:acme:error:alreadyRevoked");
    for (key, reason) in [("account_revoke", 4), ("key_revoke", 1)] {
        let serial = seen[key][0].as_str().unwrap();
        let shown = pki.json(&["cert", "show", serial]);
        assert_eq!((shown["record"]["status"].as_str(), shown["record"]["revocation_reason"].as_i64()), (Some("revoked"), Some(reason)), "{key}: {shown}");
    }

    let listed = pki.json(&["cert", "list", "--profile", "server"]);
    let record = listed.as_array().unwrap().iter().find(|c| c["common_name"] == "localhost").expect("the ACME certificate is recorded");
    assert!(record["requester"].as_str().unwrap().starts_with("acme:acme/"), "{record}");
    let audit = pki.ok(&["audit", "export"]);
    assert!(audit.contains("\"acme.order.created\"") && audit.contains("\"acme.order.finalized\""));
}

/// Requests an ACME server must refuse, each with its error type and none changing the
/// order (it is finalized afterwards, once); the per-account limits answer rateLimited
/// with Retry-After; the orders list comes in pages.
#[test]
fn refusals_change_nothing_and_per_account_limits_hold() {
    let Some(python) = python_with("acme") else { return };
    let port = std::net::TcpListener::bind("[::]:0").unwrap().local_addr().unwrap().port().to_string();
    let limits = [
        ("http01_port: 80 ", format!("http01_port: {port} ")),
        ("orders_per_hour: 300 ", "orders_per_hour: 104 ".to_string()),
        ("failed_validations_per_hour: 60 ", "failed_validations_per_hour: 1 ".to_string()),
    ];
    let limits: Vec<(&str, &str)> = limits.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let (pki, listen) = Pki::on_port(&limits);
    let server = pki.serve_at(&listen);
    let directory = server.tls_base.clone() + "/acme/acme/directory";
    let roots = pki.roots();
    let before = pki.count_certs();
    let out = run_tool(&python, &[test_script("acme_refusals.py").to_str().unwrap(), &directory, roots.to_str().unwrap(), &port, "104"], pki.dir.path());
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}\n{}", String::from_utf8_lossy(&out.stderr));
    let seen: serde_json::Value = serde_json::from_str(said.trim()).unwrap();
    let problem = |status: u16, kind: &str| serde_json::json!([status, format!("urn:ietf:params:acme:error:{kind}")]);
    assert_eq!(seen["ready"], "ready");
    assert_eq!(seen["alg_none"], problem(400, "badSignatureAlgorithm"));
    assert_eq!(seen["unknown_kid"], problem(400, "accountDoesNotExist"));
    assert_eq!(seen["url_mismatch"], problem(403, "unauthorized"));
    assert_eq!(seen["csr_other_names"], problem(400, "badCSR"));
    assert_eq!(seen["csr_weak_key"], problem(400, "badCSR"));
    assert_eq!(seen["still_ready"], "ready", "no refusal changed the order");
    assert_eq!(seen["finalized"], "valid");
    assert_eq!(pki.count_certs(), before + 1, "one certificate, from the one good finalize");

    assert_eq!(serde_json::json!([seen["limited"][0], seen["limited"][1]]), problem(429, "rateLimited"));
    let retry: i64 = seen["limited"][2].as_str().unwrap().parse().unwrap();
    assert!((3500..=3600).contains(&retry), "Retry-After {retry}");
    assert_eq!(seen["pages"], serde_json::json!([100, true, 4, false]));
    assert_eq!(seen["pages_distinct"], true);
    assert_eq!(seen["after_failure"][0], "urn:ietf:params:acme:error:rateLimited");
    assert!(seen["after_failure"][1].as_str().unwrap().contains("failed validation"), "{seen}");
}
