//! End to end: init, issue with every key type, sign an openssl CSR; openssl verifies.

mod common;

use common::{assert_ok, run_tool, tool, Pki};

const KEY_TYPES: [&str; 6] = ["ecdsa-p256", "ecdsa-p384", "ed25519", "rsa-2048", "rsa-3072", "rsa-4096"];

fn openssl_verify(pki: &Pki, openssl: &std::path::Path, dir: &str) {
    let roots = pki.roots();
    let out = run_tool(
        openssl,
        &["verify", "-x509_strict", "-CAfile", roots.to_str().unwrap(), "-untrusted", &format!("{dir}/chain.pem"), &format!("{dir}/cert.pem")],
        pki.dir.path(),
    );
    let text = assert_ok(&out, "openssl verify");
    assert!(text.contains(": OK"), "{text}");
}

fn openssl_text(pki: &Pki, openssl: &std::path::Path, cert: &str) -> String {
    assert_ok(&run_tool(openssl, &["x509", "-in", cert, "-noout", "-text"], pki.dir.path()), "openssl x509")
}

#[test]
fn every_key_type_is_issued_and_verifies_with_openssl() {
    let Some(openssl) = tool("openssl") else { return };
    let pki = Pki::init();
    for kt in KEY_TYPES {
        let dir = format!("out-{kt}");
        let issued = pki.json(&["cert", "issue", "--profile", "server", "--cn", &format!("{kt}.svc.internal"), "--key-type", kt, "--out", &dir]);
        assert_eq!(issued["profile"], "server");
        openssl_verify(&pki, &openssl, &dir);

        let key = pki.path(&format!("{dir}/key.pem"));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600, "{kt} key.pem mode");
        // openssl reads the key and it matches the certificate.
        let pubkey_from_key = assert_ok(&run_tool(&openssl, &["pkey", "-in", key.to_str().unwrap(), "-pubout"], pki.dir.path()), "openssl pkey");
        let pubkey_from_cert = assert_ok(
            &run_tool(&openssl, &["x509", "-in", &format!("{dir}/cert.pem"), "-noout", "-pubkey"], pki.dir.path()),
            "openssl x509 -pubkey",
        );
        assert_eq!(pubkey_from_key, pubkey_from_cert, "{kt}: key.pem matches cert.pem");

        let text = openssl_text(&pki, &openssl, &format!("{dir}/cert.pem"));
        assert!(text.contains("TLS Web Server Authentication"), "{kt}: {text}");
        assert!(text.contains(&format!("DNS:{kt}.svc.internal")), "{kt}: {text}");
        assert!(text.contains("X509v3 Key Usage: critical"), "{kt}: {text}");
        if kt.starts_with("rsa") {
            assert!(text.contains("Digital Signature, Key Encipherment"), "{kt}: {text}");
        } else {
            assert!(!text.contains("Key Encipherment"), "{kt}: no keyEncipherment on a non-RSA key: {text}");
        }
        assert!(text.contains("CA Issuers - URI:http://127.0.0.1:8080/ca/issuing.crt"), "{text}");
        assert!(text.contains("OCSP - URI:http://127.0.0.1:8080/ocsp"), "{text}");
        assert!(text.contains("URI:http://127.0.0.1:8080/crl/issuing.crl"), "{text}");
        assert!(text.contains("X509v3 Authority Key Identifier"), "{text}");
        assert!(text.contains("X509v3 Subject Key Identifier"), "{text}");
        assert!(text.contains("ecdsa-with-SHA256"), "the P-256 intermediate signs with ecdsa-with-SHA256: {text}");
    }
    assert_eq!(pki.count_certs(), KEY_TYPES.len());
}

