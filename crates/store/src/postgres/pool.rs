//! A small pool of PostgreSQL connections, with the statements each has prepared.
//!
//! Connections are opened on demand up to `pool_size` and kept; a caller that finds
//! them all busy waits (bounded) for one to come back. A connection that failed is
//! probed and, if broken, discarded rather than handed out again.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use postgres::types::ToSql;
use postgres::{Client, Config, GenericClient, NoTls, Row, Statement};

use crate::Error;

/// Connections per store when the URL does not say (`?pool_size=N`).
pub(super) const DEFAULT_POOL_SIZE: usize = 8;
/// How long a caller waits for a busy pool before giving up.
const WAIT_FOR_CONNECTION: Duration = Duration::from_secs(30);
/// Used when the URL sets no `connect_timeout`: an unreachable server fails, not hangs.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Prepared statements kept per connection; past this the cache starts over.
const MAX_STATEMENTS: usize = 256;

/// What a store URL says: the connection settings, and the ironpki-only parameters
/// taken out of it before the rest is handed to `postgres`.
pub(super) struct Target {
    pub config: Config,
    pub pool_size: usize,
}

/// Parses `postgres://user@host:port/db?pool_size=16&...` (or libpq's `key=value` form,
/// passed through as it is). Errors never repeat the URL, which may hold a password.
pub(super) fn parse_url(url: &str) -> Result<Target, Error> {
    let mut pool_size = DEFAULT_POOL_SIZE;
    let url_form = url.starts_with("postgres://") || url.starts_with("postgresql://");
    let rest = match url.split_once('?') {
        Some((base, query)) if url_form => {
            let mut kept = Vec::new();
            for pair in query.split('&').filter(|p| !p.is_empty()) {
                match pair.split_once('=') {
                    Some(("pool_size", value)) => {
                        pool_size = value.parse().ok().filter(|n: &usize| *n > 0).ok_or_else(|| {
                            Error::Backend(format!("PostgreSQL URL: pool_size must be a positive integer, not {value:?}"))
                        })?
                    }
                    _ => kept.push(pair),
                }
            }
            if kept.is_empty() {
                base.to_string()
            } else {
                format!("{base}?{}", kept.join("&"))
            }
        }
        _ => url.to_string(),
    };
    let mut config = Config::from_str(&rest).map_err(|e| Error::Backend(format!("invalid PostgreSQL URL: {e}")))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("ironpki");
    }
    Ok(Target { config, pool_size })
}

/// `name` as a quoted SQL identifier.
pub(super) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Statements prepared on one connection, by their text.
#[derive(Default)]
pub(super) struct Statements(HashMap<String, Statement>);

impl Statements {
    /// The statement for `sql`, prepared on `client` the first time it is asked for.
    pub fn get(&mut self, client: &mut impl GenericClient, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.0.get(sql) {
            return Ok(statement.clone());
        }
        let statement = client.prepare(sql)?;
        if self.0.len() >= MAX_STATEMENTS {
            self.0.clear();
        }
        self.0.insert(sql.to_string(), statement.clone());
        Ok(statement)
    }
}

/// One connection and its prepared statements.
pub(super) struct Session {
    pub client: Client,
    pub stmts: Statements,
}

