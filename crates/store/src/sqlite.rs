//! The embedded engine: one SQLite file in WAL mode. Writers take the database lock
//! at the start of their transaction (BEGIN IMMEDIATE), so the audit chain's tail is
//! read and extended by one writer at a time, also across processes.

use std::sync::atomic::AtomicI64;
use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection, OptionalExtension};

use crate::audit::{AuditEntry, AuditEvent};
use crate::{
    CaRecord, CertFilter, CertRecord, CrlRecord, Error, NewCa, NewCertificate, Revocation, RevocationState, RevokedEntry, Store,
    TokenRecord,
};
use background::Background;
use names::Names;

mod acme;
mod background;
mod certificates;
mod chain;
mod connection;
mod crls;
mod migrations;
mod names;
mod query;
mod tokens;

/// How hard a commit waits for the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// fsync the WAL at every commit: a returned certificate survives power loss.
    Full,
    /// fsync at checkpoints only: survives a process crash, not a power loss.
    Normal,
}

pub struct SqliteStore {
    conn: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: std::sync::atomic::AtomicUsize,
    _checkpointer: Option<Background>,
    /// Pages in the WAL at the checkpointer's last pass.
    wal_pages: Arc<AtomicI64>,
    names: Option<Names>,
    /// Write transactions so far, and whether the writer has its large cache.
    writes: std::sync::atomic::AtomicU64,
    large: std::sync::atomic::AtomicBool,
    /// `durability: full`: a commit returns once the WAL holding it is synced (else only
    /// checkpoints sync).
    full: bool,
    /// The number of the last commit a sync of the WAL covered (`writes` numbers them).
    synced: Mutex<u64>,
    wal: std::path::PathBuf,
}

fn revoked_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RevokedEntry> {
    Ok(RevokedEntry {
        issuer: r.get(0)?,
        serial: r.get(1)?,
        seq: r.get(2)?,
        revoked_at: r.get(3)?,
        reason: r.get(4)?,
        invalidity_date: r.get(5)?,
    })
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
        || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}

impl Store for SqliteStore {
    fn put_ca(&self, ca: &NewCa, event: &AuditEvent) -> Result<(), Error> {
        self.write(|tx| {
            let inserted = tx.execute(
                "INSERT INTO cas (name, role, parent, subject, serial, key_type, not_before, not_after, status, key_ref, der)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![ca.name, ca.role, ca.parent, ca.subject, ca.serial, ca.key_type, ca.not_before, ca.not_after, ca.status, ca.key_ref, ca.der],
            );
            match inserted {
                Err(e) if is_unique_violation(&e) => return Err(Error::DuplicateCa(ca.name.clone())),
                other => other?,
            };
            chain::append(tx, event)?;
            Ok(())
        })
    }

    fn cas(&self) -> Result<Vec<CaRecord>, Error> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT name, role, parent, subject, serial, key_type, not_before, not_after, status, key_ref, der
             FROM cas ORDER BY CASE role WHEN 'root' THEN 0 ELSE 1 END, name",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(CaRecord {
                name: r.get(0)?,
                role: r.get(1)?,
                parent: r.get(2)?,
                subject: r.get(3)?,
                serial: r.get(4)?,
                key_type: r.get(5)?,
                not_before: r.get(6)?,
                not_after: r.get(7)?,
                status: r.get(8)?,
                key_ref: r.get(9)?,
                der: r.get(10)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn put_certificates(&self, certs: &[(NewCertificate, AuditEvent)]) -> Result<(), Error> {
        let last_id = self.write_then(false, |tx| certificates::insert(tx, certs))?;
        if let Some(names) = &self.names {
            names.committed(last_id);
        }
        Ok(())
    }

    /// The writer's checkpoint that `put_certificates` left, so that the batch's answers
    /// need not wait for its sync of the database file.
    fn after_commit(&self) {
        self.checkpoint_if_long(&self.lock());
    }

    fn certificates_by_serial(&self, serial: &str, now: i64) -> Result<Vec<CertRecord>, Error> {
        certificates::by_serial(&self.reader(), serial, now)
    }

