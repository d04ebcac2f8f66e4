//! The shared engine: PostgreSQL (or a PostgreSQL-compatible distributed engine), for
//! several `ironpki serve` replicas over one database.
//!
//! The schema and its versions mirror SQLite's (`migrations`). What SQLite gets from
//! `BEGIN IMMEDIATE`, this engine gets from row locks in READ COMMITTED transactions,
//! never from advisory locks or SERIALIZABLE retries:
//! - every transaction that appends to the audit chain first locks the one-row
//!   `audit_head` (`SELECT ... FOR UPDATE`, see `writer`), so appends are serialized
//!   across replicas, and so is the revocation sequence, taken under the same lock;
//! - migrators lock the one-row `ironpki_schema` the same way;
//! - uniqueness (serials per issuer, CRL numbers per CA, CA names, token ids) is the
//!   database's constraints; a lease is one upsert whose WHERE clause decides.

use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{IsolationLevel, Row};

use crate::audit::{AuditEntry, AuditEvent};
use crate::expiry;
use crate::{
    CaRecord, CertFilter, CertRecord, CrlRecord, Error, NewCa, NewCertificate, Revocation, RevocationState, RevokedEntry, Store,
    TokenRecord,
};
use pool::{Pool, Session};
use writer::Writer;

mod acme;
mod certificates;
mod migrations;
mod pool;
mod tokens;
mod writer;

/// Rows fetched per round trip when streaming (revoked sets, the audit log).
const STREAM_BATCH: i32 = 10_000;

