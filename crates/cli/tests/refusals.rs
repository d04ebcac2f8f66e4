//! Bad input gets one clear line, a non-zero exit, and changes nothing.

mod common;

use common::{assert_ok, run_tool, tool, Pki};

fn csr(pki: &Pki, openssl: &std::path::Path, name: &str, newkey: &[&str], subj: &str, san: &str) {
    let mut args = vec!["req", "-new", "-nodes", "-keyout", "k.pem", "-out", name, "-subj", subj, "-addext", san];
    args.extend_from_slice(newkey);
    assert_ok(&run_tool(openssl, &args, pki.dir.path()), "openssl req");
}

const P256: &[&str] = &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];

/// Asserts the command fails with `expect` in its message and writes nothing.
fn refused(pki: &Pki, args: &[&str], expect: &str) {
    let (certs, audit) = (pki.count_certs(), pki.audit_len());
    let err = pki.fails(args);
    assert!(err.contains(expect), "{args:?}: expected {expect:?} in {err:?}");
    assert_eq!(pki.count_certs(), certs, "{args:?} wrote a certificate");
    assert_eq!(pki.audit_len(), audit, "{args:?} wrote an audit entry");
}

#[test]
fn csr_refusals_say_why_and_write_nothing() {
    let Some(openssl) = tool("openssl") else { return };
    let pki = Pki::init();

    csr(&pki, &openssl, "outside.csr", P256, "/CN=evil", "subjectAltName=DNS:www.example.com");
    refused(&pki, &["cert", "sign", "--csr", "outside.csr", "--profile", "device"], "SAN dns:www.example.com is not allowed by profile \"device\"");

    csr(&pki, &openssl, "rsa1024.csr", &["-newkey", "rsa:1024"], "/CN=old", "subjectAltName=DNS:old.iot.internal");
    refused(&pki, &["cert", "sign", "--csr", "rsa1024.csr", "--profile", "device"], "RSA key of 1024 bits is not allowed");

    csr(&pki, &openssl, "ok.csr", P256, "/CN=ok", "subjectAltName=DNS:ok.iot.internal");
    refused(&pki, &["cert", "sign", "--csr", "ok.csr", "--profile", "device", "--lifetime", "900d"], "exceeds profile \"device\" maximum of 825d");
    refused(&pki, &["cert", "sign", "--csr", "ok.csr", "--profile", "nosuch"], "no profile named \"nosuch\"");
    refused(&pki, &["cert", "sign", "--csr", "ok.csr", "--profile", "device", "--lifetime", "soon"], "is not a duration");

    // Flip a bit in the signature (the last bytes of the DER).
    let out = run_tool(&openssl, &["req", "-in", "ok.csr", "-outform", "DER", "-out", "ok.der"], pki.dir.path());
    assert_ok(&out, "openssl req -outform DER");
    let mut bytes = std::fs::read(pki.path("ok.der")).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(pki.path("bad-sig.der"), &bytes).unwrap();
    refused(&pki, &["cert", "sign", "--csr", "bad-sig.der", "--profile", "device"], "CSR signature does not verify");

    std::fs::write(pki.path("garbage.csr"), "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n").unwrap();
    refused(&pki, &["cert", "sign", "--csr", "garbage.csr", "--profile", "device"], "malformed CSR");
    std::fs::write(pki.path("empty.csr"), "").unwrap();
    refused(&pki, &["cert", "sign", "--csr", "empty.csr", "--profile", "device"], "malformed CSR");
    refused(&pki, &["cert", "sign", "--csr", "missing.csr", "--profile", "device"], "missing.csr");

    // The good CSR is then accepted: the refusals above were about the input.
    pki.ok(&["cert", "sign", "--csr", "ok.csr", "--profile", "device", "--out", "ok.crt"]);
    assert_eq!(pki.count_certs(), 1);
}