    fn list_certificates(&self, f: &CertFilter) -> Result<Vec<CertRecord>, Error> {
        query::list(&self.reader(), f)
    }

    fn revocation_state(&self, issuer: &str, serial: &str) -> Result<Option<RevocationState>, Error> {
        let conn = self.reader();
        let row: Option<(String, Option<i64>, Option<u8>)> = conn
            .prepare_cached("SELECT status, revoked_at, revocation_reason FROM certificates WHERE serial = ?1 AND issuer = ?2")?
            .query_row(params![serial, issuer], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        Ok(row.map(|(status, at, reason)| match (status.as_str(), at) {
            ("revoked", Some(at)) => RevocationState::Revoked { at, reason },
            _ => RevocationState::Valid,
        }))
    }

    fn count_certificates(&self) -> Result<u64, Error> {
        let conn = self.reader();
        let n: i64 = conn.query_row("SELECT COUNT(*) FROM certificates", [], |r| r.get(0))?;
        Ok(n as u64)
    }

    fn count_expiring(&self, now: i64, until: i64) -> Result<Vec<(String, u64)>, Error> {
        certificates::count_expiring(&self.reader(), now, until)
    }

    fn valid_serials(&self, issuer: Option<&str>, profile: Option<&str>, now: i64) -> Result<Vec<(String, String)>, Error> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT issuer, serial FROM certificates WHERE status = 'valid' AND not_after >= ?1
             AND (?2 IS NULL OR issuer = ?2) AND (?3 IS NULL OR profile = ?3) ORDER BY id",
        )?;
        let rows = stmt.query_map(params![now, issuer, profile], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn revoke(&self, issuer: &str, serial: &str, rev: &Revocation, event: &AuditEvent) -> Result<(), Error> {
        self.write(|tx| {
            certificates::revoke_valid(tx, issuer, serial, rev)?;
            chain::append(tx, event)?;
            Ok(())
        })
    }

    fn revoke_ca(&self, name: &str, issuer: &str, serial: &str, rev: &Revocation, events: &[AuditEvent; 2]) -> Result<(), Error> {
        self.write(|tx| {
            certificates::revoke_valid(tx, issuer, serial, rev)?;
            tx.execute("UPDATE cas SET status = 'revoked' WHERE name = ?1", [name])?;
            for event in events {
                chain::append(tx, event)?;
            }
            Ok(())
        })
    }

    fn revoke_many(
        &self,
        issuer: &str,
        serials: &[String],
        rev: &Revocation,
        event: &dyn Fn(&str) -> AuditEvent,
    ) -> Result<Vec<String>, Error> {
        self.write(|tx| certificates::revoke_many(tx, issuer, serials, rev, event))
    }

    fn revocation_seq(&self) -> Result<i64, Error> {
        let conn = self.reader();
        let seq: Option<i64> = conn
            .prepare_cached("SELECT MAX(revocation_seq) FROM certificates WHERE revocation_seq IS NOT NULL")?
            .query_row([], |r| r.get(0))?;
        Ok(seq.unwrap_or(0))
    }

    fn revoked_since(&self, after_seq: i64, limit: u32) -> Result<Vec<RevokedEntry>, Error> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT issuer, serial, revocation_seq, revoked_at, revocation_reason, invalidity_date FROM certificates
             WHERE revocation_seq > ?1 ORDER BY revocation_seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after_seq, limit], revoked_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn for_each_revoked(
        &self,
        issuer: &str,
        seq_range: (i64, i64),
        expiring_after: i64,
        f: &mut dyn FnMut(&RevokedEntry) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT issuer, serial, revocation_seq, revoked_at, revocation_reason, invalidity_date FROM certificates
             WHERE issuer = ?1 AND revocation_seq > ?2 AND revocation_seq <= ?3 AND not_after >= ?4
             ORDER BY revocation_seq",
        )?;
        let mut rows = stmt.query(params![issuer, seq_range.0, seq_range.1, expiring_after])?;
        while let Some(row) = rows.next()? {
            f(&revoked_row(row)?)?;
        }
        Ok(())
    }

    fn revoked_after(&self, issuer: &str, after_seq: i64) -> Result<bool, Error> {
        let conn = self.reader();
        let found = conn
            .prepare_cached(
                "SELECT 1 FROM certificates WHERE issuer = ?1 AND revocation_seq > ?2 AND revocation_seq IS NOT NULL LIMIT 1",
            )?
            .query_row(params![issuer, after_seq], |_| Ok(()))
            .optional()?;
        Ok(found.is_some())
    }

    fn latest_crl(&self, issuer: &str, delta: bool) -> Result<Option<CrlRecord>, Error> {
        crls::latest(&self.reader(), issuer, delta)
    }

    fn last_crl_number(&self, issuer: &str) -> Result<i64, Error> {
        crls::last_number(&self.reader(), issuer)
    }

    fn put_crl(&self, crl: &CrlRecord, event: &AuditEvent) -> Result<(), Error> {
        self.write(|tx| {
            crls::insert(tx, crl)?;
            chain::append(tx, event)?;
            Ok(())
        })
    }

    fn append_audit(&self, event: &AuditEvent) -> Result<AuditEntry, Error> {
        self.write(|tx| chain::append(tx, event))
    }

    fn for_each_audit(&self, since: u64, f: &mut dyn FnMut(AuditEntry) -> Result<(), Error>) -> Result<(), Error> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT seq, at, actor, action, target, details, prev_hash, hash FROM audit WHERE seq > ?1 ORDER BY seq",
        )?;
        let mut rows = stmt.query([since as i64])?;
        while let Some(r) = rows.next()? {
            let seq: i64 = r.get(0)?;
            f(AuditEntry {
                seq: seq as u64,
                at: r.get(1)?,
                actor: r.get(2)?,
                action: r.get(3)?,
                target: r.get(4)?,
                details: r.get(5)?,
                prev_hash: r.get(6)?,
                hash: r.get(7)?,
            })?;
        }
        Ok(())
    }

    fn put_token(&self, token: &TokenRecord, event: &AuditEvent) -> Result<(), Error> {
        self.write(|tx| {
            tokens::insert(tx, token)?;
            chain::append(tx, event)?;
            Ok(())
        })
    }

    fn token(&self, id: &str) -> Result<Option<TokenRecord>, Error> {
        tokens::by_id(&self.reader(), id)
    }

    fn tokens(&self) -> Result<Vec<TokenRecord>, Error> {
        tokens::all(&self.reader())
    }

    fn revoke_token(&self, id: &str, at: i64, event: &AuditEvent) -> Result<(), Error> {
        self.write(|tx| {
            tokens::revoke(tx, id, at)?;
            chain::append(tx, event)?;
            Ok(())
        })
    }

    fn acquire_lease(&self, name: &str, holder: &str, now: i64, ttl: i64) -> Result<bool, Error> {
        self.write(|tx| tokens::acquire_lease(tx, name, holder, now, ttl))
    }

    fn release_lease(&self, name: &str, holder: &str) -> Result<(), Error> {
        self.write(|tx| {
            tx.execute("DELETE FROM leases WHERE name = ?1 AND holder = ?2", params![name, holder])?;
            Ok(())
        })
    }

    fn schema_version(&self) -> Result<i64, Error> {
        Ok(self.reader().query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    fn meta(&self, key: &str) -> Result<Option<String>, Error> {
        let conn = self.reader();
        Ok(conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
    }

    fn set_cursor(&self, key: &str, value: &str) -> Result<(), Error> {
        // A lost cursor only repeats deliveries: no fsync.
        self.write_unsynced(|tx| {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
            Ok(())
        })
    }

    fn set_meta(&self, key: &str, value: &str, event: &AuditEvent) -> Result<(), Error> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
            chain::append(tx, event)?;
            Ok(())
        })
    }

    fn acme(&self) -> &dyn crate::acme::AcmeStore {
        self
    }
}
