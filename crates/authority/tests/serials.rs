//! 100,000 certificates: distinct serials, each positive, 16 octets, 126 random bits.

use std::collections::HashSet;
use std::sync::Arc;

use ironpki_authority::{Authority, Home, InitOptions, IssueRequest, Passphrase, RequestSubject, SystemClock};
use ironpki_signer::{Signer, SoftwareKey};
use ironpki_store::CertFilter;
use ironpki_x509::KeyType;

#[test]
fn hundred_thousand_serials_are_distinct_and_sized() {
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
        requester: "test".into(),
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
    let stored = authority.store().list_certificates(&CertFilter { now: 0, ..CertFilter::default() }).unwrap();
    assert_eq!(stored.len(), N);
    let stored: HashSet<String> = stored.into_iter().map(|c| c.serial).collect();
    assert_eq!(stored, returned, "every returned certificate is in the store");
    // The serial in the DER is the one recorded.
    let one = authority.store().certificates_by_serial(returned.iter().next().unwrap()).unwrap();
    let summary = ironpki_x509::inspect::summarize(&one[0].der).unwrap();
    assert_eq!(summary.serial, one[0].serial);
}