/// A store on PostgreSQL, with a pool of connections of its own.
///
/// The `postgres` client is synchronous and drives each connection with a small tokio
/// runtime of its own: opening, calling **and dropping** a `PostgresStore` from inside
/// an async task panics or stalls the executor. Async callers go through
/// `tokio::task::spawn_blocking` (or a thread of their own).
///
/// A callback given to `for_each_revoked` or `for_each_audit` runs while its stream
/// holds a connection: if it calls the store again, that needs a second one
/// (`pool_size` ≥ 2).
pub struct PostgresStore {
    pool: Pool,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/db`, libpq style; `?pool_size=N`
    /// sets how many connections this store keeps, 8 by default), using `schema` (created
    /// if missing) instead of the default search path when given, and applies pending
    /// migrations.
    pub fn open(url: &str, schema: Option<&str>) -> Result<PostgresStore, Error> {
        let target = pool::parse_url(url)?;
        let pool = Pool::new(target.config, schema, target.pool_size);
        pool.with(|s| {
            if let Some(schema) = schema {
                migrations::create_schema(&mut s.client, schema)?;
            }
            migrations::migrate(&mut s.client)
        })?;
        Ok(PostgresStore { pool })
    }

    /// Runs `f` in a transaction that holds the audit head, and commits.
    fn write<T>(&self, f: impl FnOnce(&mut Writer<'_>) -> Result<T, Error>) -> Result<T, Error> {
        self.pool.with(|s| {
            let mut w = Writer::begin(s)?;
            let out = f(&mut w)?;
            w.commit()?;
            Ok(out)
        })
    }

    /// Runs a read on a pooled connection (once more on another if that one was dead).
    fn read<T>(&self, f: impl Fn(&mut Session) -> Result<T, Error>) -> Result<T, Error> {
        self.pool.read(f)
    }

    /// Runs `sql` in a transaction and hands `f` its rows, `STREAM_BATCH` at a time.
    fn stream(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        f: &mut dyn FnMut(&Row) -> Result<(), Error>,
    ) -> Result<(), Error> {
        self.pool.with(|s| {
            let statement = s.stmts.get(&mut s.client, sql)?;
            let mut tx = s.client.build_transaction().read_only(true).start()?;
            let portal = tx.bind(&statement, params)?;
            loop {
                let rows = tx.query_portal(&portal, STREAM_BATCH)?;
                for row in &rows {
                    f(row)?;
                }
                if rows.len() < STREAM_BATCH as usize {
                    break;
                }
            }
            tx.commit()?;
            Ok(())
        })
    }
}

/// The constraint a unique violation names, if `e` is one.
pub(crate) fn unique_violation(e: &postgres::Error) -> Option<&str> {
    let db = e.as_db_error()?;
    (*db.code() == SqlState::UNIQUE_VIOLATION).then(|| db.constraint().unwrap_or_default())
}

const REVOKED_COLUMNS: &str = "issuer, serial, revocation_seq, revoked_at, revocation_reason, invalidity_date";

fn revoked_row(r: &Row) -> Result<RevokedEntry, Error> {
    Ok(RevokedEntry {
        issuer: r.try_get(0)?,
        serial: r.try_get(1)?,
        seq: r.try_get(2)?,
        revoked_at: r.try_get(3)?,
        reason: certificates::reason(r.try_get(4)?)?,
        invalidity_date: r.try_get(5)?,
    })
}

const CRL_COLUMNS: &str = "issuer, number, base_number, this_update, next_update, revocation_seq, entries, der";

fn crl_row(r: &Row) -> Result<CrlRecord, Error> {
    Ok(CrlRecord {
        issuer: r.try_get(0)?,
        number: r.try_get(1)?,
        base_number: r.try_get(2)?,
        this_update: r.try_get(3)?,
        next_update: r.try_get(4)?,
        revocation_seq: r.try_get(5)?,
        entries: r.try_get(6)?,
        der: r.try_get(7)?,
    })
}

fn audit_row(r: &Row) -> Result<AuditEntry, Error> {
    let seq: i64 = r.try_get(0)?;
    Ok(AuditEntry {
        seq: u64::try_from(seq).map_err(|_| Error::Backend(format!("audit entry with negative sequence number {seq}")))?,
        at: r.try_get(1)?,
        actor: r.try_get(2)?,
        action: r.try_get(3)?,
        target: r.try_get(4)?,
        details: r.try_get(5)?,
        prev_hash: r.try_get(6)?,
        hash: r.try_get(7)?,
    })
}

impl Store for PostgresStore {
    fn put_ca(&self, ca: &NewCa, event: &AuditEvent) -> Result<(), Error> {
        self.write(|w| {
            let inserted = w.execute(
                "INSERT INTO cas (name, role, parent, subject, serial, key_type, not_before, not_after, status, key_ref, der)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                &[
                    &ca.name,
                    &ca.role,
                    &ca.parent,
                    &ca.subject,
                    &ca.serial,
                    &ca.key_type,
                    &ca.not_before,
                    &ca.not_after,
                    &ca.status,
                    &ca.key_ref,
                    &ca.der,
                ],
            );
            match inserted {
                Err(e) if unique_violation(&e) == Some("cas_pkey") => return Err(Error::DuplicateCa(ca.name.clone())),
                other => other?,
            };
            w.append(event);
            Ok(())
        })
    }

    fn cas(&self) -> Result<Vec<CaRecord>, Error> {
        self.read(|s| {
            s.query(
                "SELECT name, role, parent, subject, serial, key_type, not_before, not_after, status, key_ref, der
                 FROM cas ORDER BY CASE role WHEN 'root' THEN 0 ELSE 1 END, name COLLATE \"C\"",
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(CaRecord {
                    name: r.try_get(0)?,
                    role: r.try_get(1)?,
                    parent: r.try_get(2)?,
                    subject: r.try_get(3)?,
                    serial: r.try_get(4)?,
                    key_type: r.try_get(5)?,
                    not_before: r.try_get(6)?,
                    not_after: r.try_get(7)?,
                    status: r.try_get(8)?,
                    key_ref: r.try_get(9)?,
                    der: r.try_get(10)?,
                })
            })
            .collect()
        })
    }

    fn put_certificates(&self, certs: &[(NewCertificate, AuditEvent)]) -> Result<(), Error> {
        self.write(|w| certificates::insert(w, certs))
    }

    fn certificates_by_serial(&self, serial: &str, now: i64) -> Result<Vec<CertRecord>, Error> {
        self.read(|s| {
            let sql = format!("SELECT {} FROM certificates WHERE serial = $1 ORDER BY id", certificates::CERT_COLUMNS);
            s.query(&sql, &[&serial])?.iter().map(|r| certificates::cert_row(r, now)).collect()
        })
    }

    fn list_certificates(&self, filter: &CertFilter) -> Result<Vec<CertRecord>, Error> {
        self.read(|s| certificates::list(s, filter))
    }

    fn revocation_state(&self, issuer: &str, serial: &str) -> Result<Option<RevocationState>, Error> {
        self.read(|s| {
            let Some(r) = s.query_opt(
                "SELECT status, revoked_at, revocation_reason FROM certificates WHERE serial = $1 AND issuer = $2",
                &[&serial, &issuer],
            )?
            else {
                return Ok(None);
            };
            let status: &str = r.try_get(0)?;
            let at: Option<i64> = r.try_get(1)?;
            let reason = certificates::reason(r.try_get(2)?)?;
            Ok(Some(match (status, at) {
                ("revoked", Some(at)) => RevocationState::Revoked { at, reason },
                _ => RevocationState::Valid,
            }))
        })
    }

    fn count_certificates(&self) -> Result<u64, Error> {
        self.read(|s| {
            let n: i64 = s.query_one("SELECT COUNT(*) FROM certificates", &[])?.try_get(0)?;
            u64::try_from(n).map_err(|e| Error::Backend(e.to_string()))
        })
    }

    fn count_expiring(&self, now: i64, until: i64) -> Result<Vec<(String, u64)>, Error> {
        let window = expiry::split(now, until);
        self.pool.with(|s| {
            // One snapshot for the buckets and the edges.
            let mut tx = s.client.build_transaction().read_only(true).isolation_level(IsolationLevel::RepeatableRead).start()?;
            let mut parts: Vec<(String, i64)> = Vec::new();
            for r in tx.query(
                "SELECT profile, SUM(count)::bigint FROM expiry_counts WHERE expiry_hour >= $1 AND expiry_hour <= $2 GROUP BY profile",
                &[&window.first, &window.last],
            )? {
                parts.push((r.try_get(0)?, r.try_get(1)?));
            }
            for (from, to) in &window.edges {
                for r in tx.query(
                    "SELECT profile, COUNT(*) FROM certificates WHERE status = 'valid' AND not_after >= $1 AND not_after <= $2
                     GROUP BY profile",
                    &[from, to],
                )? {
                    parts.push((r.try_get(0)?, r.try_get(1)?));
                }
            }
            tx.commit()?;
            Ok(expiry::merge(parts))
        })
    }

    fn valid_serials(&self, issuer: Option<&str>, profile: Option<&str>, now: i64) -> Result<Vec<(String, String)>, Error> {
        self.read(|s| {
            s.query(
                "SELECT issuer, serial FROM certificates WHERE status = 'valid' AND not_after >= $1
                 AND ($2::text IS NULL OR issuer = $2) AND ($3::text IS NULL OR profile = $3) ORDER BY id",
                &[&now, &issuer, &profile],
            )?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
        })
    }

    fn revoke(&self, issuer: &str, serial: &str, revocation: &Revocation, event: &AuditEvent) -> Result<(), Error> {
        self.write(|w| certificates::revoke(w, issuer, serial, revocation, event))
    }

    fn revoke_ca(&self, name: &str, issuer: &str, serial: &str, revocation: &Revocation, events: &[AuditEvent; 2]) -> Result<(), Error> {
        self.write(|w| {
            certificates::revoke(w, issuer, serial, revocation, &events[0])?;
            w.execute("UPDATE cas SET status = 'revoked' WHERE name = $1", &[&name])?;
            w.append(&events[1]);
            Ok(())
        })
    }

    fn revoke_many(
        &self,
        issuer: &str,
        serials: &[String],
        revocation: &Revocation,
        event: &dyn Fn(&str) -> AuditEvent,
    ) -> Result<Vec<String>, Error> {
        self.write(|w| certificates::revoke_many(w, issuer, serials, revocation, event))
    }

    fn revocation_seq(&self) -> Result<i64, Error> {
        self.read(|s| {
            Ok(s.query_one("SELECT COALESCE(MAX(revocation_seq), 0) FROM certificates WHERE revocation_seq IS NOT NULL", &[])?
                .try_get(0)?)
        })
    }

    fn revoked_since(&self, after_seq: i64, limit: u32) -> Result<Vec<RevokedEntry>, Error> {
        self.read(|s| {
            let sql =
                format!("SELECT {REVOKED_COLUMNS} FROM certificates WHERE revocation_seq > $1 ORDER BY revocation_seq LIMIT $2");
            s.query(&sql, &[&after_seq, &i64::from(limit)])?.iter().map(revoked_row).collect()
        })
    }

    fn for_each_revoked(
        &self,
        issuer: &str,
        seq_range: (i64, i64),
        expiring_after: i64,
        f: &mut dyn FnMut(&RevokedEntry) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let sql = format!(
            "SELECT {REVOKED_COLUMNS} FROM certificates
             WHERE issuer = $1 AND revocation_seq > $2 AND revocation_seq <= $3 AND not_after >= $4
             ORDER BY revocation_seq"
        );
        self.stream(&sql, &[&issuer, &seq_range.0, &seq_range.1, &expiring_after], &mut |r| f(&revoked_row(r)?))
    }

    fn revoked_after(&self, issuer: &str, after_seq: i64) -> Result<bool, Error> {
        self.read(|s| {
            Ok(s.query_opt(
                "SELECT 1 FROM certificates WHERE issuer = $1 AND revocation_seq > $2 AND revocation_seq IS NOT NULL LIMIT 1",
                &[&issuer, &after_seq],
            )?
            .is_some())
        })
    }

    fn latest_crl(&self, issuer: &str, delta: bool) -> Result<Option<CrlRecord>, Error> {
        self.read(|s| {
            let sql = format!(
                "SELECT {CRL_COLUMNS} FROM crls WHERE issuer = $1 AND (base_number IS NULL) = $2 ORDER BY number DESC LIMIT 1"
            );
            s.query_opt(&sql, &[&issuer, &!delta])?.as_ref().map(crl_row).transpose()
        })
    }

    fn last_crl_number(&self, issuer: &str) -> Result<i64, Error> {
        self.read(|s| Ok(s.query_one("SELECT COALESCE(MAX(number), 0) FROM crls WHERE issuer = $1", &[&issuer])?.try_get(0)?))
    }

    fn put_crl(&self, crl: &CrlRecord, event: &AuditEvent) -> Result<(), Error> {
        self.write(|w| {
            let result = w.execute(
                &format!("INSERT INTO crls ({CRL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"),
                &[
                    &crl.issuer,
                    &crl.number,
                    &crl.base_number,
                    &crl.this_update,
                    &crl.next_update,
                    &crl.revocation_seq,
                    &crl.entries,
                    &crl.der.as_slice(),
                ],
            );
            match result {
                Err(e) if unique_violation(&e) == Some("crls_pkey") => {
                    return Err(Error::CrlNumberTaken { issuer: crl.issuer.clone(), number: crl.number })
                }
                other => other?,
            };
            // Keep the newest full and delta CRL; numbers stay monotonic through MAX(number).
            w.execute(
                "DELETE FROM crls WHERE issuer = $1 AND (base_number IS NULL) = $2 AND number < $3",
                &[&crl.issuer, &crl.base_number.is_none(), &crl.number],
            )?;
            w.append(event);
            Ok(())
        })
    }

    fn append_audit(&self, event: &AuditEvent) -> Result<AuditEntry, Error> {
        self.write(|w| Ok(w.append(event)))
    }

    fn for_each_audit(&self, since: u64, f: &mut dyn FnMut(AuditEntry) -> Result<(), Error>) -> Result<(), Error> {
        let since = i64::try_from(since).unwrap_or(i64::MAX);
        self.stream(
            "SELECT seq, at, actor, action, target, details, prev_hash, hash FROM audit WHERE seq > $1 ORDER BY seq",
            &[&since],
            &mut |r| f(audit_row(r)?),
        )
    }

    fn put_token(&self, token: &TokenRecord, event: &AuditEvent) -> Result<(), Error> {
        self.write(|w| {
            tokens::insert(w, token)?;
            w.append(event);
            Ok(())
        })
    }

    fn token(&self, id: &str) -> Result<Option<TokenRecord>, Error> {
        self.read(|s| tokens::by_id(s, id))
    }

    fn tokens(&self) -> Result<Vec<TokenRecord>, Error> {
        self.read(tokens::all)
    }

    fn revoke_token(&self, id: &str, at: i64, event: &AuditEvent) -> Result<(), Error> {
        self.write(|w| {
            tokens::revoke(w, id, at)?;
            w.append(event);
            Ok(())
        })
    }

    fn acquire_lease(&self, name: &str, holder: &str, now: i64, ttl: i64) -> Result<bool, Error> {
        self.pool.with(|s| tokens::acquire_lease(s, name, holder, now, ttl))
    }

    fn release_lease(&self, name: &str, holder: &str) -> Result<(), Error> {
        self.pool.with(|s| tokens::release_lease(s, name, holder))
    }

    fn schema_version(&self) -> Result<i64, Error> {
        self.read(|s| migrations::version(&mut s.client))
    }

    fn meta(&self, key: &str) -> Result<Option<String>, Error> {
        self.read(|s| Ok(s.query_opt("SELECT value FROM meta WHERE key = $1", &[&key])?.map(|r| r.try_get(0)).transpose()?))
    }

    fn set_meta(&self, key: &str, value: &str, event: &AuditEvent) -> Result<(), Error> {
        self.write(|w| {
            w.execute(
                "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                &[&key, &value],
            )?;
            w.append(event);
            Ok(())
        })
    }

    fn set_cursor(&self, key: &str, value: &str) -> Result<(), Error> {
        self.write(|w| {
            w.execute(
                "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                &[&key, &value],
            )?;
            Ok(())
        })
    }

    fn acme(&self) -> &dyn crate::acme::AcmeStore {
        self
    }
}
