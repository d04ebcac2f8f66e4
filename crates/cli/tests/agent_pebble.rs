//! The agent is a standard ACME client: it obtains a certificate from Pebble (Let's
//! Encrypt's test CA, which offers no renewal information) and renews it at two thirds of
//! its 30-second lifetime.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::agent::{status, wait_new_serial, AgentProcess, CertFiles};
use common::dns::{port, TestDns};
use common::{tool, wait_until, Pki};

struct Pebble(Child);

impl Drop for Pebble {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_agent_obtains_and_renews_from_pebble() {
    let (Some(pebble), Some(curl), Some(openssl)) = (tool("pebble"), tool("curl"), tool("openssl")) else { return };
    let Some(dns) = TestDns::start() else { return };
    // Our PKI issues Pebble's listener certificate, so the agent can trust its directory.
    let pki = Pki::init();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    pki.ok(&["cert", "issue", "--profile", "server", "--cn", "localhost", "--san", "dns:localhost", "--san", "ip:127.0.0.1", "--out", &d.join("pebble-tls").display().to_string()]);
    let (listen, management, http01) = (port(), port(), port());
    let config = serde_json::json!({ "pebble": {
        "listenAddress": format!("127.0.0.1:{listen}"), "managementListenAddress": format!("127.0.0.1:{management}"),
        "certificate": d.join("pebble-tls/fullchain.pem"), "privateKey": d.join("pebble-tls/key.pem"),
        "httpPort": http01, "tlsPort": port(), "ocspResponderURL": "", "externalAccountBindingRequired": false,
        "certificateValidityPeriod": 30 } });
    std::fs::write(d.join("pebble.json"), config.to_string()).unwrap();
    let _pebble = Pebble(
        Command::new(pebble)
            .args(["-config", &d.join("pebble.json").display().to_string(), "-dnsserver", &dns.resolver])
            .envs([("PEBBLE_VA_NOSLEEP", "1"), ("PEBBLE_WFE_NONCEREJECT", "0"), ("PEBBLE_AUTHZREUSE", "0")])
            .stdout(std::fs::File::create(d.join("pebble.log")).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let up = |p: u16| std::net::TcpStream::connect(("127.0.0.1", p)).is_ok();
    wait_until(Duration::from_secs(20), || up(listen) && up(management)).expect("pebble listening");

    // Pebble's root (a new one each start) is the trust the issued chains must verify to.
    let roots = d.join("pebble-root.pem");
    let out = Command::new(&curl)
        .args(["-sf", "--cacert", &pki.roots().display().to_string(), "-o", &roots.display().to_string()])
        .arg(format!("https://localhost:{management}/roots/0"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let files = CertFiles { dir: d.join("tls") };
    let t = files.dir.display();
    let agent_config = format!(
        "state_dir: {state}\nroots: {roots}\ncertificates:\n  - name: web\n    acme:\n      directory: https://localhost:{listen}/dir\n      tls_roots: {tls}\n      contact: [\"mailto:ops@example.org\"]\n      challenge: http-01\n      http01_listen: 127.0.0.1:{http01}\n    sans: [\"dns:pebble.svc.internal\"]\n    key_type: rsa-2048\n    files: {{ key: {t}/key.pem, cert: {t}/cert.pem, fullchain: {t}/fullchain.pem }}\n",
        state = d.join("state").display(),
        roots = roots.display(),
        tls = pki.roots().display(),
    );
    let config = d.join("agent.yaml");
    std::fs::write(&config, agent_config).unwrap();
    let cfg = config.display().to_string();

    pki.ok(&["agent", "--once", "--config", &cfg]);
    let first = files.serial().expect("a certificate from Pebble");
    assert!(files.pair_matches(&openssl));
    let verify = Command::new(&openssl)
        .args(["verify", "-CAfile", &roots.display().to_string(), "-untrusted", &files.fullchain().display().to_string()])
        .arg(files.cert())
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));
    let st = status(&pki, &config);
    assert_eq!(st[0]["state"], "ok");
    assert!(st[0]["renewal_window"].is_null(), "Pebble offers no renewal information: {st}");

    // No window from the CA: the daemon renews at about two thirds of the 30 s lifetime.
    let agent = AgentProcess::start(&pki, &config, &d.join("agent.log"));
    let second = wait_new_serial(&files, Some(&first), Duration::from_secs(40));
    assert!(second.is_some(), "{}", agent.log_text());
    assert!(agent.log_text().contains("past 67 % of its lifetime"), "{}", agent.log_text());
    assert!(files.pair_matches(&openssl));
}
