//! The store of IronPKI: durable records of CAs and certificates, and the audit log.
//!
//! Owns the schema, its versioned migrations and the engines (SQLite now; PostgreSQL
//! implements the same [`Store`] trait). It decides nothing: it enforces uniqueness
//! and atomicity, and appends an audit entry in the same transaction as every state
//! change it records. It never sees a private key.
#![forbid(unsafe_code)]

pub mod acme;
pub mod audit;
mod error;
mod expiry;
mod records;
pub mod postgres;
pub mod sqlite;

pub use audit::{AuditEntry, AuditEvent};
pub use error::Error;
pub use records::{
    CaRecord, CertFilter, CertRecord, CertStatus, CrlRecord, NewCa, NewCertificate, Revocation, RevocationState, RevokedEntry,
    StatusFilter, TokenRecord,
};

/// A store engine. Every method that changes state takes the audit event that records
/// it, and commits both or neither.
pub trait Store: Send + Sync {
    fn put_ca(&self, ca: &NewCa, event: &AuditEvent) -> Result<(), Error>;
    fn cas(&self) -> Result<Vec<CaRecord>, Error>;

    /// Records certificates in one transaction. Fails with [`Error::DuplicateSerial`]
    /// (and records none of them) if a serial is already used by the same issuer.
    fn put_certificates(&self, certs: &[(NewCertificate, AuditEvent)]) -> Result<(), Error>;

    /// Upkeep that waits until the caller has answered for what it committed, so that no
    /// answer waits for it (SQLite: the writer's own checkpoint once the WAL is long, which
    /// ends with a sync of the database file). Nothing by default.
    fn after_commit(&self) {}

    /// All certificates with this serial (one per issuer at most), their status as of
    /// `now` (unix seconds).
    fn certificates_by_serial(&self, serial: &str, now: i64) -> Result<Vec<CertRecord>, Error>;
    fn list_certificates(&self, filter: &CertFilter) -> Result<Vec<CertRecord>, Error>;
    /// The revocation state of one certificate, without its DER: what OCSP needs.
    fn revocation_state(&self, issuer: &str, serial: &str) -> Result<Option<RevocationState>, Error>;
    fn count_certificates(&self) -> Result<u64, Error>;
    /// Per profile, how many valid certificates have notAfter within `[now, until]`.
    fn count_expiring(&self, now: i64, until: i64) -> Result<Vec<(String, u64)>, Error>;
    /// (issuer, serial) of every unexpired, unrevoked certificate matching the filters.
    fn valid_serials(&self, issuer: Option<&str>, profile: Option<&str>, now: i64) -> Result<Vec<(String, String)>, Error>;

    /// Marks a valid certificate revoked. [`Error::NotFound`] or
    /// [`Error::AlreadyRevoked`] leave everything unchanged.
    fn revoke(&self, issuer: &str, serial: &str, revocation: &Revocation, event: &AuditEvent) -> Result<(), Error>;

    /// Revokes CA `name`: its certificate (`serial`, issued by `issuer`) as [`Store::revoke`]
    /// does, and the CA's status, with both audit events, in one transaction.
    fn revoke_ca(
        &self,
        name: &str,
        issuer: &str,
        serial: &str,
        revocation: &Revocation,
        events: &[AuditEvent; 2],
    ) -> Result<(), Error>;

    /// Revokes many certificates of one issuer in one transaction, with an audit entry
    /// each (`event(serial)`). Serials unknown or already revoked are skipped; returns
    /// the serials revoked.
    fn revoke_many(
        &self,
        issuer: &str,
        serials: &[String],
        revocation: &Revocation,
        event: &dyn Fn(&str) -> AuditEvent,
    ) -> Result<Vec<String>, Error>;

    /// The highest revocation sequence number: every revocation takes the next one, so
    /// a reader that remembers it learns of new revocations by comparing.
    fn revocation_seq(&self) -> Result<i64, Error>;
    /// Revocations with a sequence number above `after_seq`, oldest first.
    fn revoked_since(&self, after_seq: i64, limit: u32) -> Result<Vec<RevokedEntry>, Error>;
    /// Streams the revoked certificates of `issuer` whose sequence number is in
    /// `(seq_range.0, seq_range.1]` and whose notAfter is at or after `expiring_after`,
    /// in sequence order, without loading them all.
    fn for_each_revoked(
        &self,
        issuer: &str,
        seq_range: (i64, i64),
        expiring_after: i64,
        f: &mut dyn FnMut(&RevokedEntry) -> Result<(), Error>,
    ) -> Result<(), Error>;

    /// Whether `issuer` has a revocation with a sequence number above `after_seq`.
    fn revoked_after(&self, issuer: &str, after_seq: i64) -> Result<bool, Error>;

    /// The newest full (or delta) CRL of an issuer.
    fn latest_crl(&self, issuer: &str, delta: bool) -> Result<Option<CrlRecord>, Error>;
    /// The highest CRL number used by an issuer (full and delta share one sequence), 0 if none.
    fn last_crl_number(&self, issuer: &str) -> Result<i64, Error>;
    /// Records a CRL; [`Error::CrlNumberTaken`] if another publisher used that number.
    fn put_crl(&self, crl: &CrlRecord, event: &AuditEvent) -> Result<(), Error>;

    fn append_audit(&self, event: &AuditEvent) -> Result<AuditEntry, Error>;
    /// Calls `f` for each audit entry from `since` (exclusive), in sequence order.
    fn for_each_audit(&self, since: u64, f: &mut dyn FnMut(AuditEntry) -> Result<(), Error>) -> Result<(), Error>;

    /// Records a new API token.
    fn put_token(&self, token: &TokenRecord, event: &AuditEvent) -> Result<(), Error>;
    fn token(&self, id: &str) -> Result<Option<TokenRecord>, Error>;
    /// Every token, oldest first.
    fn tokens(&self) -> Result<Vec<TokenRecord>, Error>;
    /// Marks a token revoked at `at`: [`Error::TokenNotFound`] or
    /// [`Error::TokenRevoked`] leave everything unchanged.
    fn revoke_token(&self, id: &str, at: i64, event: &AuditEvent) -> Result<(), Error>;

    /// Takes, renews or keeps the lease `name` for `holder` until `now + ttl`: returns
    /// true when `holder` holds it afterwards (it was free, expired, or already its own),
    /// false when another holder's lease is still running. Atomic across processes.
    fn acquire_lease(&self, name: &str, holder: &str, now: i64, ttl: i64) -> Result<bool, Error>;
    /// Gives the lease up if `holder` holds it.
    fn release_lease(&self, name: &str, holder: &str) -> Result<(), Error>;

    /// The schema version the store is at (migrations are applied when it is opened).
    fn schema_version(&self) -> Result<i64, Error>;

    fn meta(&self, key: &str) -> Result<Option<String>, Error>;
    /// Sets a meta value and appends `event`, atomically.
    fn set_meta(&self, key: &str, value: &str, event: &AuditEvent) -> Result<(), Error>;
    /// Sets the meta value `key` without an audit entry: for delivery cursors (how far a
    /// notifier got), which record no decision.
    fn set_cursor(&self, key: &str, value: &str) -> Result<(), Error>;

    /// ACME accounts and nonces.
    fn acme(&self) -> &dyn acme::AcmeStore;
}

/// Convenience: record one certificate.
pub fn put_certificate(store: &dyn Store, cert: NewCertificate, event: AuditEvent) -> Result<(), Error> {
    store.put_certificates(&[(cert, event)])
}
