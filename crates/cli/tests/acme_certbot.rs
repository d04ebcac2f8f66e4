//! certbot (the newest release, from PyPI) against `serve`, unmodified: http-01 with
//! `--standalone`, dns-01 for a wildcard with manual hooks publishing the TXT records in a
//! real DNS server, forced renewal, revocation with a reason, and a provisioner that
//! requires External Account Binding, refused without it. What it issued passes openssl
//! and pkilint.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::dns::{acme_pki, port, TestDns};
use common::{run_tool, test_script, tool, Pki};

struct Certbot {
    binary: PathBuf,
    dir: PathBuf,
    roots: PathBuf,
    management: String,
}

impl Certbot {
    /// certbot with its own configuration, work and log directories under `dir`, trusting
    /// the PKI's root for the ACME server's HTTPS.
    fn run(&self, directory: &str, args: &[&str]) -> Output {
        let d = |sub: &str| self.dir.join(sub).to_str().unwrap().to_string();
        Command::new(&self.binary)
            .args(["--non-interactive", "--config-dir", &d("config"), "--work-dir", &d("work"), "--logs-dir", &d("logs"), "--server", directory])
            .args(args)
            .env("REQUESTS_CA_BUNDLE", &self.roots)
            .env("CHALLTESTSRV", &self.management)
            .output()
            .expect("run certbot")
    }

    fn ok(&self, directory: &str, args: &[&str]) -> String {
        let out = self.run(directory, args);
        let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "certbot {args:?}: {said}");
        said
    }

    fn live(&self, name: &str, file: &str) -> PathBuf {
        self.dir.join("config/live").join(name).join(file)
    }
}

fn serial_of(openssl: &Path, cert: &Path) -> String {
    let out = run_tool(openssl, &["x509", "-in", cert.to_str().unwrap(), "-noout", "-serial"], Path::new("."));
    String::from_utf8_lossy(&out.stdout).trim().trim_start_matches("serial=").to_ascii_lowercase()
}

/// openssl verifies `cert` up to the PKI's root through certbot's chain; pkilint finds
/// nothing but, for a wildcard certificate, its one objection to `*` in a dNSName (RFC 5280's
/// preferred name syntax has no wildcards; RFC 6125 defines them).
fn verified_and_clean(pki: &Pki, openssl: &Path, pkilint: &Path, cert: &Path, chain: &Path) {
    let roots = pki.roots();
    let out = run_tool(openssl, &["verify", "-purpose", "sslserver", "-CAfile", roots.to_str().unwrap(), "-untrusted", chain.to_str().unwrap(), cert.to_str().unwrap()], pki.dir.path());
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let lint = run_tool(pkilint, &["lint", "-s", "WARNING", cert.to_str().unwrap()], pki.dir.path());
    let findings = String::from_utf8_lossy(&lint.stdout);
    let objections: Vec<&str> = findings.lines().filter(|l| l.contains("(ERROR)") || l.contains("(WARNING)") || l.contains("(FATAL)")).collect();
    let wildcard_syntax = |l: &&str| l.contains("pkix.invalid_domain_name_syntax") && l.contains("\"*.");
    assert!(objections.len() == findings.matches("pkix.").count() && objections.iter().all(wildcard_syntax) && objections.len() <= 1, "pkilint {}: {findings}", cert.display());
}

