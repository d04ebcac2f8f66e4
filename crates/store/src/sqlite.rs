//! The embedded engine: one SQLite file in WAL mode. Writers take the database lock
//! at the start of their transaction (BEGIN IMMEDIATE), so the audit chain's tail is
//! read and extended by one writer at a time, also across processes.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Transaction, TransactionBehavior};

use crate::audit::{entry_hash, AuditEntry, AuditEvent, GENESIS};
use crate::expiry;
use crate::{
    CaRecord, CertFilter, CertRecord, CertStatus, CrlRecord, Error, NewCa, NewCertificate, Revocation, RevocationState,
    RevokedEntry, StatusFilter, Store, TokenRecord,
};
use background::Background;
use migrations::MIGRATIONS;
use names::Names;

mod background;
mod migrations;
mod names;
mod tokens;

/// How hard a commit waits for the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// fsync the WAL at every commit: a returned certificate survives power loss.
    Full,
    /// fsync at checkpoints only: survives a process crash, not a power loss.
    Normal,
}

/// Connections kept for reading beside the one writer: in WAL mode readers never wait
/// for a writer's commit (and its fsync), nor for each other.
const READERS: usize = 4;

/// Pause of the background checkpointer after a pass that copied the whole WAL.
const CHECKPOINT_IDLE: Duration = Duration::from_millis(500);
/// Pause between its passes while commits keep adding to the WAL: each pass copies a
/// few tens of milliseconds of commits, so it stays close behind the writer.
const CHECKPOINT_BUSY: Duration = Duration::from_millis(20);
/// WAL pages after which the writer checkpoints itself (4 KiB pages: about 40 MB): after
/// any write, except that a batch of certificates leaves it to [`Store::after_commit`], so
/// that it runs once the batch has been answered. The background checkpointer has copied
/// all but its last pass's worth by then, so this is short; it is what lets the WAL
/// restart from its beginning under continuous load.
const WRITER_CHECKPOINT_PAGES: i64 = 10_000;
/// SQLite's own checkpoint inside a commit, kept as a bound (about 400 MB) for a WAL that
/// the checks above missed.
const WRITER_AUTOCHECKPOINT_PAGES: i64 = 100_000;
/// Page cache of the writer and of each reader (negative: KiB), beyond SQLite's 2 MB
/// default: index pages stay in memory as the store grows to millions of rows.
const WRITER_CACHE_KIB: i64 = 65_536;
const READER_CACHE_KIB: i64 = 32_768;
/// Below this size the writer keeps SQLite's default 2 MB cache. At the end of every write
/// transaction SQLite's pager drops cached pages past the end of the database, and B-tree
/// balancing has used the page number just past the pending byte (1 GiB) as a scratch
/// number, so on a smaller database each commit that split a page scans the whole cache:
/// with 64 MB that scan was 1.6 % of the server's CPU under load, all of it in the one
/// writer. A database this large holds the scratch page number, and the scan stops.
const LARGE_DATABASE_BYTES: i64 = 1 << 30;
/// Write transactions between two looks at the database's size, until it is large.
const SIZE_CHECK_EVERY: u64 = 1024;

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
}

/// Copies the WAL into the database from a thread of its own (PASSIVE: never blocking a
/// writer), so that the checkpoints commits must still make (and their fsync of the
/// database file, with `durability: full`) are rare and short.
fn start_checkpointer(path: &Path, wal_pages: Arc<AtomicI64>) -> Result<Background, Error> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    Background::start("ironpki-checkpoint", CHECKPOINT_IDLE, move |_| {
        // (busy, pages in the WAL, pages copied): pages left mean commits came in
        // meanwhile, so the next pass comes soon.
        let pass = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)));
        if let Ok((log, _)) = pass {
            wal_pages.store(log, Ordering::Relaxed);
        }
        match pass {
            Ok((log, copied)) if copied < log => CHECKPOINT_BUSY,
            _ => CHECKPOINT_IDLE,
        }
    })
}

