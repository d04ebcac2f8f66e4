//! The store of IronPKI: durable records of CAs and certificates, and the audit log.
//!
//! Owns the schema, its versioned migrations and the engines (SQLite now; PostgreSQL
//! implements the same [`Store`] trait). It decides nothing: it enforces uniqueness
//! and atomicity, and appends an audit entry in the same transaction as every state
//! change it records. It never sees a private key.
#![forbid(unsafe_code)]

pub mod audit;
mod error;
mod records;
pub mod sqlite;

pub use audit::{AuditEntry, AuditEvent};
pub use error::Error;
pub use records::{CaRecord, CertFilter, CertRecord, CertStatus, NewCa, NewCertificate, Revocation, StatusFilter};

/// A store engine. Every method that changes state takes the audit event that records
/// it, and commits both or neither.
pub trait Store: Send + Sync {
    fn put_ca(&self, ca: &NewCa, event: &AuditEvent) -> Result<(), Error>;
    fn cas(&self) -> Result<Vec<CaRecord>, Error>;

    /// Records certificates in one transaction. Fails with [`Error::DuplicateSerial`]
    /// (and records none of them) if a serial is already used by the same issuer.
    fn put_certificates(&self, certs: &[(NewCertificate, AuditEvent)]) -> Result<(), Error>;

    /// All certificates with this serial (one per issuer at most).
    fn certificates_by_serial(&self, serial: &str) -> Result<Vec<CertRecord>, Error>;
    fn list_certificates(&self, filter: &CertFilter) -> Result<Vec<CertRecord>, Error>;
    fn count_certificates(&self) -> Result<u64, Error>;

    /// Marks a valid certificate revoked. [`Error::NotFound`] or
    /// [`Error::AlreadyRevoked`] leave everything unchanged.
    fn revoke(&self, issuer: &str, serial: &str, revocation: &Revocation, event: &AuditEvent) -> Result<(), Error>;

    fn append_audit(&self, event: &AuditEvent) -> Result<AuditEntry, Error>;
    /// Calls `f` for each audit entry from `since` (exclusive), in sequence order.
    fn for_each_audit(&self, since: u64, f: &mut dyn FnMut(AuditEntry) -> Result<(), Error>) -> Result<(), Error>;

    fn meta(&self, key: &str) -> Result<Option<String>, Error>;
    /// Sets a meta value and appends `event`, atomically.
    fn set_meta(&self, key: &str, value: &str, event: &AuditEvent) -> Result<(), Error>;
}

/// Convenience: record one certificate.
pub fn put_certificate(store: &dyn Store, cert: NewCertificate, event: AuditEvent) -> Result<(), Error> {
    store.put_certificates(&[(cert, event)])
}
