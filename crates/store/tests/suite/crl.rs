//! CRL numbering and storage.

use ironpki_store::{CrlRecord, Error};

use super::*;

fn crl(issuer: &str, number: i64, base: Option<i64>, der: Vec<u8>) -> CrlRecord {
    CrlRecord {
        issuer: issuer.into(),
        number,
        base_number: base,
        this_update: number,
        next_update: number + 100,
        revocation_seq: number * 10,
        entries: number * 2,
        der,
    }
}

pub fn crl_numbers_are_unique_per_issuer(e: &dyn Engine) {
    let s = store(e);
    s.put_ca(&ca("other", "root", None), &event("ca.created", "ca:other")).unwrap();
    assert_eq!(s.last_crl_number("issuing").unwrap(), 0);
    assert!(s.latest_crl("issuing", false).unwrap().is_none());
    let ev = event("crl.published", "crl");
    s.put_crl(&crl("issuing", 1, None, vec![1]), &ev).unwrap();
    s.put_crl(&crl("issuing", 2, Some(1), vec![2]), &ev).unwrap();
    let err = s.put_crl(&crl("issuing", 2, None, vec![2]), &ev).unwrap_err();
    assert!(matches!(&err, Error::CrlNumberTaken { number: 2, issuer } if issuer == "issuing"), "{err}");
    s.put_crl(&crl("other", 2, None, vec![9]), &ev).unwrap();
    assert_eq!(s.last_crl_number("issuing").unwrap(), 2);
    assert_eq!(s.last_crl_number("other").unwrap(), 2);
    let full = s.latest_crl("issuing", false).unwrap().unwrap();
    assert_eq!(
        (full.number, full.base_number, full.this_update, full.next_update, full.revocation_seq, full.entries, full.der),
        (1, None, 1, 101, 10, 2, vec![1])
    );
    let delta = s.latest_crl("issuing", true).unwrap().unwrap();
    assert_eq!((delta.number, delta.base_number), (2, Some(1)));
    assert!(s.latest_crl("other", true).unwrap().is_none());
    assert_eq!(verify_chain(&*s), Ok(5), "the taken number appended nothing");
}

pub fn large_crls_round_trip_and_old_ones_are_pruned(e: &dyn Engine) {
    let s = store(e);
    let ev = event("crl.published", "crl");
    let big: Vec<u8> = (0..8 * 1024 * 1024).map(|i: u32| (i * 31 % 251) as u8).collect();
    s.put_crl(&crl("issuing", 1, None, vec![1]), &ev).unwrap();
    s.put_crl(&crl("issuing", 2, Some(1), vec![2]), &ev).unwrap();
    s.put_crl(&crl("issuing", 3, None, big.clone()), &ev).unwrap();
    s.put_crl(&crl("issuing", 4, Some(3), vec![4]), &ev).unwrap();
    let full = s.latest_crl("issuing", false).unwrap().unwrap();
    assert_eq!(full.number, 3);
    assert!(full.der == big, "8 MiB of DER back as written");
    assert_eq!(s.latest_crl("issuing", true).unwrap().unwrap().number, 4);
    // Pruned: only the newest full and delta CRL are kept, and numbers still go up.
    e.execute("DELETE FROM crls WHERE number >= 3");
    assert!(s.latest_crl("issuing", false).unwrap().is_none(), "CRL 1 was pruned");
    assert!(s.latest_crl("issuing", true).unwrap().is_none(), "CRL 2 was pruned");
}