impl SqliteStore {
    /// Opens (creating if needed) the database and applies pending migrations.
    pub fn open(path: &Path, durability: Durability) -> Result<SqliteStore, Error> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        // Switching a fresh file to WAL, and migrating it, can meet another process doing
        // the same; SQLite then answers "busy" at once instead of waiting: try again.
        retry_while_locked(|| SqliteStore::prepare(&conn, durability))?;
        let mut store =
            SqliteStore {
            conn: Mutex::new(conn),
            readers: Vec::new(),
            next_reader: Default::default(),
            _checkpointer: None,
            wal_pages: Default::default(),
            names: None,
            writes: Default::default(),
            large: Default::default(),
        };
        retry_while_locked(|| store.migrate())?;
        store.names = Some(retry_while_locked(|| Names::open(path, &store.lock()))?);
        for _ in 0..READERS {
            let reader = Connection::open(path)?;
            reader.busy_timeout(Duration::from_secs(10))?;
            reader.pragma_update(None, "query_only", "ON")?;
            reader.pragma_update(None, "cache_size", -READER_CACHE_KIB)?;
            names::attach(&reader, path)?;
            store.readers.push(Mutex::new(reader));
        }
        store.lock().pragma_update(None, "wal_autocheckpoint", WRITER_AUTOCHECKPOINT_PAGES)?;
        store.size_writer_cache(&store.lock())?;
        store._checkpointer = Some(start_checkpointer(path, store.wal_pages.clone())?);
        Ok(store)
    }

    fn prepare(conn: &Connection, durability: Durability) -> Result<(), Error> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", if durability == Durability::Full { "FULL" } else { "NORMAL" })?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        Ok(())
    }

    /// Applies the migrations the store lacks, in one transaction. Foreign keys are off
    /// meanwhile (a migration may rebuild a referenced table, as SQLite's ALTER TABLE
    /// procedure does) and checked before the commit.
    fn migrate(&self) -> Result<(), Error> {
        let mut conn = self.lock();
        conn.pragma_update(None, "foreign_keys", "OFF")?;
        let migrated = (|| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let current: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            let known = MIGRATIONS.len() as i64;
            if current > known {
                return Err(Error::SchemaTooNew { found: current, known });
            }
            for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
                tx.execute_batch(sql)?;
                tx.pragma_update(None, "user_version", i as i64 + 1)?;
            }
            if tx.prepare("PRAGMA foreign_key_check")?.exists([])? {
                return Err(Error::Backend("a migration left rows whose foreign keys do not match".into()));
            }
            tx.commit()?;
            Ok(())
        })();
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrated
    }

    /// The writing connection.
    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A reading connection: the first free one, else the next in turn.
    fn reader(&self) -> std::sync::MutexGuard<'_, Connection> {
        for reader in &self.readers {
            if let Ok(conn) = reader.try_lock() {
                return conn;
            }
        }
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len().max(1);
        match self.readers.get(i) {
            Some(reader) => reader.lock().unwrap_or_else(|poisoned| poisoned.into_inner()),
            None => self.lock(),
        }
    }

    /// One write transaction, then the writer's checkpoint if the WAL is long.
    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T, Error>) -> Result<T, Error> {
        self.write_then(true, f)
    }

    /// One write transaction; the writer's checkpoint after it when `checkpoint`, else
    /// left to [`Store::after_commit`].
    fn write_then<T>(&self, checkpoint: bool, f: impl FnOnce(&Transaction<'_>) -> Result<T, Error>) -> Result<T, Error> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        let writes = self.writes.fetch_add(1, Ordering::Relaxed);
        if writes % SIZE_CHECK_EVERY == SIZE_CHECK_EVERY - 1 && !self.large.load(Ordering::Relaxed) {
            self.size_writer_cache(&conn)?;
        }
        if checkpoint {
            self.checkpoint_if_long(&conn);
        }
        Ok(out)
    }

    /// The writer's checkpoint, once the checkpointer last saw the WAL past
    /// [`WRITER_CHECKPOINT_PAGES`]: it copies what that thread has not, then syncs the
    /// database file (about 10 ms under load). A failure (an I/O error, which the next
    /// commit meets too) leaves the WAL to the next time, or to the autocheckpoint bound.
    fn checkpoint_if_long(&self, conn: &Connection) {
        if self.wal_pages.load(Ordering::Relaxed) >= WRITER_CHECKPOINT_PAGES {
            let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
            self.wal_pages.store(0, Ordering::Relaxed);
        }
    }

    /// Gives the writer its large cache once the database has grown past
    /// [`LARGE_DATABASE_BYTES`] (see there).
    fn size_writer_cache(&self, conn: &Connection) -> Result<(), Error> {
        let bytes: i64 = conn.query_row("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()", [], |r| r.get(0))?;
        if bytes >= LARGE_DATABASE_BYTES {
            conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
            self.large.store(true, Ordering::Relaxed);
        }
        Ok(())
    }
}

/// The tail of the audit chain inside one write transaction: read once, then carried
/// from entry to entry, so that a batch reads it once.
struct Chain {
    seq: u64,
    hash: String,
}

