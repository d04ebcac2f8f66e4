//! Two `ironpki serve` replicas on one PostgreSQL: concurrent issuance through both,
//! revocations seen by the other's OCSP within a second, one CRL publisher at a time
//! with numbers that never repeat or skip, and a takeover when the publisher dies.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::cluster::{issue_once, Schema};
use common::{api, tool, wait_until, Auth, Pki};

const CLIENTS: usize = 32;
const RUN: Duration = Duration::from_secs(10);

/// The OCSP answer as `ocsp check` prints it (it exits non-zero for "revoked").
fn ocsp_status(pki: &Pki, cert: &std::path::Path, url: &str) -> String {
    let out = pki.run(&["--output", "json", "ocsp", "check", cert.to_str().unwrap(), "--url", url]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    json["status"].as_str().unwrap_or_default().to_string()
}

#[test]
fn two_replicas_share_one_postgresql() {
    let (Some(curl), Some(openssl)) = (tool("curl"), tool("openssl")) else { return };
    let Some(schema) = Schema::fresh() else { return };
    let pki = Pki::init_on_postgres(&schema);
    let token = pki.operator_token();
    let roots = pki.roots();
    let a = pki.serve();
    let b = pki.serve();
    let bodies: Vec<_> = (0..4).map(|i| pki.device_request(&openssl, &format!("r{i}.iot.internal"))).collect();

    // 32 clients for 10 s, alternating replicas; every few seconds a revocation through
    // one of them makes the publisher issue new CRLs while issuance goes on.
    let returned = Mutex::new(Vec::new());
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for client in 0..CLIENTS {
            let (returned, stop, bodies, roots, token, curl) = (&returned, &stop, &bodies, &roots, &token, &curl);
            let bases = [a.tls_base.clone(), b.tls_base.clone()];
            scope.spawn(move || {
                let mut n = client;
                while !stop.load(Ordering::Relaxed) {
                    if let Some(serial) = issue_once(curl, roots, &bases[n % 2], token, &bodies[n % bodies.len()]) {
                        returned.lock().unwrap().push(serial);
                    }
                    n += 1;
                }
            });
        }
        let started = Instant::now();
        let mut revoked = 0;
        while started.elapsed() < RUN {
            let candidate = returned.lock().unwrap().get(revoked as usize).cloned();
            if let Some(serial) = candidate.filter(|_| started.elapsed().as_secs() >= 2 * (revoked + 1)) {
                let base = if revoked % 2 == 0 { &a.tls_base } else { &b.tls_base };
                let _ = api(&pki, &curl, "POST", &format!("{base}/api/v1/certificates/{serial}/revoke"), Auth::Bearer(&token), None);
                revoked += 1;
            }
            std::thread::yield_now();
        }
        stop.store(true, Ordering::Relaxed);
    });
    let returned = returned.into_inner().unwrap();
    assert!(returned.len() > 100, "only {} certificates issued in 10 s", returned.len());
    let unique: HashSet<&String> = returned.iter().collect();
    assert_eq!(unique.len(), returned.len(), "no serial returned twice");

    let mut db = schema.client();
    let stored: HashSet<String> =
        db.query("SELECT serial FROM certificates", &[]).unwrap().iter().map(|r| r.get::<_, String>(0)).collect();
    let missing: Vec<&&String> = unique.iter().filter(|s| !stored.contains(**s)).collect();
    assert!(missing.is_empty(), "returned but not stored: {missing:?}");

    // CRL numbers per CA: each published once, strictly increasing, no gaps.
    let mut numbers: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for row in db.query("SELECT target, details FROM audit WHERE action = 'crl.published' ORDER BY seq", &[]).unwrap() {
        let details: serde_json::Value = serde_json::from_str(&row.get::<_, String>(1)).unwrap();
        let target = row.get::<_, String>(0);
        let ca = target.trim_start_matches("crl:").split('/').next().unwrap_or_default().to_string();
        numbers.entry(ca).or_default().push(details["number"].as_i64().expect("number"));
    }
    assert!(numbers.values().any(|n| n.len() > 2), "CRLs were published during the run: {numbers:?}");
    for (ca, seq) in &numbers {
        let expected: Vec<i64> = (seq[0]..seq[0] + seq.len() as i64).collect();
        assert_eq!(seq, &expected, "CRL numbers of {ca} in publication order");
    }

    // A revocation through B shows in A's OCSP within a second.
    let victim = returned.last().unwrap();
    let cert = pki.path("victim.pem");
    std::fs::write(&cert, pki.ok(&["cert", "show", victim, "--pem"])).unwrap();
    assert!(ocsp_status(&pki, &cert, &a.url("/ocsp")) == "good");
    let (status, _, body) =
        api(&pki, &curl, "POST", &format!("{}/api/v1/certificates/{victim}/revoke", b.tls_base), Auth::Bearer(&token), None);
    assert_eq!(status, 200, "{body}");
    let seen = wait_until(Duration::from_secs(1), || ocsp_status(&pki, &cert, &a.url("/ocsp")).starts_with("revoked"));
    assert!(seen.is_some(), "A's OCSP did not say revoked within 1 s of a revocation through B");

    // Kill the replica holding the publisher lease: the other takes over and publishes.
    let holder: String = db.query_one("SELECT holder FROM leases WHERE name = 'crl-publisher'", &[]).unwrap().get(0);
    let (mut dead, survivor) = if holder.contains(&format!(":{}:", a.child.id())) { (a, b) } else { (b, a) };
    assert!(holder.contains(&format!(":{}:", dead.child.id())), "the lease names a replica: {holder}");
    dead.child.kill().unwrap();
    dead.child.wait().unwrap();
    let before: i64 = db.query_one("SELECT COALESCE(MAX(number), 0) FROM crls WHERE issuer = 'issuing'", &[]).unwrap().get(0);
    let next = returned[returned.len() / 2].clone();
    let (status, _, _) =
        api(&pki, &curl, "POST", &format!("{}/api/v1/certificates/{next}/revoke", survivor.tls_base), Auth::Bearer(&token), None);
    assert_eq!(status, 200);
    let took_over = wait_until(Duration::from_secs(30), || {
        let now: i64 = db.query_one("SELECT COALESCE(MAX(number), 0) FROM crls WHERE issuer = 'issuing'", &[]).unwrap().get(0);
        now > before
    });
    assert!(took_over.is_some(), "no CRL published after the publisher died");
    let holder: String = db.query_one("SELECT holder FROM leases WHERE name = 'crl-publisher'", &[]).unwrap().get(0);
    assert!(holder.contains(&format!(":{}:", survivor.child.id())), "the survivor holds the lease: {holder}");
    let crl = common::http_get(&curl, &survivor.url("/crl/issuing.crl")).2;
    std::fs::write(pki.path("after.crl"), crl).unwrap();
    let listed = pki.ok(&["crl", "show", "after.crl"]);
    assert!(listed.contains(&next), "the survivor's CRL lists the revocation made after the takeover");
    drop(dead);
    assert!(pki.ok(&["audit", "verify"]).contains("intact"));
}
