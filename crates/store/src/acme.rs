//! ACME state: accounts and used nonces. A capability of its own ([`AcmeStore`]), so a
//! store engine starts without it; both engines have it, with the same migrations.

use serde::Serialize;

use crate::{AuditEvent, Error};

/// An ACME account: a provisioner's, identified by its key's RFC 7638 thumbprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AcmeAccount {
    /// Random, URL-safe: the last segment of the account URL.
    pub id: String,
    pub provisioner: String,
    pub thumbprint: String,
    /// The public key, canonical JWK JSON.
    pub jwk: String,
    /// `valid`, `deactivated` or `revoked`.
    pub status: String,
    /// `mailto:` URLs.
    pub contact: Vec<String>,
    /// The External Account Binding key it was created with.
    pub eab_kid: Option<String>,
    pub created_at: i64,
}

/// An External Account Binding key: its MAC key sealed (never stored in clear), the
/// provisioner it is for, and the one account it binds once used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EabKey {
    pub kid: String,
    pub provisioner: String,
    #[serde(skip)]
    pub sealed_key: Vec<u8>,
    pub created_at: i64,
    pub created_by: String,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// The account it bound.
    pub account_id: Option<String>,
}

/// An order (RFC 8555 section 7.1.3). Identifiers and error are JSON, as on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AcmeOrder {
    pub id: String,
    pub account_id: String,
    pub provisioner: String,
    /// `pending`, `ready`, `processing`, `valid` or `invalid`.
    pub status: String,
    /// JSON array of `{type, value}`.
    pub identifiers: String,
    /// The ids of its authorizations, in the identifiers' order.
    pub authorizations: Vec<String>,
    pub expires: i64,
    /// JSON problem document, for an invalid order.
    pub error: Option<String>,
    /// The certificate issued for it.
    pub cert_issuer: Option<String>,
    pub cert_serial: Option<String>,
    pub created_at: i64,
    /// The certificate it replaces (RFC 9773 `replaces`: the ARI CertID).
    pub replaces: Option<String>,
}

/// Which certificates an early-renewal mark applies to (`cert renew-early`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenewalSelection {
    /// Hex serials; a serial several CAs issued selects each such certificate.
    Serials(Vec<String>),
    Profile(String),
    Issuer(String),
}

/// An authorization (RFC 8555 section 7.1.4) with its challenges (JSON, as on the wire
/// less their URLs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AcmeAuthz {
    pub id: String,
    pub account_id: String,
    pub provisioner: String,
    /// `dns` or `ip`.
    pub identifier_type: String,
    pub identifier_value: String,
    pub wildcard: bool,
    /// `pending`, `valid`, `invalid`, `deactivated`, `expired` or `revoked`.
    pub status: String,
    pub expires: i64,
    /// JSON array of `{id, type, token, status, validated?, error?}`.
    pub challenges: String,
}