impl Chain {
    fn tail(tx: &Transaction<'_>) -> Result<Chain, Error> {
        let tail: Option<(i64, String)> = tx
            .prepare_cached("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        Ok(match tail {
            Some((seq, hash)) => Chain { seq: seq as u64, hash },
            None => Chain { seq: 0, hash: GENESIS.to_string() },
        })
    }

    /// Appends `event`; it becomes the tail.
    fn append(&mut self, tx: &Transaction<'_>, event: &AuditEvent) -> Result<(), Error> {
        let seq = self.seq + 1;
        let hash = entry_hash(seq, event, &self.hash);
        tx.prepare_cached(
            "INSERT INTO audit (seq, at, actor, action, target, details, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![seq as i64, event.at, event.actor, event.action, event.target, event.details, self.hash, hash])?;
        self.seq = seq;
        self.hash = hash;
        Ok(())
    }
}

fn append(tx: &Transaction<'_>, event: &AuditEvent) -> Result<AuditEntry, Error> {
    let mut chain = Chain::tail(tx)?;
    let prev_hash = chain.hash.clone();
    chain.append(tx, event)?;
    Ok(AuditEntry {
        seq: chain.seq,
        at: event.at,
        actor: event.actor.clone(),
        action: event.action.clone(),
        target: event.target.clone(),
        details: event.details.clone(),
        prev_hash,
        hash: chain.hash,
    })
}

