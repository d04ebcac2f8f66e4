//! Certificate records in SQLite: batched inserts and their expiry counts, the rows as
//! records, revocation.

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::chain::Chain;
use super::is_unique_violation;
use crate::expiry;
use crate::{AuditEvent, CertRecord, CertStatus, Error, NewCertificate, Revocation};

pub(super) const CERT_COLUMNS: &str = "id, issuer, serial, subject, common_name, sans, key_type, profile, not_before, not_after, status, revoked_at, revocation_reason, requester, issued_at, der";

pub(super) fn cert_row(now: i64) -> impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<CertRecord> {
    move |r| {
        let status: String = r.get(10)?;
        let not_after: i64 = r.get(9)?;
        let sans: String = r.get(5)?;
        Ok(CertRecord {
            id: r.get(0)?,
            issuer: r.get(1)?,
            serial: r.get(2)?,
            subject: r.get(3)?,
            common_name: r.get(4)?,
            sans: serde_json::from_str(&sans).unwrap_or_default(),
            key_type: r.get(6)?,
            profile: r.get(7)?,
            not_before: r.get(8)?,
            not_after,
            status: match status.as_str() {
                "revoked" => CertStatus::Revoked,
                _ if not_after < now => CertStatus::Expired,
                _ => CertStatus::Valid,
            },
            revoked_at: r.get(11)?,
            revocation_reason: r.get(12)?,
            requester: r.get(13)?,
            issued_at: r.get(14)?,
            der: r.get(15)?,
        })
    }
}

/// The certificates with `serial`, whatever their issuer.
pub(super) fn by_serial(conn: &Connection, serial: &str, now: i64) -> Result<Vec<CertRecord>, Error> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {CERT_COLUMNS} FROM certificates WHERE serial = ?1"))?;
    let rows = stmt.query_map([serial], cert_row(now))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Inserts a batch of certificates, each with its audit entry, and counts them in
/// `expiry_counts`; returns the id of the last certificate row.
pub(super) fn insert(tx: &Transaction<'_>, certs: &[(NewCertificate, AuditEvent)]) -> Result<i64, Error> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO certificates (serial, issuer, subject, common_name, sans, key_type, profile, not_before, not_after, status, requester, issued_at, der)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'valid', ?10, ?11, ?12)",
    )?;
    let mut chain = Chain::tail(tx)?;
    // The id of the last certificate row (read before its audit entry is inserted).
    let mut last_id = 0;
    let mut counts: BTreeMap<(&str, i64), i64> = BTreeMap::new();
    for (c, event) in certs {
        *counts.entry((c.profile.as_str(), c.not_after / expiry::BUCKET)).or_default() += 1;
        let sans = serde_json::to_string(&c.sans).map_err(|e| Error::Backend(e.to_string()))?;
        let result = insert.execute(params![
            c.serial, c.issuer, c.subject, c.common_name, sans, c.key_type, c.profile, c.not_before, c.not_after,
            c.requester, c.issued_at, c.der
        ]);
        match result {
            Err(e) if is_unique_violation(&e) => {
                return Err(Error::DuplicateSerial { issuer: c.issuer.clone(), serial: c.serial.clone() })
            }
            other => other?,
        };
        last_id = tx.last_insert_rowid();
        chain.append(tx, event)?;
    }
    // New certificates are valid: counted once per profile and hour of the batch.
    let mut count = tx.prepare_cached(
        "INSERT INTO expiry_counts (profile, expiry_hour, count) VALUES (?1, ?2, ?3)
         ON CONFLICT (profile, expiry_hour) DO UPDATE SET count = count + excluded.count",
    )?;
    for ((profile, hour), n) in counts {
        count.execute(params![profile, hour, n])?;
    }
    Ok(last_id)
}

/// Valid certificates per profile expiring from `now` to `until`: whole hours from
/// `expiry_counts`, the partial hours at either end from the certificates.
pub(super) fn count_expiring(conn: &Connection, now: i64, until: i64) -> Result<Vec<(String, u64)>, Error> {
    let window = expiry::split(now, until);
    // One read transaction: the buckets and the edges from the same snapshot.
    let tx = conn.unchecked_transaction()?;
    let mut parts: Vec<(String, i64)> = Vec::new();
    let mut buckets = tx.prepare_cached(
        "SELECT profile, SUM(count) FROM expiry_counts WHERE expiry_hour >= ?1 AND expiry_hour <= ?2 GROUP BY profile",
    )?;
    for row in buckets.query_map(params![window.first, window.last], |r| Ok((r.get(0)?, r.get(1)?)))? {
        parts.push(row?);
    }
    // The partial expiry index holds the profile: an index-only count of each edge
    // (the planner would otherwise pick (status, not_after) and read every row).
    let mut edge = tx.prepare_cached(
        "SELECT profile, COUNT(*) FROM certificates INDEXED BY certificates_valid_expiry
         WHERE status = 'valid' AND not_after >= ?1 AND not_after <= ?2 GROUP BY profile",
    )?;
    for (from, to) in &window.edges {
        for row in edge.query_map(params![from, to], |r| Ok((r.get(0)?, r.get(1)?)))? {
            parts.push(row?);
        }
    }
    Ok(expiry::merge(parts))
}

/// Revokes one valid certificate: [`Error::NotFound`] or [`Error::AlreadyRevoked`] otherwise.
pub(super) fn revoke_valid(tx: &Transaction<'_>, issuer: &str, serial: &str, rev: &Revocation) -> Result<(), Error> {
    let status: Option<String> = tx
        .prepare_cached("SELECT status FROM certificates WHERE serial = ?1 AND issuer = ?2")?
        .query_row(params![serial, issuer], |r| r.get(0))
        .optional()?;
    match status.as_deref() {
        None => Err(Error::NotFound { issuer: issuer.into(), serial: serial.into() }),
        Some("revoked") => Err(Error::AlreadyRevoked { serial: serial.into() }),
        Some(_) => mark_revoked(tx, issuer, serial, rev).map(|_| ()),
    }
}

/// Marks one valid certificate revoked with the next revocation sequence number.
/// Returns whether a row changed.
fn mark_revoked(tx: &Transaction<'_>, issuer: &str, serial: &str, rev: &Revocation) -> Result<bool, Error> {
    let changed = tx
        .prepare_cached(
            "UPDATE certificates SET status = 'revoked', revoked_at = ?1, revocation_reason = ?2, invalidity_date = ?3,
                 revocation_seq = (SELECT COALESCE(MAX(revocation_seq), 0) + 1 FROM certificates WHERE revocation_seq IS NOT NULL)
             WHERE serial = ?4 AND issuer = ?5 AND status = 'valid'",
        )?
        .execute(params![rev.at, rev.reason, rev.invalidity_date, serial, issuer])?;
    Ok(changed == 1)
}

/// Revokes the valid certificates among `serials`, each with its audit entry; returns
/// the serials revoked.
pub(super) fn revoke_many(
    tx: &Transaction<'_>,
    issuer: &str,
    serials: &[String],
    rev: &Revocation,
    event: &dyn Fn(&str) -> AuditEvent,
) -> Result<Vec<String>, Error> {
    let mut revoked = Vec::with_capacity(serials.len());
    let mut chain = Chain::tail(tx)?;
    for serial in serials {
        if mark_revoked(tx, issuer, serial, rev)? {
            chain.append(tx, &event(serial))?;
            revoked.push(serial.clone());
        }
    }
    Ok(revoked)
}
