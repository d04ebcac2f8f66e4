//! Revocation notices: what `serve` pushes to its notifiers (MQTT, webhooks), read from
//! the revocation sequence; how far each notifier got (a cursor in the store, so a
//! restart resumes without a gap); which replica delivers (one lease per notifier).
//! Revocations are public (they are in the CRLs), so reading them needs no caller.

use ironpki_store::RevokedEntry;
use ironpki_x509::revocation::Reason;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::{Authority, Error};

/// How long a notifier's lease runs without renewal.
pub const LEASE_SECONDS: i64 = 10;
/// The most notices read in one go.
pub const PAGE: u32 = 1000;

/// One revocation as notifiers and `GET /revocations` publish it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Notice {
    /// The revocation sequence number: consecutive across every CA of this PKI.
    pub seq: i64,
    /// The issuing CA's name.
    pub issuer: String,
    /// The certificate's serial, hex.
    pub serial: String,
    /// The CRL reason code's name (RFC 5280 5.3.1), if one was given.
    pub reason: Option<&'static str>,
    /// When it was revoked, RFC 3339.
    pub revoked_at: String,
}

impl From<&RevokedEntry> for Notice {
    fn from(e: &RevokedEntry) -> Notice {
        let at = OffsetDateTime::from_unix_timestamp(e.revoked_at).ok().and_then(|t| t.format(&Rfc3339).ok()).unwrap_or_default();
        Notice {
            seq: e.seq,
            issuer: e.issuer.clone(),
            serial: e.serial.clone(),
            reason: e.reason.and_then(Reason::from_code).map(Reason::name),
            revoked_at: at,
        }
    }
}

fn cursor_key(notifier: &str) -> String {
    format!("notify-cursor:{notifier}")
}

impl Authority {
    /// The revocations after sequence number `after`, oldest first, at most `limit`.
    pub fn notices_after(&self, after: i64, limit: u32) -> Result<Vec<Notice>, Error> {
        Ok(self.store().revoked_since(after, limit.min(PAGE))?.iter().map(Notice::from).collect())
    }

    /// The last sequence number `notifier` delivered. A notifier seen for the first time
    /// starts from the revocations to come.
    pub fn notify_cursor(&self, notifier: &str) -> Result<i64, Error> {
        let key = cursor_key(notifier);
        match self.store().meta(&key)?.and_then(|v| v.parse().ok()) {
            Some(seq) => Ok(seq),
            None => {
                let seq = self.store().revocation_seq()?;
                self.store().set_cursor(&key, &seq.to_string())?;
                Ok(seq)
            }
        }
    }

    pub fn set_notify_cursor(&self, notifier: &str, seq: i64) -> Result<(), Error> {
        Ok(self.store().set_cursor(&cursor_key(notifier), &seq.to_string())?)
    }

    /// Takes or keeps the lease that makes `holder` the one replica delivering to
    /// `notifier`.
    pub fn notifier_lease(&self, notifier: &str, holder: &str) -> Result<bool, Error> {
        let now = self.now().unix_timestamp();
        Ok(self.store().acquire_lease(&format!("notifier:{notifier}"), holder, now, LEASE_SECONDS)?)
    }

    pub fn release_notifier_lease(&self, notifier: &str, holder: &str) -> Result<(), Error> {
        Ok(self.store().release_lease(&format!("notifier:{notifier}"), holder)?)
    }
}