#[test]
fn issue_refusals_and_wrong_passphrase() {
    let pki = Pki::init();
    let issue = |extra: &[&str]| {
        let mut a = vec!["cert", "issue", "--out", "out"];
        a.extend_from_slice(extra);
        a.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let r = |args: Vec<String>, expect: &str| refused(&pki, &args.iter().map(String::as_str).collect::<Vec<_>>(), expect);
    r(issue(&["--profile", "server", "--cn", "www.example.com"]), "SAN dns:www.example.com is not allowed");
    r(issue(&["--profile", "server", "--cn", "a.internal", "--key-type", "rsa-1024"]), "unsupported key type: rsa-1024");
    r(issue(&["--profile", "server", "--cn", "a.internal", "--san", "dns:bad_name"]), "labels may hold only");
    r(issue(&["--profile", "server", "--cn", "a.internal", "--lifetime", "400d"]), "exceeds profile \"server\" maximum of 397d");
    r(issue(&["--cn", "a.internal"]), "no profile given and no default_profile configured");
    assert!(!pki.path("out").exists(), "no output directory for a refused request");

    let out = pki.cmd(&["cert", "issue", "--profile", "server", "--cn", "a.internal", "--out", "out"]).env("IRONPKI_PASSPHRASE", "not the passphrase").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong passphrase"));
    assert_eq!(pki.count_certs(), 0);
}

#[test]
fn profile_key_type_rules_are_enforced() {
    let Some(openssl) = tool("openssl") else { return };
    let pki = Pki::new();
    let config = ironpki_config::template("Org").replacen(
        "    key_types: [ecdsa-p256, ecdsa-p384, ed25519, rsa-2048, rsa-3072, rsa-4096]\n    min_rsa_bits: 2048\n    cn_in_san: false\n    subject: { organization: \"Org\" }\n    san:\n      dns: [.iot.internal]",
        "    key_types: [ecdsa-p256]\n    min_rsa_bits: 2048\n    cn_in_san: false\n    subject: { organization: \"Org\" }\n    san:\n      dns: [.iot.internal]",
        1,
    );
    assert!(config.contains("key_types: [ecdsa-p256]\n"), "device profile restricted");
    std::fs::write(pki.path("c.yaml"), config).unwrap();
    pki.ok(&["init", "--config", "c.yaml"]);
    csr(&pki, &openssl, "p384.csr", &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"], "/CN=d", "subjectAltName=DNS:d.iot.internal");
    refused(&pki, &["cert", "sign", "--csr", "p384.csr", "--profile", "device"], "key type ecdsa-p384 is not allowed by profile \"device\" (allowed: ecdsa-p256)");
    csr(&pki, &openssl, "ed.csr", &["-newkey", "ed25519"], "/CN=d", "subjectAltName=DNS:d.iot.internal");
    refused(&pki, &["cert", "sign", "--csr", "ed.csr", "--profile", "device"], "key type ed25519 is not allowed");
    csr(&pki, &openssl, "p256.csr", P256, "/CN=d", "subjectAltName=DNS:d.iot.internal");
    pki.ok(&["cert", "sign", "--csr", "p256.csr", "--profile", "device"]);
}

#[test]
fn bad_configuration_names_file_and_key_and_creates_nothing() {
    let pki = Pki::new();
    let config = ironpki_config::template("Org").replacen("min_rsa_bits: 2048", "min_rsa_bits: 1024", 1);
    std::fs::write(pki.path("weak.yaml"), config).unwrap();
    let err = pki.fails(&["init", "--config", "weak.yaml"]);
    assert!(err.contains("weak.yaml: profiles.server.min_rsa_bits: 1024 bits is too weak"), "{err}");
    assert!(!pki.home().exists(), "nothing written to the home");

    std::fs::write(pki.path("typo.yaml"), ironpki_config::template("Org").replacen("base_url:", "base_ulr:", 1)).unwrap();
    let err = pki.fails(&["init", "--config", "typo.yaml"]);
    assert!(err.contains("typo.yaml") && err.contains("unknown field `base_ulr`"), "{err}");

    let long = ironpki_config::template("Org").replacen("validity: { default: 365d, max: 825d }", "validity: { default: 365d, max: 2000d }", 1);
    std::fs::write(pki.path("long.yaml"), long).unwrap();
    let err = pki.fails(&["init", "--config", "long.yaml"]);
    assert!(err.contains("profiles.device.validity.max: 2000d is longer than the life of its issuer"), "{err}");

    let err = pki.fails(&["ca", "list"]);
    assert!(err.contains("no PKI in") && err.contains("ironpki init"), "{err}");
    assert!(!pki.home().exists());
}

#[test]
fn init_refuses_an_existing_pki_and_weak_passphrases() {
    let pki = Pki::init();
    let before = std::fs::read(pki.home().join("ironpki.yaml")).unwrap();
    let err = pki.fails(&["init", "--name", "Other"]);
    assert!(err.contains("already exists") && err.contains("refuses"), "{err}");
    assert_eq!(std::fs::read(pki.home().join("ironpki.yaml")).unwrap(), before);

    let fresh = Pki::new();
    let out = fresh.cmd(&["init"]).env("IRONPKI_PASSPHRASE", "short").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 8 characters"));
    assert!(!fresh.home().exists());
    let out = fresh.cmd(&["init"]).env_remove("IRONPKI_PASSPHRASE").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("set IRONPKI_PASSPHRASE or pass --passphrase-file"));
}
