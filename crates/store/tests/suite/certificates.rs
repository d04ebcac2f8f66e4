//! CAs, meta, certificate records and the certificate listing.

use std::collections::HashSet;

use ironpki_store::{CertFilter, CertRecord, CertStatus, Error, RevocationState, StatusFilter};

use super::*;

pub fn cas_and_meta(e: &dyn Engine) {
    let s = store(e);
    let err = s.put_ca(&ca("issuing", "root", None), &event("ca.created", "ca:issuing")).unwrap_err();
    assert!(matches!(&err, Error::DuplicateCa(name) if name == "issuing"), "{err}");
    s.put_ca(&ca("a-sub", "intermediate", Some("issuing")), &event("ca.created", "ca:a-sub")).unwrap();
    s.put_ca(&ca("B-sub", "intermediate", Some("issuing")), &event("ca.created", "ca:B-sub")).unwrap();
    let cas = s.cas().unwrap();
    let names: Vec<&str> = cas.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["issuing", "B-sub", "a-sub"], "roots first, then by name in byte order");
    assert_eq!(cas[1].parent.as_deref(), Some("issuing"));
    assert_eq!((cas[1].der.as_slice(), cas[1].key_ref.as_str()), (&[1u8, 2, 3][..], "ca/B-sub/key.pem"));

    assert_eq!(s.meta("config.sha256").unwrap(), None);
    s.set_meta("config.sha256", "one", &event("config.changed", "config")).unwrap();
    s.set_meta("config.sha256", "two", &event("config.changed", "config")).unwrap();
    assert_eq!(s.meta("config.sha256").unwrap().as_deref(), Some("two"));
    assert_eq!(verify_chain(&*s), Ok(5), "CA, two sub-CAs, two meta changes; the refused CA appended nothing");
}

pub fn duplicate_serial_is_refused_and_batch_is_atomic(e: &dyn Engine) {
    let s = store(e);
    s.put_certificates(&[cert("aa", 100)]).unwrap();
    let err = s.put_certificates(&[cert("bb", 100), cert("aa", 100), cert("cc", 100)]).unwrap_err();
    assert!(matches!(&err, Error::DuplicateSerial { serial, issuer } if serial == "aa" && issuer == "issuing"), "{err}");
    let err = s.put_certificates(&[cert("dd", 100), cert("dd", 100)]).unwrap_err();
    assert!(matches!(&err, Error::DuplicateSerial { serial, .. } if serial == "dd"), "a serial twice in one batch: {err}");
    assert_eq!(s.count_certificates().unwrap(), 1, "the failed batches recorded nothing");
    assert_eq!(verify_chain(&*s), Ok(2), "and appended nothing");
    assert!(s.certificates_by_serial("bb", 0).unwrap().is_empty());

    // The same serial from another issuer is another certificate.
    s.put_ca(&ca("other", "root", None), &event("ca.created", "ca:other")).unwrap();
    let (mut c, ev) = cert("aa", 100);
    c.issuer = "other".into();
    s.put_certificates(&[(c, ev)]).unwrap();
    let mut issuers: Vec<String> = s.certificates_by_serial("aa", 0).unwrap().into_iter().map(|c| c.issuer).collect();
    issuers.sort();
    assert_eq!(issuers, ["issuing", "other"]);
    s.put_certificates(&[]).unwrap();
    assert_eq!(s.count_certificates().unwrap(), 2);
}

pub fn certificate_fields_round_trip(e: &dyn Engine) {
    let s = store(e);
    let (mut c, ev) = cert("0a1b", 5_000);
    c.subject = "CN=web-01,O=Example".into();
    c.common_name = None;
    c.sans = vec!["dns:web-01.example".into(), "ip:10.0.0.1".into(), "uri:spiffe://x/\"q\"".into()];
    c.key_type = "rsa-3072".into();
    c.profile = "server".into();
    c.not_before = -5;
    c.requester = "token:abc".into();
    c.issued_at = 1_700_000_000;
    c.der = (0..=255).collect();
    s.put_certificates(&[(c.clone(), ev)]).unwrap();
    let got = s.certificates_by_serial("0a1b", 0).unwrap();
    assert_eq!(got.len(), 1);
    let r: &CertRecord = &got[0];
    assert_eq!(
        (&r.issuer, &r.serial, &r.subject, &r.common_name, &r.sans, &r.key_type, &r.profile),
        (&c.issuer, &c.serial, &c.subject, &c.common_name, &c.sans, &c.key_type, &c.profile)
    );
    assert_eq!((r.not_before, r.not_after, &r.requester, r.issued_at, &r.der), (-5, 5_000, &c.requester, c.issued_at, &c.der));
    assert_eq!((r.revoked_at, r.revocation_reason), (None, None));
    assert!(r.id > 0);
    assert_eq!(s.revocation_state("issuing", "0a1b").unwrap(), Some(RevocationState::Valid));
    assert_eq!(s.revocation_state("issuing", "ffff").unwrap(), None);
    assert_eq!(s.revocation_state("other", "0a1b").unwrap(), None);
}

