//! One generated vector per rule: refused under RFC 5280 with the rule named, and
//! checked under the webpki profile where that shows the difference.

mod vectors;

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CidrSubnet, CustomExtension, ExtendedKeyUsagePurpose,
    GeneralSubtree, IsCa, Issuer, KeyIdMethod, KeyUsagePurpose, NameConstraints, RevocationReason, RevokedCertParams, SanType,
    SerialNumber,
};
use time::Duration;

use self::vectors::*;
use crate::verify::{verify, Input, Profile, Purpose, Verified};
use crate::Error;

fn run<'a>(v: &'a Vector, profile: Profile, adjust: impl FnOnce(&mut Input<'a>)) -> Result<Verified, Error> {
    let mut input = Input {
        leaf: &v.leaf,
        intermediates: &v.intermediates,
        roots: &v.roots,
        name: None,
        at: now(),
        purpose: None,
        crls: &[],
        profile,
    };
    adjust(&mut input);
    verify(&input)
}

/// Refused under RFC 5280 for `rule`; returns the reason.
#[track_caller]
fn refused(v: &Vector, rule: &str, phrase: &str) -> String {
    let e = run(v, Profile::Rfc5280, |_| {}).expect_err("should be refused").to_string();
    assert!(e.starts_with(&format!("{rule}:")), "expected rule {rule}: {e}");
    assert!(e.contains(phrase), "expected {phrase:?}: {e}");
    e
}

#[track_caller]
fn accepted(v: &Vector) -> Verified {
    run(v, Profile::Rfc5280, |_| {}).unwrap_or_else(|e| panic!("should be accepted: {e}"))
}

#[track_caller]
fn webpki_accepts(v: &Vector) {
    if let Err(e) = run(v, Profile::Webpki, |_| {}) {
        panic!("webpki should accept: {e}");
    }
}

#[track_caller]
fn webpki_refuses(v: &Vector) -> String {
    run(v, Profile::Webpki, |_| {}).expect_err("webpki should refuse").to_string()
}

fn ski_extension(seed: u8) -> CustomExtension {
    let mut content = vec![0x04, 20];
    content.extend_from_slice(&[seed; 20]);
    CustomExtension::from_oid_content(OID_SUBJECT_KEY_ID, content)
}

/// basicConstraints written by hand: cA asserted, criticality as given.
fn basic_constraints(critical: bool) -> CustomExtension {
    let mut bc = CustomExtension::from_oid_content(OID_BASIC_CONSTRAINTS, BC_CA.to_vec());
    bc.set_criticality(critical);
    bc
}

/// A CA certificate whose basicConstraints is absent (`None`) or hand-written, with a
/// subjectKeyIdentifier kept (rcgen writes it only beside its own basicConstraints).
fn hand_made_ca(p: &mut CertificateParams, bc: Option<bool>) {
    p.is_ca = IsCa::NoCa;
    let spki_id = KeyIdMethod::PreSpecified(vec![7; 20]);
    p.key_identifier_method = spki_id;
    p.custom_extensions.push(ski_extension(7));
    p.custom_extensions.extend(bc.map(basic_constraints));
}

#[test]
fn a_valid_chain_passes_both_profiles() {
    let v = leaf_only(|_| {});
    let ok = accepted(&v);
    assert_eq!(ok.purposes, vec![Purpose::Server]);
    assert_eq!(ok.chain, ["O=Test Org, CN=leaf.example.com", "O=Test Org, CN=Issuing CA", "O=Test Org, CN=Test Root"]);
    webpki_accepts(&v);
}

#[test]
fn trust_anchor_without_basic_constraints() {
    let v = chain(|p| hand_made_ca(p, None), |_| {}, |_| {});
    refused(&v, "RFC 5280 4.2.1.9", "trust anchor O=Test Org, CN=Test Root has no basicConstraints");
    webpki_accepts(&v);
}

