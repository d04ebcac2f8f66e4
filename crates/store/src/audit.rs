//! The audit log: a hash chain. Each entry's hash covers its own fields and the hash
//! of the entry before it, so changing, removing or reordering any entry breaks the
//! chain from that entry on.

use aws_lc_rs::digest;
use serde::Serialize;

/// The hash the first entry chains from.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened, before the store gives it a place in the chain.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    /// Unix time in seconds.
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    /// A JSON object, stored and hashed as this exact text.
    pub details: String,
}

impl AuditEvent {
    pub fn new(at: i64, actor: &str, action: &str, target: &str, details: serde_json::Value) -> AuditEvent {
        AuditEvent {
            at,
            actor: actor.to_string(),
            action: action.to_string(),
            target: target.to_string(),
            details: details.to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: u64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

/// SHA-256 over the length-prefixed fields, hex-encoded.
pub fn entry_hash(seq: u64, event: &AuditEvent, prev_hash: &str) -> String {
    let mut ctx = digest::Context::new(&digest::SHA256);
    let at = event.at.to_string();
    let seq = seq.to_string();
    for field in [seq.as_str(), &at, &event.actor, &event.action, &event.target, &event.details, prev_hash] {
        ctx.update(&(field.len() as u64).to_be_bytes());
        ctx.update(field.as_bytes());
    }
    hex::encode(ctx.finish().as_ref())
}

impl AuditEntry {
    /// The details as the JSON object they were recorded from (their compact text is
    /// what the hash covers), for exports and the API.
    pub fn details_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.details).unwrap_or_else(|_| serde_json::Value::String(self.details.clone()))
    }

    pub fn event(&self) -> AuditEvent {
        AuditEvent {
            at: self.at,
            actor: self.actor.clone(),
            action: self.action.clone(),
            target: self.target.clone(),
            details: self.details.clone(),
        }
    }
}

/// Walks the chain and reports the first entry that does not match.
pub struct ChainVerifier {
    expected_prev: String,
    expected_seq: u64,
    pub checked: u64,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier { expected_prev: GENESIS.to_string(), expected_seq: 1, checked: 0 }
    }
}

impl ChainVerifier {
    pub fn check(&mut self, entry: &AuditEntry) -> Result<(), String> {
        if entry.seq != self.expected_seq {
            return Err(format!("entry {} is out of sequence: expected entry {}", entry.seq, self.expected_seq));
        }
        if entry.prev_hash != self.expected_prev {
            return Err(format!("entry {} does not chain to entry {}: prev_hash differs", entry.seq, entry.seq - 1));
        }
        let computed = entry_hash(entry.seq, &entry.event(), &entry.prev_hash);
        if computed != entry.hash {
            return Err(format!("entry {} ({} {}) has been altered: its hash does not match its contents", entry.seq, entry.action, entry.target));
        }
        self.expected_prev = entry.hash.clone();
        self.expected_seq += 1;
        self.checked += 1;
        Ok(())
    }
}