#[test]
fn openssl_csr_is_signed_with_the_profile_extensions() {
    let Some(openssl) = tool("openssl") else { return };
    let pki = Pki::init();
    let d = pki.dir.path();
    assert_ok(
        &run_tool(
            &openssl,
            &[
                "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "dev.key",
                "-out", "dev.csr", "-subj", "/CN=sensor-17", "-addext", "subjectAltName=DNS:sensor-17.iot.internal,URI:spiffe://ironpki.internal/device/sensor-17",
                // Asked for, not granted: the profile decides the extensions.
                "-addext", "extendedKeyUsage=serverAuth,codeSigning", "-addext", "basicConstraints=critical,CA:TRUE",
            ],
            d,
        ),
        "openssl req",
    );
    let issued = pki.json(&["cert", "sign", "--csr", "dev.csr", "--profile", "device", "--lifetime", "24h", "--out", "dev.crt", "--chain-out", "chain.pem"]);
    let serial = issued["serial"].as_str().unwrap().to_string();
    let roots = pki.roots();
    let out = run_tool(&openssl, &["verify", "-x509_strict", "-purpose", "sslclient", "-CAfile", roots.to_str().unwrap(), "-untrusted", "chain.pem", "dev.crt"], d);
    assert!(assert_ok(&out, "openssl verify").contains("dev.crt: OK"));
    let text = openssl_text(&pki, &openssl, "dev.crt");
    assert!(text.contains("TLS Web Client Authentication"), "{text}");
    assert!(!text.contains("Code Signing") && !text.contains("TLS Web Server Authentication"), "EKU comes from the profile: {text}");
    assert!(text.contains("CA:FALSE"), "{text}");
    assert!(text.contains("URI:spiffe://ironpki.internal/device/sensor-17"), "{text}");
    assert!(text.contains("Subject: O = Test Org, CN = sensor-17"), "{text}");

    // The record is in the store, with the lifetime asked for (24 h plus the backdate).
    let shown = pki.json(&["cert", "show", &serial]);
    let rec = &shown["record"];
    assert_eq!(rec["profile"], "device");
    assert_eq!(rec["status"], "valid");
    let life = rec["not_after"].as_i64().unwrap() - rec["not_before"].as_i64().unwrap();
    assert_eq!(life, 24 * 3600 + 300);
    // And the openssl key verifies against it through our verifier too.
    let v = pki.json(&["cert", "verify", "dev.crt", "--purpose", "client"]);
    assert_eq!(v["valid"], true);
}

#[test]
fn ca_commands_describe_the_hierarchy() {
    let Some(openssl) = tool("openssl") else { return };
    let pki = Pki::init();
    let cas = pki.json(&["ca", "list"]);
    let names: Vec<&str> = cas.as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["root", "issuing"]);
    let root = pki.json(&["ca", "show", "root"]);
    assert_eq!(root["certificate"]["key_type"], "ecdsa-p384");
    let inter = pki.json(&["ca", "show", "issuing"]);
    assert_eq!(inter["certificate"]["path_len"], 0);
    assert_eq!(inter["certificate"]["key_type"], "ecdsa-p256");
    std::fs::write(pki.path("issuing.pem"), pki.ok(&["ca", "show", "issuing", "--pem"])).unwrap();
    let roots = pki.roots();
    let out = run_tool(&openssl, &["verify", "-x509_strict", "-CAfile", roots.to_str().unwrap(), "issuing.pem"], pki.dir.path());
    assert_ok(&out, "openssl verify intermediate");
    let text = openssl_text(&pki, &openssl, "issuing.pem");
    assert!(text.contains("CA:TRUE, pathlen:0") && text.contains("Certificate Sign, CRL Sign"), "{text}");
    // CA keys are encrypted at rest and 0600.
    let key = std::fs::read_to_string(pki.home().join("ca/issuing/key.pem")).unwrap();
    assert!(key.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    let out = run_tool(&openssl, &["pkey", "-in", pki.home().join("ca/issuing/key.pem").to_str().unwrap(), "-passin", &format!("pass:{}", common::PASSPHRASE), "-noout"], pki.dir.path());
    assert_ok(&out, "openssl decrypts the CA key with the passphrase");
}
