//! CA key material on disk: where it lives and how it is loaded into a signer.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ironpki_config::Config;
use ironpki_signer::{decrypt_pkcs8, Passphrase, SoftwareKey};
use ironpki_store::{AuditEvent, CaRecord, NewCertificate};
use serde_json::json;
use ironpki_x509::build::{CaUrls, IssuingCa};
use ironpki_x509::KeyType;

use crate::error::io;
use crate::{Authority, Error};

pub(crate) const CERT_FILE: &str = "cert.pem";
pub(crate) const KEY_FILE: &str = "key.pem";
/// The profile under which a subordinate CA's certificate is recorded as a certificate
/// of its parent.
pub const CA_PROFILE: &str = "ca";
/// The `key_ref` prefix of a CA whose key is kept offline.
pub(crate) const OFFLINE: &str = "offline:";

pub(crate) fn load_key(path: &Path, key_type: KeyType, passphrase: &Passphrase) -> Result<SoftwareKey, Error> {
    let pem = std::fs::read_to_string(path).map_err(|e| io(path, e))?;
    let der = decrypt_pkcs8(&pem, passphrase)?;
    Ok(SoftwareKey::from_pkcs8(&der, key_type)?)
}

/// The URLs a CA stamps into what it issues: only those of the revocation services that
/// are turned on. The root's subordinates point at the root's CRL (full only), the OCSP
/// responder (which answers for the root's subordinates too) and the root certificate;
/// an intermediate's leaves also name its delta CRL when delta CRLs are on.
pub(crate) fn urls(config: &Config, name: &str) -> CaUrls {
    let revocation = &config.revocation;
    let base = config.base_url.trim_end_matches('/');
    let (crl, delta_crl) = config.crl_urls(name);
    let (ocsp, ca_issuers, delta) = match config.intermediate(name) {
        Some(i) => (i.ocsp_url(base), i.ca_issuers_url(base), revocation.delta_crl),
        None if name == config.root_ca.name => (format!("{base}/ocsp"), format!("{base}/ca/{name}.crt"), false),
        None => return CaUrls::default(),
    };
    CaUrls {
        crl: revocation.crl.then_some(crl),
        delta_crl: (revocation.crl && delta).then_some(delta_crl),
        ocsp: revocation.ocsp.then_some(ocsp),
        ca_issuers: Some(ca_issuers),
    }
}

/// Whether the CA's key is kept offline: its CRLs come from key ceremonies.
pub(crate) fn key_offline(record: &CaRecord) -> bool {
    record.key_ref.starts_with(OFFLINE)
}

pub(crate) fn load_issuing(config: &Config, record: &CaRecord, passphrase: &Passphrase) -> Result<IssuingCa, Error> {
    if record.status != "active" {
        return Err(Error::Refused(format!("CA {:?} is {}: it signs nothing", record.name, record.status)));
    }
    if let Some(dir) = record.key_ref.strip_prefix(OFFLINE) {
        return Err(Error::Refused(format!(
            "the key of CA {:?} is offline (in {dir}); it cannot sign here",
            record.name
        )));
    }
    let key_type: KeyType = record.key_type.parse()?;
    let key = load_key(&PathBuf::from(&record.key_ref), key_type, passphrase)?;
    let mut issuing = IssuingCa::new(&record.name, record.der.clone(), Arc::new(key), urls(config, &record.name))?;
    issuing.name_constraints = config.intermediate(&record.name).and_then(|i| i.name_constraints.clone());
    Ok(issuing)
}

/// The certificate record of a subordinate CA, under the profile `ca`, with its audit event.
pub(crate) fn ca_certificate(authority: &Authority, ca: &CaRecord) -> Result<(NewCertificate, AuditEvent), Error> {
    let parent = ca.parent.clone().ok_or_else(|| Error::Internal(format!("CA {:?} has no parent", ca.name)))?;
    let record = NewCertificate {
        issuer: parent.clone(),
        serial: ca.serial.clone(),
        subject: ca.subject.clone(),
        common_name: authority.config.intermediate(&ca.name).and_then(|i| i.subject.common_name.clone()),
        sans: Vec::new(),
        key_type: ca.key_type.clone(),
        profile: CA_PROFILE.into(),
        not_before: ca.not_before,
        not_after: ca.not_after,
        requester: authority.actor.clone(),
        issued_at: authority.now().unix_timestamp(),
        der: ca.der.clone(),
    };
    let event = authority.event(
        "cert.issued",
        &format!("cert:{parent}/{}", ca.serial),
        json!({ "serial": ca.serial, "issuer": parent, "profile": CA_PROFILE, "subject": ca.subject,
                "not_after": ca.not_after, "ca": ca.name }),
    );
    Ok((record, event))
}
