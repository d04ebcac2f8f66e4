//! Revocation: sequence numbers, the changes feed and the streamed revoked set.

use ironpki_store::Error;

use super::*;

pub fn revocations_are_sequenced_and_streamed(e: &dyn Engine) {
    let s = store(e);
    s.put_certificates(&[cert("01", 500), cert("02", 500), cert("03", 50), cert("04", 500)]).unwrap();
    assert_eq!(s.revocation_seq().unwrap(), 0);
    assert!(!s.revoked_after("issuing", 0).unwrap());
    let rev = revocation();
    let ev = |serial: &str| event("cert.revoked", serial);
    s.revoke("issuing", "02", &rev, &ev("02")).unwrap();
    let done = s.revoke_many("issuing", &["01".into(), "02".into(), "03".into(), "ff".into()], &rev, &ev).unwrap();
    assert_eq!(done, ["01", "03"], "already revoked and unknown serials are skipped");
    assert_eq!(s.revocation_seq().unwrap(), 3);
    assert!(s.revoked_after("issuing", 2).unwrap());
    assert!(!s.revoked_after("issuing", 3).unwrap());
    assert!(!s.revoked_after("other", 0).unwrap());
    let since: Vec<(String, i64)> = s.revoked_since(1, 10).unwrap().into_iter().map(|e| (e.serial, e.seq)).collect();
    assert_eq!(since, [("01".to_string(), 2), ("03".to_string(), 3)]);
    assert_eq!(s.revoked_since(0, 1).unwrap().len(), 1, "limit");
    assert!(s.revoked_since(3, 10).unwrap().is_empty());

    let mut seen = Vec::new();
    s.for_each_revoked("issuing", (0, 3), 100, &mut |e| {
        seen.push((e.serial.clone(), e.seq, e.revoked_at, e.reason, e.invalidity_date));
        Ok(())
    })
    .unwrap();
    assert_eq!(
        seen,
        [("02".to_string(), 1, 10, Some(1), Some(5)), ("01".to_string(), 2, 10, Some(1), Some(5))],
        "03 expired before 100"
    );
    let mut delta = Vec::new();
    s.for_each_revoked("issuing", (1, 3), 0, &mut |e| {
        delta.push(e.serial.clone());
        Ok(())
    })
    .unwrap();
    assert_eq!(delta, ["01", "03"]);
    let audit: Vec<String> = audit_entries(&*s).into_iter().skip(5).map(|e| e.target).collect();
    assert_eq!(audit, ["02", "01", "03"], "one entry per revocation, in order");
    assert!(s.revoke_many("issuing", &[], &rev, &ev).unwrap().is_empty());
    assert!(s.revoke_many("issuing", &["ff".into()], &rev, &ev).unwrap().is_empty());
    assert_eq!(verify_chain(&*s), Ok(8));
}

pub fn revoke_many_takes_each_serial_once(e: &dyn Engine) {
    let s = store(e);
    s.put_certificates(&[cert("01", 500), cert("02", 500), cert("03", 500)]).unwrap();
    let ev = |serial: &str| event("cert.revoked", serial);
    let done = s.revoke_many("issuing", &["03".into(), "01".into(), "03".into()], &revocation(), &ev).unwrap();
    assert_eq!(done, ["03", "01"], "in the order given, a repeated serial once");
    let seqs: Vec<(String, i64)> = s.revoked_since(0, 10).unwrap().into_iter().map(|e| (e.serial, e.seq)).collect();
    assert_eq!(seqs, [("03".to_string(), 1), ("01".to_string(), 2)]);
    s.put_ca(&ca("other", "root", None), &event("ca.created", "ca:other")).unwrap();
    assert!(s.revoke_many("other", &["02".into()], &revocation(), &ev).unwrap().is_empty(), "another issuer's serial");
    assert_eq!(verify_chain(&*s), Ok(7));
}