pub fn expiry_query_and_status(e: &dyn Engine) {
    let s = store(e);
    let (mut server, ev) = cert("04", 180);
    server.profile = "server".into();
    s.put_certificates(&[cert("01", 50), cert("02", 150), cert("03", 5000), (server, ev)]).unwrap();
    let base = CertFilter { now: 100, ..CertFilter::default() };
    let serials = |f: &CertFilter| s.list_certificates(f).unwrap().into_iter().map(|c| c.serial).collect::<Vec<_>>();
    assert_eq!(serials(&CertFilter { expiring_within: Some(100), ..base.clone() }), ["02", "04"]);
    assert_eq!(serials(&CertFilter { expiring_within: Some(100), profile: Some("server".into()), ..base.clone() }), ["04"]);
    assert_eq!(serials(&CertFilter { expiring_within: Some(50), ..base.clone() }), ["02"], "notAfter 150 is within now + 50");
    let expired = s.list_certificates(&CertFilter { status: Some(StatusFilter::Expired), ..base.clone() }).unwrap();
    assert_eq!(expired.len(), 1);
    assert_eq!((expired[0].serial.as_str(), expired[0].status), ("01", CertStatus::Expired));
    assert_eq!(serials(&CertFilter { status: Some(StatusFilter::Valid), ..base.clone() }), ["02", "03", "04"]);
    assert_eq!(s.count_expiring(100, 200).unwrap(), [("device".to_string(), 1), ("server".to_string(), 1)]);
    assert_eq!(s.count_expiring(100, 10_000).unwrap(), [("device".to_string(), 2), ("server".to_string(), 1)]);

    let rev = ironpki_store::Revocation { at: 100, reason: 1, invalidity_date: None };
    let ev = event("cert.revoked", "cert:03");
    s.revoke("issuing", "03", &rev, &ev).unwrap();
    assert!(matches!(s.revoke("issuing", "03", &rev, &ev), Err(Error::AlreadyRevoked { .. })));
    assert!(matches!(s.revoke("issuing", "ff", &rev, &ev), Err(Error::NotFound { .. })));
    assert!(matches!(s.revoke("nobody", "03", &rev, &ev), Err(Error::NotFound { .. })));
    let revoked = s.list_certificates(&CertFilter { status: Some(StatusFilter::Revoked), ..base.clone() }).unwrap();
    assert_eq!(revoked.len(), 1);
    assert_eq!(
        (revoked[0].status, revoked[0].revocation_reason, revoked[0].revoked_at),
        (CertStatus::Revoked, Some(1), Some(100))
    );
    assert_eq!(s.revocation_state("issuing", "03").unwrap(), Some(RevocationState::Revoked { at: 100, reason: Some(1) }));
    assert_eq!(serials(&CertFilter { status: Some(StatusFilter::Valid), ..base.clone() }), ["02", "04"]);
    assert_eq!(s.count_expiring(100, 10_000).unwrap(), [("device".to_string(), 1), ("server".to_string(), 1)]);

    let valid = s.valid_serials(None, None, 100).unwrap();
    assert_eq!(valid, [("issuing".to_string(), "02".to_string()), ("issuing".to_string(), "04".to_string())]);
    assert_eq!(s.valid_serials(Some("issuing"), Some("server"), 100).unwrap().len(), 1);
    assert!(s.valid_serials(Some("nobody"), None, 100).unwrap().is_empty());
    assert_eq!(s.valid_serials(None, Some("device"), 0).unwrap().len(), 2, "01 and 02; 03 is revoked");
    assert_eq!(verify_chain(&*s), Ok(6));
}

pub fn expiry_query_uses_an_index(e: &dyn Engine) {
    let _s = store(e);
    let plan = e.explain(
        "SELECT id FROM certificates WHERE status = 'valid' AND not_after >= 1 AND not_after <= 2 ORDER BY not_after, id",
    );
    assert!(plan.iter().any(|p| p.contains("certificates_valid_expiry") || p.contains("certificates_expiry")), "{plan:#?}");
    assert!(!plan.iter().any(|p| p.starts_with("SCAN certificates") || p.contains("Seq Scan")), "{plan:#?}");
}

