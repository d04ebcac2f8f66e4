//! Revocation, listing, verification, the audit log, offline roots and the `pki:` shape.

mod common;

use common::{assert_ok, run_tool, tool, Pki};

#[test]
fn revoke_list_and_audit() {
    let pki = Pki::init();
    let a = pki.json(&["cert", "issue", "--profile", "device", "--cn", "a", "--san", "dns:a.iot.internal", "--lifetime", "10d", "--out", "a"]);
    let b = pki.json(&["cert", "issue", "--profile", "device", "--cn", "b", "--san", "dns:b.iot.internal", "--out", "b"]);
    let (sa, sb) = (a["serial"].as_str().unwrap(), b["serial"].as_str().unwrap());

    let soon = pki.json(&["cert", "list", "--expiring-within", "30d"]);
    assert_eq!(soon.as_array().unwrap().len(), 1);
    assert_eq!(soon[0]["serial"], sa);

    let revoked = pki.json(&["cert", "revoke", sa, "--reason", "keyCompromise"]);
    assert_eq!(revoked["status"], "revoked");
    assert_eq!(revoked["revocation_reason"], 1);
    let err = pki.fails(&["cert", "revoke", sa, "--reason", "superseded"]);
    assert!(err.contains("already revoked"), "{err}");
    let err = pki.fails(&["cert", "revoke", "0badc0de", "--reason", "superseded"]);
    assert!(err.contains("no certificate with serial 0badc0de"), "{err}");
    let err = pki.fails(&["cert", "revoke", sb, "--reason", "because"]);
    assert!(err.contains("unknown revocation reason"), "{err}");

    let list = pki.json(&["cert", "list", "--status", "revoked"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["serial"], sa);
    let valid = pki.json(&["cert", "list", "--status", "valid", "--profile", "device"]);
    assert_eq!(valid[0]["serial"], sb);
    assert!(pki.ok(&["cert", "list"]).contains("revoked"));
    // A colon-separated serial, as openssl prints it, finds the same certificate.
    let colons: Vec<String> = sb.as_bytes().chunks(2).map(|c| String::from_utf8(c.to_vec()).unwrap()).collect();
    assert_eq!(pki.json(&["cert", "show", &colons.join(":")])["record"]["serial"], sb);

    let entries: Vec<serde_json::Value> = pki.ok(&["audit", "export"]).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let actions: Vec<&str> = entries.iter().map(|e| e["action"].as_str().unwrap()).collect();
    // The operating-system user who ran the command, and details as an object.
    let uid = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self").unwrap());
    let revocation = entries.last().unwrap();
    let actor = revocation["actor"].as_str().unwrap();
    assert!(actor.starts_with("cli:") && actor.ends_with(&format!("(uid={uid})")) && !actor.contains("unknown"), "{actor}");
    assert_eq!(revocation["details"]["serial"], sa, "details is an object: {revocation}");
    // init: the configuration, two CAs, the intermediate's certificate and the admin's.
    assert_eq!(actions, ["config.changed", "ca.created", "ca.created", "cert.issued", "cert.issued", "cert.issued", "cert.issued", "cert.revoked"]);
    assert!(pki.ok(&["audit", "verify"]).contains("intact: 8 entries"));
}

#[test]
fn tampering_with_one_audit_byte_is_found_and_named() {
    let pki = Pki::init();
    pki.ok(&["cert", "issue", "--profile", "device", "--cn", "a", "--san", "dns:a.iot.internal", "--out", "a"]);
    pki.ok(&["cert", "issue", "--profile", "device", "--cn", "b", "--san", "dns:b.iot.internal", "--out", "b"]);
    assert!(pki.ok(&["audit", "verify"]).contains("intact"));
    let db = pki.db();
    let details: String = db.query_row("SELECT details FROM audit WHERE seq = 4", [], |r| r.get(0)).unwrap();
    // Change one byte: the first digit of the serial in the details.
    let pos = details.find("\"serial\":\"").unwrap() + 10;
    let mut bytes = details.into_bytes();
    bytes[pos] = if bytes[pos] == b'4' { b'5' } else { b'4' };
    db.execute("UPDATE audit SET details = ?1 WHERE seq = 4", [String::from_utf8(bytes).unwrap()]).unwrap();
    drop(db);
    let err = pki.fails(&["audit", "verify"]);
    assert!(err.contains("entry 4 (cert.issued"), "{err}");
    assert!(err.contains("altered"), "{err}");

    // Deleting an entry breaks the chain at the next one.
    let pki = Pki::init();
    pki.ok(&["cert", "issue", "--profile", "device", "--cn", "a", "--san", "dns:a.iot.internal", "--out", "a"]);
    pki.db().execute("DELETE FROM audit WHERE seq = 2", []).unwrap();
    let err = pki.fails(&["audit", "verify"]);
    assert!(err.contains("entry 3 is out of sequence"), "{err}");
}

#[test]
fn verify_reports_the_exact_reason() {
    let pki = Pki::init();
    pki.ok(&["cert", "issue", "--profile", "server", "--cn", "api.internal", "--san", "ip:10.0.0.7", "--out", "srv"]);
    let ok = pki.ok(&["cert", "verify", "srv/cert.pem", "--name", "api.internal", "--purpose", "server"]);
    assert!(ok.starts_with("OK: valid for server"), "{ok}");
    assert!(pki.ok(&["cert", "verify", "srv/fullchain.pem", "--name", "10.0.0.7"]).starts_with("OK"));

    let e = pki.fails(&["cert", "verify", "srv/cert.pem", "--name", "other.internal"]);
    assert!(e.contains("not valid for name \"other.internal\""), "{e}");
    let e = pki.fails(&["cert", "verify", "srv/cert.pem", "--purpose", "client"]);
    assert!(e.contains("does not allow client authentication"), "{e}");
    let e = pki.fails(&["cert", "verify", "srv/cert.pem", "--at", "2040-01-01T00:00:00Z"]);
    assert!(e.contains("certificate has expired"), "{e}");
    let e = pki.fails(&["cert", "verify", "srv/cert.pem", "--at", "2001-01-01T00:00:00Z"]);
    assert!(e.contains("not yet valid"), "{e}");

    // As a general-purpose verifier against another PKI's roots: no path.
    let other = Pki::new();
    other.ok(&["init", "--name", "Other Org"]);
    let roots = other.roots();
    let e = pki.fails(&["cert", "verify", "srv/fullchain.pem", "--roots", roots.to_str().unwrap()]);
    assert!(e.contains("no path to a trusted root"), "{e}");
    // A look-alike root (same name, other key) is caught by the signature.
    let twin = Pki::init();
    let roots = twin.roots();
    let e = pki.fails(&["cert", "verify", "srv/fullchain.pem", "--roots", roots.to_str().unwrap()]);
    assert!(e.contains("signature in the chain does not verify"), "{e}");
    // With its own roots and chain, it works without a home.
    let own = pki.roots();
    let out = pki.cmd(&["cert", "verify", "srv/cert.pem", "--chain", "srv/chain.pem", "--roots", own.to_str().unwrap()]).env("IRONPKI_HOME", "/nonexistent").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    std::fs::write(pki.path("junk.pem"), "not a certificate").unwrap();
    let e = pki.fails(&["cert", "verify", "junk.pem"]);
    assert!(e.contains("junk.pem"), "{e}");
}

#[test]
fn root_key_can_stay_offline() {
    let Some(openssl) = tool("openssl") else { return };
    let pki = Pki::new();
    pki.ok(&["init", "--name", "Offline Org", "--root-offline", "vault"]);
    assert!(!pki.home().join("ca/root/key.pem").exists(), "no root key in the home");
    assert!(pki.path("vault/key.pem").exists());
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(pki.path("vault/key.pem")).unwrap().permissions().mode() & 0o777, 0o600);
    pki.ok(&["cert", "issue", "--profile", "server", "--cn", "a.internal", "--out", "a"]);
    let roots = pki.roots();
    let out = run_tool(&openssl, &["verify", "-CAfile", roots.to_str().unwrap(), "-untrusted", "a/chain.pem", "a/cert.pem"], pki.dir.path());
    assert_ok(&out, "openssl verify");
    let root = pki.json(&["ca", "show", "root"]);
    assert!(root["ca"]["key_ref"].as_str().unwrap().starts_with("offline:"));
}

