//! The store tests, written once against [`Engine`] and run on every engine.

mod acme;
mod audit;
mod certificates;
mod concurrency;
mod crl;
mod revocation;
mod schema;
mod tokens;

pub use acme::*;
pub use audit::*;
pub use certificates::*;
pub use concurrency::*;
pub use crl::*;
pub use revocation::*;
pub use schema::*;
pub use tokens::*;

pub use crate::harness::Engine;
use ironpki_store::audit::ChainVerifier;
use ironpki_store::{AuditEntry, AuditEvent, CaRecord, NewCertificate, Revocation, Store};

/// A store on a fresh database, with the CA `issuing` recorded (audit entry 1).
pub fn store(engine: &dyn Engine) -> Box<dyn Store> {
    let s = engine.open().expect("open the store");
    s.put_ca(&ca("issuing", "root", None), &event("ca.created", "ca:issuing")).expect("record the CA");
    s
}

pub fn ca(name: &str, role: &str, parent: Option<&str>) -> CaRecord {
    CaRecord {
        name: name.into(),
        role: role.into(),
        parent: parent.map(Into::into),
        subject: format!("CN={name}"),
        serial: "01".into(),
        key_type: "ecdsa-p256".into(),
        not_before: 0,
        not_after: 10_000,
        status: "active".into(),
        key_ref: format!("ca/{name}/key.pem"),
        der: vec![1, 2, 3],
    }
}

pub fn event(action: &str, target: &str) -> AuditEvent {
    AuditEvent::new(2, "test", action, target, serde_json::json!({}))
}

/// A certificate of `issuing`, with its `cert.issued` event.
pub fn cert(serial: &str, not_after: i64) -> (NewCertificate, AuditEvent) {
    (
        NewCertificate {
            issuer: "issuing".into(),
            serial: serial.into(),
            subject: "CN=a".into(),
            common_name: Some("a".into()),
            sans: vec!["dns:a".into()],
            key_type: "ecdsa-p256".into(),
            profile: "device".into(),
            not_before: 0,
            not_after,
            requester: "test".into(),
            issued_at: 0,
            der: vec![2],
        },
        event("cert.issued", &format!("cert:{serial}")),
    )
}

pub fn revocation() -> Revocation {
    Revocation { at: 10, reason: 1, invalidity_date: Some(5) }
}

pub fn audit_entries(s: &dyn Store) -> Vec<AuditEntry> {
    let mut all = Vec::new();
    s.for_each_audit(0, &mut |e| {
        all.push(e);
        Ok(())
    })
    .expect("read the audit log");
    all
}

/// Walks the whole chain: the number of entries checked, or the first break.
pub fn verify_chain(s: &dyn Store) -> Result<u64, String> {
    let mut v = ChainVerifier::default();
    s.for_each_audit(0, &mut |e| v.check(&e).map_err(ironpki_store::Error::Backend)).map_err(|e| e.to_string())?;
    Ok(v.checked)
}
