//! The audit hash chain.

use ironpki_store::AuditEvent;

use super::*;

pub fn audit_chain_verifies_and_detects_tampering(e: &dyn Engine) {
    let s = store(e);
    s.put_certificates(&[cert("01", 50), cert("02", 150)]).unwrap();
    assert_eq!(verify_chain(&*s), Ok(3));
    e.execute("UPDATE audit SET details = '{\"x\":1}' WHERE seq = 2");
    let err = verify_chain(&*s).unwrap_err();
    assert!(err.contains("entry 2") && err.contains("altered"), "{err}");

    e.execute("UPDATE audit SET details = '{}' WHERE seq = 2");
    assert_eq!(verify_chain(&*s), Ok(3), "restored");
    e.execute("DELETE FROM audit WHERE seq = 2");
    let err = verify_chain(&*s).unwrap_err();
    assert!(err.contains("out of sequence"), "a removed entry: {err}");
}

pub fn appended_entries_chain_and_stream_from_a_point(e: &dyn Engine) {
    let s = store(e);
    let first = audit_entries(&*s);
    assert_eq!(first.len(), 1);
    assert_eq!((first[0].seq, first[0].prev_hash.as_str()), (1, ironpki_store::audit::GENESIS));
    let ev = AuditEvent::new(7, "admin", "profile.changed", "profile:device", serde_json::json!({"max": "90d"}));
    let entry = s.append_audit(&ev).unwrap();
    assert_eq!((entry.seq, entry.at, entry.actor.as_str(), entry.details.as_str()), (2, 7, "admin", r#"{"max":"90d"}"#));
    assert_eq!(entry.prev_hash, first[0].hash);
    assert_eq!(entry.hash, ironpki_store::audit::entry_hash(2, &ev, &first[0].hash));
    let next = s.append_audit(&ev).unwrap();
    assert_eq!((next.seq, next.prev_hash.as_str()), (3, entry.hash.as_str()));

    let all = audit_entries(&*s);
    assert_eq!(all[1], entry, "what was returned is what was stored");
    let mut since = Vec::new();
    s.for_each_audit(2, &mut |e| {
        since.push(e.seq);
        Ok(())
    })
    .unwrap();
    assert_eq!(since, [3]);
    let mut none = 0;
    s.for_each_audit(3, &mut |_| {
        none += 1;
        Ok(())
    })
    .unwrap();
    assert_eq!(none, 0);
    // Another store on the same database continues the same chain.
    let other = e.open().unwrap();
    assert_eq!(other.append_audit(&ev).unwrap().seq, 4);
    assert_eq!(verify_chain(&*s), Ok(4));
}
