//! A validation cut short by a crash: `serve` killed while an http-01 fetch hangs leaves
//! the challenge processing; started again, it validates it anew and the authorization
//! becomes valid without the client answering again.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use common::dns::{acme_pki, port, TestDns};
use common::wait_until;
use instant_acme::{Account, ChallengeType, Identifier, NewAccount, NewOrder};

fn authz_status(pki: &common::Pki) -> (String, String) {
    pki.db()
        .query_row("SELECT status, challenges FROM acme_authorizations", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validation_cut_short_by_a_crash_runs_again_at_start() {
    let Some(dns) = TestDns::start() else { return };
    let http_port = port();
    let (pki, listen) = acme_pki(&dns, http_port, port());
    // The first answerer takes the connection and never replies: the fetch hangs.
    let hanging = TcpListener::bind(("127.0.0.1", http_port)).unwrap();
    let held = std::thread::spawn(move || hanging.accept().map(|(stream, _)| stream));
    let server = pki.serve_at(&listen);
    let directory = format!("{}/acme/acme/directory", server.tls_base);
    let new = NewAccount { contact: &[], terms_of_service_agreed: true, only_return_existing: false };
    let (account, _) = Account::builder_with_root(pki.roots()).unwrap().create(&new, directory, None).await.unwrap();
    let identifiers = [Identifier::Dns("resume.svc.internal".to_string())];
    let mut order = account.new_order(&NewOrder::new(&identifiers)).await.unwrap();
    let mut authorizations = order.authorizations();
    let mut authz = authorizations.next().await.unwrap().unwrap();
    let mut challenge = authz.challenge(ChallengeType::Http01).unwrap();
    let key_authorization = challenge.key_authorization().as_str().to_string();
    challenge.set_ready().await.unwrap();
    let connection = tokio::task::spawn_blocking(move || held.join().unwrap().unwrap()).await.unwrap();
    let (status, challenges) = authz_status(&pki);
    assert!(status == "pending" && challenges.contains("\"processing\""), "{status} {challenges}");

    drop(server); // SIGKILL, mid-fetch
    drop(connection);
    // Now the port answers the key authorization.
    let answering = TcpListener::bind(("127.0.0.1", http_port)).unwrap();
    std::thread::spawn(move || {
        for mut stream in answering.incoming().flatten() {
            let mut request = [0u8; 2048];
            let _ = stream.read(&mut request);
            let reply = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{key_authorization}", key_authorization.len());
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    let _server = pki.serve_at(&listen);
    let took = wait_until(Duration::from_secs(30), || authz_status(&pki).0 == "valid");
    assert!(took.is_some(), "the validation ran again: {:?}", authz_status(&pki));
    assert!(authz_status(&pki).1.contains("\"valid\""));
}
