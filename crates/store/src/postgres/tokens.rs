//! API tokens and leases in PostgreSQL.

use postgres::Row;

use super::pool::Session;
use super::unique_violation;
use super::writer::Writer;
use crate::{Error, TokenRecord};

const COLUMNS: &str =
    "id, description, role, profiles, san_patterns, secret_sha256, created_at, created_by, expires_at, revoked_at";

fn row(r: &Row) -> Result<TokenRecord, Error> {
    let profiles: String = r.try_get(3)?;
    let patterns: String = r.try_get(4)?;
    Ok(TokenRecord {
        id: r.try_get(0)?,
        description: r.try_get(1)?,
        role: r.try_get(2)?,
        profiles: list(&profiles)?,
        san_patterns: list(&patterns)?,
        secret_sha256: r.try_get(5)?,
        created_at: r.try_get(6)?,
        created_by: r.try_get(7)?,
        expires_at: r.try_get(8)?,
        revoked_at: r.try_get(9)?,
    })
}

/// A stored list that does not parse is an error, never "no restriction".
fn list(text: &str) -> Result<Vec<String>, Error> {
    serde_json::from_str(text).map_err(|e| Error::Backend(format!("unreadable token list {text:?}: {e}")))
}

fn json(list: &[String]) -> Result<String, Error> {
    serde_json::to_string(list).map_err(|e| Error::Backend(e.to_string()))
}

pub(super) fn insert(w: &mut Writer<'_>, t: &TokenRecord) -> Result<(), Error> {
    let result = w.execute(
        &format!("INSERT INTO tokens ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"),
        &[
            &t.id,
            &t.description,
            &t.role,
            &json(&t.profiles)?,
            &json(&t.san_patterns)?,
            &t.secret_sha256,
            &t.created_at,
            &t.created_by,
            &t.expires_at,
            &t.revoked_at,
        ],
    );
    match result {
        Err(e) if unique_violation(&e) == Some("tokens_pkey") => Err(Error::DuplicateToken(t.id.clone())),
        other => other.map(|_| ()).map_err(Error::from),
    }
}

pub(super) fn by_id(s: &mut Session, id: &str) -> Result<Option<TokenRecord>, Error> {
    s.query_opt(&format!("SELECT {COLUMNS} FROM tokens WHERE id = $1"), &[&id])?.as_ref().map(row).transpose()
}

pub(super) fn all(s: &mut Session) -> Result<Vec<TokenRecord>, Error> {
    // Byte order, as SQLite sorts, whatever the database's collation.
    s.query(&format!("SELECT {COLUMNS} FROM tokens ORDER BY created_at, id COLLATE \"C\""), &[])?.iter().map(row).collect()
}

/// Revokes a token; the caller holds the audit head, so no other writer changes it meanwhile.
pub(super) fn revoke(w: &mut Writer<'_>, id: &str, at: i64) -> Result<(), Error> {
    let revoked_at: Option<Option<i64>> =
        w.query_opt("SELECT revoked_at FROM tokens WHERE id = $1 FOR UPDATE", &[&id])?.map(|r| r.try_get(0)).transpose()?;
    match revoked_at {
        None => Err(Error::TokenNotFound(id.to_string())),
        Some(Some(_)) => Err(Error::TokenRevoked(id.to_string())),
        Some(None) => {
            w.execute("UPDATE tokens SET revoked_at = $1 WHERE id = $2", &[&at, &id])?;
            Ok(())
        }
    }
}

/// One statement: the upsert writes a row only if the lease is free, expired or the
/// holder's own. PostgreSQL locks the conflicting row and evaluates the WHERE on its
/// newest version, so two replicas racing for it cannot both win.
pub(super) fn acquire_lease(s: &mut Session, name: &str, holder: &str, now: i64, ttl: i64) -> Result<bool, Error> {
    let changed = s.execute(
        "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
         WHERE leases.holder = EXCLUDED.holder OR leases.expires_at < $4",
        &[&name, &holder, &now.saturating_add(ttl), &now],
    )?;
    Ok(changed == 1)
}

pub(super) fn release_lease(s: &mut Session, name: &str, holder: &str) -> Result<(), Error> {
    s.execute("DELETE FROM leases WHERE name = $1 AND holder = $2", &[&name, &holder])?;
    Ok(())
}