pub trait AcmeStore: Send + Sync {
    /// Records a new account with its audit entry; [`Error::DuplicateAccount`] when the
    /// provisioner already has an account for that key (another replica made it first).
    /// An account with an `eab_kid` binds that key in the same transaction, or fails with
    /// [`Error::EabUnusable`] if it is bound, revoked or unknown.
    fn put_acme_account(&self, account: &AcmeAccount, event: &AuditEvent) -> Result<(), Error>;
    fn acme_account(&self, id: &str) -> Result<Option<AcmeAccount>, Error>;
    fn acme_account_by_key(&self, provisioner: &str, thumbprint: &str) -> Result<Option<AcmeAccount>, Error>;
    /// Sets an account's status and contact, with its audit entry.
    fn update_acme_account(&self, id: &str, status: &str, contact: &[String], event: &AuditEvent) -> Result<(), Error>;
    /// Replaces an account's key, with its audit entry; [`Error::DuplicateAccount`] when
    /// another account of the provisioner has that key.
    fn change_acme_account_key(&self, id: &str, thumbprint: &str, jwk: &str, event: &AuditEvent) -> Result<(), Error>;
    fn put_acme_eab_key(&self, key: &EabKey, event: &AuditEvent) -> Result<(), Error>;
    fn acme_eab_key(&self, kid: &str) -> Result<Option<EabKey>, Error>;
    /// Every EAB key, oldest first.
    fn acme_eab_keys(&self) -> Result<Vec<EabKey>, Error>;
    /// Revokes an EAB key at `at`; [`Error::EabUnusable`] when unknown or revoked already.
    fn revoke_acme_eab_key(&self, kid: &str, at: i64, event: &AuditEvent) -> Result<(), Error>;
    /// Records an order and its authorizations, with the order's audit entry;
    /// [`Error::AlreadyReplaced`] when another order, not invalid, replaces the same
    /// certificate (the database's unique index decides between concurrent orders).
    fn put_acme_order(&self, order: &AcmeOrder, authzs: &[AcmeAuthz], event: &AuditEvent) -> Result<(), Error>;
    fn acme_order(&self, id: &str) -> Result<Option<AcmeOrder>, Error>;
    fn acme_authz(&self, id: &str) -> Result<Option<AcmeAuthz>, Error>;
    /// The ids of an account's orders, newest first, at most `limit` after skipping `offset`.
    fn acme_orders_of(&self, account_id: &str, limit: i64, offset: i64) -> Result<Vec<String>, Error>;
    /// For the per-account limits: how many orders the account created at or after
    /// `since`, and when the earliest of them was created.
    fn acme_orders_since(&self, account_id: &str, since: i64) -> Result<(u64, Option<i64>), Error>;
    /// For the per-account limits: how many of the account's authorizations expiring
    /// after `expiring_after` are invalid, and the earliest expiry among them.
    fn acme_failed_authzs(&self, account_id: &str, expiring_after: i64) -> Result<(u64, Option<i64>), Error>;
    /// Sets an authorization's status and challenges. An update that leaves it pending (a
    /// challenge now processing) may be committed without waiting for the disk: lost to a
    /// machine crash, the challenge is pending again and the client answers it again.
    fn update_acme_authz(&self, authz: &AcmeAuthz) -> Result<(), Error>;
    /// Sets an order's status, error and certificate, with an audit entry when given.
    /// Without one the change is derived from the authorizations (ready or invalid), and
    /// an engine may commit it without waiting for the disk.
    fn update_acme_order(&self, order: &AcmeOrder, event: Option<&AuditEvent>) -> Result<(), Error>;
    /// Authorizations still pending, unexpired at `now`, with a challenge being validated:
    /// after a restart, validations the stopped process had not finished.
    fn acme_authzs_processing(&self, now: i64) -> Result<Vec<AcmeAuthz>, Error>;
    /// The id of an order, not invalid, that replaces the certificate `cert_id` names.
    fn acme_order_replacing(&self, cert_id: &str) -> Result<Option<String>, Error>;
    /// Marks the certificates `selection` picks that are valid at `now` for renewal
    /// within [`from`, `by`], with the audit entry; returns how many were marked.
    fn mark_early_renewal(&self, selection: &RenewalSelection, from: i64, by: i64, now: i64, event: &AuditEvent) -> Result<u64, Error>;
    /// The early-renewal window a certificate was marked with: (from, by).
    fn early_renewal(&self, issuer: &str, serial: &str) -> Result<Option<(i64, i64)>, Error>;
    /// Records `nonce` as used until `expires_at` and forgets those expired by `now`;
    /// false when it had been used already (by any replica).
    fn use_acme_nonce(&self, nonce: &str, expires_at: i64, now: i64) -> Result<bool, Error>;
}

pub(crate) fn contact_json(contact: &[String]) -> Result<String, Error> {
    serde_json::to_string(contact).map_err(|e| Error::Backend(e.to_string()))
}

pub(crate) fn contact_list(text: &str) -> Result<Vec<String>, Error> {
    serde_json::from_str(text).map_err(|e| Error::Backend(format!("unreadable ACME contact list {text:?}: {e}")))
}

