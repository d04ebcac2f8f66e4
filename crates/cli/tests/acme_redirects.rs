//! http-01 redirects as the validator follows them, with instant-acme as the client: a
//! redirect on the validation port to another path is followed and validates; one to a
//! port that is neither 80, 443 nor the configured one fails the challenge, saying why.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::dns::{acme_pki, port, TestDns};
use common::wait_until;
use instant_acme::{Account, ChallengeType, Identifier, NewAccount, NewOrder};

type Answers = Arc<Mutex<HashMap<String, String>>>;

/// `/.well-known/acme-challenge/TOKEN` redirects to `/moved/TOKEN` on the same port, or,
/// for host `far.svc.internal`, to port 22; `/moved/TOKEN` answers the key authorization.
fn redirecting_responder(listener: TcpListener, port: u16, answers: Answers) {
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let Ok(reader) = stream.try_clone() else { continue };
            let mut lines = BufReader::new(reader).lines().map_while(Result::ok);
            let request = lines.next().unwrap_or_default();
            let host = lines.take_while(|l| !l.is_empty()).find_map(|l| l.to_ascii_lowercase().strip_prefix("host: ").map(str::to_string)).unwrap_or_default();
            let path = request.split(' ').nth(1).unwrap_or_default().to_string();
            let token = path.rsplit('/').next().unwrap_or_default().to_string();
            let reply = if path.starts_with("/moved/") {
                let body = answers.lock().unwrap().get(&token).cloned().unwrap_or_default();
                format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
            } else if host.starts_with("far.") {
                format!("HTTP/1.1 302 Found\r\nLocation: http://far.svc.internal:22/moved/{token}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            } else {
                format!("HTTP/1.1 302 Found\r\nLocation: http://near.svc.internal:{port}/moved/{token}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            };
            let _ = stream.write_all(reply.as_bytes());
        }
    });
}

fn authz_states(pki: &common::Pki) -> HashMap<String, (String, String)> {
    let db = pki.db();
    let mut stmt = db.prepare("SELECT identifier_value, status, challenges FROM acme_authorizations").unwrap();
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?)))).unwrap();
    rows.map(Result::unwrap).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http01_redirects_are_followed_only_to_web_ports() {
    let Some(dns) = TestDns::start() else { return };
    let http_port = port();
    let (pki, listen) = acme_pki(&dns, http_port, port());
    let answers: Answers = Arc::default();
    redirecting_responder(TcpListener::bind(("127.0.0.1", http_port)).unwrap(), http_port, answers.clone());
    let server = pki.serve_at(&listen);
    let directory = format!("{}/acme/acme/directory", server.tls_base);
    let new = NewAccount { contact: &[], terms_of_service_agreed: true, only_return_existing: false };
    let (account, _) = Account::builder_with_root(pki.roots()).unwrap().create(&new, directory, None).await.unwrap();
    let identifiers = [Identifier::Dns("near.svc.internal".to_string()), Identifier::Dns("far.svc.internal".to_string())];
    let mut order = account.new_order(&NewOrder::new(&identifiers)).await.unwrap();
    let mut authorizations = order.authorizations();
    while let Some(authz) = authorizations.next().await {
        let mut authz = authz.unwrap();
        let mut challenge = authz.challenge(ChallengeType::Http01).unwrap();
        answers.lock().unwrap().insert(challenge.token.clone(), challenge.key_authorization().as_str().to_string());
        challenge.set_ready().await.unwrap();
    }
    let settled = wait_until(Duration::from_secs(30), || authz_states(&pki).values().all(|(status, _)| status != "pending"));
    let states = authz_states(&pki);
    assert!(settled.is_some(), "{states:?}");
    assert_eq!(states["near.svc.internal"].0, "valid", "followed to /moved/ on the configured port: {states:?}");
    let (status, challenges) = &states["far.svc.internal"];
    assert_eq!(status, "invalid");
    assert!(challenges.contains("port 22 is not 80, 443 or") && challenges.contains("urn:ietf:params:acme:error:connection"), "{challenges}");
}
