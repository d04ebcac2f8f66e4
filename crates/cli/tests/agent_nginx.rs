//! `ironpki agent` keeping nginx's certificate: renewals of a 20-second certificate swap
//! in without one failed request; a swap whose check fails is rolled back and nginx keeps
//! serving the previous certificate.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::agent::{served_serial, stapled_status, status, wait_new_serial, write_config, AgentProcess, Nginx, ShortLivedCa};
use common::dns::{port, TestDns};
use common::{tool, wait_until};

#[test]
fn renewals_swap_in_without_a_failed_request() {
    let (Some(nginx), Some(curl), Some(openssl)) = (tool("nginx"), tool("curl"), tool("openssl")) else { return };
    let Some(dns) = TestDns::start() else { return };
    let ca = ShortLivedCa::start(&dns, "20s");
    let dir = tempfile::tempdir().unwrap();
    let (web, nginx_port) = (dir.path().join("nginx"), port());
    let reload = Nginx::reload_command(&nginx, &web);
    let (config, files) = write_config(dir.path(), &ca, "web.svc.internal", &format!("    reload: {{ command: \"{reload}\" }}\n"), "");

    // The first certificate, before nginx can start.
    ca.pki.ok(&["agent", "--once", "--config", &config.display().to_string()]);
    let first = files.serial().expect("a certificate in place");
    assert!(files.pair_matches(&openssl));
    let _nginx = Nginx::start(&nginx, &web, nginx_port, &files, "");
    let metrics_port = port();
    let agent = AgentProcess::start_with(&ca.pki, &config, &dir.path().join("agent.log"), &["--metrics-listen", &format!("127.0.0.1:{metrics_port}")]);

    // Requests without pause for a minute, through at least three renewals.
    let started = Instant::now();
    let (mut requests, mut served) = (0u32, vec![first.clone()]);
    while started.elapsed() < Duration::from_secs(60) || served.len() < 4 {
        assert!(started.elapsed() < Duration::from_secs(150), "only {} certificates served: {}", served.len(), agent.log_text());
        let out = Command::new(&curl)
            .args(["-s", "--max-time", "5", "--cacert", &ca.pki.roots().display().to_string()])
            .args(["--resolve", &format!("web.svc.internal:{nginx_port}:127.0.0.1"), "-w", "%{certs}"])
            .arg(format!("https://web.svc.internal:{nginx_port}/"))
            .output()
            .unwrap();
        requests += 1;
        assert!(out.status.success(), "request {requests} failed: {}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok\n"));
        if requests % 20 == 0 {
            if let Some(serial) = served_serial(&openssl, "web.svc.internal", nginx_port) {
                if served.last() != Some(&serial) {
                    served.push(serial);
                }
            }
        }
    }
    // Each renewal is a new serial, and the pair in place always matches.
    let mut distinct = served.clone();
    distinct.dedup();
    assert_eq!(distinct.len(), served.len());
    assert!(files.pair_matches(&openssl));
    let state = status(&ca.pki, &config);
    assert_eq!(state[0]["state"], "ok", "{state}");
    assert_eq!(state[0]["consecutive_failures"], 0);
    assert!(agent.log_text().contains("\"action\":\"swap.installed\""));
    assert!(requests > 100, "{requests} requests");

    // The metrics say the same: the expiry of the certificate in place, no failures, a
    // staple as old as its answer.
    let metrics = metrics_text(&curl, metrics_port);
    let expiry = metric(&metrics, "ironpki_agent_certificate_expiry_timestamp_seconds", "web").expect("expiry") as i64;
    let not_after = time::OffsetDateTime::parse(state[0]["not_after"].as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap();
    assert_eq!(expiry, not_after.unix_timestamp());
    assert_eq!(metric(&metrics, "ironpki_agent_renewal_failures", "web"), Some(0.0));
    assert_eq!(metric(&metrics, "ironpki_agent_certificate_valid", "web"), Some(1.0));
    assert!(metric(&metrics, "ironpki_agent_last_renewal_timestamp_seconds", "web").is_some());
    assert!(metric(&metrics, "ironpki_agent_ocsp_staple_age_seconds", "web").is_some_and(|age| age < 3600.0), "{metrics}");
    if let Some(promtool) = tool("promtool") {
        let mut check = Command::new(promtool).args(["check", "metrics"]).stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
        std::io::Write::write_all(check.stdin.as_mut().unwrap(), metrics.as_bytes()).unwrap();
        let out = check.wait_with_output().unwrap();
        assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }
}