impl Session {
    pub fn query(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, postgres::Error> {
        let statement = self.stmts.get(&mut self.client, sql)?;
        self.client.query(&statement, params)
    }

    pub fn query_opt(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Option<Row>, postgres::Error> {
        let statement = self.stmts.get(&mut self.client, sql)?;
        self.client.query_opt(&statement, params)
    }

    pub fn query_one(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Row, postgres::Error> {
        let statement = self.stmts.get(&mut self.client, sql)?;
        self.client.query_one(&statement, params)
    }

    pub fn execute(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, postgres::Error> {
        let statement = self.stmts.get(&mut self.client, sql)?;
        self.client.execute(&statement, params)
    }
}

struct State {
    idle: Vec<Session>,
    /// Connections open, idle or lent.
    open: usize,
}

pub(super) struct Pool {
    config: Config,
    /// `SET search_path ...`, run on every new connection.
    search_path: Option<String>,
    max: usize,
    state: Mutex<State>,
    returned: Condvar,
}

impl Pool {
    pub fn new(config: Config, schema: Option<&str>, max: usize) -> Pool {
        Pool {
            config,
            search_path: schema.map(|s| format!("SET search_path TO {}", quote_ident(s))),
            max: max.max(1),
            state: Mutex::new(State { idle: Vec::new(), open: 0 }),
            returned: Condvar::new(),
        }
    }

    /// Runs `f` on a pooled connection. After a backend error the connection is
    /// checked, and dropped if it no longer answers.
    pub fn with<T>(&self, f: impl FnOnce(&mut Session) -> Result<T, Error>) -> Result<T, Error> {
        self.run(f).0
    }

    /// Runs a read; if it failed because its connection had broken (a server restart
    /// leaves every idle connection dead), runs it once more on another. Writes are
    /// never run twice: whether a commit whose answer was lost took effect is unknown.
    pub fn read<T>(&self, f: impl Fn(&mut Session) -> Result<T, Error>) -> Result<T, Error> {
        match self.run(&f) {
            (Err(_), true) => self.with(f),
            (out, _) => out,
        }
    }

    /// Runs `f`; also says whether its connection was found broken afterwards.
    fn run<T>(&self, f: impl FnOnce(&mut Session) -> Result<T, Error>) -> (Result<T, Error>, bool) {
        let mut lent = match self.get() {
            Ok(lent) => lent,
            Err(e) => return (Err(e), false),
        };
        let Some(session) = lent.session.as_mut() else {
            return (Err(Error::Backend("connection pool: no session".into())), false);
        };
        let out = f(session);
        if matches!(out, Err(Error::Backend(_)))
            && (session.client.is_closed() || session.client.is_valid(Duration::from_secs(5)).is_err())
        {
            lent.broken = true;
        }
        let broken = lent.broken;
        (out, broken)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn get(&self) -> Result<Lent<'_>, Error> {
        let deadline = Instant::now() + WAIT_FOR_CONNECTION;
        let mut state = self.lock();
        loop {
            if let Some(session) = state.idle.pop() {
                return Ok(Lent { pool: self, session: Some(session), broken: false });
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                return match self.connect() {
                    Ok(session) => Ok(Lent { pool: self, session: Some(session), broken: false }),
                    Err(e) => {
                        self.forget_one();
                        Err(e)
                    }
                };
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::Backend(format!(
                    "no PostgreSQL connection came free within {}s (pool_size={})",
                    WAIT_FOR_CONNECTION.as_secs(),
                    self.max
                )));
            }
            state = self.returned.wait_timeout(state, deadline - now).unwrap_or_else(|poisoned| poisoned.into_inner()).0;
        }
    }

    fn connect(&self) -> Result<Session, Error> {
        let mut client = self.config.connect(NoTls).map_err(|e| match Error::from(e) {
            Error::Backend(text) => Error::Backend(format!("connecting to PostgreSQL: {text}")),
            other => other,
        })?;
        if let Some(set) = &self.search_path {
            client.batch_execute(set)?;
        }
        Ok(Session { client, stmts: Statements::default() })
    }

    /// A lent connection will not come back: make room for a new one.
    fn forget_one(&self) {
        let mut state = self.lock();
        state.open = state.open.saturating_sub(1);
        drop(state);
        self.returned.notify_one();
    }

    fn give_back(&self, session: Session) {
        let mut state = self.lock();
        state.idle.push(session);
        drop(state);
        self.returned.notify_one();
    }
}

/// A connection out of the pool; it goes back (or, broken, away) when dropped.
struct Lent<'a> {
    pool: &'a Pool,
    session: Option<Session>,
    broken: bool,
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        match self.session.take() {
            Some(session) if !self.broken && !session.client.is_closed() => self.pool.give_back(session),
            _ => self.pool.forget_one(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ironpki_parameters_are_taken_out_of_the_url() {
        let t = parse_url("postgres://app@db.example:6543/pki?pool_size=16&sslmode=disable").unwrap();
        assert_eq!(t.pool_size, 16);
        assert_eq!(t.config.get_user(), Some("app"));
        assert_eq!(t.config.get_dbname(), Some("pki"));
        assert_eq!(t.config.get_ports(), [6543]);
        assert_eq!(t.config.get_connect_timeout(), Some(&DEFAULT_CONNECT_TIMEOUT));

        let t = parse_url("postgresql://app@db/pki?pool_size=2").unwrap();
        assert_eq!((t.pool_size, t.config.get_dbname()), (2, Some("pki")));

        let t = parse_url("postgres://app@db/pki?connect_timeout=3").unwrap();
        assert_eq!(t.pool_size, DEFAULT_POOL_SIZE);
        assert_eq!(t.config.get_connect_timeout(), Some(&Duration::from_secs(3)));

        let t = parse_url("host=db user=app dbname=pki").unwrap();
        assert_eq!(t.config.get_dbname(), Some("pki"));
    }

    #[test]
    fn bad_urls_are_refused_without_repeating_them() {
        for url in ["postgres://app:secret@db/pki?pool_size=0", "postgres://app:secret@db/pki?pool_size=x"] {
            let err = parse_url(url).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains("pool_size"), "{err}");
            assert!(!err.contains("secret"), "{err}");
        }
        let err = parse_url("postgres://app:secret@db/pki?bogus_option=1").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("invalid PostgreSQL URL"), "{err}");
        assert!(!err.contains("secret"), "{err}");
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("t_1"), "\"t_1\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
