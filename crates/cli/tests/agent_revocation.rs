//! Revocation pushed to devices: `serve` publishes each revocation to Mosquitto as it
//! happens; an agent subscribed to it replaces its revoked certificate within seconds,
//! and `mosquitto_sub` sees the notice. A notice missed while away is fetched from
//! `GET /revocations`.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::agent::{wait_new_serial, write_config, AgentProcess, ShortLivedCa};
use common::dns::TestDns;
use common::{http_get, tool, wait_until};

/// A topic prefix of this run alone: the broker is shared.
fn prefix() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("ironpki-test-{}-{nanos}", std::process::id())
}

fn broker_up() -> bool {
    let up = std::net::TcpStream::connect(("127.0.0.1", 1883)).is_ok();
    if !up && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("Mosquitto is not listening on 127.0.0.1:1883 (scripts/install-test-tools.sh starts it)");
    }
    up
}

#[test]
fn a_revoked_certificate_is_replaced_within_seconds_through_mqtt() {
    let (Some(sub), Some(publish), Some(openssl), Some(curl)) = (tool("mosquitto_sub"), tool("mosquitto_pub"), tool("openssl"), tool("curl")) else { return };
    if !broker_up() {
        eprintln!("SKIP: no MQTT broker on 127.0.0.1:1883");
        return;
    }
    let Some(dns) = TestDns::start() else { return };
    let topic = prefix();
    let notify = format!("\nnotify:\n  mqtt: {{ url: \"mqtt://127.0.0.1:1883\", topic: \"{topic}/revocations/{{issuer}}\", qos: 1 }}\n");
    let ca = ShortLivedCa::start_with(&dns, "1h", &notify);
    let dir = tempfile::tempdir().unwrap();
    let server = ca.server.as_ref().unwrap();
    let feed = format!(
        "revocation_feed:\n  mqtt: {{ url: \"mqtt://127.0.0.1:1883\", topic: \"{topic}/revocations/#\", range_url: \"{}\" }}\n",
        server.url("/revocations")
    );
    let (config, files) = write_config(dir.path(), &ca, "device.svc.internal", "", &feed);
    ca.pki.ok(&["agent", "--once", "--config", &config.display().to_string()]);
    let first = files.serial().unwrap();

    // mosquitto_sub is listening once a probe published on the topic reaches it.
    let sub_out = dir.path().join("sub.out");
    let mut watcher = Command::new(sub)
        .args(["-h", "127.0.0.1", "-p", "1883", "-q", "1", "-v", "-W", "60", "-t", &format!("{topic}/revocations/#")])
        .stdout(std::fs::File::create(&sub_out).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let listening = wait_until(Duration::from_secs(20), || {
        Command::new(&publish).args(["-h", "127.0.0.1", "-p", "1883", "-t", &format!("{topic}/revocations/probe"), "-m", "probe"]).status().is_ok_and(|s| s.success())
            && std::fs::read_to_string(&sub_out).is_ok_and(|t| t.contains("probe"))
    });
    assert!(listening.is_some());
    // The daemon's first pass records the state afresh: once it is back, that pass is over
    // and only the feed can bring the revocation.
    let state = dir.path().join("state/certs/web.json");
    std::fs::remove_file(&state).unwrap();
    let agent = AgentProcess::start(&ca.pki, &config, &dir.path().join("agent.log"));
    let ready = wait_until(Duration::from_secs(20), || agent.log_text().contains("\"action\":\"feed.subscribed\"") && state.exists());
    assert!(ready.is_some(), "{}", agent.log_text());

    let revoked_at = Instant::now();
    ca.pki.ok(&["cert", "revoke", &first, "--reason", "keyCompromise"]);
    let second = wait_new_serial(&files, Some(&first), Duration::from_secs(15));
    let took = revoked_at.elapsed();
    assert!(second.is_some(), "not replaced: {}", agent.log_text());
    assert!(took < Duration::from_secs(10), "replaced after {took:?}");
    assert!(files.pair_matches(&openssl));
    assert!(agent.log_text().contains("\"action\":\"feed.revoked\""));

    let mut line = String::new();
    let heard = wait_until(Duration::from_secs(10), || {
        line = std::fs::read_to_string(&sub_out).unwrap_or_default().lines().find(|l| l.contains("/revocations/issuing ")).unwrap_or_default().to_string();
        !line.is_empty()
    });
    let _ = watcher.kill();
    let _ = watcher.wait();
    assert!(heard.is_some(), "mosquitto_sub saw no notice");
    let (got_topic, body) = line.trim().split_once(' ').unwrap();
    assert_eq!(got_topic, format!("{topic}/revocations/issuing"));
    let notice: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(common::agent::normal_serial(notice["serial"].as_str().unwrap()), first);
    assert_eq!(notice["issuer"], "issuing");
    assert_eq!(notice["reason"], "keyCompromise");
    let seq = notice["seq"].as_i64().unwrap();
    assert!(seq >= 1);

    // The same notice from the range endpoint, for a subscriber that missed it.
    let (code, _, body) = http_get(&curl, &server.url(&format!("/revocations?after={}", seq - 1)));
    assert_eq!(code, 200);
    let range: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(range["revocations"][0]["seq"], seq);
    assert_eq!(range["revocations"][0]["serial"], notice["serial"]);
    assert!(range["last_seq"].as_i64().unwrap() >= seq);
    let (code, _, body) = http_get(&curl, &server.url("/revocations?after=-1"));
    assert_eq!(code, 400, "{}", String::from_utf8_lossy(&body));
}
