//! Revocation notices to a webhook: each revocation POSTed over HTTPS (verified against
//! the PKI's roots) with an HMAC-SHA256 signature, retried while the receiver fails, and
//! none lost across a restart of `serve`: revocations made while it was down go out, in
//! sequence, when it is back.

mod common;

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{test_script, tool, wait_until, Pki};

fn lines(log: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(log).unwrap_or_default().lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

#[test]
fn webhooks_get_every_revocation_signed_retried_and_across_restarts() {
    let Some(python) = tool("python3") else { return };
    let (pki, listen) = Pki::on_port(&[]);
    let dir = pki.path("hook");
    pki.ok(&["cert", "issue", "--profile", "server", "--cn", "localhost", "--san", "ip:127.0.0.1", "--out", &dir.display().to_string()]);
    let log = pki.path("hook.log");
    let mut receiver = Receiver(
        Command::new(python)
        .arg(test_script("webhook_receiver.py"))
        .args([dir.join("fullchain.pem"), dir.join("key.pem")])
        .args(["2", &log.display().to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap(),
    );
    let mut port = String::new();
    std::io::BufReader::new(receiver.0.stdout.take().unwrap()).read_line(&mut port).unwrap();
    let secret = "a shared secret for the hook";
    std::fs::write(pki.path("hook.secret"), secret).unwrap();
    let config_path = pki.home().join("ironpki.yaml");
    let config = std::fs::read_to_string(&config_path).unwrap();
    let notify = format!(
        "\nnotify:\n  webhooks:\n    - url: https://127.0.0.1:{}/revocations\n      secret_file: {}\n",
        port.trim(),
        pki.path("hook.secret").display()
    );
    std::fs::write(&config_path, format!("{config}{notify}")).unwrap();
    let issue = |cn: &str| pki.json(&["cert", "issue", "--profile", "device", "--cn", cn, "--out", &pki.path(cn).display().to_string()])["serial"].as_str().unwrap().to_string();
    let before = issue("before");
    pki.ok(&["cert", "revoke", &before, "--reason", "superseded"]);

    // Revocations before the notifier first ran are not sent; the next one is, after two
    // refused attempts.
    let server = pki.serve_at(&listen);
    let one = issue("one");
    pki.ok(&["cert", "revoke", &one, "--reason", "keyCompromise"]);
    let delivered = wait_until(Duration::from_secs(20), || lines(&log).iter().any(|l| l["status"] == 204));
    assert!(delivered.is_some(), "{:?}", lines(&log));
    let got = lines(&log);
    assert_eq!(got.iter().map(|l| l["status"].as_i64().unwrap()).collect::<Vec<_>>(), vec![503, 503, 204]);
    let body = got[2]["body"].as_str().unwrap();
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes());
    let expected = format!("sha256={}", hex_of(aws_lc_rs::hmac::sign(&key, body.as_bytes()).as_ref()));
    assert_eq!(got[2]["signature"], expected.as_str());
    let notice: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(notice["serial"], one.as_str());
    assert_eq!(notice["reason"], "keyCompromise");
    assert_eq!(notice["issuer"], "issuing");
    let first_seq = notice["seq"].as_i64().unwrap();

    // Down: two revocations by the CLI. Back up: both go out, in order, nothing skipped.
    drop(server);
    let (two, three) = (issue("two"), issue("three"));
    pki.ok(&["cert", "revoke", &two, "--reason", "superseded"]);
    pki.ok(&["cert", "revoke", &three, "--reason", "superseded"]);
    let _server = pki.serve_at(&listen);
    let delivered = || -> Vec<serde_json::Value> {
        let mut all: Vec<serde_json::Value> =
            lines(&log).iter().filter(|l| l["status"] == 204).map(|l| serde_json::from_str(l["body"].as_str().unwrap()).unwrap()).collect();
        // At least once: the notice delivered as the server was killed may come again.
        all.dedup_by_key(|n| n["seq"].as_i64());
        all
    };
    let all = wait_until(Duration::from_secs(20), || delivered().len() >= 3);
    assert!(all.is_some(), "{:?}", lines(&log));
    let notices = delivered();
    let serials: Vec<&str> = notices.iter().map(|n| n["serial"].as_str().unwrap()).collect();
    assert_eq!(serials, vec![one.as_str(), two.as_str(), three.as_str()]);
    let seqs: Vec<i64> = notices.iter().map(|n| n["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, vec![first_seq, first_seq + 1, first_seq + 2]);
}

struct Receiver(std::process::Child);

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
