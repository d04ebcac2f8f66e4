//! Each way the agent proves control of its names, against our CA: tls-alpn-01 from its
//! own listener, dns-01 through hook commands (publishing in the test DNS server), http-01
//! through a running web server's root, and an account bound with External Account
//! Binding.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::agent::{CertFiles, ShortLivedCa};
use common::dns::TestDns;
use common::{test_script, tool, wait_until};

/// An agent configuration for one certificate named `host`, `acme` being the YAML of its
/// `acme:` mapping.
fn config(dir: &std::path::Path, ca: &ShortLivedCa, host: &str, acme: &str) -> (String, CertFiles) {
    let files = CertFiles { dir: dir.join("tls") };
    std::fs::copy(ca.pki.roots(), dir.join("roots.pem")).unwrap();
    let t = files.dir.display();
    let text = format!(
        "state_dir: {state}\nroots: {roots}\ncertificates:\n  - name: c\n    acme: {acme}\n    sans: [\"dns:{host}\"]\n    key_type: ecdsa-p384\n    files: {{ key: {t}/key.pem, cert: {t}/cert.pem, fullchain: {t}/fullchain.pem }}\n    mode: \"0640\"\n",
        state = dir.join("state").display(),
        roots = dir.join("roots.pem").display(),
    );
    let path = dir.join("agent.yaml");
    std::fs::write(&path, text).unwrap();
    (path.display().to_string(), files)
}

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn tls_alpn_01_dns_01_webroot_and_eab() {
    let (Some(openssl), Some(python)) = (tool("openssl"), tool("python3")) else { return };
    let Some(dns) = TestDns::start() else { return };
    let ca = ShortLivedCa::start(&dns, "1h");
    let directory = ca.directory();

    // tls-alpn-01, the agent's own listener on the validation port.
    let dir = tempfile::tempdir().unwrap();
    let acme = format!("{{ directory: \"{directory}\", challenge: tls-alpn-01, tls_alpn01_listen: \"127.0.0.1:{}\" }}", ca.tls_alpn01_port);
    let (cfg, files) = config(dir.path(), &ca, "alpn.svc.internal", &acme);
    ca.pki.ok(&["agent", "--once", "--config", &cfg]);
    assert!(files.serial().is_some() && files.pair_matches(&openssl));
    assert_eq!((mode(&files.key()), mode(&files.cert())), (0o640, 0o640));
    assert!(std::net::TcpListener::bind(("127.0.0.1", ca.tls_alpn01_port)).is_ok(), "the listener is closed after the order");

    // dns-01, the hooks publishing and removing the TXT record.
    let dir = tempfile::tempdir().unwrap();
    let hook = |verb: &str| format!("CHALLTESTSRV={} sh {} {verb}", dns.management, test_script("agent_dns_hook.sh").display());
    let acme = format!("{{ directory: \"{directory}\", challenge: dns-01, dns01: {{ present: \"{}\", cleanup: \"{}\" }} }}", hook("present"), hook("cleanup"));
    let (cfg, files) = config(dir.path(), &ca, "txt.svc.internal", &acme);
    let out = ca.pki.run(&["agent", "--once", "--config", &cfg]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(files.serial().is_some() && files.pair_matches(&openssl));

    // http-01 through a web server's root (python's http.server on the validation port).
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("www");
    std::fs::create_dir_all(&root).unwrap();
    let web = Web(
        Command::new(python)
            .args(["-m", "http.server", "--bind", "127.0.0.1", "--directory", &root.display().to_string(), &ca.http01_port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_until(Duration::from_secs(10), || std::net::TcpStream::connect(("127.0.0.1", ca.http01_port)).is_ok()).expect("web server up");
    let acme = format!("{{ directory: \"{directory}\", challenge: http-01, webroot: \"{}\" }}", root.display());
    let (cfg, files) = config(dir.path(), &ca, "webroot.svc.internal", &acme);
    ca.pki.ok(&["agent", "--once", "--config", &cfg]);
    assert!(files.serial().is_some() && files.pair_matches(&openssl));
    let left: Vec<_> = std::fs::read_dir(root.join(".well-known/acme-challenge")).unwrap().collect();
    assert!(left.is_empty(), "the token files are removed after the order");
    drop(web);

    // A provisioner that wants External Account Binding: refused without it, served with it.
    let dir = tempfile::tempdir().unwrap();
    let key = ca.pki.json(&["acme", "eab", "create", "--provisioner", "eab"]);
    std::fs::write(dir.path().join("eab.key"), key["hmac_key"].as_str().unwrap()).unwrap();
    let eab_dir = ca.directory_of("eab");
    let plain = format!("{{ directory: \"{eab_dir}\", challenge: http-01, http01_listen: \"127.0.0.1:{}\" }}", ca.http01_port);
    let (cfg, files) = config(dir.path(), &ca, "eab.svc.internal", &plain);
    let out = ca.pki.run(&["agent", "--once", "--config", &cfg]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && log.contains("externalAccountRequired"), "{log}");
    let bound = format!(
        "{{ directory: \"{eab_dir}\", challenge: http-01, http01_listen: \"127.0.0.1:{}\", eab: {{ kid: \"{}\", hmac_key_file: \"{}\" }} }}",
        ca.http01_port,
        key["kid"].as_str().unwrap(),
        dir.path().join("eab.key").display()
    );
    let (cfg, files2) = config(dir.path(), &ca, "eab.svc.internal", &bound);
    let out = ca.pki.run(&["agent", "--once", "--config", &cfg]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(!log.contains(key["hmac_key"].as_str().unwrap()), "the EAB key is never logged");
    assert!(files2.serial().is_some() && files.pair_matches(&openssl));
}

struct Web(Child);

impl Drop for Web {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
