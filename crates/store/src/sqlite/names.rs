//! The names index of the SQLite store: a trigram FTS5 index of each certificate's
//! common name and SANs, for substring search. It lives in a database file of its own
//! (`<store>-names`), filled by a thread of its own, so that the writer of certificates
//! never waits for it.
//!
//! FTS5 writes an index segment at every statement that adds to it and merges segments
//! as they pile up. Filled in the writer's transactions (every 1,024 certificates, in
//! one statement), a fill took 8 ms on average and its merges up to 25 ms, and every
//! request of the batch being committed waited for it: the fills alone set the p99 of
//! issuance under load (BENCHMARKS.md). In a file of its own the index has its own write
//! lock: the indexer reads committed certificates from a snapshot of the store, which
//! never blocks the store's writer, and writes only the names file.
//!
//! The index covers the certificates with ids up to `names_index.indexed_through`, all of
//! them: the one writer allocates ids in commit order, so the rows past that id are
//! exactly the ones not yet indexed, and a search scans them by their text. The index is
//! derived data: `synchronous=NORMAL`, and rebuilt from the store when it does not match
//! it (another store's, or reaching past the store's last row, as after a restore).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use super::background::Background;
use crate::Error;

/// Certificates recorded before the writer wakes the indexer: each fill then writes one
/// large segment instead of many small ones, and searches scan at most about this many
/// rows past the index by their text.
pub(super) const NAMES_BATCH: i64 = 1024;
/// Fewer than `NAMES_BATCH` waiting are indexed once no fill has run for this long.
const IDLE: Duration = Duration::from_secs(1);
/// Most certificates indexed in one transaction (catching up after a rebuild).
const MAX_FILL: i64 = 65_536;
/// The `meta` key of the store's names-index identity, which the names file repeats.
const STORE_ID_KEY: &str = "names_index";

const SCHEMA: &str = "
CREATE VIRTUAL TABLE IF NOT EXISTS certificate_names USING fts5(names, content='', tokenize='trigram');
CREATE TABLE IF NOT EXISTS names_index (
    one             INTEGER PRIMARY KEY CHECK (one = 1),
    store           TEXT NOT NULL,
    indexed_through INTEGER NOT NULL
);";

/// The names file of the store at `db`.
pub(super) fn path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-names");
    PathBuf::from(name)
}

/// `path` as the text `ATTACH` takes.
pub(super) fn attach_path(db: &Path) -> Result<String, Error> {
    let names = path(db);
    names.to_str().map(str::to_string).ok_or_else(|| Error::Backend(format!("{} is not UTF-8", names.display())))
}

/// Attaches the names file to `conn` as `names`.
pub(super) fn attach(conn: &Connection, db: &Path) -> Result<(), Error> {
    conn.execute("ATTACH DATABASE ?1 AS names", [attach_path(db)?])?;
    Ok(())
}

/// The indexer of one open store.
pub(super) struct Names {
    /// The last id in the index, as the indexer last saw it.
    through: Arc<AtomicI64>,
    indexer: Option<Background>,
}

impl Names {
    /// Creates or checks the names file of the store at `db` (whose writer is `store`),
    /// then starts the indexer.
    pub(super) fn open(db: &Path, store: &Connection) -> Result<Names, Error> {
        let id: String = store.query_row("SELECT value FROM meta WHERE key = ?1", [STORE_ID_KEY], |r| r.get(0))?;
        let last: i64 = store.query_row("SELECT coalesce(max(id), 0) FROM certificates", [], |r| r.get(0))?;
        let through = Arc::new(AtomicI64::new(prepare(db, &id, last)?));
        let mut conn = Connection::open(db)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        attach(&conn, db)?;
        let reach = through.clone();
        let mut filled = Instant::now();
        let indexer = Background::start("ironpki-names", Duration::ZERO, move |stop| {
            // A failed fill is tried again at the next wake; searches scan what is not indexed.
            let _ = catch_up(&mut conn, &reach, &mut filled, stop);
            IDLE
        })?;
        Ok(Names { through, indexer: Some(indexer) })
    }

    /// After the writer's commit of certificates up to `last_id`: wakes the indexer once
    /// a batch is waiting.
    pub(super) fn committed(&self, last_id: i64) {
        if last_id - self.through.load(Ordering::Relaxed) >= NAMES_BATCH {
            if let Some(indexer) = &self.indexer {
                indexer.nudge();
            }
        }
    }

    /// Stops the indexer (tests fill the index themselves, to put its end where they want).
    #[cfg(test)]
    pub(super) fn stop(&mut self) {
        self.indexer = None;
    }
}