#[test]
fn trust_anchor_with_non_critical_basic_constraints() {
    let v = chain(|p| hand_made_ca(p, Some(false)), |_| {}, |_| {});
    refused(&v, "RFC 5280 4.2.1.9", "trust anchor O=Test Org, CN=Test Root: basicConstraints is not critical");
    webpki_accepts(&v);
}

#[test]
fn ca_without_basic_constraints() {
    let v = chain(|_| {}, |p| hand_made_ca(p, None), |_| {});
    refused(&v, "RFC 5280 4.2.1.9", "CA certificate O=Test Org, CN=Issuing CA has no basicConstraints");
    webpki_refuses(&v);
}

#[test]
fn ca_with_non_critical_basic_constraints() {
    let v = chain(|_| {}, |p| hand_made_ca(p, Some(false)), |_| {});
    refused(&v, "RFC 5280 4.2.1.9", "CA certificate O=Test Org, CN=Issuing CA: basicConstraints is not critical");
    webpki_accepts(&v);
}

#[test]
fn ca_without_subject_key_identifier() {
    let v = chain(
        |_| {},
        |p| {
            p.is_ca = IsCa::NoCa;
            p.custom_extensions.push(basic_constraints(true));
        },
        |_| {},
    );
    refused(&v, "RFC 5280 4.2.1.2", "CA certificate O=Test Org, CN=Issuing CA is a CA certificate without subjectKeyIdentifier");
    webpki_accepts(&v);
}

#[test]
fn expired_root() {
    let v = chain(
        |p| {
            p.not_before = now() - Duration::days(30);
            p.not_after = now() - Duration::days(1);
        },
        |_| {},
        |_| {},
    );
    refused(&v, "RFC 5280 6.1.3 (a)(2)", "trust anchor has expired: O=Test Org, CN=Test Root notAfter");
    webpki_accepts(&v);
}

#[test]
fn expired_leaf_and_leaf_not_yet_valid() {
    let v = leaf_only(|p| p.not_after = now() - Duration::hours(1));
    refused(&v, "RFC 5280 6.1.3 (a)(2)", "certificate has expired: O=Test Org, CN=leaf.example.com");
    let v = leaf_only(|p| p.not_before = now() + Duration::hours(1));
    refused(&v, "RFC 5280 6.1.3 (a)(2)", "certificate is not yet valid");
}

#[test]
fn serial_number_zero() {
    let v = leaf_only(|p| p.serial_number = Some(SerialNumber::from_slice(&[0])));
    refused(&v, "RFC 5280 4.1.2.2", "the serial number of certificate O=Test Org, CN=leaf.example.com is zero");
    webpki_accepts(&v);
}

#[test]
fn serial_number_longer_than_20_octets() {
    let v = leaf_only(|p| p.serial_number = Some(SerialNumber::from_slice(&[0x11; 21])));
    refused(&v, "RFC 5280 4.1.2.2", "is 21 octets long (at most 20)");
    webpki_accepts(&v);
}

#[test]
fn serial_number_negative() {
    let (root, ca, leaf) = nodes(|_| {}, |_| {}, |_| {});
    let negative = with_field(&leaf.der, SERIAL, &[0x02, 0x02, 0xff, 0x01], &ca.key);
    let v = Vector { leaf: negative, intermediates: vec![ca.der], roots: vec![root.der] };
    refused(&v, "RFC 5280 4.1.2.2", "is negative");
}

#[test]
fn unknown_critical_extension() {
    let v = leaf_only(|p| {
        let mut ext = CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 55555, 1], vec![0x05, 0x00]);
        ext.set_criticality(true);
        p.custom_extensions.push(ext);
    });
    refused(&v, "RFC 5280 4.2", "has an unrecognised critical extension 1.3.6.1.4.1.55555.1");
    webpki_refuses(&v);
    // The same extension, not critical, is ignored.
    accepted(&leaf_only(|p| p.custom_extensions.push(CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 55555, 1], vec![0x05, 0x00]))));
}

