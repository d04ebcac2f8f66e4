//! 100,000 certificates: distinct serials, each positive, 16 octets (time, then 80 random bits);
//! then all of them revoked in bulk, and a CRL that lists exactly those serials.

use std::collections::HashSet;
use std::sync::Arc;

use ironpki_authority::{Authority, Caller, CertFilter, Home, InitOptions, IssueRequest, Passphrase, RequestSubject, SystemClock};
use ironpki_signer::{Signer, SoftwareKey};
use ironpki_x509::revocation::Reason;
use ironpki_x509::KeyType;

#[test]
fn hundred_thousand_serials_then_a_crl_of_all_of_them() {
    let dir = tempfile::tempdir().unwrap();
    let config = ironpki_config::template("Serial Org").replace("durability: full", "durability: normal");
    std::fs::write(dir.path().join("c.yaml"), config).unwrap();
    let pass = Passphrase::new("serials passphrase".into());
    let home = Home::new(dir.path().join("home"));
    ironpki_authority::init(
        &home,
        InitOptions { org: None, config_file: Some(dir.path().join("c.yaml")), root_offline: None, passphrase: pass.clone(), actor: "test".into() },
        Arc::new(SystemClock),
    )
    .unwrap();
    let authority = Authority::open(home, Arc::new(SystemClock), "test").unwrap();
    authority.unlock_for_profile(Some("device"), &pass).unwrap();
    let key = SoftwareKey::generate(KeyType::EcdsaP256).unwrap();
    let request = IssueRequest {
        profile: Some("device".into()),
        subject: RequestSubject::Key {
            common_name: Some("fleet".into()),
            sans: vec!["dns:unit.iot.internal".parse().unwrap()],
            key_type: KeyType::EcdsaP256,
            public_key_raw: key.key.public_key_raw().to_vec(),
        },
        lifetime: None,
        caller: Caller::local("test"),
    };
    const N: usize = 100_000;
    let batch = vec![request; 1000];
    let mut returned = HashSet::new();
    for _ in 0..N / batch.len() {
        for issued in authority.issue_batch(&batch) {
            let issued = issued.unwrap();
            let bytes = issued.serial.as_bytes();
            assert_eq!(bytes.len(), 16, "16 octets");
            assert_eq!(bytes[0] & 0xc0, 0x40, "positive, no leading zero octet");
            assert!(returned.insert(issued.serial.to_hex()), "duplicate serial {}", issued.serial);
        }
    }
    let mut stored = authority.list_certificates(&Caller::local("test"), &CertFilter { now: 0, ..CertFilter::default() }).unwrap();
    stored.retain(|c| c.profile != "admin" && c.profile != "ca");
    assert_eq!(stored.len(), N);
    let stored: HashSet<String> = stored.into_iter().map(|c| c.serial).collect();
    assert_eq!(stored, returned, "every returned certificate is in the store");
    // The serial in the DER is the one recorded.
    let one = authority.show_certificate(&Caller::local("test"), returned.iter().next().unwrap(), None).unwrap();
    let summary = ironpki_x509::inspect::summarize(&one.der).unwrap();
    assert_eq!(summary.serial, one.serial);

    let all: Vec<String> = returned.iter().cloned().collect();
    let mut reported = 0;
    let revoked = authority.revoke_bulk(&Caller::local("test"), "issuing", &all, Reason::KeyCompromise, None, &mut |n| reported = n).unwrap();
    assert_eq!((revoked.len(), reported), (N, N));
    let crl = authority.generate_crl("issuing", false).unwrap();
    assert_eq!(crl.entries, N as i64);
    let path = dir.path().join("big.crl");
    std::fs::write(&path, &crl.der).unwrap();
    let Some(listed) = openssl_crl_serials(&path) else { return };
    assert_eq!(listed.len(), N, "one entry per revoked certificate");
    assert_eq!(listed.into_iter().collect::<HashSet<_>>(), returned, "the CRL lists exactly the revoked serials");
}

/// The serials `openssl crl -text` lists, lower-case hex; None (a skip) without openssl.
fn openssl_crl_serials(path: &std::path::Path) -> Option<Vec<String>> {
    let out = match std::process::Command::new("openssl").args(["crl", "-inform", "DER", "-noout", "-text", "-in"]).arg(path).output() {
        Ok(out) => out,
        Err(_) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("SKIP: openssl not found");
            return None;
        }
        Err(e) => panic!("openssl is required under CI: {e}"),
    };
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    Some(text.lines().filter_map(|l| l.trim().strip_prefix("Serial Number: ")).map(|s| s.to_ascii_lowercase()).collect())
}