/// Revokes one valid certificate: [`Error::NotFound`] or [`Error::AlreadyRevoked`] otherwise.
fn revoke_valid(tx: &Transaction<'_>, issuer: &str, serial: &str, rev: &Revocation) -> Result<(), Error> {
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

const CRL_COLUMNS: &str = "issuer, number, base_number, this_update, next_update, revocation_seq, entries, der";

fn crl_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CrlRecord> {
    Ok(CrlRecord {
        issuer: r.get(0)?,
        number: r.get(1)?,
        base_number: r.get(2)?,
        this_update: r.get(3)?,
        next_update: r.get(4)?,
        revocation_seq: r.get(5)?,
        entries: r.get(6)?,
        der: r.get(7)?,
    })
}

/// Runs `f` again while SQLite answers "locked" (up to about a second).
fn retry_while_locked<T>(mut f: impl FnMut() -> Result<T, Error>) -> Result<T, Error> {
    let mut attempt = 0;
    loop {
        match f() {
            Err(Error::Backend(m)) if m.contains("locked") && attempt < 100 => {
                attempt += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
        || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}

/// A WHERE clause built from optional filters, with numbered parameters.
#[derive(Default)]
struct Where {
    clauses: Vec<String>,
    args: Vec<rusqlite::types::Value>,
}

impl Where {
    fn arg(&mut self, clause: &str, value: rusqlite::types::Value) {
        self.args(clause, [value]);
    }
    /// Adds a clause whose `?`s take `values` in order.
    fn args<const N: usize>(&mut self, clause: &str, values: [rusqlite::types::Value; N]) {
        let mut numbered = String::with_capacity(clause.len() + 4 * N);
        for (i, part) in clause.split('?').enumerate() {
            if i > 0 {
                numbered.push_str(&format!("?{}", self.args.len() + i));
            }
            numbered.push_str(part);
        }
        self.args.extend(values);
        self.clauses.push(numbered);
    }
    fn raw(&mut self, clause: &str) {
        self.clauses.push(clause.to_string());
    }

    /// The filters of `f` on status, expiry, profile and issuer.
    fn filters(f: &CertFilter) -> Where {
        let mut w = Where::default();
        match f.status {
            Some(StatusFilter::Valid) => w.arg("status = 'valid' AND not_after >= ?", f.now.into()),
            Some(StatusFilter::Expired) => w.arg("status = 'valid' AND not_after < ?", f.now.into()),
            Some(StatusFilter::Revoked) => w.raw("status = 'revoked'"),
            None => {}
        }
        if let Some(window) = f.expiring_within {
            w.raw("status = 'valid'");
            w.arg("not_after >= ?", f.now.into());
            w.arg("not_after <= ?", (f.now + window).into());
        }
        if let Some(p) = &f.profile {
            w.arg("profile = ?", p.clone().into());
        }
        if let Some(i) = &f.issuer {
            w.arg("issuer = ?", i.clone().into());
        }
        w
    }

    /// Rows whose common name or SANs contain `text`, ignoring ASCII case, by scanning.
    fn name_scan(&mut self, text: &str) {
        self.args(
            "(instr(lower(common_name), lower(?)) > 0 OR instr(lower(sans), lower(?)) > 0)",
            [text.to_string().into(), text.to_string().into()],
        );
    }

    /// The page after `f`'s cursor: by (not_after, id) when listing what expires, else by
    /// `id_column`.
    fn cursor(&mut self, f: &CertFilter, id_column: &str) {
        match (f.after_id, f.after_not_after) {
            (Some(id), Some(not_after)) if f.expiring_within.is_some() => {
                self.args("(not_after, id) > (?, ?)", [not_after.into(), id.into()])
            }
            (Some(id), _) => self.arg(&format!("{id_column} > ?"), id.into()),
            _ => {}
        }
    }
}

/// `SELECT` the certificates of `from` that `w` lets through, in `order`, up to `f`'s limit.
fn query_certificates(conn: &Connection, from: &str, w: Where, order: &str, f: &CertFilter) -> Result<Vec<CertRecord>, Error> {
    let mut sql = format!("SELECT {CERT_COLUMNS} FROM {from}");
    if !w.clauses.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&w.clauses.join(" AND "));
    }
    sql.push_str(" ORDER BY ");
    sql.push_str(order);
    if let Some(limit) = f.limit {
        sql.push_str(&format!(" LIMIT {limit}"));
    }
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(w.args), cert_row(f.now))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

const CERT_COLUMNS: &str = "id, issuer, serial, subject, common_name, sans, key_type, profile, not_before, not_after, status, revoked_at, revocation_reason, requester, issued_at, der";

fn cert_row(now: i64) -> impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<CertRecord> {
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
            append(tx, event)?;
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
        let last_id = self.write_then(false, |tx| {
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
        })?;
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

    fn certificates_by_serial(&self, serial: &str) -> Result<Vec<CertRecord>, Error> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!("SELECT {CERT_COLUMNS} FROM certificates WHERE serial = ?1"))?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let rows = stmt.query_map([serial], cert_row(now))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn list_certificates(&self, f: &CertFilter) -> Result<Vec<CertRecord>, Error> {
        let expiring = f.expiring_within.is_some();
        let order = if expiring { "not_after, id" } else { "id" };
        let conn = self.reader();
        // Substrings of three characters or more go through the trigram index, and the
        // rows past its end (see `names`) are scanned; shorter ones (which it cannot
        // answer) are a scan. Both ignore ASCII case.
        let Some(text) = f.name_contains.as_ref().filter(|t| t.chars().count() >= 3) else {
            let mut w = Where::filters(f);
            if let Some(text) = &f.name_contains {
                w.name_scan(text);
            }
            w.cursor(f, "id");
            return query_certificates(&conn, "certificates", w, order, f);
        };
        // Through the index, rows come in its rowid (= id) order: no sort, and the LIMIT
        // ends the scan early however common the text is.
        let mut indexed = Where::filters(f);
        indexed.arg("certificate_names MATCH ?", format!("\"{}\"", text.replace('"', "\"\"")).into());
        indexed.cursor(f, "certificate_names.rowid");
        let mut tail = Where::filters(f);
        tail.raw("id > (SELECT indexed_through FROM names.names_index)");
        tail.name_scan(text);
        tail.cursor(f, "id");
        // One read transaction: the index and its end from one snapshot of the names file.
        // Every row up to that end is in the index, so the rows of the store's snapshot are
        // each found once, on one side, whichever of the two snapshots was taken first.
        let tx = conn.unchecked_transaction()?;
        let from = "names.certificate_names JOIN certificates ON certificates.id = certificate_names.rowid";
        let mut rows = query_certificates(&tx, from, indexed, if expiring { order } else { "certificate_names.rowid" }, f)?;
        // NOT INDEXED: the tail is found by its ids, never by an index on the other filters
        // (the expiry index would walk every certificate expiring in the window).
        rows.extend(query_certificates(&tx, "certificates NOT INDEXED", tail, order, f)?);
        if expiring {
            rows.sort_by_key(|c| (c.not_after, c.id));
        }
        rows.truncate(f.limit.map_or(usize::MAX, |n| n as usize));
        Ok(rows)
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
        let conn = self.reader();
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
            revoke_valid(tx, issuer, serial, rev)?;
            append(tx, event)?;
            Ok(())
        })
    }

    fn revoke_ca(&self, name: &str, issuer: &str, serial: &str, rev: &Revocation, events: &[AuditEvent; 2]) -> Result<(), Error> {
        self.write(|tx| {
            revoke_valid(tx, issuer, serial, rev)?;
            tx.execute("UPDATE cas SET status = 'revoked' WHERE name = ?1", [name])?;
            for event in events {
                append(tx, event)?;
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
        self.write(|tx| {
            let mut revoked = Vec::with_capacity(serials.len());
            let mut chain = Chain::tail(tx)?;
            for serial in serials {
                if mark_revoked(tx, issuer, serial, rev)? {
                    chain.append(tx, &event(serial))?;
                    revoked.push(serial.clone());
                }
            }
            Ok(revoked)
        })
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
        let conn = self.reader();
        let sql = format!(
            "SELECT {CRL_COLUMNS} FROM crls WHERE issuer = ?1 AND (base_number IS NULL) = ?2 ORDER BY number DESC LIMIT 1"
        );
        let crl = conn.prepare_cached(&sql)?.query_row(params![issuer, !delta], crl_row).optional()?;
        Ok(crl)
    }

    fn last_crl_number(&self, issuer: &str) -> Result<i64, Error> {
        let conn = self.reader();
        let n: Option<i64> =
            conn.prepare_cached("SELECT MAX(number) FROM crls WHERE issuer = ?1")?.query_row([issuer], |r| r.get(0))?;
        Ok(n.unwrap_or(0))
    }

    fn put_crl(&self, crl: &CrlRecord, event: &AuditEvent) -> Result<(), Error> {
        self.write(|tx| {
            // The DER goes in through incremental blob I/O: binding it as a parameter would
            // make SQLite copy the whole CRL (tens of MB for a million entries).
            let result = tx.execute(
                &format!("INSERT INTO crls ({CRL_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
                params![
                    crl.issuer,
                    crl.number,
                    crl.base_number,
                    crl.this_update,
                    crl.next_update,
                    crl.revocation_seq,
                    crl.entries,
                    rusqlite::blob::ZeroBlob(i32::try_from(crl.der.len()).map_err(|_| Error::Backend("CRL over 2 GiB".into()))?)
                ],
            );
            match result {
                Err(e) if is_unique_violation(&e) => {
                    return Err(Error::CrlNumberTaken { issuer: crl.issuer.clone(), number: crl.number })
                }
                other => other?,
            };
            let rowid = tx.last_insert_rowid();
            let mut blob = tx.blob_open(rusqlite::MAIN_DB, "crls", "der", rowid, false)?;
            std::io::Write::write_all(&mut blob, &crl.der).map_err(|e| Error::Backend(e.to_string()))?;
            blob.close()?;
            // Keep the newest full and delta CRL; numbers stay monotonic through MAX(number).
            tx.execute(
                "DELETE FROM crls WHERE issuer = ?1 AND (base_number IS NULL) = ?2 AND number < ?3",
                params![crl.issuer, crl.base_number.is_none(), crl.number],
            )?;
            append(tx, event)?;
            Ok(())
        })
    }

    fn append_audit(&self, event: &AuditEvent) -> Result<AuditEntry, Error> {
        self.write(|tx| append(tx, event))
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
            append(tx, event)?;
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
            append(tx, event)?;
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

    fn set_meta(&self, key: &str, value: &str, event: &AuditEvent) -> Result<(), Error> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
            append(tx, event)?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::names::tests::{open, put};
    use super::*;

    /// Past the threshold the writer checkpoints in `after_commit`, and the next commits
    /// write the WAL from its beginning; below it, `after_commit` leaves the WAL growing.
    /// (The background threads are stopped: only the writer checkpoints here.)
    #[test]
    fn the_writer_checkpoints_after_commit_once_the_wal_is_long() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("ironpki.db");
        let mut store = open(&db);
        store._checkpointer = None;
        store.names.as_mut().unwrap().stop();
        let wal = || std::fs::metadata(dir.path().join("ironpki.db-wal")).unwrap().len();
        put(&store, 0..300);
        let first = wal();
        store.after_commit();
        put(&store, 300..600);
        let grown = wal();
        assert!(grown > first, "below the threshold the WAL grows: {first} then {grown} bytes");
        store.wal_pages.store(WRITER_CHECKPOINT_PAGES, Ordering::Relaxed);
        store.after_commit();
        assert_eq!(store.wal_pages.load(Ordering::Relaxed), 0);
        put(&store, 600..900);
        assert_eq!(wal(), grown, "after the checkpoint the WAL restarted from its beginning");
        assert_eq!(store.count_certificates().unwrap(), 900);
    }
}
