//! Synthetic load for the benchmark harness (`ironpki bench revoked`): many revoked
//! certificate records, written through the store's bulk paths (records, audit entries,
//! the revocation sequence) without signing each one.

use ironpki_store::{AuditEvent, NewCertificate, Revocation};
use serde_json::json;

use crate::access::{Action, Caller};
use crate::{Authority, Error, Issued};

impl Authority {
    /// Records a copy of `like` (its DER and validity) under each of `serials`, audited as
    /// synthetic, and revokes them all (keyCompromise): one transaction for the records
    /// and one for the revocations. Admin only.
    pub fn record_synthetic_revoked(&self, caller: &Caller, like: &Issued, serials: &[String]) -> Result<(), Error> {
        self.authorize(caller, &Action::LoadSynthetic)?;
        let now = self.now().unix_timestamp();
        let issuer = like.issuer.as_str();
        let rows: Vec<(NewCertificate, AuditEvent)> = serials
            .iter()
            .map(|serial| {
                let record = NewCertificate {
                    issuer: issuer.to_string(),
                    serial: serial.clone(),
                    subject: "CN=device.bench.example".into(),
                    common_name: Some("device.bench.example".into()),
                    sans: vec![],
                    key_type: "ecdsa-p256".into(),
                    profile: like.profile.clone(),
                    not_before: now - 60,
                    not_after: like.not_after.unix_timestamp(),
                    requester: caller.id.clone(),
                    issued_at: now,
                    der: like.der.clone(),
                };
                let event = self.event_by(&caller.id, "cert.issued", &format!("cert:{issuer}/{serial}"), json!({ "synthetic": true }));
                (record, event)
            })
            .collect();
        self.store.put_certificates(&rows)?;
        let revocation = Revocation { at: now, reason: 1, invalidity_date: None };
        let event = |s: &str| self.event_by(&caller.id, "cert.revoked", &format!("cert:{issuer}/{s}"), json!({ "reason": 1, "synthetic": true }));
        self.store.revoke_many(issuer, serials, &revocation, &event)?;
        Ok(())
    }
}