#[test]
fn pki_shape_config_is_accepted_as_it_is() {
    let pki = Pki::new();
    let seed = include_str!("../../config/tests/pki-shape.yaml");
    let root_dir = pki.path("etc/pki/root_ca");
    let int_dir = pki.path("etc/pki/intermediate_ca");
    let text = seed
        .replace("/etc/pki/root_ca", root_dir.to_str().unwrap())
        .replace("/etc/pki/intermediate_ca", int_dir.to_str().unwrap());
    std::fs::write(pki.path("pki.yaml"), text).unwrap();
    pki.ok(&["init", "--config", "pki.yaml"]);
    assert!(root_dir.join("key.pem").exists() && int_dir.join("key.pem").exists(), "CA material goes where the paths say");
    let cas = pki.json(&["ca", "list"]);
    assert_eq!(cas[0]["key_type"], "ecdsa-p384");
    assert_eq!(cas[1]["name"], "iot_intermediate");
    // certificate_policy became the default profile: no --profile needed.
    let issued = pki.json(&["cert", "issue", "--cn", "gw-1.iot.example.com", "--san", "dns:gw-1.iot.example.com", "--out", "gw"]);
    assert_eq!(issued["profile"], "default");
    let life = time::OffsetDateTime::parse(issued["not_after"].as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap()
        - time::OffsetDateTime::now_utc();
    assert!((364..=365).contains(&life.whole_days()), "{life}");
    let e = pki.fails(&["cert", "issue", "--cn", "x", "--san", "dns:x.example.org", "--out", "x"]);
    assert!(e.contains("not allowed by profile \"default\""), "{e}");
    let shown = pki.json(&["cert", "show", issued["serial"].as_str().unwrap()]);
    assert!(shown["certificate"]["sans"][0].as_str().unwrap().contains("gw-1.iot.example.com"));
}
