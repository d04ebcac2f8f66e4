//! Revocation decisions.

use ironpki_store::{CaRecord, CertRecord, Revocation, RevokedEntry};
use ironpki_x509::revocation::Reason;
use ironpki_x509::Serial;
use serde_json::json;

use ironpki_config::Role;

use crate::access::{Action, Caller};
use crate::cas::{ca_certificate, CA_PROFILE};
use crate::{Authority, Error};

impl Authority {
    /// The certificate with this serial; `issuer` picks one when several CAs used it.
    pub(crate) fn certificate(&self, serial: &str, issuer: Option<&str>) -> Result<CertRecord, Error> {
        let serial: Serial = serial.parse()?;
        let mut found = self.store.certificates_by_serial(&serial.to_hex(), self.now().unix_timestamp())?;
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
        if cert.profile == CA_PROFILE {
            return Err(self.ca_not_a_certificate(&cert.issuer, &cert.serial));
        }
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
                for cert in self.store.certificates_by_serial(&serial, self.now().unix_timestamp())?.iter().filter(|c| c.issuer == issuer) {
                    self.authorize(caller, &Action::Revoke { cert })?;
                }
            }
        }
        let ca_serials: Vec<String> = self.all_cas()?.into_iter().filter(|c| c.parent.as_deref() == Some(issuer)).map(|c| c.serial).collect();
        for serial in serials {
            let serial = serial.parse::<Serial>()?.to_hex();
            if ca_serials.contains(&serial) {
                return Err(self.ca_not_a_certificate(issuer, &serial));
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
            for cert in self.store.certificates_by_serial(&serial, self.now().unix_timestamp())? {
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

impl Authority {
    /// Revokes a subordinate CA: its certificate, which its parent's CRL then lists and
    /// its parent's OCSP responder answers revoked, and its status, so that nothing signs
    /// with it again (a running `serve` retires it when it sees the revocation). Both
    /// change in one transaction, with a `cert.revoked` and a `ca.revoked` audit entry.
    pub fn revoke_ca(&self, caller: &Caller, name: &str, reason: Reason, invalidity_date: Option<i64>) -> Result<CaRecord, Error> {
        self.authorize(caller, &Action::ManageCas)?;
        let ca = self.ca_record(name)?;
        let Some(parent) = ca.parent.clone() else {
            return Err(Error::Refused(format!(
                "CA {name:?} is a root: a root is not revoked but taken out of the trust bundles that hold it"
            )));
        };
        if ca.status == "revoked" {
            return Err(Error::Conflict(format!("CA {name:?} is already revoked")));
        }
        // A PKI created before CA certificates were recorded: record it first.
        if !self.store.certificates_by_serial(&ca.serial, self.now().unix_timestamp())?.iter().any(|c| c.issuer == parent) {
            self.store.put_certificates(&[ca_certificate(self, &ca)?])?;
        }
        let revocation = Revocation { at: self.now().unix_timestamp(), reason: reason.code(), invalidity_date };
        let details = json!({ "ca": name, "serial": ca.serial, "issuer": parent, "reason": reason.name(),
                              "reason_code": reason.code(), "invalidity_date": invalidity_date, "subject": ca.subject });
        let events = [
            self.event_by(&caller.id, "cert.revoked", &format!("cert:{parent}/{}", ca.serial), details.clone()),
            self.event_by(&caller.id, "ca.revoked", &format!("ca:{name}"), details),
        ];
        self.store.revoke_ca(name, &parent, &ca.serial, &revocation, &events)?;
        self.issuers.write().unwrap_or_else(|p| p.into_inner()).remove(name);
        self.ca_record(name)
    }

    /// Stops signing with the unlocked CAs whose certificates are among `revoked`;
    /// returns their names.
    pub fn retire_revoked_cas(&self, revoked: &[RevokedEntry]) -> Result<Vec<String>, Error> {
        let retired: Vec<String> = self
            .all_cas()?
            .into_iter()
            .filter(|ca| revoked.iter().any(|e| Some(&e.issuer) == ca.parent.as_ref() && e.serial == ca.serial))
            .map(|ca| ca.name)
            .collect();
        let mut issuers = self.issuers.write().unwrap_or_else(|p| p.into_inner());
        Ok(retired.into_iter().filter(|name| issuers.remove(name).is_some()).collect())
    }

    fn ca_not_a_certificate(&self, issuer: &str, serial: &str) -> Error {
        let name = self.all_cas().ok().and_then(|cas| cas.into_iter().find(|c| c.parent.as_deref() == Some(issuer) && c.serial == serial));
        let name = name.map(|c| c.name).unwrap_or_else(|| "NAME".into());
        Error::Refused(format!("serial {serial} is the certificate of CA {name:?}: revoke it with `ironpki ca revoke {name}`"))
    }
}
