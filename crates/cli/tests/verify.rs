//! `cert verify` under its two profiles, through the real binary: our own certificates
//! pass both; certificates made by openssl show where RFC 5280 and webpki differ.

mod common;

use common::{assert_ok, run_tool, tool, Pki};

#[test]
fn our_own_certificates_verify_under_both_profiles() {
    let pki = Pki::init();
    pki.ok(&["cert", "issue", "--profile", "server", "--cn", "api.internal", "--san", "ip:10.0.0.7", "--out", "srv"]);
    pki.ok(&["cert", "issue", "--profile", "device", "--cn", "sensor-1", "--san", "dns:sensor-1.iot.internal", "--out", "dev"]);
    pki.ok(&["cert", "issue", "--profile", "client", "--cn", "ci-runner", "--san", "uri:spiffe://ironpki.internal/ci", "--out", "cli"]);
    for profile in ["rfc5280", "webpki"] {
        let ok = pki.ok(&["cert", "verify", "srv/cert.pem", "--name", "api.internal", "--purpose", "server", "--profile", profile]);
        assert!(ok.starts_with("OK: valid for server"), "{profile}: {ok}");
        let roots = pki.roots();
        let ok = pki.ok(&["cert", "verify", "srv/cert.pem", "--chain", "srv/chain.pem", "--roots", roots.to_str().unwrap(), "--name", "10.0.0.7", "--profile", profile]);
        assert!(ok.starts_with("OK"), "{profile}: {ok}");
        for leaf in ["dev/cert.pem", "cli/cert.pem"] {
            let v = pki.json(&["cert", "verify", leaf, "--purpose", "client", "--profile", profile]);
            assert_eq!(v["valid"], true, "{profile} {leaf}: {v}");
        }
    }
    // The default is RFC 5280; an unknown profile is a usage error.
    let e = pki.fails(&["cert", "verify", "srv/cert.pem", "--purpose", "client"]);
    assert!(e.contains("RFC 5280 4.2.1.12: certificate's extended key usage does not allow client authentication"), "{e}");
    let out = pki.run(&["cert", "verify", "srv/cert.pem", "--profile", "strict"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
}

const OPENSSL_CNF: &str = "\
[req]
distinguished_name = dn
[dn]
[root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[root_bc_not_critical]
basicConstraints = CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:leaf.example.com
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf_is_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, digitalSignature, keyCertSign
extendedKeyUsage = serverAuth
subjectAltName = DNS:leaf.example.com
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
";

/// A root (extensions from section `root_section`) and a leaf it signs (`leaf_section`),
/// written as `NAME-root.pem` and `NAME-leaf.pem`.
fn openssl_pair(pki: &Pki, openssl: &std::path::Path, name: &str, root_section: &str, leaf_section: &str) {
    let d = pki.dir.path();
    std::fs::write(d.join("vectors.cnf"), OPENSSL_CNF).unwrap();
    let (root, root_key, leaf, leaf_key) =
        (format!("{name}-root.pem"), format!("{name}-root.key"), format!("{name}-leaf.pem"), format!("{name}-leaf.key"));
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    let mut args = vec!["req", "-x509", "-config", "vectors.cnf", "-extensions", root_section];
    args.extend(ec);
    args.extend(["-keyout", &root_key, "-out", &root, "-subj", "/O=Vector Org/CN=Vector Root", "-days", "30"]);
    assert_ok(&run_tool(openssl, &args, d), "openssl req -x509");
    let mut args = vec!["req", "-new", "-config", "vectors.cnf"];
    args.extend(ec);
    args.extend(["-keyout", &leaf_key, "-out", "leaf.csr", "-subj", "/O=Vector Org/CN=leaf.example.com"]);
    assert_ok(&run_tool(openssl, &args, d), "openssl req");
    let args = [
        "x509", "-req", "-in", "leaf.csr", "-CA", &root, "-CAkey", &root_key, "-set_serial", "0x51a7", "-days", "10",
        "-extfile", "vectors.cnf", "-extensions", leaf_section, "-out", &leaf,
    ];
    assert_ok(&run_tool(openssl, &args, d), "openssl x509 -req");
}

#[test]
fn the_profile_flag_shows_where_rfc5280_and_webpki_differ() {
    let Some(openssl) = tool("openssl") else { return };
    let pki = Pki::new();

    // A root whose basicConstraints is not critical: RFC 5280 4.2.1.9 refuses, webpki does not look.
    openssl_pair(&pki, &openssl, "lax", "root_bc_not_critical", "leaf");
    let args = ["cert", "verify", "lax-leaf.pem", "--roots", "lax-root.pem", "--name", "leaf.example.com"];
    let e = pki.fails(&args);
    assert!(e.contains("invalid: RFC 5280 4.2.1.9: trust anchor O=Vector Org, CN=Vector Root: basicConstraints is not critical"), "{e}");
    let out = pki.cmd(&["--output", "json"]).args(args).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert!(v["reason"].as_str().unwrap().starts_with("RFC 5280 4.2.1.9:"), "{v}");
    let ok = pki.ok(&[&args[..], &["--profile", "webpki"]].concat());
    assert!(ok.starts_with("OK: valid for server"), "{ok}");

    // An end-entity certificate that is also a CA: RFC 5280 allows it, webpki refuses it.
    openssl_pair(&pki, &openssl, "eeca", "root", "leaf_is_ca");
    let args = ["cert", "verify", "eeca-leaf.pem", "--roots", "eeca-root.pem", "--name", "leaf.example.com"];
    let ok = pki.ok(&args);
    assert!(ok.starts_with("OK: valid for server") && ok.contains("chain: O=Vector Org, CN=leaf.example.com <- O=Vector Org, CN=Vector Root"), "{ok}");
    let e = pki.fails(&[&args[..], &["--profile", "webpki"]].concat());
    assert!(e.contains("the certificate is a CA certificate, not an end entity"), "{e}");
}

/// Our hierarchies with other key types, and an intermediate with name constraints
/// (dNSName and iPAddress), verify under RFC 5280 too.
#[test]
fn other_hierarchies_verify_under_rfc5280() {
    for (root, inter, leaf) in [("rsa-4096", "ecdsa-p384", "ed25519"), ("ed25519", "rsa-3072", "rsa-2048"), ("ecdsa-p256", "ed25519", "ecdsa-p384")] {
        let pki = Pki::new();
        let config = ironpki_config::template("Other Org")
            .replacen("key_type: ecdsa-p384", &format!("key_type: {root}"), 1)
            .replacen("key_type: ecdsa-p256", &format!("key_type: {inter}"), 1)
            .replacen("# name_constraints:", "name_constraints:", 1);
        std::fs::write(pki.path("c.yaml"), config).unwrap();
        pki.ok(&["init", "--config", "c.yaml"]);
        let args = ["cert", "issue", "--profile", "server", "--cn", "www.example.internal", "--san", "ip:10.9.8.7", "--key-type", leaf, "--out", "leaf"];
        pki.ok(&args);
        let ok = pki.ok(&["cert", "verify", "leaf/cert.pem", "--name", "www.example.internal"]);
        assert!(ok.starts_with("OK: valid for server"), "{root}/{inter}/{leaf}: {ok}");
        let roots = pki.roots();
        let ok = pki.ok(&["cert", "verify", "leaf/cert.pem", "--chain", "leaf/chain.pem", "--roots", roots.to_str().unwrap(), "--name", "10.9.8.7"]);
        assert!(ok.starts_with("OK"), "{root}/{inter}/{leaf}: {ok}");
    }
}
