//! Signatures on certificates and CRLs, checked with the algorithms rustls-webpki offers
//! (aws-lc-rs): RSA of 2048 bits or more (PKCS#1 v1.5 and PSS), ECDSA P-256/P-384/P-521
//! and Ed25519. SHA-1 and MD5 are not among them, so such signatures are refused.

/// The three parts of a signed structure (RFC 5280 4.1.1, 5.1.1).
pub(super) struct Signed<'a> {
    /// The to-be-signed structure, tag and length included: the signed bytes.
    pub tbs: &'a [u8],
    /// The signatureAlgorithm's content (without its SEQUENCE header).
    pub algorithm: &'a [u8],
    /// The signature bits.
    pub signature: &'a [u8],
}

use crate::der::{BIT_STRING, SEQUENCE};

pub(super) enum Failure {
    /// No algorithm we accept pairs this signature algorithm with the issuer's key.
    Unsupported,
    Invalid,
}

/// One DER TLV read from the front of some input.
pub(super) struct Tlv<'a> {
    pub tag: u8,
    pub content: &'a [u8],
    /// Tag, length and content.
    pub whole: &'a [u8],
    /// The input after this TLV.
    pub rest: &'a [u8],
}

pub(super) fn tlv(input: &[u8]) -> Option<Tlv<'_>> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    let header = input.len() - rest.len();
    Some(Tlv { tag, content: &rest[..len], whole: &input[..header + len], rest: &rest[len..] })
}

/// Splits a certificate or CRL into what was signed, how, and the signature.
pub(super) fn split(der: &[u8]) -> Option<Signed<'_>> {
    let outer = tlv(der).filter(|t| t.tag == SEQUENCE)?;
    let tbs = tlv(outer.content)?;
    let algorithm = tlv(tbs.rest).filter(|t| t.tag == SEQUENCE)?;
    let signature = bit_string(tlv(algorithm.rest)?)?;
    Some(Signed { tbs: tbs.whole, algorithm: algorithm.content, signature })
}

/// Verifies `signed` with the key in `issuer_spki` (a whole SubjectPublicKeyInfo).
pub(super) fn verify(signed: &Signed<'_>, issuer_spki: &[u8]) -> Result<(), Failure> {
    let (key_algorithm, key) = spki_parts(issuer_spki).ok_or(Failure::Invalid)?;
    let algorithm = webpki::ALL_VERIFICATION_ALGS
        .iter()
        .find(|a| a.public_key_alg_id().as_ref() == key_algorithm && a.signature_alg_id().as_ref() == signed.algorithm)
        .ok_or(Failure::Unsupported)?;
    algorithm.verify_signature(key, signed.tbs, signed.signature).map_err(|_| Failure::Invalid)
}

/// The algorithm's content and the key bits of a SubjectPublicKeyInfo.
fn spki_parts(spki: &[u8]) -> Option<(&[u8], &[u8])> {
    let outer = tlv(spki).filter(|t| t.tag == SEQUENCE)?;
    let algorithm = tlv(outer.content).filter(|t| t.tag == SEQUENCE)?;
    let key = bit_string(tlv(algorithm.rest)?)?;
    Some((algorithm.content, key))
}

/// The bits of a BIT STRING with no unused bits.
fn bit_string(t: Tlv<'_>) -> Option<&[u8]> {
    match t.content.split_first() {
        Some((0, bits)) if t.tag == BIT_STRING => Some(bits),
        _ => None,
    }
}