fn metrics_text(curl: &std::path::Path, port: u16) -> String {
    let out = Command::new(curl).args(["-sf", &format!("http://127.0.0.1:{port}/metrics")]).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// The value of `name{name="cert"}`.
fn metric(text: &str, name: &str, cert: &str) -> Option<f64> {
    let prefix = format!("{name}{{name=\"{cert}\"}} ");
    text.lines().find_map(|l| l.strip_prefix(&prefix)).and_then(|v| v.trim().parse().ok())
}

#[test]
fn a_failed_check_rolls_back_and_nginx_keeps_the_previous_certificate() {
    let (Some(nginx), Some(openssl), Some(curl)) = (tool("nginx"), tool("openssl"), tool("curl")) else { return };
    let Some(dns) = TestDns::start() else { return };
    let ca = ShortLivedCa::start(&dns, "1h");
    let dir = tempfile::tempdir().unwrap();
    let (web, nginx_port) = (dir.path().join("nginx"), port());
    let marker = dir.path().join("break-the-check");
    let extra = format!(
        "    reload: {{ command: \"{}\" }}\n    check: {{ command: \"test ! -e {}\" }}\n",
        Nginx::reload_command(&nginx, &web),
        marker.display()
    );
    let (config, files) = write_config(dir.path(), &ca, "web.svc.internal", &extra, "");
    let cfg = config.display().to_string();
    ca.pki.ok(&["agent", "--once", "--config", &cfg]);
    let first = files.serial().unwrap();
    let _nginx = Nginx::start(&nginx, &web, nginx_port, &files, "");
    assert_eq!(served_serial(&openssl, "web.svc.internal", nginx_port).as_deref(), Some(first.as_str()));

    // Nothing is due: a second pass leaves the certificate alone.
    ca.pki.ok(&["agent", "--once", "--config", &cfg]);
    assert_eq!(files.serial().as_deref(), Some(first.as_str()));

    // The CA asks for a renewal; the new certificate fails the check.
    let serials = dir.path().join("serials");
    std::fs::write(&serials, format!("{first}\n")).unwrap();
    ca.pki.ok(&["cert", "renew-early", "--serials-file", &serials.display().to_string()]);
    std::fs::write(&marker, "").unwrap();
    let out = ca.pki.run(&["agent", "--once", "--config", &cfg]);
    assert!(!out.status.success());
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("\"action\":\"swap.rolled_back\""), "{log}");
    assert_eq!(files.serial().as_deref(), Some(first.as_str()));
    assert!(files.pair_matches(&openssl));
    let served = wait_until(Duration::from_secs(10), || served_serial(&openssl, "web.svc.internal", nginx_port).as_deref() == Some(first.as_str()));
    assert!(served.is_some(), "nginx serves the previous certificate");
    let state = status(&ca.pki, &config);
    assert_eq!(state[0]["state"], "failing", "{state}");
    assert_eq!(state[0]["consecutive_failures"], 1);
    assert!(state[0]["last_error"].as_str().unwrap().contains("previous certificate was put back"), "{state}");
    // The daemon's metrics report it too (its first pass waits for the backoff).
    let metrics_port = port();
    let agent = AgentProcess::start_with(&ca.pki, &config, &dir.path().join("agent.log"), &["--metrics-listen", &format!("127.0.0.1:{metrics_port}")]);
    let listening = wait_until(Duration::from_secs(10), || agent.log_text().contains("metrics.listening"));
    assert!(listening.is_some(), "{}", agent.log_text());
    let metrics = metrics_text(&curl, metrics_port);
    assert!(metric(&metrics, "ironpki_agent_renewal_failures", "web").is_some_and(|f| f >= 1.0), "{metrics}");
    drop(agent);

    // With the service healthy again, the next due pass renews.
    std::fs::remove_file(&marker).unwrap();
    ca.pki.ok(&["agent", "--once", "--config", &cfg]);
    let second = wait_new_serial(&files, Some(&first), Duration::from_secs(1)).expect("renewed");
    let served = wait_until(Duration::from_secs(10), || served_serial(&openssl, "web.svc.internal", nginx_port).as_deref() == Some(second.as_str()));
    assert!(served.is_some());
    assert_eq!(status(&ca.pki, &config)[0]["consecutive_failures"], 0);
}

