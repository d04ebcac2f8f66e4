//! SQLite: a database file in a temporary directory.

use std::path::PathBuf;

use ironpki_store::sqlite::{Durability, SqliteStore};
use ironpki_store::{Error, Store};

use super::Engine;

pub struct SqliteEngine {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl SqliteEngine {
    pub fn fresh() -> SqliteEngine {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("ironpki.db");
        SqliteEngine { _dir: dir, path }
    }

    fn connection(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(&self.path).expect("open the SQLite file")
    }
}

impl Engine for SqliteEngine {
    fn open(&self) -> Result<Box<dyn Store>, Error> {
        Ok(Box::new(SqliteStore::open(&self.path, Durability::Normal)?))
    }

    fn execute(&self, sql: &str) {
        self.connection().execute_batch(sql).expect(sql);
    }

    fn set_schema_version(&self, version: i64) {
        self.connection().pragma_update(None, "user_version", version).expect("set user_version");
    }

    fn explain(&self, sql: &str) -> Vec<String> {
        let conn = self.connection();
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).expect(sql);
        let rows = stmt.query_map([], |r| r.get::<_, String>(3)).expect(sql);
        rows.collect::<Result<_, _>>().expect(sql)
    }
}