#[test]
fn leaf_asserting_key_cert_sign() {
    let v = leaf_only(|p| p.key_usages.push(KeyUsagePurpose::KeyCertSign));
    refused(&v, "RFC 5280 4.2.1.3", "asserts keyCertSign but basicConstraints does not assert cA");
    webpki_accepts(&v);
}

#[test]
fn missing_authority_key_identifier() {
    let v = leaf_only(|p| p.use_authority_key_identifier_extension = false);
    refused(&v, "RFC 5280 4.2.1.1", "has no authorityKeyIdentifier");
    webpki_accepts(&v);
    // A self-signed trust anchor may omit it (our roots do).
    accepted(&leaf_only(|_| {}));
}

#[test]
fn weak_keys() {
    for (spki, phrase) in [
        (rsa_1024_spki(), "has a 1024-bit RSA key (at least 2048 bits)"),
        (p192_spki(), "has a P-192 key"),
        (dsa_spki(), "has a DSA key"),
    ] {
        let (root, ca, leaf) = nodes(|_| {}, |_| {}, |_| {});
        let weak = with_field(&leaf.der, SPKI, &spki, &ca.key);
        let v = Vector { leaf: weak, intermediates: vec![ca.der], roots: vec![root.der] };
        let e = run(&v, Profile::Rfc5280, |_| {}).expect_err("weak key").to_string();
        assert!(e.contains(phrase) && (e.starts_with("NIST SP 800-131A:") || e.starts_with("FIPS 186-5:")), "{e}");
        webpki_accepts(&v);
    }
}

#[test]
fn common_name_not_among_sans() {
    let v = leaf_only(|p| p.distinguished_name = dn("Test Org", "other.example.com"));
    refused(&v, "CA/Browser Forum BR 7.1.4.3", "the common name \"other.example.com\" of O=Test Org, CN=other.example.com is not among its subjectAltNames");
    webpki_accepts(&v);
    // A client-only certificate's CN is an identifier of its own (our device profile).
    accepted(&leaf_only(|p| {
        p.distinguished_name = dn("Test Org", "sensor-17");
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    }));
}

#[test]
fn issuer_without_key_cert_sign() {
    let v = chain(|_| {}, |p| p.key_usages = vec![KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature], |_| {});
    refused(&v, "RFC 5280 6.1.4 (n)", "CA certificate O=Test Org, CN=Issuing CA: keyUsage does not assert keyCertSign");
    let v = chain(|_| {}, |p| p.key_usages = vec![], |_| {});
    refused(&v, "RFC 5280 4.2.1.3", "CA certificate O=Test Org, CN=Issuing CA has no keyUsage");
}

#[test]
fn path_length_constraint_exceeded() {
    let root = root(|_| {});
    let mut p = ca_params("CA 1");
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    let ca1 = root.issue(p);
    let ca2 = ca1.issue(ca_params("CA 2"));
    let leaf = ca2.issue(leaf_params("leaf.example.com"));
    let v = Vector { leaf: leaf.der, intermediates: vec![ca2.der, ca1.der], roots: vec![root.der] };
    refused(&v, "RFC 5280 6.1.4 (l)", "O=Test Org, CN=CA 2 exceeds the pathLenConstraint of O=Test Org, CN=CA 1");
    webpki_refuses(&v);
}

/// RFC 5280 6.1.4 (l): a self-issued intermediate (here a key rollover of CA 1) is not
/// counted against pathLenConstraint.
#[test]
fn self_issued_intermediate_is_not_counted() {
    let root = root(|_| {});
    let mut p = ca_params("CA 1");
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    let ca1 = root.issue(p);
    let mut p = ca_params("CA 1");
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    let rollover = ca1.issue(p);
    let leaf = rollover.issue(leaf_params("leaf.example.com"));
    let v = Vector { leaf: leaf.der, intermediates: vec![ca1.der, rollover.der], roots: vec![root.der] };
    let ok = accepted(&v);
    assert_eq!(ok.chain.len(), 4, "{:?}", ok.chain);
    webpki_refuses(&v);
}