/// The expiring counts (hourly buckets plus the two partial hours) agree with counting
/// the rows, for windows on and off hour boundaries, shorter than two hours, empty,
/// after several batches and after single and bulk revocations.
pub fn expiring_counts_agree_with_the_rows(e: &dyn Engine) {
    const H: i64 = 3600;
    let s = store(e);
    let base = 1_000 * H;
    let mut n = 0;
    let mut batch = |s: &dyn Store, offsets: &[i64], profile: &str| {
        let rows: Vec<_> = offsets
            .iter()
            .map(|o| {
                n += 1;
                let (mut c, ev) = cert(&format!("{n:04x}"), base + o);
                c.profile = profile.into();
                (c, ev)
            })
            .collect();
        s.put_certificates(&rows).unwrap();
    };
    let spread: Vec<i64> = (0..120).map(|i| i * 997 % (30 * H)).collect();
    batch(&*s, &spread, "device");
    batch(&*s, &[0, H - 1, H, 2 * H, 5 * H + 1, 29 * H + 7], "server");
    batch(&*s, &[3 * H, 3 * H], "device");
    s.revoke("issuing", "0001", &revocation(), &event("cert.revoked", "cert:1")).unwrap();
    let many: Vec<String> = (10..40).map(|i| format!("{i:04x}")).collect();
    s.revoke_many("issuing", &many, &revocation(), &|_| event("cert.revoked", "cert")).unwrap();

    let counted = |now: i64, until: i64| {
        let f = CertFilter { now, expiring_within: Some(until - now), ..CertFilter::default() };
        let mut per: std::collections::BTreeMap<String, u64> = Default::default();
        for c in s.list_certificates(&f).unwrap() {
            *per.entry(c.profile).or_default() += 1;
        }
        per.into_iter().collect::<Vec<_>>()
    };
    let windows = [
        (base, base + 30 * H),
        (base - 5 * H, base + 40 * H),
        (base + 1, base + 3 * H),
        (base + H, base + 3 * H - 1),
        (base + H - 1, base + 5 * H + 1),
        (base + 17, base + 3_000),
        (base + 3 * H, base + 3 * H),
        (base + 7 * H + 5, base + 29 * H + 7),
        (base + 31 * H, base + 40 * H),
    ];
    for (now, until) in windows {
        let expected = counted(now, until);
        assert_eq!(s.count_expiring(now, until).unwrap(), expected, "window [{now}, {until}]");
    }
    assert!(counted(base, base + 30 * H).iter().map(|(_, n)| n).sum::<u64>() >= 90, "the windows hold rows");
    assert!(s.count_expiring(base + 10, base).unwrap().is_empty(), "an empty window");
}

/// 250 certificates: CN `host-N`, SANs `dns:host-N.example` and, for every tenth,
/// `dns:tenth-N.example`; notAfter takes 7 values, so expiry order has many ties.
fn many(s: &dyn Store) {
    let batch: Vec<_> =
        (0..250).map(|i| named(cert(&format!("{i:04x}"), 1_000 + (i * 37 % 7)), &format!("host-{i}.example"), (i % 10 == 0).then(|| format!("tenth-{i}.example")))).collect();
    s.put_certificates(&batch).unwrap();
}

/// `c` named `dns:NAME` with its CN the name's first label, and `dns:EXTRA` when given.
fn named((mut c, ev): (NewCertificate, AuditEvent), name: &str, extra: Option<String>) -> (NewCertificate, AuditEvent) {
    c.common_name = name.split('.').next().map(str::to_string);
    c.sans = std::iter::once(name.to_string()).chain(extra).map(|n| format!("dns:{n}")).collect();
    (c, ev)
}

