//! Building and signing certificates: CA certificates and leaves. Every leaf passes
//! [`crate::lint`] before the CA key is used.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::profile::Grant;
use crate::san::{IpNet, San};
use crate::signer::{RcgenKey, SubjectKey};
use crate::{ext, lint, name::Subject, Error, KeyType, Serial, Signer};

/// Name constraints for an intermediate (RFC 5280 4.2.1.10).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameConstraints {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permitted_dns: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded_dns: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permitted_ip: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded_ip: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permitted_email: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded_email: Vec<String>,
}

impl NameConstraints {
    pub fn validate(&self) -> Result<(), String> {
        for dns in self.permitted_dns.iter().chain(&self.excluded_dns) {
            if dns.starts_with('.') {
                return Err(format!(
                    "DNS constraint {dns:?}: write it without the leading dot; {:?} covers the name and every name below it (RFC 5280)",
                    dns.trim_start_matches('.')
                ));
            }
        }
        for ip in self.permitted_ip.iter().chain(&self.excluded_ip) {
            ip.parse::<IpNet>()?;
        }
        Ok(())
    }

    /// Whether a SAN is inside these constraints (RFC 5280 4.2.1.10): it must match a
    /// permitted subtree of its type when there are any, and no excluded subtree.
    pub fn permits(&self, san: &San) -> bool {
        fn dns(tree: &str, name: &str) -> bool {
            let tree = tree.to_ascii_lowercase();
            match tree.strip_prefix('.') {
                Some(_) => name.ends_with(&tree),
                None => name == tree || name.ends_with(&format!(".{tree}")),
            }
        }
        fn email(tree: &str, addr: &str) -> bool {
            let addr = addr.to_ascii_lowercase();
            let tree = tree.to_ascii_lowercase();
            let host = addr.rsplit_once('@').map(|(_, h)| h).unwrap_or_default();
            if tree.contains('@') {
                addr == tree
            } else if tree.starts_with('.') {
                host.ends_with(&tree)
            } else {
                host == tree
            }
        }
        fn ip(tree: &str, addr: &std::net::IpAddr) -> bool {
            tree.parse::<IpNet>().is_ok_and(|net| net.contains(addr))
        }
        fn check<T: ?Sized>(permitted: &[String], excluded: &[String], value: &T, m: fn(&str, &T) -> bool) -> bool {
            (permitted.is_empty() || permitted.iter().any(|t| m(t, value))) && !excluded.iter().any(|t| m(t, value))
        }
        match san {
            San::Dns(name) => check(&self.permitted_dns, &self.excluded_dns, name.as_str(), dns),
            San::Ip(addr) => check(&self.permitted_ip, &self.excluded_ip, addr, ip),
            San::Email(addr) => check(&self.permitted_email, &self.excluded_email, addr.as_str(), email),
            San::Uri(_) => true,
        }
    }

    fn to_rcgen(&self) -> Result<rcgen::NameConstraints, Error> {
        let subtrees = |dns: &[String], ip: &[String], email: &[String]| -> Result<Vec<rcgen::GeneralSubtree>, Error> {
            let mut out: Vec<rcgen::GeneralSubtree> = dns.iter().map(|d| rcgen::GeneralSubtree::DnsName(d.clone())).collect();
            for range in ip {
                let net: IpNet = range.parse().map_err(Error::Invalid)?;
                out.push(rcgen::GeneralSubtree::IpAddress(rcgen::CidrSubnet::from_addr_prefix(net.addr, net.prefix)));
            }
            out.extend(email.iter().map(|e| rcgen::GeneralSubtree::Rfc822Name(e.clone())));
            Ok(out)
        };
        Ok(rcgen::NameConstraints {
            permitted_subtrees: subtrees(&self.permitted_dns, &self.permitted_ip, &self.permitted_email)?,
            excluded_subtrees: subtrees(&self.excluded_dns, &self.excluded_ip, &self.excluded_email)?,
        })
    }
}

/// URLs a CA stamps into what it issues.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaUrls {
    pub crl: Option<String>,
    /// The delta CRL, named by the Freshest CRL extension (RFC 5280 4.2.1.15).
    pub delta_crl: Option<String>,
    pub ocsp: Option<String>,
    pub ca_issuers: Option<String>,
}

/// A CA certificate to create.
pub struct CaSpec<'a> {
    pub subject: &'a Subject,
    pub serial: Serial,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub path_len: Option<u8>,
    pub name_constraints: Option<&'a NameConstraints>,
}

/// RFC 7093 section 2 method 1: the leftmost 160 bits of the SHA-256 of the
/// subjectPublicKey bits.
pub fn key_identifier(public_key_raw: &[u8]) -> Vec<u8> {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, public_key_raw);
    digest.as_ref()[..20].to_vec()
}

