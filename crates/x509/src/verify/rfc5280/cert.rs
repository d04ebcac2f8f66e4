//! One certificate as the RFC 5280 validator sees it, and the rules of the certificate
//! profile (RFC 5280 section 4, and sound practice on key strength) that a certificate
//! meets or breaks on its own, whatever path it is on.

use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate, X509Version};
use x509_parser::public_key::PublicKey;

use super::signature;
use crate::Error;

/// Where a certificate stands in the path: the checks differ.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    Anchor,
    Intermediate,
    Leaf,
}

pub(super) struct Cert<'a> {
    pub der: &'a [u8],
    pub x509: X509Certificate<'a>,
    /// The subject, for messages.
    pub name: String,
}

/// A refusal that names the rule it applies.
pub(super) fn refuse(rule: &str, message: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("{rule}: {message}"))
}

/// Extensions a validator must understand to accept them as critical: those this
/// validator processes, and those that do not change whether a path is valid here.
const KNOWN_EXTENSIONS: &[&str] = &[
    "2.5.29.9",                // subjectDirectoryAttributes
    "2.5.29.14",               // subjectKeyIdentifier
    "2.5.29.15",               // keyUsage
    "2.5.29.17",               // subjectAltName
    "2.5.29.18",               // issuerAltName
    "2.5.29.19",               // basicConstraints
    "2.5.29.30",               // nameConstraints
    "2.5.29.31",               // cRLDistributionPoints
    "2.5.29.32",               // certificatePolicies
    "2.5.29.33",               // policyMappings
    "2.5.29.35",               // authorityKeyIdentifier
    "2.5.29.36",               // policyConstraints
    "2.5.29.37",               // extKeyUsage
    "2.5.29.46",               // freshestCRL
    "2.5.29.54",               // inhibitAnyPolicy
    "1.3.6.1.5.5.7.1.1",       // authorityInfoAccess
    "1.3.6.1.5.5.7.1.11",      // subjectInfoAccess
    "1.3.6.1.5.5.7.48.1.5",    // id-pkix-ocsp-nocheck
    "1.3.6.1.4.1.11129.2.4.2", // signed certificate timestamps
];

const CURVE_P192: &str = "1.2.840.10045.3.1.1";

impl<'a> Cert<'a> {
    pub fn parse(der: &'a [u8]) -> Result<Cert<'a>, Error> {
        let (rest, x509) = X509Certificate::from_der(der).map_err(|e| Error::malformed("certificate", e))?;
        if !rest.is_empty() {
            return Err(Error::malformed("certificate", "trailing data after the certificate"));
        }
        let name = x509.subject().to_string();
        let name = if name.is_empty() { format!("(empty subject, serial {})", x509.raw_serial_as_string()) } else { name };
        Ok(Cert { der, x509, name })
    }

    /// Issuer and subject are the same name (RFC 5280 6.1: "self-issued").
    pub fn self_issued(&self) -> bool {
        self.x509.issuer().as_raw() == self.x509.subject().as_raw()
    }

    /// Self-issued, and its signature verifies with its own key.
    pub fn self_signed(&self) -> bool {
        self.self_issued() && self.signed_by(self).is_ok()
    }

    pub fn signed_by(&self, issuer: &Cert<'_>) -> Result<(), signature::Failure> {
        let signed = signature::split(self.der).ok_or(signature::Failure::Invalid)?;
        signature::verify(&signed, issuer.x509.public_key().raw)
    }

    /// basicConstraints cA is asserted.
    pub fn is_ca(&self) -> bool {
        matches!(self.x509.basic_constraints(), Ok(Some(bc)) if bc.value.ca)
    }

    pub fn path_len(&self) -> Option<u32> {
        self.x509.basic_constraints().ok().flatten().and_then(|bc| bc.value.path_len_constraint)
    }

    pub fn subject_key_id(&self) -> Option<&[u8]> {
        self.x509.extensions().iter().find_map(|e| match e.parsed_extension() {
            x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0),
            _ => None,
        })
    }

    pub fn authority_key_id(&self) -> Option<&[u8]> {
        self.x509.extensions().iter().find_map(|e| match e.parsed_extension() {
            x509_parser::extensions::ParsedExtension::AuthorityKeyIdentifier(aki) => {
                aki.key_identifier.as_ref().map(|id| id.0)
            }
            _ => None,
        })
    }

    /// Whether `issuer` may have issued this certificate: the names chain (RFC 5280
    /// 6.1.3 (a)(4)). Its signature decides.
    pub fn may_be_issued_by(&self, issuer: &Cert<'_>) -> bool {
        self.x509.issuer().as_raw() == issuer.x509.subject().as_raw()
    }

    /// The key identifiers, where both are present, disagree: try this issuer last.
    pub fn key_ids_differ(&self, issuer: &Cert<'_>) -> bool {
        matches!((self.authority_key_id(), issuer.subject_key_id()), (Some(aki), Some(ski)) if aki != ski)
    }

    fn what(&self, role: Role) -> String {
        match role {
            Role::Anchor => format!("trust anchor {}", self.name),
            Role::Intermediate => format!("CA certificate {}", self.name),
            Role::Leaf => format!("certificate {}", self.name),
        }
    }