pub fn name_contains_matches_common_names_and_sans(e: &dyn Engine) {
    let s = store(e);
    many(&*s);
    let find = |text: &str, extra: CertFilter| {
        let f = CertFilter { now: 0, name_contains: Some(text.into()), ..extra };
        let mut cns: Vec<String> = s.list_certificates(&f).unwrap().into_iter().filter_map(|c| c.common_name).collect();
        cns.sort();
        cns
    };
    assert_eq!(
        find("host-24", CertFilter::default()),
        [
            "host-24", "host-240", "host-241", "host-242", "host-243", "host-244", "host-245", "host-246", "host-247",
            "host-248", "host-249"
        ]
    );
    assert_eq!(find("tenth-12", CertFilter::default()), ["host-120"], "a SAN only");
    assert_eq!(find("tenth-", CertFilter::default()).len(), 25);
    assert_eq!(find("tenth-", CertFilter { limit: Some(3), ..CertFilter::default() }).len(), 3);
    assert_eq!(find("tenth-", CertFilter { after_id: Some(i64::MAX), ..CertFilter::default() }).len(), 0);
    assert_eq!(find("HOST-24", CertFilter::default()), find("host-24", CertFilter::default()), "ASCII case is ignored");
    assert_eq!(find("-7", CertFilter::default()).len(), 11, "fewer than three characters: scanned, same answer");
    assert!(find("nowhere", CertFilter::default()).is_empty());
    assert_eq!(find("host-7", CertFilter { expiring_within: Some(10_000), ..CertFilter::default() }).len(), 11);
}

/// Names are searchable whatever the batching: single rows, batches after other
/// batches, and a batch that failed (a duplicate serial) leaves no name behind.
pub fn names_of_every_batch_are_searchable(e: &dyn Engine) {
    let s = store(e);
    let named = |serial: &str, cn: &str| {
        let (mut c, ev) = cert(serial, 1_000);
        c.common_name = Some(cn.into());
        c.sans = vec![format!("dns:{cn}.example")];
        (c, ev)
    };
    s.put_certificates(&[named("01", "alpha-one")]).unwrap();
    s.put_certificates(&[named("02", "alpha-two"), named("03", "beta-three")]).unwrap();
    let failed = s.put_certificates(&[named("04", "gamma-four"), named("02", "gamma-dup")]);
    assert!(matches!(failed, Err(Error::DuplicateSerial { .. })), "{failed:?}");
    // A common name that is not in the SANs is indexed beside them.
    let (mut apart, ev) = named("06", "delta-apart");
    apart.sans = vec!["dns:elsewhere.example".into()];
    s.put_certificates(&[named("05", "alpha-five"), (apart, ev)]).unwrap();
    let find = |text: &str| {
        let f = CertFilter { now: 0, name_contains: Some(text.into()), ..CertFilter::default() };
        s.list_certificates(&f).unwrap().into_iter().filter_map(|c| c.common_name).collect::<Vec<_>>()
    };
    assert_eq!(find("alpha"), ["alpha-one", "alpha-two", "alpha-five"]);
    assert_eq!(find("three.example"), ["beta-three"]);
    assert_eq!(find("lta-apa"), ["delta-apart"]);
    assert_eq!(find("elsewhere"), ["delta-apart"]);
    assert_eq!(find("beta-three"), ["beta-three"], "a common name found in the SANs' text");
    assert!(find("gamma").is_empty(), "the failed batch is not indexed");
}

/// A search answers the same whether a row's names are in the index or among the rows
/// recorded since the index was last filled (SQLite fills it in the background, every
/// 1,024 certificates):
/// 1,300 rows in batches of 100, searched, paged by id and by expiry across the boundary.
pub fn names_are_found_in_the_index_and_past_it(e: &dyn Engine) {
    let s = store(e);
    for b in 0..13 {
        let batch: Vec<_> = (b * 100..(b + 1) * 100)
            .map(|i| named(cert(&format!("{i:05x}"), 1_000 + (i * 13 % 11)), &format!("node-{i}.fleet.example"), (i % 7 == 0).then(|| format!("seventh-{i}.example"))))
            .collect();
        s.put_certificates(&batch).unwrap();
    }
    let filter = CertFilter { now: 0, name_contains: Some("SEVENTH-".into()), ..CertFilter::default() };
    let found = s.list_certificates(&filter).unwrap();
    let wanted: Vec<String> = (0..1300).filter(|i| i % 7 == 0).map(|i| format!("node-{i}")).collect();
    assert_eq!(found.iter().filter_map(|c| c.common_name.clone()).collect::<Vec<_>>(), wanted, "in id order, both sides");
    let (paged, _) = pages(&*s, &filter, 9, false);
    assert_eq!(paged.iter().map(|c| c.id).collect::<Vec<_>>(), found.iter().map(|c| c.id).collect::<Vec<_>>());

    let by_expiry = CertFilter { expiring_within: Some(1_005), ..filter.clone() };
    let mut expected: Vec<(i64, i64)> = found.iter().filter(|c| c.not_after <= 1_005).map(|c| (c.not_after, c.id)).collect();
    expected.sort();
    let listed = s.list_certificates(&by_expiry).unwrap();
    assert_eq!(listed.iter().map(|c| (c.not_after, c.id)).collect::<Vec<_>>(), expected, "in (notAfter, id) order");
    let (paged, _) = pages(&*s, &by_expiry, 8, true);
    assert_eq!(paged.iter().map(|c| (c.not_after, c.id)).collect::<Vec<_>>(), expected);
    let first = CertFilter { limit: Some(5), ..by_expiry };
    assert_eq!(s.list_certificates(&first).unwrap().iter().map(|c| (c.not_after, c.id)).collect::<Vec<_>>(), expected[..5]);

    // every row exactly once, whichever side of the index's end it is on
    let all = s.list_certificates(&CertFilter { name_contains: Some("fleet.example".into()), ..filter.clone() }).unwrap();
    let names: Vec<String> = all.iter().filter_map(|c| c.common_name.clone()).collect();
    assert_eq!(names, (0..1300).map(|i| format!("node-{i}")).collect::<Vec<_>>());
    for i in [1023, 1024, 1025, 1099, 1100, 1101, 1200, 1299] {
        let one = s.list_certificates(&CertFilter { name_contains: Some(format!("node-{i}.")), ..filter.clone() }).unwrap();
        assert_eq!(one.iter().filter_map(|c| c.common_name.clone()).collect::<Vec<_>>(), [format!("node-{i}")]);
    }
    assert_eq!(s.list_certificates(&CertFilter { name_contains: Some("node-1299".into()), ..filter.clone() }).unwrap().len(), 1);
    assert_eq!(s.list_certificates(&CertFilter { name_contains: Some("node-12".into()), ..filter }).unwrap().len(), 111);
}

