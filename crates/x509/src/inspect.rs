//! Reading certificates back: what `cert show` and `ca show` print.

use serde::Serialize;
use time::OffsetDateTime;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::keytype::identify;
use crate::{Error, Serial};

#[derive(Debug, Clone, Serialize)]
pub struct CertSummary {
    pub serial: String,
    pub subject: String,
    pub issuer: String,
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    pub key_type: String,
    pub is_ca: bool,
    pub path_len: Option<u32>,
    pub sans: Vec<String>,
    pub key_usage: Vec<String>,
    pub extended_key_usage: Vec<String>,
    pub subject_key_id: Option<String>,
    pub authority_key_id: Option<String>,
    pub signature_algorithm: String,
}

/// A certificate's serial (hex) and its subjectPublicKey bits: an EC point, an Ed25519
/// key, or a DER RSAPublicKey.
pub fn serial_and_public_key(der: &[u8]) -> Result<(String, Vec<u8>), Error> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| Error::malformed("certificate", e))?;
    Ok((Serial::from_der_integer(cert.tbs_certificate.raw_serial()).to_hex(), cert.public_key().subject_public_key.data.to_vec()))
}

pub fn summarize(der: &[u8]) -> Result<CertSummary, Error> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| Error::malformed("certificate", e))?;
    let tbs = &cert.tbs_certificate;
    let mut summary = CertSummary {
        serial: Serial::from_der_integer(tbs.raw_serial()).to_hex(),
        subject: tbs.subject.to_string(),
        issuer: tbs.issuer.to_string(),
        not_before: tbs.validity.not_before.to_datetime(),
        not_after: tbs.validity.not_after.to_datetime(),
        key_type: identify(&tbs.subject_pki).map(|k| k.to_string()).unwrap_or_else(|e| e.to_string()),
        is_ca: false,
        path_len: None,
        sans: Vec::new(),
        key_usage: Vec::new(),
        extended_key_usage: Vec::new(),
        subject_key_id: None,
        authority_key_id: None,
        signature_algorithm: cert.signature_algorithm.algorithm.to_id_string(),
    };
    for ext in tbs.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::BasicConstraints(bc) => {
                summary.is_ca = bc.ca;
                summary.path_len = bc.path_len_constraint;
            }
            ParsedExtension::SubjectAlternativeName(san) => {
                summary.sans = san.general_names.iter().map(|n| n.to_string()).collect();
            }
            ParsedExtension::KeyUsage(ku) => {
                summary.key_usage = ku.to_string().split(", ").map(str::to_string).collect();
            }
            ParsedExtension::ExtendedKeyUsage(eku) => {
                let mut names = Vec::new();
                for (flag, name) in [
                    (eku.server_auth, "serverAuth"),
                    (eku.client_auth, "clientAuth"),
                    (eku.code_signing, "codeSigning"),
                    (eku.email_protection, "emailProtection"),
                    (eku.time_stamping, "timeStamping"),
                    (eku.ocsp_signing, "OCSPSigning"),
                ] {
                    if flag {
                        names.push(name.to_string());
                    }
                }
                names.extend(eku.other.iter().map(|o| o.to_id_string()));
                summary.extended_key_usage = names;
            }
            ParsedExtension::SubjectKeyIdentifier(ski) => summary.subject_key_id = Some(hex::encode(ski.0)),
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                summary.authority_key_id = aki.key_identifier.as_ref().map(|k| hex::encode(k.0))
            }
            _ => {}
        }
    }
    Ok(summary)
}

#[derive(Debug, Clone, Serialize)]
pub struct CrlEntry {
    pub serial: String,
    #[serde(with = "time::serde::rfc3339")]
    pub revoked_at: OffsetDateTime,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CrlSummary {
    pub issuer: String,
    pub number: Option<String>,
    /// For a delta CRL, the number of its base CRL.
    pub delta_base: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub this_update: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_update: Option<OffsetDateTime>,
    pub signature_algorithm: String,
    pub entries: Vec<CrlEntry>,
}

/// Reads a CRL (DER or PEM `X509 CRL`).
pub fn summarize_crl(input: &[u8]) -> Result<CrlSummary, Error> {
    use x509_parser::revocation_list::CertificateRevocationList;
    let der = crate::pem::one(input, "X509 CRL", "CRL")?;
    let (rest, crl) = CertificateRevocationList::from_der(&der).map_err(|e| Error::malformed("CRL", e))?;
    if !rest.is_empty() {
        return Err(Error::malformed("CRL", "trailing data"));
    }
    let mut delta_base = None;
    for ext in crl.extensions() {
        if ext.oid.to_id_string() == "2.5.29.27" {
            delta_base = small_integer(ext.value).map(|n| n.to_string());
        }
    }
    let entries = crl
        .iter_revoked_certificates()
        .map(|r| CrlEntry {
            serial: Serial::from_der_integer(r.raw_serial()).to_hex(),
            revoked_at: r.revocation_date.to_datetime(),
            reason: r.reason_code().map(|(_, code)| code.to_string()),
        })
        .collect();
    Ok(CrlSummary {
        issuer: crl.issuer().to_string(),
        number: crl.crl_number().map(|n| n.to_string()),
        delta_base,
        this_update: crl.last_update().to_datetime(),
        next_update: crl.next_update().map(|t| t.to_datetime()),
        signature_algorithm: crl.signature_algorithm.algorithm.to_id_string(),
        entries,
    })
}

/// A DER INTEGER of at most 8 value octets, non-negative.
fn small_integer(der: &[u8]) -> Option<u64> {
    match der {
        [0x02, len, value @ ..] if *len as usize == value.len() && (1..=9).contains(&value.len()) && value[0] & 0x80 == 0 => {
            let value = if value.len() == 9 { value.strip_prefix(&[0])? } else { value };
            Some(value.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b)))
        }
        _ => None,
    }
}