pub(crate) const ORDER_COLUMNS: &str =
    "id, account_id, provisioner, status, identifiers, authorizations, expires, error, cert_issuer, cert_serial, created_at, replaces";

/// Marks the valid certificates one column picks (`$4`; the column is named by the caller)
/// for early renewal within [`$1`, `$2`], valid meaning unrevoked and unexpired at `$3`.
/// SQLite reads `$N` as PostgreSQL does.
pub(crate) fn mark_early_renewal_sql(column: &str) -> String {
    format!(
        "INSERT INTO early_renewals (issuer, serial, window_start, window_end) \
         SELECT issuer, serial, $1, $2 FROM certificates WHERE status = 'valid' AND not_after > $3 AND {column} = $4 \
         ON CONFLICT (issuer, serial) DO UPDATE SET window_start = excluded.window_start, window_end = excluded.window_end"
    )
}

/// The column a selection picks by, and the values it picks.
pub(crate) fn selection_values(selection: &RenewalSelection) -> (&'static str, Vec<String>) {
    match selection {
        RenewalSelection::Serials(serials) => ("serial", serials.iter().map(|s| s.to_ascii_lowercase()).collect()),
        RenewalSelection::Profile(p) => ("profile", vec![p.clone()]),
        RenewalSelection::Issuer(i) => ("issuer", vec![i.clone()]),
    }
}

pub(crate) const ORDERS_OF: &str = "SELECT id FROM acme_orders WHERE account_id = $1 ORDER BY created_at DESC, id LIMIT $2 OFFSET $3";
pub(crate) const ORDERS_SINCE: &str = "SELECT count(*), min(created_at) FROM acme_orders WHERE account_id = $1 AND created_at >= $2";
pub(crate) const FAILED_AUTHZS: &str =
    "SELECT count(*), min(expires) FROM acme_authorizations WHERE account_id = $1 AND status = 'invalid' AND expires > $2";
/// Pending authorizations with a challenge `processing` (the challenges are JSON).
pub(crate) fn authzs_processing_sql() -> String {
    format!("SELECT {AUTHZ_COLUMNS} FROM acme_authorizations WHERE status = 'pending' AND expires > $1 AND challenges LIKE '%\"status\":\"processing\"%'")
}

pub(crate) const EARLY_RENEWAL: &str = "SELECT window_start, window_end FROM early_renewals WHERE issuer = $1 AND serial = $2";
pub(crate) const ORDER_REPLACING: &str = "SELECT id FROM acme_orders WHERE replaces = $1 AND status <> 'invalid' LIMIT 1";
pub(crate) const AUTHZ_COLUMNS: &str = "id, account_id, provisioner, identifier_type, identifier_value, wildcard, status, expires, challenges";

pub(crate) fn ids_json(ids: &[String]) -> Result<String, Error> {
    serde_json::to_string(ids).map_err(|e| Error::Backend(e.to_string()))
}

pub(crate) fn ids_list(text: &str) -> Result<Vec<String>, Error> {
    serde_json::from_str(text).map_err(|e| Error::Backend(format!("unreadable id list {text:?}: {e}")))
}

/// The columns every EAB key query reads, in [`EabKey`]'s order.
pub(crate) const EAB_COLUMNS: &str = "kid, provisioner, sealed_key, created_at, created_by, expires_at, revoked_at, account_id";

/// The statement that binds an EAB key to the account created with it (SQLite reads
/// `$1` and `$2` as the first and second parameters too).
pub(crate) const BIND_EAB: &str = "UPDATE acme_eab_keys SET account_id = $1 WHERE kid = $2 AND account_id IS NULL AND revoked_at IS NULL";

/// The columns every account query reads, in [`AcmeAccount`]'s order.
pub(crate) const ACCOUNT_COLUMNS: &str = "id, provisioner, thumbprint, jwk, status, contact, eab_kid, created_at";