/// Creates the names file if needed and empties it if it is not this store's index;
/// returns how far it reaches.
fn prepare(db: &Path, store_id: &str, last_id: i64) -> Result<i64, Error> {
    let mut conn = Connection::open(path(db))?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(SCHEMA)?;
    let found: Option<(String, i64)> =
        tx.query_row("SELECT store, indexed_through FROM names_index", [], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
    let through = match found {
        Some((store, through)) if store == store_id && through <= last_id => through,
        _ => {
            tx.execute("INSERT INTO certificate_names (certificate_names) VALUES ('delete-all')", [])?;
            tx.execute("INSERT OR REPLACE INTO names_index (one, store, indexed_through) VALUES (1, ?1, 0)", [store_id])?;
            0
        }
    };
    tx.commit()?;
    Ok(through)
}

/// Indexes what is waiting, when a batch is waiting or nothing was filled for `IDLE`.
fn catch_up(conn: &mut Connection, reach: &AtomicI64, filled: &mut Instant, stop: &AtomicBool) -> Result<(), Error> {
    let last: i64 = conn.query_row("SELECT coalesce(max(id), 0) FROM main.certificates", [], |r| r.get(0))?;
    let waiting = last - reach.load(Ordering::Relaxed);
    if waiting < NAMES_BATCH && (waiting <= 0 || filled.elapsed() < IDLE) {
        return Ok(());
    }
    while !stop.load(Ordering::Relaxed) {
        let through = fill(conn, last)?;
        reach.store(through, Ordering::Relaxed);
        if through >= last {
            break;
        }
    }
    *filled = Instant::now();
    Ok(())
}

/// Adds the names of the certificates past the index's end, up to `last` (at most
/// `MAX_FILL` of them), in one transaction of the names file; returns the new end. A
/// common name found in the SANs' text (the usual case) is indexed through it alone:
/// every search for part of it still finds the row, with half the trigrams.
pub(super) fn fill(conn: &mut Connection, last: i64) -> Result<i64, Error> {
    // Deferred: the first statement takes the write lock of the names file only (the
    // store's is never taken), and the end read after it is the one to extend.
    let tx = conn.transaction()?;
    tx.execute("UPDATE names.names_index SET indexed_through = indexed_through", [])?;
    let through: i64 = tx.query_row("SELECT indexed_through FROM names.names_index", [], |r| r.get(0))?;
    let to = last.min(through + MAX_FILL);
    if to <= through {
        return Ok(through);
    }
    tx.prepare_cached(
        "INSERT INTO names.certificate_names (rowid, names)
         SELECT id, CASE WHEN common_name IS NULL OR instr(sans, common_name) > 0 THEN sans
                         ELSE common_name || ' ' || sans END
         FROM main.certificates WHERE id > ?1 AND id <= ?2",
    )?
    .execute([through, to])?;
    tx.execute("UPDATE names.names_index SET indexed_through = ?1", [to])?;
    tx.commit()?;
    Ok(to)
}

#[cfg(test)]
pub(in crate::sqlite) mod tests {
    use super::*;
    use crate::sqlite::{Durability, SqliteStore};
    use crate::{AuditEvent, CaRecord, CertFilter, NewCertificate, Store};

    /// A store at `db` with the CA its certificates name as issuer.
    pub(in crate::sqlite) fn open(db: &Path) -> SqliteStore {
        let store = SqliteStore::open(db, Durability::Normal).unwrap();
        let ca = CaRecord {
            name: "issuing".into(),
            role: "root".into(),
            parent: None,
            subject: "CN=issuing".into(),
            serial: "01".into(),
            key_type: "ecdsa-p256".into(),
            not_before: 0,
            not_after: 10_000,
            status: "active".into(),
            key_ref: "ca/issuing/key.pem".into(),
            der: vec![1],
        };
        store.put_ca(&ca, &AuditEvent::new(1, "test", "ca.created", "ca:issuing", serde_json::json!({}))).unwrap();
        store
    }

    fn row(i: i64) -> (NewCertificate, AuditEvent) {
        let mut sans = vec![format!("dns:node-{i}.fleet.example")];
        if i % 7 == 0 {
            sans.push(format!("dns:seventh-{i}.example"));
        }
        let c = NewCertificate {
            issuer: "issuing".into(),
            serial: format!("{i:05x}"),
            subject: format!("CN=node-{i}"),
            common_name: Some(format!("node-{i}")),
            sans,
            key_type: "ecdsa-p256".into(),
            profile: "device".into(),
            not_before: 0,
            not_after: 1_000 + (i * 13 % 11),
            requester: "test".into(),
            issued_at: 0,
            der: vec![2],
        };
        (c, AuditEvent::new(2, "test", "cert.issued", &format!("cert:{i}"), serde_json::json!({})))
    }

    pub(in crate::sqlite) fn put(store: &SqliteStore, ids: std::ops::Range<i64>) {
        let rows: Vec<_> = ids.map(row).collect();
        for batch in rows.chunks(100) {
            store.put_certificates(batch).unwrap();
        }
    }

    fn find(store: &SqliteStore, text: &str) -> Vec<String> {
        let filter = CertFilter { now: 0, name_contains: Some(text.into()), ..CertFilter::default() };
        store.list_certificates(&filter).unwrap().into_iter().filter_map(|c| c.common_name).collect()
    }

    fn reach(db: &Path) -> i64 {
        Connection::open(path(db)).unwrap().query_row("SELECT indexed_through FROM names_index", [], |r| r.get(0)).unwrap()
    }

    fn nodes(ids: impl Iterator<Item = i64>) -> Vec<String> {
        ids.map(|i| format!("node-{i}")).collect()
    }

    /// A store of `rows` certificates whose indexer is stopped, and a connection to fill
    /// its index with.
    fn stopped(rows: i64) -> (tempfile::TempDir, PathBuf, SqliteStore, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("ironpki.db");
        let mut store = open(&db);
        store.names.as_mut().unwrap().stop();
        put(&store, 0..rows);
        let conn = Connection::open(&db).unwrap();
        attach(&conn, &db).unwrap();
        (dir, db, store, conn)
    }

    /// With the index's end at row 1,024 of 1,300, every row is found once, in id order,
    /// on either side; the end stays where the fill put it across a reopening.
    #[test]
    fn searches_join_the_index_and_the_rows_past_it() {
        let (_dir, db, store, mut conn) = stopped(1300);
        assert_eq!(reach(&db), 0, "nothing indexed with the indexer stopped");
        assert_eq!(fill(&mut conn, 1024).unwrap(), 1024);
        assert_eq!(fill(&mut conn, 1024).unwrap(), 1024, "a second fill to the same end adds nothing");
        assert_eq!(reach(&db), 1024);

        assert_eq!(find(&store, "SEVENTH-"), nodes((0..1300).filter(|i| i % 7 == 0)));
        assert_eq!(find(&store, "fleet.example"), nodes(0..1300));
        for i in [1022, 1023, 1024, 1025, 1299] {
            assert_eq!(find(&store, &format!("node-{i}.")), nodes(i..i + 1), "row id {}", i + 1);
        }
        assert_eq!(find(&store, "node-12").len(), 111);
        drop(store);
        let reopened = SqliteStore::open(&db, Durability::Normal).unwrap();
        assert!(reopened.names.as_ref().unwrap().through.load(Ordering::Relaxed) >= 1024, "the index was kept");
        assert_eq!(find(&reopened, "fleet.example"), nodes(0..1300));
    }

    /// A names file that is not this store's index (another store's, or reaching past its
    /// last row) is emptied, and searches scan every row meanwhile.
    #[test]
    fn a_foreign_or_overreaching_index_is_rebuilt() {
        let (_dir, db, store, mut conn) = stopped(300);
        assert_eq!(fill(&mut conn, 300).unwrap(), 300);
        let id: String = conn.query_row("SELECT value FROM meta WHERE key = ?1", [STORE_ID_KEY], |r| r.get(0)).unwrap();
        assert_eq!(prepare(&db, &id, 300).unwrap(), 300, "this store's index is kept");
        assert_eq!(prepare(&db, &id, 299).unwrap(), 0, "an index past the store's last row is emptied");
        assert_eq!(find(&store, "fleet.example"), nodes(0..300));
        assert_eq!(fill(&mut conn, 300).unwrap(), 300);
        assert_eq!(prepare(&db, "another store", 300).unwrap(), 0, "another store's index is emptied");
        let hits: i64 = conn.query_row("SELECT count(*) FROM names.certificate_names('fleet')", [], |r| r.get(0)).unwrap();
        assert_eq!(hits, 0);
        assert_eq!(find(&store, "seventh-"), nodes((0..300).filter(|i| i % 7 == 0)));
    }

    /// The writer wakes the indexer once a batch is waiting, and the indexer fills it.
    #[test]
    fn a_waiting_batch_is_indexed_in_the_background() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("ironpki.db");
        let store = open(&db);
        put(&store, 0..NAMES_BATCH + 100);
        let deadline = Instant::now() + Duration::from_secs(30);
        while reach(&db) < NAMES_BATCH {
            assert!(Instant::now() < deadline, "the indexer did not fill a waiting batch");
            std::thread::park_timeout(Duration::from_millis(10));
        }
        assert_eq!(find(&store, "fleet.example").len(), (NAMES_BATCH + 100) as usize);
    }
}
