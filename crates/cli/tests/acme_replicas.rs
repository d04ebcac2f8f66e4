//! ACME across two `serve` replicas on one PostgreSQL, behind a TCP load balancer that
//! sends each connection to the other replica: orders made at one are validated,
//! finalized and downloaded at the other, and a nonce is accepted once across both.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::cluster::Schema;
use common::{python_with, run_tool, test_script, tool, Pki};

/// A round-robin TCP balancer on a free loopback port: (its port, connections per backend).
fn balancer(backends: [u16; 2]) -> (u16, Arc<[AtomicUsize; 2]>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let counts = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let seen = counts.clone();
    std::thread::spawn(move || {
        for (n, client) in listener.incoming().enumerate() {
            let Ok(client) = client else { continue };
            let Ok(backend) = TcpStream::connect(("127.0.0.1", backends[n % 2])) else { continue };
            seen[n % 2].fetch_add(1, Ordering::Relaxed);
            for (mut from, mut to) in [(client.try_clone().unwrap(), backend.try_clone().unwrap()), (backend, client)] {
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16384];
                    while let Ok(n) = from.read(&mut buf) {
                        if n == 0 || to.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = to.shutdown(Shutdown::Write);
                });
            }
        }
    });
    (port, counts)
}

fn port_of(base: &str) -> u16 {
    base.rsplit(':').next().unwrap().parse().unwrap()
}

#[test]
fn orders_and_nonces_work_across_replicas() {
    let Some(python) = python_with("acme") else { return };
    let Some(openssl) = tool("openssl") else { return };
    let Some(schema) = Schema::fresh() else { return };
    let http01 = TcpListener::bind("[::]:0").unwrap().local_addr().unwrap().port().to_string();
    let pki = Pki::init_on_postgres_with(&schema, &[("http01_port: 80 ", &format!("http01_port: {http01} "))]);
    let (a, b) = (pki.serve(), pki.serve());
    let (port, counts) = balancer([port_of(&a.tls_base), port_of(&b.tls_base)]);
    let directory = format!("https://localhost:{port}/acme/acme/directory");
    let roots = pki.roots();
    let out_dir = pki.path("acme-out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let out = run_tool(&python, &[test_script("acme_replicas.py").to_str().unwrap(), &directory, roots.to_str().unwrap(), &http01, "3", out_dir.to_str().unwrap()], pki.dir.path());
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}\n{}", String::from_utf8_lossy(&out.stderr));
    let seen: serde_json::Value = serde_json::from_str(said.trim()).unwrap();
    assert_eq!(seen["statuses"], serde_json::json!(["valid", "valid", "valid"]));
    assert_eq!(seen["replay"], serde_json::json!([200, 400, "urn:ietf:params:acme:error:badNonce"]), "the second replica refuses the nonce the first accepted");
    let per_replica = [counts[0].load(Ordering::Relaxed), counts[1].load(Ordering::Relaxed)];
    assert!(per_replica[0] >= 10 && per_replica[1] >= 10, "each replica served its share: {per_replica:?}");
    for i in 0..3 {
        let chain = out_dir.join(format!("chain{i}.pem"));
        let verified = run_tool(&openssl, &["verify", "-CAfile", roots.to_str().unwrap(), "-untrusted", chain.to_str().unwrap(), chain.to_str().unwrap()], pki.dir.path());
        assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stdout));
    }
    let mut db = schema.client();
    let orders: i64 = db.query_one("SELECT count(*) FROM acme_orders WHERE status = 'valid'", &[]).unwrap().get(0);
    assert_eq!(orders, 3);
}
