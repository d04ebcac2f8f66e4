use super::*;
use crate::audit::ChainVerifier;
use crate::CrlRecord;

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&dir.path().join("t.db"), Durability::Normal).unwrap();
    s.put_ca(
        &CaRecord {
            name: "issuing".into(),
            role: "root".into(),
            parent: None,
            subject: "CN=x".into(),
            serial: "01".into(),
            key_type: "ecdsa-p256".into(),
            not_before: 0,
            not_after: 10_000,
            status: "active".into(),
            key_ref: "k".into(),
            der: vec![1],
        },
        &AuditEvent::new(1, "test", "ca.created", "ca:issuing", serde_json::json!({})),
    )
    .unwrap();
    (dir, s)
}

fn cert(serial: &str, not_after: i64) -> (NewCertificate, AuditEvent) {
    (
        NewCertificate {
            issuer: "issuing".into(),
            serial: serial.into(),
            subject: "CN=a".into(),
            common_name: Some("a".into()),
            sans: vec!["dns:a".into()],
            key_type: "ecdsa-p256".into(),
            profile: "device".into(),
            not_before: 0,
            not_after,
            requester: "test".into(),
            issued_at: 0,
            der: vec![2],
        },
        AuditEvent::new(2, "test", "cert.issued", &format!("cert:{serial}"), serde_json::json!({})),
    )
}

#[test]
fn duplicate_serial_is_refused_and_batch_is_atomic() {
    let (_d, s) = store();
    s.put_certificates(&[cert("aa", 100)]).unwrap();
    let err = s.put_certificates(&[cert("bb", 100), cert("aa", 100)]).unwrap_err();
    assert!(matches!(err, Error::DuplicateSerial { .. }), "{err}");
    assert_eq!(s.count_certificates().unwrap(), 1, "the failed batch recorded nothing");
}

#[test]
fn expiry_query_and_status() {
    let (_d, s) = store();
    s.put_certificates(&[cert("01", 50), cert("02", 150), cert("03", 5000)]).unwrap();
    let base = CertFilter { now: 100, ..CertFilter::default() };
    let soon = s.list_certificates(&CertFilter { expiring_within: Some(100), ..base.clone() }).unwrap();
    assert_eq!(soon.iter().map(|c| c.serial.as_str()).collect::<Vec<_>>(), ["02"]);
    let expired = s.list_certificates(&CertFilter { status: Some(StatusFilter::Expired), ..base.clone() }).unwrap();
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].status, CertStatus::Expired);
    let rev = Revocation { at: 100, reason: 1, invalidity_date: None };
    let ev = AuditEvent::new(3, "t", "cert.revoked", "cert:03", serde_json::json!({}));
    s.revoke("issuing", "03", &rev, &ev).unwrap();
    assert!(matches!(s.revoke("issuing", "03", &rev, &ev), Err(Error::AlreadyRevoked { .. })));
    assert!(matches!(s.revoke("issuing", "ff", &rev, &ev), Err(Error::NotFound { .. })));
    let revoked = s.list_certificates(&CertFilter { status: Some(StatusFilter::Revoked), ..base }).unwrap();
    assert_eq!(revoked[0].revocation_reason, Some(1));
}

#[test]
fn expiry_query_uses_an_index() {
    let (_d, s) = store();
    let conn = s.lock();
    let plan: Vec<String> = conn
        .prepare("EXPLAIN QUERY PLAN SELECT id FROM certificates WHERE status = 'valid' AND not_after >= 1 AND not_after <= 2 ORDER BY not_after, id")
        .unwrap()
        .query_map([], |r| r.get::<_, String>(3))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(plan.iter().any(|p| p.contains("INDEX certificates_expiry")), "{plan:?}");
    assert!(!plan.iter().any(|p| p.starts_with("SCAN certificates")), "{plan:?}");
}

#[test]
fn audit_chain_verifies_and_detects_tampering() {
    let (_d, s) = store();
    s.put_certificates(&[cert("01", 50), cert("02", 150)]).unwrap();
    let mut v = ChainVerifier::default();
    s.for_each_audit(0, &mut |e| v.check(&e).map_err(Error::Backend)).unwrap();
    assert_eq!(v.checked, 3);
    s.lock().execute("UPDATE audit SET details = '{\"x\":1}' WHERE seq = 2", []).unwrap();
    let mut v = ChainVerifier::default();
    let err = s.for_each_audit(0, &mut |e| v.check(&e).map_err(Error::Backend)).unwrap_err();
    assert!(err.to_string().contains("entry 2"), "{err}");
}

#[test]
fn revocations_are_sequenced_and_streamed() {
    let (_d, s) = store();
    s.put_certificates(&[cert("01", 500), cert("02", 500), cert("03", 50), cert("04", 500)]).unwrap();
    assert_eq!(s.revocation_seq().unwrap(), 0);
    let rev = Revocation { at: 10, reason: 1, invalidity_date: Some(5) };
    let ev = |serial: &str| AuditEvent::new(10, "t", "cert.revoked", serial, serde_json::json!({}));
    s.revoke("issuing", "02", &rev, &ev("02")).unwrap();
    let done = s.revoke_many("issuing", &["01".into(), "02".into(), "03".into(), "ff".into()], &rev, &ev).unwrap();
    assert_eq!(done, ["01", "03"], "already revoked and unknown serials are skipped");
    assert_eq!(s.revocation_seq().unwrap(), 3);
    let since: Vec<String> = s.revoked_since(1, 10).unwrap().into_iter().map(|e| e.serial).collect();
    assert_eq!(since, ["01", "03"]);

    let mut seen = Vec::new();
    s.for_each_revoked("issuing", (0, 3), 100, &mut |e| {
        seen.push((e.serial.clone(), e.seq, e.reason, e.invalidity_date));
        Ok(())
    })
    .unwrap();
    assert_eq!(seen, [("02".to_string(), 1, Some(1), Some(5)), ("01".to_string(), 2, Some(1), Some(5))], "03 expired before 100");
    let mut delta = Vec::new();
    s.for_each_revoked("issuing", (1, 3), 0, &mut |e| {
        delta.push(e.serial.clone());
        Ok(())
    })
    .unwrap();
    assert_eq!(delta, ["01", "03"]);
}

#[test]
fn crl_numbers_are_unique_per_issuer() {
    let (_d, s) = store();
    assert_eq!(s.last_crl_number("issuing").unwrap(), 0);
    let crl = |number: i64, base: Option<i64>| CrlRecord {
        issuer: "issuing".into(),
        number,
        base_number: base,
        this_update: number,
        next_update: number + 100,
        revocation_seq: 0,
        entries: 0,
        der: vec![number as u8],
    };
    let ev = AuditEvent::new(1, "t", "crl.published", "crl", serde_json::json!({}));
    s.put_crl(&crl(1, None), &ev).unwrap();
    s.put_crl(&crl(2, Some(1)), &ev).unwrap();
    assert!(matches!(s.put_crl(&crl(2, None), &ev), Err(Error::CrlNumberTaken { number: 2, .. })));
    assert_eq!(s.last_crl_number("issuing").unwrap(), 2);
    assert_eq!(s.latest_crl("issuing", false).unwrap().unwrap().number, 1);
    assert_eq!(s.latest_crl("issuing", true).unwrap().unwrap().number, 2);
}