    /// The rules one certificate must meet in `role`, at time `at`.
    pub fn check(&self, role: Role, at: OffsetDateTime) -> Result<(), Error> {
        let what = self.what(role);
        self.check_validity(role, at)?;
        self.check_serial(&what)?;
        if self.x509.signature_algorithm != self.x509.tbs_certificate.signature {
            return Err(refuse("RFC 5280 4.1.1.2", format!("{what}: signatureAlgorithm differs from the signature field of tbsCertificate")));
        }
        if !self.x509.extensions().is_empty() && self.x509.version() != X509Version::V3 {
            return Err(refuse("RFC 5280 4.1.2.1", format!("{what} has extensions but is not version 3")));
        }
        self.check_key(&what)?;
        if let Some(ext) = self.x509.extensions().iter().find(|e| e.critical && !KNOWN_EXTENSIONS.contains(&e.oid.to_id_string().as_str())) {
            return Err(refuse("RFC 5280 4.2", format!("{what} has an unrecognised critical extension {}", ext.oid.to_id_string())));
        }
        let bc = self.x509.basic_constraints().map_err(|e| Error::malformed("basicConstraints", e))?;
        let ku = self.x509.key_usage().map_err(|e| Error::malformed("keyUsage", e))?;
        let ca = bc.as_ref().is_some_and(|bc| bc.value.ca);
        if role != Role::Leaf {
            let Some(bc) = &bc else {
                return Err(refuse("RFC 5280 4.2.1.9", format!("{what} has no basicConstraints")));
            };
            if !bc.value.ca {
                return Err(refuse("RFC 5280 6.1.4 (k)", format!("{what}: basicConstraints does not assert cA")));
            }
            match &ku {
                None => return Err(refuse("RFC 5280 4.2.1.3", format!("{what} has no keyUsage"))),
                Some(ku) if !ku.value.key_cert_sign() => {
                    return Err(refuse("RFC 5280 6.1.4 (n)", format!("{what}: keyUsage does not assert keyCertSign")))
                }
                Some(_) => {}
            }
        }
        if ku.as_ref().is_some_and(|ku| ku.value.key_cert_sign()) && !ca {
            return Err(refuse("RFC 5280 4.2.1.3", format!("{what} asserts keyCertSign but basicConstraints does not assert cA")));
        }
        if let Some(bc) = bc.as_ref().filter(|bc| bc.value.ca) {
            if !bc.critical {
                return Err(refuse("RFC 5280 4.2.1.9", format!("{what}: basicConstraints is not critical")));
            }
            if self.subject_key_id().is_none() {
                return Err(refuse("RFC 5280 4.2.1.2", format!("{what} is a CA certificate without subjectKeyIdentifier")));
            }
        }
        if self.authority_key_id().is_none() && !self.self_signed() {
            return Err(refuse("RFC 5280 4.2.1.1", format!("{what} has no authorityKeyIdentifier (only self-signed certificates may omit it)")));
        }
        Ok(())
    }

    fn check_validity(&self, role: Role, at: OffsetDateTime) -> Result<(), Error> {
        let validity = self.x509.validity();
        let (not_before, not_after) = (validity.not_before.to_datetime(), validity.not_after.to_datetime());
        let kind = if role == Role::Anchor { "trust anchor" } else { "certificate" };
        if at > not_after {
            return Err(refuse("RFC 5280 6.1.3 (a)(2)", format!("{kind} has expired: {} notAfter {not_after} is before {at}", self.name)));
        }
        if at < not_before {
            return Err(refuse("RFC 5280 6.1.3 (a)(2)", format!("{kind} is not yet valid: {} notBefore {not_before} is after {at}", self.name)));
        }
        Ok(())
    }

    fn check_serial(&self, what: &str) -> Result<(), Error> {
        let serial = self.x509.raw_serial();
        let problem = match serial {
            [] => Some("is empty".to_string()),
            [first, ..] if first & 0x80 != 0 => Some("is negative".into()),
            s if s.iter().all(|b| *b == 0) => Some("is zero".into()),
            s if s.len() > 20 => Some(format!("is {} octets long (at most 20)", s.len())),
            _ => None,
        };
        match problem {
            Some(p) => Err(refuse("RFC 5280 4.1.2.2", format!("the serial number of {what} {p}"))),
            None => Ok(()),
        }
    }

    /// Weak keys: RSA below 2048 bits, P-192 and DSA (NIST SP 800-131A, FIPS 186-5).
    fn check_key(&self, what: &str) -> Result<(), Error> {
        let spki = self.x509.public_key();
        match spki.parsed() {
            Ok(PublicKey::RSA(rsa)) if rsa.key_size() < 2048 => Err(refuse(
                "NIST SP 800-131A",
                format!("{what} has a {}-bit RSA key (at least 2048 bits)", rsa.key_size()),
            )),
            Ok(PublicKey::EC(_)) => {
                let curve = spki.algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok()).map(|o| o.to_id_string());
                if curve.as_deref() == Some(CURVE_P192) {
                    return Err(refuse("NIST SP 800-131A", format!("{what} has a P-192 key (P-256 or larger)")));
                }
                Ok(())
            }
            Ok(PublicKey::DSA(_)) => Err(refuse("FIPS 186-5", format!("{what} has a DSA key, which is no longer approved"))),
            Ok(_) => Ok(()),
            Err(e) => Err(Error::malformed("public key", e)),
        }
    }
}
