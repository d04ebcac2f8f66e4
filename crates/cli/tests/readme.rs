//! The README's quick start runs exactly as written.

mod common;

use std::path::Path;
use std::process::Command;

fn quick_start() -> String {
    block("<!-- quick-start")
}

/// The first `sh` block after `marker` in README.md.
fn block(marker: &str) -> String {
    let readme = include_str!("../../../README.md");
    let start = readme.find(marker).unwrap_or_else(|| panic!("{marker} in README.md"));
    let block = &readme[start..];
    let open = block.find("```sh\n").expect("sh block after the marker") + "```sh\n".len();
    let close = block[open..].find("```").expect("closing fence");
    block[open..open + close].to_string()
}

/// Runs `script` with bash (`-euo pipefail`) in `dir`, as a newcomer's shell would: the
/// binary on the PATH, a fresh HOME, no IronPKI variables; returns its stdout.
fn run(script: &str, dir: &Path, what: &str) -> String {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_ironpki")).parent().unwrap();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(dir)
        .env("PATH", path)
        .env("HOME", dir)
        .env("SSL_CERT_FILE", "/dev/null")
        .env_remove("IRONPKI_HOME")
        .env_remove("IRONPKI_PASSPHRASE")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{what} failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

#[test]
fn readme_quick_start_runs_as_written() {
    if common::tool("openssl").is_none() {
        return;
    }
    let script = quick_start();
    assert!(script.contains("ironpki init"), "{script}");
    let dir = tempfile::tempdir().unwrap();
    let stdout = run(&script, dir.path(), "quick start");
    assert!(stdout.contains("api/cert.pem: OK"), "{stdout}");
    assert!(stdout.contains("OK: valid for client"), "{stdout}");
    assert!(stdout.contains("audit log intact: 7 entries"), "{stdout}");
    assert!(dir.path().join("pki/ironpki.yaml").exists());
}

/// The `serve` section's session, after the quick start: a token, a CSR over the API,
/// the admin certificate, the CRL and OCSP, against the default ports.
#[test]
fn readme_serve_example_runs_as_written() {
    for tool in ["openssl", "curl", "jq"] {
        if common::tool(tool).is_none() {
            return;
        }
    }
    for port in [8080, 8443] {
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
            panic!("port {port} is taken: the README's serve example uses the default ports");
        }
    }
    let script = format!("{}\n{}", quick_start(), block("<!-- serve-example"));
    assert!(script.contains("ironpki serve &"), "{script}");
    let dir = tempfile::tempdir().unwrap();
    let stdout = run(&script, dir.path(), "serve example");
    assert!(stdout.contains("root\nissuing\n"), "the CAs listed with the admin certificate: {stdout}");
    assert!(stdout.contains("d1.pem: good"), "OCSP for the certificate issued over the API: {stdout}");
    assert!(stdout.contains("crlNumber="), "{stdout}");
    let issued = std::fs::read_to_string(dir.path().join("d1.pem")).unwrap();
    assert_eq!(issued.matches("BEGIN CERTIFICATE").count(), 2, "fullchain: the certificate and the intermediate");
}