/// RFC 5280 allows an end-entity certificate to be a CA certificate.
#[test]
fn end_entity_that_is_also_a_ca() {
    let v = leaf_only(|p| {
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyCertSign];
    });
    accepted(&v);
    assert!(webpki_refuses(&v).contains("CA certificate, not an end entity"));
}

fn constrained(permitted: Vec<GeneralSubtree>, excluded: Vec<GeneralSubtree>) -> impl FnOnce(&mut CertificateParams) {
    move |p| p.name_constraints = Some(NameConstraints { permitted_subtrees: permitted, excluded_subtrees: excluded })
}

#[test]
fn permitted_directory_name_that_matches() {
    let v = chain(|_| {}, constrained(vec![GeneralSubtree::DirectoryName(dn_o("Test Org"))], vec![]), |_| {});
    accepted(&v);
    webpki_refuses(&v);
}

fn dn_o(o: &str) -> rcgen::DistinguishedName {
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::OrganizationName, o);
    dn
}

#[test]
fn directory_name_outside_permitted_subtree() {
    let v = chain(|_| {}, constrained(vec![GeneralSubtree::DirectoryName(dn_o("Other Org"))], vec![]), |_| {});
    refused(&v, "RFC 5280 4.2.1.10", "directoryName O=Test Org, CN=leaf.example.com in O=Test Org, CN=leaf.example.com is not within the permitted subtrees of O=Test Org, CN=Issuing CA");
    let v = chain(|_| {}, constrained(vec![], vec![GeneralSubtree::DirectoryName(dn_o("Test Org"))]), |_| {});
    refused(&v, "RFC 5280 4.2.1.10", "is within an excluded subtree");
}

#[test]
fn dns_name_constraints() {
    let v = chain(|_| {}, constrained(vec![GeneralSubtree::DnsName("example.com".into())], vec![]), |_| {});
    accepted(&v);
    let v = chain(|_| {}, constrained(vec![GeneralSubtree::DnsName("example.org".into())], vec![]), |_| {});
    refused(&v, "RFC 5280 4.2.1.10", "dNSName leaf.example.com in O=Test Org, CN=leaf.example.com is not within the permitted subtrees");
    webpki_refuses(&v);
    let v = chain(|_| {}, constrained(vec![], vec![GeneralSubtree::DnsName("leaf.example.com".into())]), |_| {});
    refused(&v, "RFC 5280 4.2.1.10", "dNSName leaf.example.com in O=Test Org, CN=leaf.example.com is within an excluded subtree");
}

#[test]
fn ip_address_constraints() {
    let ten = GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix("10.0.0.0".parse().unwrap(), 8));
    let with_ip = |ip: &str| {
        let ip = ip.parse().unwrap();
        move |p: &mut CertificateParams| p.subject_alt_names.push(SanType::IpAddress(ip))
    };
    accepted(&chain(|_| {}, constrained(vec![ten.clone()], vec![]), with_ip("10.1.2.3")));
    let v = chain(|_| {}, constrained(vec![ten.clone()], vec![]), with_ip("192.168.1.1"));
    refused(&v, "RFC 5280 4.2.1.10", "iPAddress 192.168.1.1 in O=Test Org, CN=leaf.example.com is not within the permitted subtrees");
    webpki_refuses(&v);
    let v = chain(|_| {}, constrained(vec![], vec![ten]), with_ip("10.9.9.9"));
    refused(&v, "RFC 5280 4.2.1.10", "iPAddress 10.9.9.9");
}

