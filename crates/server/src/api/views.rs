//! The JSON shapes the API answers with (times in RFC 3339).

use ironpki_authority::Issued;
use ironpki_authority::{CaRecord, CertRecord};
use ironpki_x509::pem;
use ironpki_x509::revocation::Reason;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix).ok().and_then(|t| t.format(&Rfc3339).ok()).unwrap_or_default()
}

#[derive(Serialize)]
pub struct IssuedView {
    pub serial: String,
    pub issuer: String,
    pub profile: String,
    pub not_before: String,
    pub not_after: String,
    pub certificate: String,
    pub chain: String,
    pub fullchain: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_key: Option<String>,
}

impl IssuedView {
    pub fn new(issued: &Issued) -> IssuedView {
        IssuedView {
            serial: issued.serial.to_hex(),
            issuer: issued.issuer.clone(),
            profile: issued.profile.clone(),
            not_before: rfc3339(issued.not_before.unix_timestamp()),
            not_after: rfc3339(issued.not_after.unix_timestamp()),
            certificate: issued.cert_pem(),
            chain: issued.chain_pem(),
            fullchain: issued.fullchain_pem(),
            private_key: None,
        }
    }
}

#[derive(Serialize)]
pub struct CertView {
    pub serial: String,
    pub issuer: String,
    pub subject: String,
    pub common_name: Option<String>,
    pub sans: Vec<String>,
    pub key_type: String,
    pub profile: String,
    pub status: &'static str,
    pub not_before: String,
    pub not_after: String,
    pub issued_at: String,
    pub requester: String,
    pub revoked_at: Option<String>,
    pub revocation_reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
}

impl CertView {
    pub fn new(c: &CertRecord, with_pem: bool) -> CertView {
        CertView {
            serial: c.serial.clone(),
            issuer: c.issuer.clone(),
            subject: c.subject.clone(),
            common_name: c.common_name.clone(),
            sans: c.sans.clone(),
            key_type: c.key_type.clone(),
            profile: c.profile.clone(),
            status: c.status.name(),
            not_before: rfc3339(c.not_before),
            not_after: rfc3339(c.not_after),
            issued_at: rfc3339(c.issued_at),
            requester: c.requester.clone(),
            revoked_at: c.revoked_at.map(rfc3339),
            revocation_reason: c.revocation_reason.and_then(Reason::from_code).map(Reason::name),
            certificate: with_pem.then(|| pem::cert(&c.der)),
        }
    }
}

#[derive(Serialize)]
pub struct CaView {
    pub name: String,
    pub role: String,
    pub parent: Option<String>,
    pub subject: String,
    pub serial: String,
    pub key_type: String,
    pub not_before: String,
    pub not_after: String,
    pub status: String,
    pub key_online: bool,
    pub certificate: String,
}

impl CaView {
    pub fn new(c: &CaRecord, key_online: bool) -> CaView {
        CaView {
            name: c.name.clone(),
            role: c.role.clone(),
            parent: c.parent.clone(),
            subject: c.subject.clone(),
            serial: c.serial.clone(),
            key_type: c.key_type.clone(),
            not_before: rfc3339(c.not_before),
            not_after: rfc3339(c.not_after),
            status: c.status.clone(),
            key_online,
            certificate: pem::cert(&c.der),
        }
    }
}
