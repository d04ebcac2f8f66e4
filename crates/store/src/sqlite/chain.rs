//! The audit chain in SQLite: entries appended inside the writer's transaction, which
//! holds the database lock, so the tail is read and extended by one writer at a time.

use rusqlite::{params, OptionalExtension, Transaction};

use crate::audit::{entry_hash, AuditEntry, AuditEvent, GENESIS};
use crate::Error;

/// The tail of the audit chain inside one write transaction: read once, then carried
/// from entry to entry, so that a batch reads it once.
pub(super) struct Chain {
    seq: u64,
    hash: String,
}

impl Chain {
    pub(super) fn tail(tx: &Transaction<'_>) -> Result<Chain, Error> {
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
    pub(super) fn append(&mut self, tx: &Transaction<'_>, event: &AuditEvent) -> Result<(), Error> {
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

/// Appends `event` after the tail that `tx` reads, and returns its entry.
pub(super) fn append(tx: &Transaction<'_>, event: &AuditEvent) -> Result<AuditEntry, Error> {
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
