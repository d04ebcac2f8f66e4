//! The README's quick start runs exactly as written.

mod common;

use std::path::Path;
use std::process::Command;

fn quick_start() -> String {
    let readme = include_str!("../../../README.md");
    let start = readme.find("<!-- quick-start").expect("quick-start marker in README.md");
    let block = &readme[start..];
    let open = block.find("```sh\n").expect("sh block after the marker") + "```sh\n".len();
    let close = block[open..].find("```").expect("closing fence");
    block[open..open + close].to_string()
}

#[test]
fn readme_quick_start_runs_as_written() {
    if common::tool("openssl").is_none() {
        return;
    }
    let script = quick_start();
    assert!(script.contains("ironpki init"), "{script}");
    let dir = tempfile::tempdir().unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_ironpki")).parent().unwrap();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(dir.path())
        .env("PATH", path)
        .env("HOME", dir.path())
        .env_remove("IRONPKI_HOME")
        .env_remove("IRONPKI_PASSPHRASE")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "quick start failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("api/cert.pem: OK"), "{stdout}");
    assert!(stdout.contains("OK: valid for client"), "{stdout}");
    assert!(stdout.contains("audit log intact: 7 entries"), "{stdout}");
    assert!(dir.path().join("pki/ironpki.yaml").exists());
}