#[test]
fn the_staple_nginx_serves_follows_the_ocsp_status() {
    let (Some(nginx), Some(openssl)) = (tool("nginx"), tool("openssl")) else { return };
    let Some(dns) = TestDns::start() else { return };
    let ca = ShortLivedCa::start(&dns, "1h");
    let dir = tempfile::tempdir().unwrap();
    let (web, nginx_port) = (dir.path().join("nginx"), port());
    let reload = format!("    reload: {{ command: \"{}\" }}\n", Nginx::reload_command(&nginx, &web));
    let (config, files) = write_config(dir.path(), &ca, "staple.svc.internal", &reload, "");
    let cfg = config.display().to_string();
    ca.pki.ok(&["agent", "--once", "--config", &cfg]);
    let first = files.serial().unwrap();
    assert!(files.staple().exists(), "the staple is installed with the certificate");
    let stapling = format!("        ssl_stapling on;\n        ssl_stapling_file {};\n", files.staple().display());
    let _nginx = Nginx::start(&nginx, &web, nginx_port, &files, &stapling);
    assert_eq!(stapled_status(&openssl, "staple.svc.internal", nginx_port).as_deref(), Some("good"));

    // Revoked, while the CA cannot validate a new order (the http-01 port is taken): the
    // agent staples the revoked answer and leaves the pair in place.
    ca.pki.ok(&["cert", "revoke", &first, "--reason", "keyCompromise"]);
    let busy = std::net::TcpListener::bind(("127.0.0.1", ca.http01_port)).unwrap();
    // The agent learns it from OCSP once the responder's pre-signed answer is re-signed
    // (until then a pass staples "good"); its renewal fails on the taken port.
    let (mut log, mut succeeded) = (String::new(), true);
    let learnt = wait_until(Duration::from_secs(10), || {
        let out = ca.pki.run(&["agent", "--once", "--config", &cfg]);
        log = String::from_utf8_lossy(&out.stderr).into_owned();
        succeeded = out.status.success();
        log.contains("\"action\":\"ocsp.revoked\"")
    });
    assert!(learnt.is_some(), "{log}");
    assert!(!succeeded && log.contains("\"status\":\"revoked\""), "{log}");
    assert_eq!(files.serial().as_deref(), Some(first.as_str()));
    let served = wait_until(Duration::from_secs(10), || stapled_status(&openssl, "staple.svc.internal", nginx_port).as_deref() == Some("revoked"));
    assert!(served.is_some(), "nginx staples the revoked answer");

    // With validation possible again, the revoked certificate is replaced at once.
    drop(busy);
    ca.pki.ok(&["agent", "--once", "--config", &cfg]);
    let second = files.serial().unwrap();
    assert_ne!(second, first);
    let good = wait_until(Duration::from_secs(10), || {
        served_serial(&openssl, "staple.svc.internal", nginx_port).as_deref() == Some(second.as_str())
            && stapled_status(&openssl, "staple.svc.internal", nginx_port).as_deref() == Some("good")
    });
    assert!(good.is_some());
}
