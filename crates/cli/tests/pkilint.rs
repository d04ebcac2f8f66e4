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

#[test]
fn pkilint_accepts_rsa_and_p384_hierarchies() {
    let Some(pkilint) = tool("lint_pkix_cert") else { return };
    let pki = Pki::new();
    std::fs::create_dir_all(pki.home()).unwrap();
    let config = ironpki_config::template("RSA Org")
        .replacen("key_type: ecdsa-p384", "key_type: rsa-4096", 1)
        .replacen("key_type: ecdsa-p256", "key_type: ecdsa-p384", 1);
    std::fs::write(pki.path("rsa.yaml"), config).unwrap();
    pki.ok(&["init", "--config", "rsa.yaml"]);
    lint(&pki, &pkilint, &pki.home().join("ca/root/cert.pem"));
    lint(&pki, &pkilint, &pki.home().join("ca/issuing/cert.pem"));
    pki.ok(&["cert", "issue", "--profile", "server", "--cn", "www.internal", "--out", "leaf"]);
    lint(&pki, &pkilint, &pki.path("leaf/cert.pem"));
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
