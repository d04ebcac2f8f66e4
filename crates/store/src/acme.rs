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

pub trait AcmeStore: Send + Sync {
    /// Records a new account with its audit entry; [`Error::DuplicateAccount`] when the
    /// provisioner already has an account for that key (another replica made it first).
    fn put_acme_account(&self, account: &AcmeAccount, event: &AuditEvent) -> Result<(), Error>;
    fn acme_account(&self, id: &str) -> Result<Option<AcmeAccount>, Error>;
    fn acme_account_by_key(&self, provisioner: &str, thumbprint: &str) -> Result<Option<AcmeAccount>, Error>;
    /// Sets an account's status and contact, with its audit entry.
    fn update_acme_account(&self, id: &str, status: &str, contact: &[String], event: &AuditEvent) -> Result<(), Error>;
    /// Replaces an account's key, with its audit entry; [`Error::DuplicateAccount`] when
    /// another account of the provisioner has that key.
    fn change_acme_account_key(&self, id: &str, thumbprint: &str, jwk: &str, event: &AuditEvent) -> Result<(), Error>;
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

/// The columns every account query reads, in [`AcmeAccount`]'s order.
pub(crate) const ACCOUNT_COLUMNS: &str = "id, provisioner, thumbprint, jwk, status, contact, eab_kid, created_at";
