//! pkilint (lint_pkix_cert) finds no error or warning in the root, the intermediate,
//! and a leaf from every shipped profile, for every leaf key type.

mod common;

use common::{run_tool, tool, Pki};

fn lint(pki: &Pki, pkilint: &std::path::Path, file: &std::path::Path) {
    let out = run_tool(pkilint, &["lint", "-s", "WARNING", file.to_str().unwrap()], pki.dir.path());
    let findings = String::from_utf8_lossy(&out.stdout);
    assert!(
        findings.trim().is_empty() && out.status.success(),
        "pkilint on {}: {findings}{}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn pkilint_finds_nothing_in_what_we_issue() {
    let Some(pkilint) = tool("lint_pkix_cert") else { return };
    let pki = Pki::init();
    lint(&pki, &pkilint, &pki.home().join("ca/root/cert.pem"));
    lint(&pki, &pkilint, &pki.home().join("ca/issuing/cert.pem"));
    let leaves: [(&str, &str, &[&str]); 3] = [
        ("server", "api.svc.internal", &["--san", "ip:10.1.2.3"]),
        ("client", "billing", &["--san", "dns:billing.corp.internal", "--san", "email:ops@corp.internal"]),
        ("device", "sensor-1", &["--san", "dns:sensor-1.iot.internal"]),
    ];
    for (profile, cn, extra) in leaves {
        for kt in ["ecdsa-p256", "ed25519", "rsa-2048"] {
            let dir = format!("{profile}-{kt}");
            let mut args = vec!["cert", "issue", "--profile", profile, "--cn", cn, "--key-type", kt, "--out", &dir];
            args.extend_from_slice(extra);
            pki.ok(&args);
            lint(&pki, &pkilint, &pki.path(&format!("{dir}/cert.pem")));
        }
    }
}

/// Other CA key types, and an intermediate with name constraints.
#[test]
fn pkilint_accepts_other_hierarchies() {
    let Some(pkilint) = tool("lint_pkix_cert") else { return };
    let Some(openssl) = tool("openssl") else { return };
    for (root, inter) in [("rsa-4096", "ecdsa-p384"), ("ed25519", "rsa-3072"), ("ecdsa-p256", "ed25519")] {
        let pki = Pki::new();
        let config = ironpki_config::template("Other Org")
            .replacen("key_type: ecdsa-p384", &format!("key_type: {root}"), 1)
            .replacen("key_type: ecdsa-p256", &format!("key_type: {inter}"), 1)
            .replacen("# name_constraints:", "name_constraints:", 1);
        std::fs::write(pki.path("c.yaml"), config).unwrap();
        pki.ok(&["init", "--config", "c.yaml"]);
        lint(&pki, &pkilint, &pki.home().join("ca/root/cert.pem"));
        lint(&pki, &pkilint, &pki.home().join("ca/issuing/cert.pem"));
        pki.ok(&["cert", "issue", "--profile", "server", "--cn", "www.example.internal", "--san", "ip:10.9.8.7", "--out", "leaf"]);
        lint(&pki, &pkilint, &pki.path("leaf/cert.pem"));
        let text = String::from_utf8(
            run_tool(&openssl, &["x509", "-in", pki.home().join("ca/issuing/cert.pem").to_str().unwrap(), "-noout", "-text"], pki.dir.path()).stdout,
        )
        .unwrap();
        assert!(text.contains("X509v3 Name Constraints: critical"), "{text}");
        assert!(text.contains("DNS:example.internal") && text.contains("IP:10.0.0.0/255.0.0.0"), "{text}");
        let v = pki.json(&["cert", "verify", "leaf/cert.pem", "--name", "www.example.internal"]);
        assert_eq!(v["valid"], true, "{root}/{inter}");
        // The profile allows loopback addresses, the CA's constraints do not: refused before signing.
        let e = pki.fails(&["cert", "issue", "--profile", "server", "--cn", "lo.example.internal", "--san", "ip:127.0.0.1", "--out", "lo"]);
        assert!(e.contains("SAN ip:127.0.0.1 is outside the name constraints of CA \"issuing\""), "{e}");
    }
}

/// pkilint checks URIs with Python's `validators.url`, which knows only web schemes, so
/// it reports every SPIFFE ID as `pkix.invalid_uri_syntax`. That must be its only finding.
#[test]
fn spiffe_uri_is_pkilints_only_finding() {
    let Some(pkilint) = tool("lint_pkix_cert") else { return };
    let pki = Pki::init();
    pki.ok(&["cert", "issue", "--profile", "client", "--cn", "billing", "--san", "uri:spiffe://ironpki.internal/ns/prod/sa/billing", "--out", "spiffe"]);
    let out = run_tool(&pkilint, &["lint", "-s", "WARNING", "spiffe/cert.pem"], pki.dir.path());
    let findings = String::from_utf8_lossy(&out.stdout);
    let codes: Vec<&str> = findings.lines().filter(|l| l.starts_with("    ")).collect();
    assert_eq!(codes.len(), 1, "{findings}");
    assert!(codes[0].contains("pkix.invalid_uri_syntax") && codes[0].contains("spiffe://ironpki.internal/ns/prod/sa/billing"), "{findings}");
}
