//! Revocation decisions.

use ironpki_store::{CertRecord, Revocation};
use ironpki_x509::revocation::Reason;
use ironpki_x509::Serial;
use serde_json::json;

use ironpki_config::Role;

use crate::access::{Action, Caller};
use crate::{Authority, Error};

impl Authority {
    /// The certificate with this serial; `issuer` picks one when several CAs used it.
    pub fn certificate(&self, serial: &str, issuer: Option<&str>) -> Result<CertRecord, Error> {
        let serial: Serial = serial.parse()?;
        let mut found = self.store.certificates_by_serial(&serial.to_hex())?;
        if let Some(issuer) = issuer {
            found.retain(|c| c.issuer == issuer);
        }
        match found.len() {
            0 => Err(Error::NotFound(format!("no certificate with serial {serial}"))),
            1 => Ok(found.remove(0)),
            _ => Err(Error::Refused(format!(
                "serial {serial} was issued by several CAs ({}): name one with --ca",
                found.iter().map(|c| c.issuer.as_str()).collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    /// Revokes a certificate. Unknown or already revoked: an error, nothing changed.
    pub fn revoke(
        &self,
        caller: &Caller,
        serial: &str,
        issuer: Option<&str>,
        reason: Reason,
        invalidity_date: Option<i64>,
    ) -> Result<CertRecord, Error> {
        let cert = self.certificate(serial, issuer)?;
        self.authorize(caller, &Action::Revoke { cert: &cert })?;
        if cert.status == ironpki_store::CertStatus::Revoked {
            return Err(Error::Conflict(format!("certificate {} is already revoked", cert.serial)));
        }
        let now = self.now().unix_timestamp();
        let revocation = Revocation { at: now, reason: reason.code(), invalidity_date };
        let event = self.event_by(
            &caller.id,
            "cert.revoked",
            &format!("cert:{}/{}", cert.issuer, cert.serial),
            json!({ "serial": cert.serial, "issuer": cert.issuer, "reason": reason.name(), "reason_code": reason.code(),
                    "invalidity_date": invalidity_date, "subject": cert.subject }),
        );
        self.store.revoke(&cert.issuer, &cert.serial, &revocation, &event)?;
        self.certificate(&cert.serial, Some(&cert.issuer))
    }
}

/// Certificates revoked per transaction in a bulk revocation.
pub const BULK_BATCH: usize = 1000;

impl Authority {
    /// Revokes many certificates of one issuer, one transaction per `BULK_BATCH`, with an
    /// audit entry for each certificate. Serials unknown or already revoked are skipped.
    /// `progress` is told how many were handled so far. Returns the serials revoked.
    /// A caller other than an admin must be allowed to revoke every one of them, or
    /// none is revoked.
    pub fn revoke_bulk(
        &self,
        caller: &Caller,
        issuer: &str,
        serials: &[String],
        reason: Reason,
        invalidity_date: Option<i64>,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<String>, Error> {
        if caller.role != Role::Admin {
            for serial in serials {
                let serial = serial.parse::<Serial>()?.to_hex();
                for cert in self.store.certificates_by_serial(&serial)?.iter().filter(|c| c.issuer == issuer) {
                    self.authorize(caller, &Action::Revoke { cert })?;
                }
            }
        }
        let mut revoked = Vec::new();
        let mut done = 0;
        for chunk in serials.chunks(BULK_BATCH) {
            let normalized: Vec<String> =
                chunk.iter().map(|s| s.parse::<Serial>().map(|s| s.to_hex())).collect::<Result<_, _>>()?;
            let now = self.now().unix_timestamp();
            let revocation = Revocation { at: now, reason: reason.code(), invalidity_date };
            let event = |serial: &str| {
                self.event_by(
                    &caller.id,
                    "cert.revoked",
                    &format!("cert:{issuer}/{serial}"),
                    json!({ "serial": serial, "issuer": issuer, "reason": reason.name(), "reason_code": reason.code(),
                            "invalidity_date": invalidity_date, "bulk": true }),
                )
            };
            revoked.extend(self.store.revoke_many(issuer, &normalized, &revocation, &event)?);
            done += chunk.len();
            progress(done);
        }
        Ok(revoked)
    }
}

impl Authority {
    /// Revokes the certificates with these serials (only `issuer`'s when given), per
    /// issuer in batches as [`Authority::revoke_bulk`]. Unknown or already revoked
    /// serials are skipped; returns the serials revoked.
    pub fn revoke_serials(
        &self,
        caller: &Caller,
        serials: &[String],
        issuer: Option<&str>,
        reason: Reason,
        invalidity_date: Option<i64>,
    ) -> Result<Vec<String>, Error> {
        let mut by_issuer: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for serial in serials {
            let serial = serial.parse::<Serial>()?.to_hex();
            for cert in self.store.certificates_by_serial(&serial)? {
                if issuer.is_none_or(|i| i == cert.issuer) {
                    by_issuer.entry(cert.issuer).or_default().push(cert.serial);
                }
            }
        }
        let mut revoked = Vec::new();
        for (issuer, serials) in &by_issuer {
            revoked.extend(self.revoke_bulk(caller, issuer, serials, reason, invalidity_date, &mut |_| {})?);
        }
        Ok(revoked)
    }
}
