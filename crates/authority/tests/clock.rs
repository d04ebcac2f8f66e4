//! Times decided by the authority follow its clock: tests pin "now" and move it to reach
//! renewal, expiry and nextUpdate without sleeping.

use std::sync::Arc;
use std::time::Duration;

use ironpki_authority::ocsp::OcspResponder;
use ironpki_authority::publication::CrlPublisher;
use ironpki_authority::{Authority, Caller, Error, Home, InitOptions, ManualClock, NewToken, Passphrase};
use ironpki_config::Role;
use time::OffsetDateTime;

const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;

/// A fresh PKI (default configuration) opened on a clock that starts at a fixed time.
fn pki(dir: &tempfile::TempDir) -> (Authority, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()));
    let pass = Passphrase::new("clock test passphrase".into());
    let home = Home::new(dir.path().join("home"));
    let options = InitOptions { org: Some("Clock Org".into()), config_file: None, root_offline: None, passphrase: pass.clone(), actor: "test".into() };
    ironpki_authority::init(&home, options, clock.clone()).unwrap();
    let authority = Authority::open(home, clock.clone(), "test").unwrap();
    for ca in ["root", "issuing"] {
        authority.unlock(ca, &pass).unwrap();
    }
    (authority, clock)
}

#[test]
fn ocsp_responder_certificates_are_renewed_at_two_thirds_of_their_life() {
    let dir = tempfile::tempdir().unwrap();
    let (authority, clock) = pki(&dir);
    let authority = Arc::new(authority);
    let responder = OcspResponder::new(authority.clone()).unwrap();
    let first = responder.responder_cert("issuing").unwrap();
    // The default responder life is 7 days: renewed after 4 days 16 hours.
    clock.advance(Duration::from_secs(4 * DAY + 15 * HOUR));
    responder.maintain().unwrap();
    assert_eq!(responder.responder_cert("issuing").unwrap(), first, "renewed before two thirds of its life");
    clock.advance(Duration::from_secs(2 * HOUR));
    responder.maintain().unwrap();
    let second = responder.responder_cert("issuing").unwrap();
    assert_ne!(second, first, "not renewed at two thirds of its life");
    let summary = ironpki_x509::inspect::summarize(&second).unwrap();
    assert_eq!(summary.not_before + authority.config.backdate.0, authority.now(), "issued at the clock's time, backdated");
}

#[test]
fn a_token_expires_at_the_authoritys_time() {
    let dir = tempfile::tempdir().unwrap();
    let (authority, clock) = pki(&dir);
    let spec = NewToken { description: "ci".into(), role: Role::Operator, profiles: vec![], san_patterns: vec![], lifetime: Some(Duration::from_secs(HOUR)) };
    let (secret, _) = authority.create_token(&Caller::local("test"), &spec).unwrap();
    let presented = secret.expose().to_string();
    assert!(authority.authenticate_token(&presented).is_ok());
    clock.advance(Duration::from_secs(HOUR - 1));
    assert!(authority.authenticate_token(&presented).is_ok(), "still valid a second before it expires");
    clock.advance(Duration::from_secs(1));
    let err = authority.authenticate_token(&presented).unwrap_err();
    assert!(matches!(&err, Error::Unauthenticated(m) if m.contains("expired")), "{err}");
}

#[test]
fn crls_are_published_again_when_due_by_the_clock() {
    let dir = tempfile::tempdir().unwrap();
    let (authority, clock) = pki(&dir);
    let publisher = CrlPublisher::load(&authority, "test-replica").unwrap();
    let round = publisher.round(&authority).unwrap();
    assert_eq!(round.lease_changed, Some(true));
    let kinds = |r: &ironpki_authority::publication::Round| -> Vec<(String, bool)> {
        let mut k: Vec<(String, bool)> = r.published.iter().map(|c| (c.issuer.clone(), c.base_number.is_some())).collect();
        k.sort();
        k
    };
    assert_eq!(kinds(&round), [("issuing".into(), false), ("issuing".into(), true), ("root".into(), false)], "root: full only");
    let full = publisher.published("issuing").full.unwrap();
    assert_eq!(full.this_update, authority.now().unix_timestamp());
    assert_eq!(full.next_update - full.this_update, 7 * DAY as i64);

    // Nothing is due until the delta's refresh time, half its hour.
    clock.advance(Duration::from_secs(29 * 60));
    assert!(publisher.round(&authority).unwrap().published.is_empty());
    clock.advance(Duration::from_secs(60));
    assert_eq!(kinds(&publisher.round(&authority).unwrap()), [("issuing".into(), true)]);

    // Past the full CRL's nextUpdate (the server was down): every CRL is signed again, dated now.
    clock.advance(Duration::from_secs(8 * DAY));
    assert!(authority.now().unix_timestamp() > full.next_update);
    let round = publisher.round(&authority).unwrap();
    assert_eq!(kinds(&round), [("issuing".into(), false), ("issuing".into(), true), ("root".into(), false)]);
    let renewed = publisher.published("issuing").full.unwrap();
    assert!(renewed.number > full.number && renewed.this_update == authority.now().unix_timestamp());
}
