//! A writing transaction that appends to the audit chain.
//!
//! It starts by locking the chain's head row (`audit_head`, `SELECT ... FOR UPDATE`), so
//! writers from every replica take turns, as `BEGIN IMMEDIATE` makes them on SQLite:
//! whatever it reads after the lock (the revocation sequence, a token's state) no other
//! writer changes until it commits. The entries it appends are inserted, and the head
//! moved, in one statement at commit.

use postgres::types::ToSql;
use postgres::{Row, Transaction};

use super::pool::{Session, Statements};
use crate::audit::{entry_hash, AuditEntry, AuditEvent};
use crate::Error;

pub(super) struct Writer<'a> {
    tx: Transaction<'a>,
    stmts: &'a mut Statements,
    /// The chain's tail: the last sequence number and hash, committed or pending.
    seq: u64,
    hash: String,
    pending: Vec<AuditEntry>,
}

const FLUSH: &str = "WITH appended AS (
        INSERT INTO audit (seq, at, actor, action, target, details, prev_hash, hash)
        SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
    )
    UPDATE audit_head SET seq = $9, hash = $10 WHERE id = 1";

impl<'a> Writer<'a> {
    /// Begins a transaction and waits for the chain's head.
    pub fn begin(session: &'a mut Session) -> Result<Writer<'a>, Error> {
        let Session { client, stmts } = session;
        let mut tx = client.transaction()?;
        let lock = stmts.get(&mut tx, "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE")?;
        let head = tx.query_one(&lock, &[])?;
        let seq: i64 = head.try_get(0)?;
        let hash: String = head.try_get(1)?;
        let seq = u64::try_from(seq).map_err(|_| Error::Backend(format!("audit head has a negative sequence number {seq}")))?;
        Ok(Writer { tx, stmts, seq, hash, pending: Vec::new() })
    }

    pub fn query(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, postgres::Error> {
        let statement = self.stmts.get(&mut self.tx, sql)?;
        self.tx.query(&statement, params)
    }

    pub fn query_opt(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Option<Row>, postgres::Error> {
        let statement = self.stmts.get(&mut self.tx, sql)?;
        self.tx.query_opt(&statement, params)
    }

    pub fn query_one(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Row, postgres::Error> {
        let statement = self.stmts.get(&mut self.tx, sql)?;
        self.tx.query_one(&statement, params)
    }

    pub fn execute(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, postgres::Error> {
        let statement = self.stmts.get(&mut self.tx, sql)?;
        self.tx.execute(&statement, params)
    }

    /// Chains `event` after the tail; it is written at commit.
    pub fn append(&mut self, event: &AuditEvent) -> AuditEntry {
        let seq = self.seq + 1;
        let hash = entry_hash(seq, event, &self.hash);
        let entry = AuditEntry {
            seq,
            at: event.at,
            actor: event.actor.clone(),
            action: event.action.clone(),
            target: event.target.clone(),
            details: event.details.clone(),
            prev_hash: std::mem::replace(&mut self.hash, hash.clone()),
            hash,
        };
        self.seq = seq;
        self.pending.push(entry.clone());
        entry
    }

    /// Writes the appended entries, moves the head and commits.
    pub fn commit(mut self) -> Result<(), Error> {
        if !self.pending.is_empty() {
            let p = &self.pending;
            let seqs = p
                .iter()
                .map(|e| i64::try_from(e.seq))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| Error::Backend(e.to_string()))?;
            let ats: Vec<i64> = p.iter().map(|e| e.at).collect();
            let actors: Vec<&str> = p.iter().map(|e| e.actor.as_str()).collect();
            let actions: Vec<&str> = p.iter().map(|e| e.action.as_str()).collect();
            let targets: Vec<&str> = p.iter().map(|e| e.target.as_str()).collect();
            let details: Vec<&str> = p.iter().map(|e| e.details.as_str()).collect();
            let prevs: Vec<&str> = p.iter().map(|e| e.prev_hash.as_str()).collect();
            let hashes: Vec<&str> = p.iter().map(|e| e.hash.as_str()).collect();
            let last = seqs.last().copied().unwrap_or_default();
            let statement = self.stmts.get(&mut self.tx, FLUSH)?;
            self.tx
                .execute(&statement, &[&seqs, &ats, &actors, &actions, &targets, &details, &prevs, &hashes, &last, &self.hash])?;
        }
        self.tx.commit()?;
        Ok(())
    }
}
