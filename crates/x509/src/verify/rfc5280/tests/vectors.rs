//! Test vectors, generated: a root, an intermediate and a leaf built with rcgen, each
//! adjustable, and a way to swap a certificate's key for one rcgen cannot make.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use time::{Duration, OffsetDateTime};

use crate::der::{wrap, BIT_STRING, SEQUENCE};
use crate::verify::rfc5280::signature::tlv;

pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

/// A certificate with the parameters and key it was made from, to issue below it.
pub struct Node {
    pub params: CertificateParams,
    pub key: KeyPair,
    pub der: Vec<u8>,
}

impl Node {
    pub fn issue(&self, params: CertificateParams) -> Node {
        let key = KeyPair::generate().unwrap();
        let der = params.signed_by(&key, &Issuer::from_params(&self.params, &self.key)).unwrap().der().to_vec();
        Node { params, key, der }
    }
}

pub fn dn(o: &str, cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, o);
    dn.push(DnType::CommonName, cn);
    dn
}

pub fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = dn("Test Org", cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.use_authority_key_identifier_extension = true;
    p.not_before = now() - Duration::days(1);
    p.not_after = now() + Duration::days(365);
    p
}

pub fn leaf_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = dn("Test Org", cn);
    p.subject_alt_names = vec![SanType::DnsName(cn.try_into().unwrap())];
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    p.use_authority_key_identifier_extension = true;
    p.not_before = now() - Duration::days(1);
    p.not_after = now() + Duration::days(30);
    p
}

pub fn root(edit: impl FnOnce(&mut CertificateParams)) -> Node {
    let mut params = ca_params("Test Root");
    params.use_authority_key_identifier_extension = false;
    edit(&mut params);
    let key = KeyPair::generate().unwrap();
    let der = params.self_signed(&key).unwrap().der().to_vec();
    Node { params, key, der }
}

/// What `verify` is given.
pub struct Vector {
    pub leaf: Vec<u8>,
    pub intermediates: Vec<Vec<u8>>,
    pub roots: Vec<Vec<u8>>,
}

/// Root, "Issuing CA", leaf "leaf.example.com"; each edited before it is signed.
pub fn nodes(
    edit_root: impl FnOnce(&mut CertificateParams),
    edit_ca: impl FnOnce(&mut CertificateParams),
    edit_leaf: impl FnOnce(&mut CertificateParams),
) -> (Node, Node, Node) {
    let root = root(edit_root);
    let mut ca = ca_params("Issuing CA");
    edit_ca(&mut ca);
    let ca = root.issue(ca);
    let mut leaf = leaf_params("leaf.example.com");
    edit_leaf(&mut leaf);
    let leaf = ca.issue(leaf);
    (root, ca, leaf)
}

pub fn chain(
    edit_root: impl FnOnce(&mut CertificateParams),
    edit_ca: impl FnOnce(&mut CertificateParams),
    edit_leaf: impl FnOnce(&mut CertificateParams),
) -> Vector {
    let (root, ca, leaf) = nodes(edit_root, edit_ca, edit_leaf);
    Vector { leaf: leaf.der, intermediates: vec![ca.der], roots: vec![root.der] }
}

pub fn leaf_only(edit_leaf: impl FnOnce(&mut CertificateParams)) -> Vector {
    chain(|_| {}, |_| {}, edit_leaf)
}

/// basicConstraints content: cA asserted.
pub const BC_CA: &[u8] = &[0x30, 0x03, 0x01, 0x01, 0xff];
pub const OID_BASIC_CONSTRAINTS: &[u64] = &[2, 5, 29, 19];
pub const OID_SUBJECT_KEY_ID: &[u64] = &[2, 5, 29, 14];

/// Fields of tbsCertificate (version present).
pub const SERIAL: usize = 1;
pub const SPKI: usize = 6;

/// The certificate `der` with one field of its tbsCertificate replaced by `field` (a
/// whole TLV), signed again by `issuer` (ECDSA P-256, as rcgen's default key).
pub fn with_field(der: &[u8], index: usize, field: &[u8], issuer: &KeyPair) -> Vec<u8> {
    let cert = tlv(der).unwrap().content;
    let tbs = tlv(cert).unwrap();
    let algorithm = tlv(tbs.rest).unwrap().whole;
    let mut fields = Vec::new();
    let mut input = tbs.content;
    while let Some(field) = tlv(input) {
        fields.push(field.whole);
        input = field.rest;
    }
    fields[index] = field;
    let tbs = wrap(SEQUENCE, &fields.concat());
    let signature = rcgen::SigningKey::sign(issuer, &tbs).unwrap();
    let mut bits = vec![0];
    bits.extend_from_slice(&signature);
    wrap(SEQUENCE, &[tbs.as_slice(), algorithm, &wrap(BIT_STRING, &bits)].concat())
}

fn spki(algorithm: impl FnOnce(&mut yasna::DERWriterSeq), key: &[u8]) -> Vec<u8> {
    yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_sequence(algorithm);
            w.next().write_bitvec_bytes(key, key.len() * 8);
        })
    })
}

fn oid(arcs: &[u64]) -> yasna::models::ObjectIdentifier {
    yasna::models::ObjectIdentifier::from_slice(arcs)
}

/// A 1024-bit RSA public key (the modulus need not factor: only its size is judged).
pub fn rsa_1024_spki() -> Vec<u8> {
    let mut modulus = vec![0xc5; 128];
    modulus[127] = 0x01;
    let key = yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_bigint_bytes(&modulus, true);
            w.next().write_u32(65537);
        })
    });
    spki(
        |w| {
            w.next().write_oid(&oid(&[1, 2, 840, 113549, 1, 1, 1]));
            w.next().write_null();
        },
        &key,
    )
}

pub fn p192_spki() -> Vec<u8> {
    let mut point = vec![0x04];
    point.extend_from_slice(&[0x42; 48]);
    spki(
        |w| {
            w.next().write_oid(&oid(&[1, 2, 840, 10045, 2, 1]));
            w.next().write_oid(&oid(&[1, 2, 840, 10045, 3, 1, 1]));
        },
        &point,
    )
}

pub fn dsa_spki() -> Vec<u8> {
    let y = yasna::construct_der(|w| w.write_bigint_bytes(&[0x5a; 256], true));
    spki(
        |w| {
            w.next().write_oid(&oid(&[1, 2, 840, 10040, 4, 1]));
            w.next().write_sequence(|w| {
                w.next().write_bigint_bytes(&[0xc3; 256], true);
                w.next().write_bigint_bytes(&[0x9d; 32], true);
                w.next().write_bigint_bytes(&[0x02], true);
            });
        },
        &y,
    )
}
