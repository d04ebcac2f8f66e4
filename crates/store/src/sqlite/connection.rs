//! The connections of the SQLite store: opening and tuning them, the one writer and its
//! write transactions, the readers beside it, and the checkpoints that keep the WAL short.

use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::background::Background;
use super::names::{self, Names};
use super::{migrations, Durability, SqliteStore};
use crate::Error;

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
///
/// [`Store::after_commit`]: crate::Store::after_commit
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

/// The WAL file beside the database (`NAME-wal`).
fn wal_path(path: &Path) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    name.into()
}

impl SqliteStore {
    /// Opens (creating if needed) the database and applies pending migrations.
    pub fn open(path: &Path, durability: Durability) -> Result<SqliteStore, Error> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        // Switching a fresh file to WAL, and migrating it, can meet another process doing
        // the same; SQLite then answers "busy" at once instead of waiting: try again.
        retry_while_locked(|| SqliteStore::prepare(&conn))?;
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
            full: durability == Durability::Full,
            synced: Default::default(),
            wal: wal_path(path),
        };
        retry_while_locked(|| migrations::migrate(&mut store.lock()))?;
        if store.full {
            store.sync_wal()?;
        }
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

    /// WAL mode; commits do not sync (`durability: full` syncs the WAL after them, for many
    /// at once, in `write_then`); a checkpoint syncs the WAL before and the database after.
    fn prepare(conn: &Connection) -> Result<(), Error> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        Ok(())
    }

    /// The writing connection.
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A reading connection: the first free one, else the next in turn.
    pub(super) fn reader(&self) -> std::sync::MutexGuard<'_, Connection> {
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
    pub(super) fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T, Error>) -> Result<T, Error> {
        self.write_then(true, f)
    }

    /// One write transaction whose caller does not wait for the disk, for what is safe to
    /// lose only to a machine crash: the WAL is appended in order, so the next synced
    /// commit makes this one durable too, and a process crash loses nothing written to it.
    pub(super) fn write_unsynced<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T, Error>) -> Result<T, Error> {
        let mut conn = self.lock();
        Ok(self.write_on(&mut conn, true, f)?.0)
    }

    /// One write transaction; the writer's checkpoint after it when `checkpoint`, else
    /// left to [`Store::after_commit`]. With `durability: full` it returns once the WAL
    /// holding the commit is synced: the writer commits without syncing (`synchronous =
    /// NORMAL`) and releases the connection, then [`Self::sync_through`] syncs the WAL once
    /// for every commit made meanwhile (group commit: one fsync serves many writers).
    ///
    /// [`Store::after_commit`]: crate::Store::after_commit
    pub(super) fn write_then<T>(&self, checkpoint: bool, f: impl FnOnce(&Transaction<'_>) -> Result<T, Error>) -> Result<T, Error> {
        let mut conn = self.lock();
        let (out, commit) = self.write_on(&mut conn, checkpoint, f)?;
        drop(conn);
        self.sync_through(commit)?;
        Ok(out)
    }

    /// Runs and commits one transaction on the locked writer: its result and the commit's
    /// number (commits are numbered in the order they reach the WAL).
    fn write_on<T>(&self, conn: &mut Connection, checkpoint: bool, f: impl FnOnce(&Transaction<'_>) -> Result<T, Error>) -> Result<(T, u64), Error> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        let writes = self.writes.fetch_add(1, Ordering::SeqCst);
        if writes % SIZE_CHECK_EVERY == SIZE_CHECK_EVERY - 1 && !self.large.load(Ordering::Relaxed) {
            self.size_writer_cache(conn)?;
        }
        if checkpoint {
            self.checkpoint_if_long(conn);
        }
        Ok((out, writes + 1))
    }

    /// With `durability: full`, returns once commit number `commit` is on disk: if no sync
    /// since it was made has covered it, syncs the WAL file, covering every commit made
    /// so far. (A checkpoint syncs the WAL before copying it, so frames it copied and a
    /// restarted WAL overwrote are on disk already.)
    pub(super) fn sync_through(&self, commit: u64) -> Result<(), Error> {
        if !self.full {
            return Ok(());
        }
        let mut synced = self.synced.lock().unwrap_or_else(|e| e.into_inner());
        if *synced >= commit {
            return Ok(());
        }
        let upto = self.writes.load(Ordering::SeqCst);
        self.sync_wal()?;
        *synced = upto;
        Ok(())
    }

    /// fdatasync(2) of the WAL file: it flushes the file whichever descriptor wrote it.
    fn sync_wal(&self) -> Result<(), Error> {
        let wal = match std::fs::File::open(&self.wal) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Error::Backend(format!("{}: {e}", self.wal.display()))),
        };
        wal.sync_data().map_err(|e| Error::Backend(format!("syncing {}: {e}", self.wal.display())))
    }

    /// The writer's checkpoint, once the checkpointer last saw the WAL past
    /// [`WRITER_CHECKPOINT_PAGES`]: it copies what that thread has not, then syncs the
    /// database file (about 10 ms under load). A failure (an I/O error, which the next
    /// commit meets too) leaves the WAL to the next time, or to the autocheckpoint bound.
    pub(super) fn checkpoint_if_long(&self, conn: &Connection) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlite::names::tests::{open, put};
    use crate::Store;

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