impl CaSpec<'_> {
    fn params(&self, public_key_raw: &[u8]) -> Result<rcgen::CertificateParams, Error> {
        let mut params = rcgen::CertificateParams::default();
        params.key_identifier_method = rcgen::KeyIdMethod::PreSpecified(key_identifier(public_key_raw));
        params.distinguished_name = self.subject.to_rcgen();
        params.serial_number = Some(rcgen::SerialNumber::from_slice(self.serial.as_bytes()));
        params.not_before = whole_seconds(self.not_before);
        params.not_after = whole_seconds(self.not_after);
        params.is_ca = rcgen::IsCa::Ca(match self.path_len {
            Some(n) => rcgen::BasicConstraints::Constrained(n),
            None => rcgen::BasicConstraints::Unconstrained,
        });
        params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
        if let Some(nc) = self.name_constraints {
            params.name_constraints = Some(nc.to_rcgen()?);
        }
        Ok(params)
    }
}

/// Creates a self-signed root certificate.
pub fn self_signed_root(spec: &CaSpec<'_>, key: Arc<dyn Signer>) -> Result<Vec<u8>, Error> {
    let params = spec.params(key.public_key_raw())?;
    let cert = params.self_signed(&RcgenKey(key)).map_err(|e| Error::Signing(e.to_string()))?;
    Ok(cert.der().to_vec())
}

/// A CA that can sign: its certificate and its key, ready for many signatures.
pub struct IssuingCa {
    pub name: String,
    pub cert_der: Vec<u8>,
    pub not_after: OffsetDateTime,
    pub key_type: KeyType,
    pub urls: CaUrls,
    /// The name constraints in this CA's certificate; leaves outside them are refused.
    pub name_constraints: Option<NameConstraints>,
    /// The CA's subject, DER: the issuer name of what it signs.
    pub subject_der: Vec<u8>,
    /// The CA's key identifier: the authorityKeyIdentifier of what it signs.
    pub key_id: Vec<u8>,
    pub(crate) signer: Arc<dyn Signer>,
    issuer: rcgen::Issuer<'static, RcgenKey>,
    crl_dp: Vec<rcgen::CrlDistributionPoint>,
    /// AIA and Freshest CRL, as the URLs ask.
    pointers: Vec<rcgen::CustomExtension>,
}

/// What a signed leaf is.
#[derive(Debug, Clone)]
pub struct Signed {
    pub der: Vec<u8>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

impl IssuingCa {
    /// Binds a CA certificate to its signer; refuses a key that does not match.
    pub fn new(name: &str, cert_der: Vec<u8>, key: Arc<dyn Signer>, urls: CaUrls) -> Result<IssuingCa, Error> {
        use x509_parser::prelude::{FromDer, X509Certificate};
        let (_, cert) = X509Certificate::from_der(&cert_der).map_err(|e| Error::malformed("CA certificate", e))?;
        if cert.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
            return Err(Error::Invalid(format!("the key of CA {name:?} does not match its certificate")));
        }
        let not_after = cert.validity().not_after.to_datetime();
        let key_type = key.key_type();
        let subject_der = cert.subject().as_raw().to_vec();
        let key_id = cert
            .extensions()
            .iter()
            .find_map(|e| match e.parsed_extension() {
                x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(ski) => Some(ski.0.to_vec()),
                _ => None,
            })
            .unwrap_or_else(|| key_identifier(key.public_key_raw()));
        let signer = key.clone();
        let issuer = rcgen::Issuer::from_ca_cert_der(&cert_der.clone().into(), RcgenKey(key))
            .map_err(|e| Error::malformed("CA certificate", e))?;
        let crl_dp = urls.crl.iter().map(|u| rcgen::CrlDistributionPoint { uris: vec![u.clone()] }).collect();
        let pointers = ext::aia(urls.ocsp.as_deref(), urls.ca_issuers.as_deref())
            .into_iter()
            .chain(urls.delta_crl.as_deref().map(ext::freshest_crl))
            .collect();
        Ok(IssuingCa {
            name: name.to_string(),
            cert_der,
            not_after,
            key_type,
            urls,
            name_constraints: None,
            subject_der,
            key_id,
            signer,
            issuer,
            crl_dp,
            pointers,
        })
    }

    /// Signs a subordinate CA certificate.
    pub fn sign_ca(&self, spec: &CaSpec<'_>, subject_key: (&[u8], KeyType)) -> Result<Vec<u8>, Error> {
        let mut params = spec.params(subject_key.0)?;
        params.use_authority_key_identifier_extension = true;
        params.crl_distribution_points = self.crl_dp.clone();
        params.custom_extensions.extend(self.pointers.iter().cloned());
        if params.not_after > self.not_after {
            return Err(Error::policy(format!(
                "CA certificate would outlive its issuer {:?} (which expires {})",
                self.name, self.not_after
            )));
        }
        let key = SubjectKey { raw: subject_key.0, key_type: subject_key.1 };
        let cert = params.signed_by(&key, &self.issuer).map_err(|e| Error::Signing(e.to_string()))?;
        Ok(cert.der().to_vec())
    }

