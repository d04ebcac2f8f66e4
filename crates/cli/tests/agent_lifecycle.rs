//! The agent's lifecycle against our CA: the CA down during the renewal window (backoff,
//! working files untouched, renewal once it is back); `cert renew-early` honoured at the
//! next renewal-information check, with `replaces`; `kill -9` in the middle of a swap.

mod common;

use std::time::Duration;

use common::agent::{status, wait_new_serial, write_config, AgentProcess, ShortLivedCa};
use common::dns::TestDns;
use common::{tool, wait_until};
use instant_acme::CertificateIdentifier;
use rustls_pki_types::CertificateDer;

fn state_of(dir: &std::path::Path) -> serde_json::Value {
    std::fs::read(dir.join("state/certs/web.json")).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
}

#[test]
fn with_the_ca_down_the_agent_backs_off_and_renews_when_it_returns() {
    let Some(openssl) = tool("openssl") else { return };
    let Some(dns) = TestDns::start() else { return };
    let mut ca = ShortLivedCa::start(&dns, "20s");
    let dir = tempfile::tempdir().unwrap();
    let (config, files) = write_config(dir.path(), &ca, "down.svc.internal", "", "retry: { initial: 1s, max: 4s }\n");
    ca.pki.ok(&["agent", "--once", "--config", &config.display().to_string()]);
    let first = files.serial().unwrap();
    let (key, cert) = (std::fs::read(files.key()).unwrap(), std::fs::read(files.cert()).unwrap());

    ca.down();
    let agent = AgentProcess::start(&ca.pki, &config, &dir.path().join("agent.log"));
    let failing = wait_until(Duration::from_secs(60), || state_of(dir.path())["consecutive_failures"].as_u64() >= Some(3));
    assert!(failing.is_some(), "{}", agent.log_text());
    // Retries back off: the third failure comes at least 1.5 s after the first (0.75 × (1 + 2) s
    // of waits at the least).
    let log = agent.log_text();
    let times: Vec<time::OffsetDateTime> = log
        .lines()
        .filter(|l| l.contains("\"action\":\"renew.failed\""))
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            time::OffsetDateTime::parse(v["time"].as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap()
        })
        .collect();
    assert!(times.len() >= 3 && (times[2] - times[0]).as_seconds_f64() >= 1.5, "{log}");
    assert_eq!(std::fs::read(files.key()).unwrap(), key, "the key in place is untouched");
    assert_eq!(std::fs::read(files.cert()).unwrap(), cert, "the certificate in place is untouched");
    let st = status(&ca.pki, &config);
    assert!(st[0]["last_error"].as_str().unwrap_or("").contains("ACME"), "{st}");
    assert_eq!(st[0]["next_action"], "retry", "{st}");

    ca.up();
    let renewed = wait_new_serial(&files, Some(&first), Duration::from_secs(30));
    assert!(renewed.is_some(), "{}", agent.log_text());
    assert!(files.pair_matches(&openssl));
    let back = wait_until(Duration::from_secs(10), || state_of(dir.path())["consecutive_failures"] == 0);
    assert!(back.is_some());
}

fn leaf_der(path: &std::path::Path) -> Vec<u8> {
    ironpki_x509::pem::blocks(&std::fs::read(path).unwrap(), "CERTIFICATE", "cert").unwrap().remove(0)
}

#[test]
fn an_early_renewal_asked_by_the_ca_is_ordered_with_replaces() {
    let Some(openssl) = tool("openssl") else { return };
    let Some(dns) = TestDns::start() else { return };
    let ca = ShortLivedCa::start(&dns, "1h");
    let dir = tempfile::tempdir().unwrap();
    let (config, files) = write_config(dir.path(), &ca, "ari.svc.internal", "", "");
    let cfg = config.display().to_string();
    ca.pki.ok(&["agent", "--once", "--config", &cfg]);
    let first = files.serial().unwrap();
    let st = status(&ca.pki, &config);
    let window = st[0]["renewal_window"].as_array().expect("the CA's window is known").clone();
    assert_eq!(window.len(), 2);
    let old_id = CertificateIdentifier::try_from(&CertificateDer::from(leaf_der(&files.cert()))).unwrap().to_string();

    let serials = dir.path().join("serials");
    std::fs::write(&serials, format!("{first}\n")).unwrap();
    ca.pki.ok(&["cert", "renew-early", "--serials-file", &serials.display().to_string()]);
    let out = ca.pki.run(&["agent", "--once", "--config", &cfg]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("inside the CA's renewal window"), "{log}");
    let second = files.serial().unwrap();
    assert_ne!(second, first);
    assert!(files.pair_matches(&openssl));
    let replaced: Vec<String> = {
        let db = ca.pki.db();
        let mut q = db.prepare("SELECT replaces FROM acme_orders WHERE replaces IS NOT NULL").unwrap();
        q.query_map([], |r| r.get::<_, String>(0)).unwrap().map(Result::unwrap).collect()
    };
    assert_eq!(replaced, vec![old_id]);
}

#[test]
fn killed_in_the_middle_of_a_swap_the_agent_finishes_it_when_started_again() {
    let Some(openssl) = tool("openssl") else { return };
    let Some(dns) = TestDns::start() else { return };
    let ca = ShortLivedCa::start(&dns, "1h");
    let dir = tempfile::tempdir().unwrap();
    let (hold, inside, checked) = (dir.path().join("hold"), dir.path().join("in-check"), dir.path().join("checked"));
    let check = format!(
        "    check: {{ command: \"if [ -e {h} ]; then touch {i}; sleep 60; fi; touch {c}\" }}\n",
        h = hold.display(),
        i = inside.display(),
        c = checked.display()
    );
    let (config, files) = write_config(dir.path(), &ca, "crash.svc.internal", &check, "");
    let cfg = config.display().to_string();
    ca.pki.ok(&["agent", "--once", "--config", &cfg]);
    let first = files.serial().unwrap();

    // The next renewal is due at once; its check hangs, and the agent is killed there.
    let serials = dir.path().join("serials");
    std::fs::write(&serials, format!("{first}\n")).unwrap();
    ca.pki.ok(&["cert", "renew-early", "--serials-file", &serials.display().to_string()]);
    std::fs::write(&hold, "").unwrap();
    std::fs::remove_file(&checked).unwrap();
    let mut agent = AgentProcess::start(&ca.pki, &config, &dir.path().join("agent.log"));
    assert!(wait_until(Duration::from_secs(30), || inside.exists()).is_some(), "{}", agent.log_text());
    agent.kill9();
    assert!(dir.path().join("state/swaps/web.json").exists(), "the swap journal survives the crash");
    let installed = files.serial().unwrap();
    assert_ne!(installed, first);
    assert!(files.pair_matches(&openssl), "a matching pair is in place even mid-swap");

    // Started again, the agent finishes that swap (reload and check) rather than ordering anew.
    std::fs::remove_file(&hold).unwrap();
    let out = ca.pki.run(&["agent", "--once", "--config", &cfg]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("\"action\":\"swap.resumed\""), "{log}");
    assert!(!log.contains("\"action\":\"renew.start\""), "{log}");
    assert!(checked.exists());
    assert!(!dir.path().join("state/swaps/web.json").exists());
    assert_eq!(files.serial().unwrap(), installed);
    assert!(files.pair_matches(&openssl));
    assert_eq!(status(&ca.pki, &config)[0]["state"], "ok");
}