/// Pages through `filter` `page` rows at a time, following the cursor the last row gives.
fn pages(s: &dyn Store, filter: &CertFilter, page: u32, by_expiry: bool) -> (Vec<CertRecord>, usize) {
    let mut all = Vec::new();
    let mut count = 0;
    let mut cursor = CertFilter { limit: Some(page), ..filter.clone() };
    loop {
        let rows = s.list_certificates(&cursor).unwrap();
        assert!(rows.len() <= page as usize);
        let Some(last) = rows.last() else { break };
        cursor.after_id = Some(last.id);
        cursor.after_not_after = by_expiry.then_some(last.not_after);
        count += 1;
        all.extend(rows);
        assert!(count < 100, "the cursor does not advance");
    }
    (all, count)
}

pub fn id_cursor_pages_every_row_once(e: &dyn Engine) {
    let s = store(e);
    many(&*s);
    let filter = CertFilter { now: 0, ..CertFilter::default() };
    let everything = s.list_certificates(&filter).unwrap();
    assert_eq!(everything.len(), 250);
    assert!(everything.windows(2).all(|w| w[0].id < w[1].id), "in id order");
    let (paged, count) = pages(&*s, &filter, 100, false);
    assert_eq!(count, 3);
    assert_eq!(paged.iter().map(|c| c.id).collect::<Vec<_>>(), everything.iter().map(|c| c.id).collect::<Vec<_>>());
    assert_eq!(paged.iter().map(|c| &c.serial).collect::<HashSet<_>>().len(), 250, "each row exactly once");

    let tenth = CertFilter { name_contains: Some("tenth".into()), ..filter };
    let (paged, count) = pages(&*s, &tenth, 10, false);
    assert_eq!((paged.len(), count), (25, 3));
}

pub fn expiry_cursor_pages_every_row_once(e: &dyn Engine) {
    let s = store(e);
    many(&*s);
    let filter = CertFilter { now: 0, expiring_within: Some(10_000), ..CertFilter::default() };
    let everything = s.list_certificates(&filter).unwrap();
    assert_eq!(everything.len(), 250);
    let mut expected: Vec<(i64, i64)> = everything.iter().map(|c| (c.not_after, c.id)).collect();
    expected.sort();
    assert_eq!(everything.iter().map(|c| (c.not_after, c.id)).collect::<Vec<_>>(), expected, "in (notAfter, id) order");
    let (paged, count) = pages(&*s, &filter, 100, true);
    assert_eq!(count, 3);
    assert_eq!(paged.iter().map(|c| (c.not_after, c.id)).collect::<Vec<_>>(), expected, "every row once, in order");

    // An id alone is no cursor in expiry order: it filters by id.
    let f = CertFilter { after_id: Some(everything.iter().map(|c| c.id).max().unwrap_or(0) - 10), ..filter };
    assert_eq!(s.list_certificates(&f).unwrap().len(), 10);
}