    /// Signs a delegated OCSP responder certificate (RFC 6960 4.2.2.2): EKU OCSPSigning,
    /// id-pkix-ocsp-nocheck (relying parties do not check its revocation, so it is short
    /// lived), digitalSignature, and no CRL or OCSP pointers of its own.
    pub fn issue_ocsp_responder(
        &self,
        public_key: (&[u8], KeyType),
        serial: &Serial,
        now: OffsetDateTime,
        backdate: Duration,
        validity: Duration,
    ) -> Result<Signed, Error> {
        let not_before = whole_seconds(now - backdate);
        let not_after = whole_seconds(now + validity).min(self.not_after);
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = crate::name::Subject::with_cn(format!("{} OCSP Responder", self.name)).to_rcgen();
        params.serial_number = Some(rcgen::SerialNumber::from_slice(serial.as_bytes()));
        params.not_before = not_before;
        params.not_after = not_after;
        params.is_ca = rcgen::IsCa::ExplicitNoCa;
        params.key_identifier_method = rcgen::KeyIdMethod::PreSpecified(key_identifier(public_key.0));
        params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::OcspSigning];
        params.use_authority_key_identifier_extension = true;
        // id-pkix-ocsp-nocheck ::= NULL
        params.custom_extensions.push(rcgen::CustomExtension::from_oid_content(&[1, 3, 6, 1, 5, 5, 7, 48, 1, 5], vec![0x05, 0x00]));
        if not_after <= not_before {
            return Err(Error::Lint(format!("CA {:?} expires too soon to sign an OCSP responder", self.name)));
        }
        let key = SubjectKey { raw: public_key.0, key_type: public_key.1 };
        let cert = params.signed_by(&key, &self.issuer).map_err(|e| Error::Signing(e.to_string()))?;
        Ok(Signed { der: cert.der().to_vec(), not_before, not_after })
    }

    /// Lints, then signs a leaf certificate for a granted request.
    pub fn issue(
        &self,
        grant: &Grant,
        public_key_raw: &[u8],
        serial: &Serial,
        now: OffsetDateTime,
        backdate: Duration,
    ) -> Result<Signed, Error> {
        if let Some(nc) = &self.name_constraints {
            if let Some(san) = grant.sans.iter().find(|s| !nc.permits(s)) {
                return Err(Error::policy(format!("SAN {san} is outside the name constraints of CA {:?}", self.name)));
            }
        }
        let not_before = whole_seconds(now - backdate);
        let not_after = whole_seconds(now + grant.validity);
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = grant.subject.to_rcgen();
        params.serial_number = Some(rcgen::SerialNumber::from_slice(serial.as_bytes()));
        params.not_before = not_before;
        params.not_after = not_after;
        params.is_ca = rcgen::IsCa::ExplicitNoCa;
        params.key_identifier_method = rcgen::KeyIdMethod::PreSpecified(key_identifier(public_key_raw));
        params.subject_alt_names = grant.sans.iter().map(|s| s.to_rcgen()).collect::<Result<_, _>>()?;
        params.key_usages = grant.key_usage.iter().map(|u| u.to_rcgen()).collect();
        params.extended_key_usages = grant.extended_key_usage.iter().map(|u| u.to_rcgen()).collect();
        params.use_authority_key_identifier_extension = true;
        params.crl_distribution_points = self.crl_dp.clone();
        params.custom_extensions.extend(self.pointers.iter().cloned());

        lint::leaf(&lint::Leaf {
            serial,
            subject: &grant.subject,
            sans: &grant.sans,
            key_type: grant.key_type,
            key_usage: &grant.key_usage,
            eku: &grant.extended_key_usage,
            not_before,
            not_after,
            issuer_not_after: self.not_after,
        })?;

        let key = SubjectKey { raw: public_key_raw, key_type: grant.key_type };
        let cert = params.signed_by(&key, &self.issuer).map_err(|e| Error::Signing(e.to_string()))?;
        Ok(Signed { der: cert.der().to_vec(), not_before, not_after })
    }
}

fn whole_seconds(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_constraint_matching() {
        let nc = NameConstraints {
            permitted_dns: vec!["example.com".into(), ".internal".into()],
            excluded_dns: vec!["secret.example.com".into()],
            permitted_ip: vec!["10.0.0.0/8".into()],
            permitted_email: vec!["example.com".into()],
            ..NameConstraints::default()
        };
        let dns = |n: &str| San::Dns(n.into());
        assert!(nc.permits(&dns("example.com")));
        assert!(nc.permits(&dns("a.b.example.com")));
        assert!(!nc.permits(&dns("badexample.com")));
        assert!(!nc.permits(&dns("x.secret.example.com")));
        assert!(nc.permits(&dns("a.internal")));
        assert!(!nc.permits(&dns("internal")));
        assert!(nc.permits(&San::Ip("10.2.3.4".parse().unwrap())));
        assert!(!nc.permits(&San::Ip("127.0.0.1".parse().unwrap())));
        assert!(nc.permits(&San::Email("a@example.com".into())));
        assert!(!nc.permits(&San::Email("a@sub.example.com".into())));
        assert!(nc.permits(&San::Uri("spiffe://x/y".into())));
    }
}