#[test]
fn rfc822_name_constraints() {
    let with_email = |e: &'static str| move |p: &mut CertificateParams| p.subject_alt_names.push(SanType::Rfc822Name(e.try_into().unwrap()));
    let example = || GeneralSubtree::Rfc822Name("example.com".into());
    accepted(&chain(|_| {}, constrained(vec![example()], vec![]), with_email("ops@example.com")));
    let v = chain(|_| {}, constrained(vec![example()], vec![]), with_email("ops@other.org"));
    refused(&v, "RFC 5280 4.2.1.10", "rfc822Name ops@other.org in O=Test Org, CN=leaf.example.com is not within the permitted subtrees");
    let v = chain(|_| {}, constrained(vec![], vec![example()]), with_email("ops@example.com"));
    refused(&v, "RFC 5280 4.2.1.10", "rfc822Name ops@example.com");
}

#[test]
fn purpose_from_extended_key_usage() {
    let v = leaf_only(|_| {});
    let e = run(&v, Profile::Rfc5280, |i| i.purpose = Some(Purpose::Client)).unwrap_err().to_string();
    assert!(e.starts_with("RFC 5280 4.2.1.12:") && e.contains("does not allow client authentication"), "{e}");
    // A CA's own EKU narrows what it issues.
    let v = chain(|_| {}, |p| p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth], |_| {});
    refused(&v, "RFC 5280 4.2.1.12", "the extended key usage of CA certificate O=Test Org, CN=Issuing CA does not allow");
    // No EKU: both purposes.
    let ok = accepted(&leaf_only(|p| p.extended_key_usages = vec![]));
    assert_eq!(ok.purposes, vec![Purpose::Server, Purpose::Client]);
}

