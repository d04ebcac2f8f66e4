//! The engines the suite runs on, behind one trait.

pub mod postgres;
pub mod sqlite;

use ironpki_store::{Error, Store};

/// A fresh, empty database of one engine.
pub trait Engine: Sync {
    /// Opens a store on this database, as another process or replica would: each call
    /// is a new, independent store (connections of its own).
    fn open(&self) -> Result<Box<dyn Store>, Error>;
    /// Runs SQL on the database directly, around the store (to tamper with it).
    fn execute(&self, sql: &str);
    /// Overwrites the schema version the database records.
    fn set_schema_version(&self, version: i64);
    /// The query plan of `sql`, one line per step, as the engine explains it.
    fn explain(&self, sql: &str) -> Vec<String>;
}
