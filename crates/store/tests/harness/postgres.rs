//! PostgreSQL: a schema of its own per test, dropped when the test ends (passed or not).

use std::io::Write;
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use ironpki_store::postgres::PostgresStore;
use ironpki_store::{Error, Store};

use super::Engine;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

pub struct PostgresEngine {
    url: String,
    schema: String,
    /// A connection of the test's own, its search_path on the schema.
    admin: Mutex<postgres::Client>,
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl PostgresEngine {
    /// A fresh schema on the test server; `None` (after saying so) if the server cannot
    /// be reached, except under `CI=true`, where that fails the test.
    pub fn fresh() -> Option<PostgresEngine> {
        let url = std::env::var("IRONPKI_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_URL.to_string());
        let connected = postgres::Config::from_str(&url)
            .and_then(|mut config| config.connect_timeout(Duration::from_secs(5)).connect(postgres::NoTls));
        let mut admin = match connected {
            Ok(client) => client,
            Err(e) => {
                let cause = std::error::Error::source(&e).map(|c| format!(": {c}")).unwrap_or_default();
                return skip_or_fail(&url, &format!("{e}{cause}"));
            }
        };
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let mut random = [0u8; 4];
        aws_lc_rs::rand::fill(&mut random).expect("random bytes");
        let schema = format!("t_{}_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed), hex::encode(random));
        // The store creates the schema; until then the search path names nothing.
        admin.batch_execute(&format!("SET search_path TO {}", quoted(&schema))).expect("set search_path");
        Some(PostgresEngine { url, schema, admin: Mutex::new(admin) })
    }

    fn admin(&self) -> std::sync::MutexGuard<'_, postgres::Client> {
        self.admin.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Unreachable server: fails the test under `CI=true`, else says so and skips it.
fn skip_or_fail(url: &str, why: &str) -> Option<PostgresEngine> {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("PostgreSQL not reachable at {url} ({why}); under CI=true the PostgreSQL store tests must run");
    }
    // Straight to stderr, past the test harness's capture, so that a run shows it.
    let _ = writeln!(std::io::stderr(), "skipping: PostgreSQL not reachable at {url} ({why})");
    None
}

impl PostgresEngine {
    /// A store whose connections carry the schema's name as their application_name,
    /// with `params` (`pool_size=N`, ...) added to the URL.
    pub fn open_with(&self, params: &str) -> Result<PostgresStore, Error> {
        let separator = if self.url.contains('?') { '&' } else { '?' };
        let mut url = format!("{}{separator}application_name={}", self.url, self.schema);
        if !params.is_empty() {
            url.push('&');
            url.push_str(params);
        }
        PostgresStore::open(&url, Some(&self.schema))
    }

    /// How many connections the stores of this test have open.
    pub fn connections(&self) -> i64 {
        let row = self
            .admin()
            .query_one("SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = $1", &[&self.schema])
            .expect("count connections");
        row.get(0)
    }

    /// Ends every connection of this test's stores, as a server restart would, and
    /// waits until they are gone.
    pub fn kill_connections(&self) -> i64 {
        let rows = self
            .admin()
            .query("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE application_name = $1", &[&self.schema])
            .expect("terminate connections");
        rows.len() as i64
    }
}

impl Engine for PostgresEngine {
    fn open(&self) -> Result<Box<dyn Store>, Error> {
        Ok(Box::new(self.open_with("")?))
    }

    fn execute(&self, sql: &str) {
        self.admin().batch_execute(sql).expect(sql);
    }

    fn set_schema_version(&self, version: i64) {
        let version = i32::try_from(version).expect("version fits an INTEGER");
        self.admin().execute("UPDATE ironpki_schema SET version = $1 WHERE id = 1", &[&version]).expect("set version");
    }

    fn explain(&self, sql: &str) -> Vec<String> {
        let mut admin = self.admin();
        // On a near-empty table a sequential scan is cheapest; forbid it to see
        // whether an index can serve the query at all.
        let mut tx = admin.transaction().expect("begin");
        tx.batch_execute("SET LOCAL enable_seqscan = off").expect("enable_seqscan");
        let rows = tx.query(&format!("EXPLAIN {sql}"), &[]).expect(sql);
        rows.iter().map(|r| r.get::<_, String>(0)).collect()
    }
}

impl Drop for PostgresEngine {
    fn drop(&mut self) {
        let drop_schema = format!("DROP SCHEMA IF EXISTS {} CASCADE", quoted(&self.schema));
        if let Err(e) = self.admin().batch_execute(&drop_schema) {
            eprintln!("could not drop test schema {}: {e}", self.schema);
        }
    }
}
