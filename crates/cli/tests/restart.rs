//! Restart safety: `kill -9` of the server during sustained issuance loses nothing a
//! client received, and the audit chain stays intact.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use common::cluster::issue_once;
use common::{tool, wait_until, Pki};

const CLIENTS: usize = 16;

#[test]
fn kill_dash_nine_during_issuance_loses_nothing_returned() {
    let (Some(curl), Some(openssl)) = (tool("curl"), tool("openssl")) else { return };
    let pki = Pki::init();
    let token = pki.operator_token();
    let roots = pki.roots();
    let bodies: Vec<_> = (0..4).map(|i| pki.device_request(&openssl, &format!("k{i}.iot.internal"))).collect();
    let mut server = pki.serve();
    let base = server.tls_base.clone();

    let returned = Mutex::new(Vec::new());
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for client in 0..CLIENTS {
            let (returned, stop, bodies, roots, token, curl, base) = (&returned, &stop, &bodies, &roots, &token, &curl, &base);
            scope.spawn(move || {
                let mut n = client;
                while !stop.load(Ordering::Relaxed) {
                    if let Some(serial) = issue_once(curl, roots, base, token, &bodies[n % bodies.len()]) {
                        returned.lock().unwrap().push(serial);
                    }
                    n += 1;
                }
            });
        }
        let busy = wait_until(Duration::from_secs(60), || returned.lock().unwrap().len() >= 200);
        server.child.kill().expect("SIGKILL");
        server.child.wait().expect("reaped");
        stop.store(true, Ordering::Relaxed);
        assert!(busy.is_some(), "issuance was under way when the server was killed");
    });
    let returned = returned.into_inner().unwrap();

    let stored: HashSet<String> = pki
        .json(&["cert", "list", "--profile", "device"])
        .as_array()
        .expect("list")
        .iter()
        .map(|c| c["serial"].as_str().unwrap_or_default().to_string())
        .collect();
    let lost: Vec<&String> = returned.iter().filter(|s| !stored.contains(*s)).collect();
    assert!(lost.is_empty(), "{} of {} returned certificates are not in the store: {lost:?}", lost.len(), returned.len());
    assert!(pki.ok(&["audit", "verify"]).contains("intact"));

    // The store opens cleanly and the server issues again.
    let server = pki.serve();
    assert!(issue_once(&curl, &roots, &server.tls_base, &token, &bodies[0]).is_some());
}
