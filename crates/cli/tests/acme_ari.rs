//! ACME Renewal Information (RFC 9773) and `replaces`, with the Rust `instant-acme` client
//! and the Python `acme` library: a fresh certificate's window lies in the last third of
//! its life; `cert renew-early` moves it (to the past without `--by`); an order replacing
//! a certificate is accepted once, and only from the account that holds it.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::dns::{acme_pki, port, TestDns};
use common::{python_with, run_tool, test_script, Pki};
use instant_acme::{Account, CertificateIdentifier, ChallengeType, Identifier, NewAccount, NewOrder, OrderStatus, RetryPolicy};
use rustls_pki_types::CertificateDer;

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

async fn account(pki: &Pki, directory: &str) -> Account {
    let builder = Account::builder_with_root(pki.roots()).unwrap();
    let new = NewAccount { contact: &[], terms_of_service_agreed: true, only_return_existing: false };
    builder.create(&new, directory.to_string(), None).await.unwrap().0
}

/// An order for `name`, validated over dns-01 through the test DNS server, finalized:
/// the leaf's DER.
async fn issue(account: &Account, dns: &TestDns, name: &str, replaces: Option<CertificateIdentifier<'_>>) -> Vec<u8> {
    let identifiers = [Identifier::Dns(name.to_string())];
    let mut new = NewOrder::new(&identifiers);
    if let Some(id) = replaces {
        new = new.replaces(id);
    }
    let mut order = account.new_order(&new).await.unwrap();
    let mut authorizations = order.authorizations();
    while let Some(authz) = authorizations.next().await {
        let mut authz = authz.unwrap();
        let mut challenge = authz.challenge(ChallengeType::Dns01).expect("dns-01 offered");
        dns.set_txt(&format!("_acme-challenge.{name}"), &challenge.key_authorization().dns_value());
        challenge.set_ready().await.unwrap();
    }
    let retries = RetryPolicy::new().initial_delay(Duration::from_millis(50)).timeout(Duration::from_secs(30));
    assert_eq!(order.poll_ready(&retries).await.unwrap(), OrderStatus::Ready);
    order.finalize().await.unwrap();
    let pem = order.poll_certificate(&retries).await.unwrap();
    ironpki_x509::pem::blocks(pem.as_bytes(), "CERTIFICATE", "chain").unwrap().remove(0)
}

fn id_of(der: &[u8]) -> CertificateIdentifier<'static> {
    CertificateIdentifier::try_from(&CertificateDer::from(der.to_vec())).unwrap().into_owned()
}

fn problem_type(e: instant_acme::Error) -> String {
    match e {
        instant_acme::Error::Api(p) => p.r#type.unwrap_or_default(),
        other => panic!("not a problem document: {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewal_information_follows_the_operator_and_replaces_is_checked() {
    let Some(python) = python_with("acme") else { return };
    let Some(dns) = TestDns::start() else { return };
    let (pki, listen) = acme_pki(&dns, port(), port());
    let server = pki.serve_at(&listen);
    let directory = format!("{}/acme/acme/directory", server.tls_base);
    let holder = account(&pki, &directory).await;

    let der = issue(&holder, &dns, "ari.svc.internal", None).await;
    let id = id_of(&der);
    let record = pki.json(&["cert", "show", &hex_serial(&der)]);
    let (not_before, not_after) = (record["record"]["not_before"].as_i64().unwrap(), record["record"]["not_after"].as_i64().unwrap());
    let lifetime = not_after - not_before;
    let (info, retry) = holder.renewal_info(&id).await.unwrap();
    let (start, end) = (info.suggested_window.start.unix_timestamp(), info.suggested_window.end.unix_timestamp());
    assert!(start >= not_before + 2 * lifetime / 3 - 1 && end <= not_after && end - start >= lifetime / 6 - 1, "{start}..{end} in {not_before}..{not_after}");
    assert!(retry > Duration::from_secs(5 * 3600), "Retry-After {retry:?}");

    // certbot's library picks a time inside that window.
    let cert_path = pki.path("ari.pem");
    std::fs::write(&cert_path, ironpki_x509::pem::cert(&der)).unwrap();
    let roots = pki.roots();
    let out = run_tool(&python, &[test_script("acme_renewal_time.py").to_str().unwrap(), &directory, roots.to_str().unwrap(), cert_path.to_str().unwrap()], pki.dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let picked = said["renewal_time"].as_f64().unwrap() as i64;
    assert!((start..=end).contains(&picked), "{picked} in {start}..{end}");

    // Marked with a deadline: the window runs from now to it.
    let serials = pki.path("serials.txt");
    std::fs::write(&serials, format!("{}\n", hex_serial(&der))).unwrap();
    let marked = pki.json(&["cert", "renew-early", "--serials-file", serials.to_str().unwrap(), "--by", "7d"]);
    assert_eq!(marked["marked"], 1);
    let (info, _) = holder.renewal_info(&id).await.unwrap();
    let (start, end) = (info.suggested_window.start.unix_timestamp(), info.suggested_window.end.unix_timestamp());
    assert!((now() - 60..=now()).contains(&start) && (end - now() - 7 * 86400).abs() < 60, "{start}..{end}");
    // Marked without one (here by issuing CA): the window has passed, renew now.
    let marked = pki.json(&["cert", "renew-early", "--issued-by", "issuing"]);
    assert!(marked["marked"].as_u64().unwrap() >= 1, "{marked}");
    let (info, _) = holder.renewal_info(&id).await.unwrap();
    assert!(info.suggested_window.end.unix_timestamp() < now(), "a window in the past");
    let e = pki.fails(&["cert", "renew-early", "--profile", "nosuch"]);
    assert!(e.contains("no profile named \"nosuch\""), "{e}");
    let audit = pki.ok(&["audit", "export"]);
    assert_eq!(audit.matches("\"cert.renew_early\"").count(), 2, "{audit}");

    // `replaces`: another account may not; the holder may, once.
    let stranger = account(&pki, &directory).await;
    let identifiers = [Identifier::Dns("ari.svc.internal".to_string())];
    let refused = stranger.new_order(&NewOrder::new(&identifiers).replaces(id.clone())).await.err().expect("refused");
    assert_eq!(problem_type(refused), "urn:ietf:params:acme:error:unauthorized");
    let other_name = [Identifier::Dns("other.svc.internal".to_string())];
    let refused = holder.new_order(&NewOrder::new(&other_name).replaces(id.clone())).await.err().expect("refused");
    assert_eq!(problem_type(refused), "urn:ietf:params:acme:error:malformed", "no shared identifier");
    let renewed = issue(&holder, &dns, "ari.svc.internal", Some(id.clone())).await;
    assert_ne!(hex_serial(&renewed), hex_serial(&der));
    let again = holder.new_order(&NewOrder::new(&identifiers).replaces(id.clone())).await.err().expect("refused");
    assert_eq!(problem_type(again), "urn:ietf:params:acme:error:alreadyReplaced");
    let (info, _) = holder.renewal_info(&id_of(&renewed)).await.unwrap();
    assert!(info.suggested_window.start.unix_timestamp() > now(), "the new certificate is not marked");
}

fn hex_serial(der: &[u8]) -> String {
    use x509_parser::prelude::{FromDer, X509Certificate};
    let (_, cert) = X509Certificate::from_der(der).unwrap();
    ironpki_x509::Serial::from_der_integer(cert.tbs_certificate.raw_serial()).to_hex()
}
