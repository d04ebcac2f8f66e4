//! lego (Debian's) against `serve`, unmodified: http-01, tls-alpn-01 and dns-01 (`--dns
//! exec`, publishing in a real DNS server, through a CNAME), renewal, revocation, and
//! External Account Binding. What it issued verifies with openssl.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::dns::{acme_pki, port, TestDns};
use common::{run_tool, test_script, tool, Pki};

struct Lego {
    binary: PathBuf,
    path: PathBuf,
    roots: PathBuf,
    dns: String,
    management: String,
}

impl Lego {
    fn run(&self, directory: &str, args: &[&str]) -> Output {
        Command::new(&self.binary)
            .args(["--server", directory, "--path", self.path.to_str().unwrap(), "--email", "ops@svc.internal", "--accept-tos"])
            .args(args)
            .env("LEGO_CA_CERTIFICATES", &self.roots)
            .env("EXEC_PATH", test_script("lego_dns_exec.sh"))
            .env("CHALLTESTSRV", &self.management)
            .env("EXEC_POLLING_INTERVAL", "1")
            .env("SSL_CERT_FILE", "/dev/null")
            .output()
            .expect("run lego")
    }

    fn ok(&self, directory: &str, args: &[&str]) {
        let out = self.run(directory, args);
        assert!(out.status.success(), "lego {args:?}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }

    /// The certificate lego saved for `domain` (a wildcard's file is named with `_`).
    fn cert(&self, domain: &str) -> PathBuf {
        self.path.join("certificates").join(format!("{}.crt", domain.replace('*', "_")))
    }
}

/// The serial of the leaf in `bundle` (lego saves leaf then issuer), after openssl
/// verifies the bundle up to the PKI's root.
fn verified_serial(pki: &Pki, openssl: &Path, bundle: &Path) -> String {
    let text = std::fs::read_to_string(bundle).unwrap();
    let blocks: Vec<&str> = text.split_inclusive("-----END CERTIFICATE-----\n").filter(|b| b.contains("BEGIN")).collect();
    assert_eq!(blocks.len(), 2, "{text}");
    std::fs::write(pki.path("leaf.pem"), blocks[0]).unwrap();
    std::fs::write(pki.path("chain.pem"), blocks[1]).unwrap();
    let roots = pki.roots();
    let out = run_tool(openssl, &["verify", "-purpose", "sslserver", "-CAfile", roots.to_str().unwrap(), "-untrusted", "chain.pem", "leaf.pem"], pki.dir.path());
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let out = run_tool(openssl, &["x509", "-in", "leaf.pem", "-noout", "-serial"], pki.dir.path());
    String::from_utf8_lossy(&out.stdout).trim().trim_start_matches("serial=").to_ascii_lowercase()
}

#[test]
fn lego_issues_over_every_challenge_renews_revokes_and_binds_eab() {
    let Some(binary) = tool("lego") else { return };
    let Some(openssl) = tool("openssl") else { return };
    let Some(dns) = TestDns::start() else { return };
    let (http_port, tls_port) = (port(), port());
    let (pki, listen) = acme_pki(&dns, http_port, tls_port);
    let server = pki.serve_at(&listen);
    let directory = format!("{}/acme/acme/directory", server.tls_base);
    let lego = Lego { binary, path: pki.path("lego"), roots: pki.roots(), dns: dns.resolver.clone(), management: dns.management.clone() };
    let http = format!("127.0.0.1:{http_port}");
    let tls = format!("127.0.0.1:{tls_port}");

    lego.ok(&directory, &["-d", "web4.svc.internal", "--http", "--http.port", &http, "run"]);
    let first = verified_serial(&pki, &openssl, &lego.cert("web4.svc.internal"));

    lego.ok(&directory, &["-d", "web5.svc.internal", "--tls", "--tls.port", &tls, "run"]);
    let tls_alpn = verified_serial(&pki, &openssl, &lego.cert("web5.svc.internal"));
    assert_eq!(pki.json(&["cert", "show", &tls_alpn])["record"]["status"], "valid");

    // dns-01 for a wildcard, with the challenge name delegated by CNAME to another zone.
    dns.set_cname("_acme-challenge.lego.internal", "_acme-challenge.delegated.internal");
    lego.ok(&directory, &["-d", "*.lego.internal", "--dns", "exec", "--dns.resolvers", &lego.dns, "--dns.disable-cp", "run"]);
    verified_serial(&pki, &openssl, &lego.cert("*.lego.internal"));

    lego.ok(&directory, &["-d", "web4.svc.internal", "--http", "--http.port", &http, "renew", "--days", "400", "--no-random-sleep"]);
    let renewed = verified_serial(&pki, &openssl, &lego.cert("web4.svc.internal"));
    assert_ne!(first, renewed, "renew issued a new certificate");

    lego.ok(&directory, &["-d", "web4.svc.internal", "revoke"]);
    assert_eq!(pki.json(&["cert", "show", &renewed])["record"]["status"], "revoked");

    // EAB: refused without a binding, served with one.
    let eab_directory = format!("{}/acme/eab/directory", server.tls_base);
    let eab_lego = Lego { path: pki.path("lego-eab"), ..lego };
    let refused = eab_lego.run(&eab_directory, &["-d", "web6.svc.internal", "--http", "--http.port", &http, "run"]);
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && said.contains("Server requires External Account Binding"), "the directory says so: {said}");
    let key = pki.json(&["acme", "eab", "create", "--provisioner", "eab"]);
    let (kid, hmac) = (key["kid"].as_str().unwrap(), key["hmac_key"].as_str().unwrap());
    // `--flag=value`: a base64url key may begin with `-`.
    let (kid, hmac) = (format!("--kid={kid}"), format!("--hmac={hmac}"));
    eab_lego.ok(&eab_directory, &["--eab", &kid, &hmac, "-d", "web6.svc.internal", "--http", "--http.port", &http, "run"]);
    verified_serial(&pki, &openssl, &eab_lego.cert("web6.svc.internal"));
}