#[test]
fn host_name_against_the_sans() {
    let v = leaf_only(|p| {
        p.subject_alt_names = vec![SanType::DnsName("leaf.example.com".try_into().unwrap()), SanType::DnsName("*.api.example.com".try_into().unwrap())];
    });
    for ok in ["leaf.example.com", "LEAF.example.com", "x.api.example.com"] {
        run(&v, Profile::Rfc5280, |i| i.name = Some(ok)).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    for bad in ["other.example.com", "a.b.api.example.com", "api.example.com"] {
        let e = run(&v, Profile::Rfc5280, |i| i.name = Some(bad)).unwrap_err().to_string();
        assert!(e.contains(&format!("not valid for name {bad:?}")), "{e}");
    }
}

#[test]
fn no_path_and_bad_signatures() {
    let v = leaf_only(|_| {});
    let other = root(|p| p.distinguished_name = dn("Other Org", "Other Root"));
    let e = run(&v, Profile::Rfc5280, |i| i.roots = std::slice::from_ref(&other.der)).unwrap_err().to_string();
    assert!(e.contains("no path to a trusted root: the issuer O=Test Org, CN=Test Root is unknown"), "{e}");
    let e = run(&v, Profile::Rfc5280, |i| i.intermediates = &[]).unwrap_err().to_string();
    assert!(e.contains("no path to a trusted root: the issuer O=Test Org, CN=Issuing CA is unknown"), "{e}");
    // A look-alike root: the same name, another key.
    let (_, ca, leaf) = nodes(|_| {}, |_| {}, |_| {});
    let v = Vector { leaf: leaf.der, intermediates: vec![ca.der], roots: vec![root(|_| {}).der] };
    refused(&v, "RFC 5280 6.1.3 (a)(1)", "a signature in the chain does not verify");
}

/// Two issuers with one name and key: the expired one is passed over.
#[test]
fn alternatives_are_tried() {
    let root = root(|_| {});
    let mut old = ca_params("Issuing CA");
    old.not_before = now() - Duration::days(60);
    old.not_after = now() - Duration::days(30);
    let old = root.issue(old);
    let current = ca_params("Issuing CA");
    let reissued = current.signed_by(&old.key, &Issuer::from_params(&root.params, &root.key)).unwrap().der().to_vec();
    let leaf = old.issue(leaf_params("leaf.example.com"));
    let v = Vector { leaf: leaf.der.clone(), intermediates: vec![old.der.clone(), reissued], roots: vec![root.der.clone()] };
    accepted(&v);
    let v = Vector { leaf: leaf.der, intermediates: vec![old.der], roots: vec![root.der] };
    refused(&v, "RFC 5280 6.1.3 (a)(2)", "certificate has expired: O=Test Org, CN=Issuing CA");
}

fn crl(ca: &Node, revoked: &[SerialNumber], next_update: time::OffsetDateTime) -> Vec<u8> {
    let params = CertificateRevocationListParams {
        this_update: now() - Duration::hours(1),
        next_update,
        crl_number: SerialNumber::from_slice(&[1]),
        issuing_distribution_point: None,
        revoked_certs: revoked
            .iter()
            .map(|s| RevokedCertParams {
                serial_number: s.clone(),
                revocation_time: now() - Duration::minutes(30),
                reason_code: Some(RevocationReason::KeyCompromise),
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    };
    params.signed_by(&Issuer::from_params(&ca.params, &ca.key)).unwrap().der().to_vec()
}

fn with_crls(v: &Vector, crls: &[Vec<u8>]) -> Result<Verified, String> {
    run(v, Profile::Rfc5280, |i| i.crls = crls).map_err(|e| e.to_string())
}

#[test]
fn revocation_by_crl() {
    let serial = SerialNumber::from_slice(&[0x11, 0x22, 0x33]);
    let (root, ca, leaf) = nodes(|_| {}, |_| {}, |p| p.serial_number = Some(serial.clone()));
    let v = Vector { leaf: leaf.der, intermediates: vec![ca.der.clone()], roots: vec![root.der.clone()] };
    let with = |crls: &[Vec<u8>]| with_crls(&v, crls);
    with(&[crl(&ca, &[SerialNumber::from_slice(&[9])], now() + Duration::days(1))]).unwrap();
    let e = with(&[crl(&ca, &[serial], now() + Duration::days(1))]).unwrap_err();
    assert!(e.starts_with("RFC 5280 6.3.3:") && e.contains("certificate is revoked (listed on the CRL), reason keyCompromise"), "{e}");
    let e = with(&[crl(&ca, &[], now() - Duration::minutes(1))]).unwrap_err();
    assert!(e.contains("past its nextUpdate"), "{e}");
    let e = with(&[crl(&root, &[], now() + Duration::days(1))]).unwrap_err();
    assert!(e.contains("no CRL given covers the certificate"), "{e}");
}

/// Certificates are untrusted input: every single-byte change and every truncation of
/// the leaf is an answer, never a panic, and a changed body never verifies.
#[test]
fn mutated_certificates_never_panic() {
    let v = leaf_only(|_| {});
    let leaf = v.leaf.clone();
    for i in 0..leaf.len() {
        for flip in [0x01, 0x80, 0xff] {
            let mut mutated = leaf.clone();
            mutated[i] ^= flip;
            let m = Vector { leaf: mutated, intermediates: v.intermediates.clone(), roots: v.roots.clone() };
            let _ = run(&m, Profile::Rfc5280, |_| {});
        }
        let t = Vector { leaf: leaf[..i].to_vec(), intermediates: v.intermediates.clone(), roots: v.roots.clone() };
        assert!(run(&t, Profile::Rfc5280, |_| {}).is_err());
    }
    // Inside the signed body (past the outer headers), a change breaks the signature or the parse.
    let mut changed = leaf.clone();
    let last_byte_of_subject_cn = leaf.windows(16).position(|w| w == b"leaf.example.com").unwrap() + 15;
    changed[last_byte_of_subject_cn] = b'n';
    let m = Vector { leaf: changed, intermediates: v.intermediates.clone(), roots: v.roots.clone() };
    assert!(run(&m, Profile::Rfc5280, |_| {}).is_err());
}
