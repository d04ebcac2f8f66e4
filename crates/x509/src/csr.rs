//! PKCS#10 certification requests (RFC 2986): parse, verify the signature, and read
//! what was asked for. The profile decides what of it is granted.

use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;

use crate::keytype::{identify, KeyKind};
use crate::san::San;
use crate::{Error, KeyType};

/// A parsed CSR whose signature has been verified.
#[derive(Debug, Clone)]
pub struct Csr {
    pub common_name: Option<String>,
    pub sans: Vec<San>,
    pub key: KeyKind,
    /// The subjectPublicKey bits.
    pub public_key_raw: Vec<u8>,
}

impl Csr {
    /// Parses PEM or DER, verifies the self-signature, and extracts CN and SANs.
    pub fn parse_and_verify(input: &[u8]) -> Result<Csr, Error> {
        let der = crate::pem::one(input, "CERTIFICATE REQUEST", "CSR")?;
        let (rest, req) = X509CertificationRequest::from_der(&der).map_err(|e| Error::malformed("CSR", e))?;
        if !rest.is_empty() {
            return Err(Error::malformed("CSR", "trailing data after the request"));
        }
        let info = &req.certification_request_info;
        let spki = &info.subject_pki;
        let key = identify(spki)?;
        let public_key_raw = spki.subject_public_key.data.to_vec();

        let alg = verification_alg(&req.signature_algorithm.algorithm.to_id_string(), key)?;
        UnparsedPublicKey::new(alg, &public_key_raw)
            .verify(info.raw, &req.signature_value.data)
            .map_err(|_| Error::BadCsrSignature)?;

        let mut common_name = None;
        for cn in info.subject.iter_common_name() {
            let value = cn.as_str().map_err(|_| Error::malformed("CSR", "common name is not a string"))?;
            if common_name.replace(value.to_string()).is_some() {
                return Err(Error::malformed("CSR", "more than one common name"));
            }
        }

        let mut sans = Vec::new();
        if let Some(extensions) = req.requested_extensions() {
            for ext in extensions {
                if let ParsedExtension::SubjectAlternativeName(san) = ext {
                    for name in &san.general_names {
                        sans.push(general_name(name)?);
                    }
                }
            }
        }
        Ok(Csr { common_name, sans, key, public_key_raw })
    }

    pub fn key_type(&self) -> Option<KeyType> {
        match self.key {
            KeyKind::Known(k) => Some(k),
            KeyKind::RsaOther(_) => None,
        }
    }
}

fn general_name(name: &GeneralName<'_>) -> Result<San, Error> {
    let san = match name {
        GeneralName::DNSName(d) => San::Dns(d.to_ascii_lowercase()),
        GeneralName::URI(u) => San::Uri(u.to_string()),
        GeneralName::RFC822Name(e) => San::Email(e.to_string()),
        GeneralName::IPAddress(bytes) => match bytes.len() {
            4 => San::Ip(<[u8; 4]>::try_from(*bytes).map(std::net::IpAddr::from).map_err(|_| bad_ip())?),
            16 => San::Ip(<[u8; 16]>::try_from(*bytes).map(std::net::IpAddr::from).map_err(|_| bad_ip())?),
            _ => return Err(bad_ip()),
        },
        other => {
            return Err(Error::Unsupported { what: "subject alternative name type", value: format!("{other:?}") })
        }
    };
    san.validate()?;
    Ok(san)
}

fn bad_ip() -> Error {
    Error::malformed("CSR", "an IP address SAN is neither 4 nor 16 octets")
}

/// The verification algorithm for a CSR signature. RSA keys down to 1024 bits are
/// verified so that an undersized key is refused by policy with that reason, not as
/// a bad signature.
fn verification_alg(sig_oid: &str, key: KeyKind) -> Result<&'static dyn VerificationAlgorithm, Error> {
    use KeyType::*;
    let alg: Option<&'static dyn VerificationAlgorithm> = match (sig_oid, key) {
        ("1.2.840.10045.4.3.2", KeyKind::Known(EcdsaP256)) => Some(&signature::ECDSA_P256_SHA256_ASN1),
        ("1.2.840.10045.4.3.3", KeyKind::Known(EcdsaP256)) => Some(&signature::ECDSA_P256_SHA384_ASN1),
        ("1.2.840.10045.4.3.2", KeyKind::Known(EcdsaP384)) => Some(&signature::ECDSA_P384_SHA256_ASN1),
        ("1.2.840.10045.4.3.3", KeyKind::Known(EcdsaP384)) => Some(&signature::ECDSA_P384_SHA384_ASN1),
        ("1.3.101.112", KeyKind::Known(Ed25519)) => Some(&signature::ED25519),
        ("1.2.840.113549.1.1.11", KeyKind::Known(Rsa2048 | Rsa3072 | Rsa4096) | KeyKind::RsaOther(_)) => {
            Some(&signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY)
        }
        ("1.2.840.113549.1.1.12", KeyKind::Known(Rsa2048 | Rsa3072 | Rsa4096) | KeyKind::RsaOther(_)) => {
            Some(&signature::RSA_PKCS1_2048_8192_SHA384)
        }
        ("1.2.840.113549.1.1.13", KeyKind::Known(Rsa2048 | Rsa3072 | Rsa4096) | KeyKind::RsaOther(_)) => {
            Some(&signature::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY)
        }
        _ => None,
    };
    alg.ok_or_else(|| Error::Unsupported {
        what: "CSR signature algorithm",
        value: format!("{sig_oid} with a {key} key"),
    })
}