/// More revoked certificates than one streamed batch (10,000 on PostgreSQL).
pub fn revoked_sets_stream_past_one_batch(e: &dyn Engine) {
    const N: usize = 10_050;
    let s = store(e);
    let serials: Vec<String> = (0..N).map(|i| format!("{i:06x}")).collect();
    let batch: Vec<_> = serials.iter().map(|serial| cert(serial, 500)).collect();
    s.put_certificates(&batch).unwrap();
    let done = s.revoke_many("issuing", &serials, &revocation(), &|serial| event("cert.revoked", serial)).unwrap();
    assert_eq!(done.len(), N);
    let mut next = 1;
    s.for_each_revoked("issuing", (0, i64::MAX), 0, &mut |entry| {
        assert_eq!(entry.seq, next, "in sequence order, without gaps");
        assert_eq!(entry.serial, serials[next as usize - 1]);
        next += 1;
        Ok(())
    })
    .unwrap();
    assert_eq!(next as usize, N + 1);
    let mut audited = 0;
    s.for_each_audit(0, &mut |_| {
        audited += 1;
        Ok(())
    })
    .unwrap();
    assert_eq!(audited, 1 + 2 * N);
}

pub fn streaming_stops_at_the_first_callback_error(e: &dyn Engine) {
    let s = store(e);
    s.put_certificates(&[cert("01", 500), cert("02", 500), cert("03", 500)]).unwrap();
    s.revoke_many("issuing", &["01".into(), "02".into(), "03".into()], &revocation(), &|serial| event("cert.revoked", serial))
        .unwrap();
    let mut calls = 0;
    let err = s
        .for_each_revoked("issuing", (0, 3), 0, &mut |_| {
            calls += 1;
            Err(Error::Backend("stop here".into()))
        })
        .unwrap_err();
    assert_eq!((calls, err.to_string().contains("stop here")), (1, true), "{err}");
    let mut calls = 0;
    let err = s
        .for_each_audit(0, &mut |_| {
            calls += 1;
            if calls == 2 {
                return Err(Error::Backend("enough".into()));
            }
            Ok(())
        })
        .unwrap_err();
    assert_eq!((calls, err.to_string().contains("enough")), (2, true), "{err}");
    assert_eq!(verify_chain(&*s), Ok(7), "the store still answers");
}

/// Revoking a CA revokes its certificate (issued by its parent) and its status at once.
pub fn revoking_a_ca_changes_its_status_and_certificate_together(e: &dyn Engine) {
    let s = store(e);
    s.put_ca(&ca("sub", "intermediate", Some("issuing")), &event("ca.created", "ca:sub")).unwrap();
    let (mut record, issued) = cert("0a", 500);
    record.profile = "ca".into();
    s.put_certificates(&[(record, issued)]).unwrap();
    let events = [event("cert.revoked", "cert:issuing/0a"), event("ca.revoked", "ca:sub")];
    let err = s.revoke_ca("sub", "issuing", "0b", &revocation(), &events).unwrap_err();
    assert!(matches!(err, ironpki_store::Error::NotFound { .. }), "{err}");
    let status = |s: &dyn Store| s.cas().unwrap().into_iter().find(|c| c.name == "sub").unwrap().status;
    assert_eq!(status(&*s), "active", "a failed revocation changes nothing");

    s.revoke_ca("sub", "issuing", "0a", &revocation(), &events).unwrap();
    assert_eq!(status(&*s), "revoked");
    assert_eq!(s.revoked_since(0, 10).unwrap().iter().map(|e| e.serial.as_str()).collect::<Vec<_>>(), ["0a"]);
    let err = s.revoke_ca("sub", "issuing", "0a", &revocation(), &events).unwrap_err();
    assert!(matches!(err, ironpki_store::Error::AlreadyRevoked { .. }), "{err}");
    assert_eq!(verify_chain(&*s), Ok(5), "CA, sub-CA, certificate, and the two revocation entries");
}