#[test]
fn certbot_issues_renews_and_revokes_over_http01_and_dns01_with_and_without_eab() {
    let Some(binary) = tool("certbot") else { return };
    let Some(openssl) = tool("openssl") else { return };
    let Some(pkilint) = tool("lint_pkix_cert") else { return };
    let Some(dns) = TestDns::start() else { return };
    let http_port = port();
    let (pki, listen) = acme_pki(&dns, http_port, port());
    let server = pki.serve_at(&listen);
    let directory = format!("{}/acme/acme/directory", server.tls_base);
    let eab_directory = format!("{}/acme/eab/directory", server.tls_base);
    let certbot = Certbot { binary, dir: pki.path("certbot"), roots: pki.roots(), management: dns.management.clone() };
    let http = http_port.to_string();
    let standalone = ["--standalone", "--http-01-address", "127.0.0.1", "--http-01-port", &http];
    let register = ["--agree-tos", "--register-unsafely-without-email"];

    // http-01: certbot answers on its own listener; the name resolves through the test DNS.
    let args: Vec<&str> = ["certonly", "--cert-name", "web1", "-d", "web1.svc.internal"].iter().chain(&standalone).chain(&register).copied().collect();
    certbot.ok(&directory, &args);
    verified_and_clean(&pki, &openssl, &pkilint, &certbot.live("web1", "cert.pem"), &certbot.live("web1", "chain.pem"));

    // dns-01 for a name and its wildcard: the hooks publish both TXT records.
    let hook = test_script("certbot_dns_hook.sh");
    let auth_hook = hook.to_str().unwrap().to_string();
    let cleanup_hook = format!("{auth_hook} cleanup");
    let args = ["certonly", "--cert-name", "wild", "--manual", "--preferred-challenges", "dns", "--manual-auth-hook", &auth_hook, "--manual-cleanup-hook", &cleanup_hook, "-d", "svc.internal", "-d", "*.svc.internal"];
    certbot.ok(&directory, &args);
    let wild = certbot.live("wild", "cert.pem");
    verified_and_clean(&pki, &openssl, &pkilint, &wild, &certbot.live("wild", "chain.pem"));
    let text = String::from_utf8(run_tool(&openssl, &["x509", "-in", wild.to_str().unwrap(), "-noout", "-ext", "subjectAltName"], pki.dir.path()).stdout).unwrap();
    assert!(text.contains("DNS:svc.internal") && text.contains("DNS:*.svc.internal"), "{text}");

    // Renewal of both lineages with what certbot recorded at issuance.
    let before = [serial_of(&openssl, &certbot.live("web1", "cert.pem")), serial_of(&openssl, &wild)];
    let said = certbot.ok(&directory, &["renew", "--force-renewal", "--no-random-sleep-on-renew"]);
    let after = [serial_of(&openssl, &certbot.live("web1", "cert.pem")), serial_of(&openssl, &wild)];
    assert!(before[0] != after[0] && before[1] != after[1], "both renewed: {before:?} {after:?}\n{said}");
    for serial in &after {
        assert_eq!(pki.json(&["cert", "show", serial])["record"]["status"], "valid");
    }

    // Revocation with a reason, signed by the account.
    let web1 = certbot.live("web1", "cert.pem");
    certbot.ok(&directory, &["revoke", "--cert-path", web1.to_str().unwrap(), "--reason", "keycompromise", "--no-delete-after-revoke"]);
    let shown = pki.json(&["cert", "show", &after[0]]);
    assert_eq!((shown["record"]["status"].as_str(), shown["record"]["revocation_reason"].as_i64()), (Some("revoked"), Some(1)), "{shown}");

    // A provisioner that requires EAB: refused without a binding, served with one.
    let eab_certbot = Certbot { dir: pki.path("certbot-eab"), ..certbot };
    let args: Vec<&str> = ["certonly", "--cert-name", "web3", "-d", "web3.svc.internal"].iter().chain(&standalone).chain(&register).copied().collect();
    let refused = eab_certbot.run(&eab_directory, &args);
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && said.contains("Server requires external account binding"), "the directory says so: {said}");
    let key = pki.json(&["acme", "eab", "create", "--provisioner", "eab"]);
    let (kid, hmac) = (key["kid"].as_str().unwrap(), key["hmac_key"].as_str().unwrap());
    // `--flag=value`: a base64url key may begin with `-`.
    let (kid, hmac) = (format!("--eab-kid={kid}"), format!("--eab-hmac-key={hmac}"));
    let with_eab: Vec<&str> = args.iter().copied().chain([kid.as_str(), hmac.as_str()]).collect();
    eab_certbot.ok(&eab_directory, &with_eab);
    verified_and_clean(&pki, &openssl, &pkilint, &eab_certbot.live("web3", "cert.pem"), &eab_certbot.live("web3", "chain.pem"));
    let keys = pki.json(&["acme", "eab", "list"]);
    assert!(keys.as_array().unwrap().iter().any(|k| k["kid"] == key["kid"] && k["account_id"].is_string()), "{keys}");
}
