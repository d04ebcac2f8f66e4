//! API tokens and leases in SQLite.

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::is_unique_violation;
use crate::{Error, TokenRecord};

const COLUMNS: &str = "id, description, role, profiles, san_patterns, secret_sha256, created_at, created_by, expires_at, revoked_at";

/// A stored list that does not parse is an error, never "no restriction".
fn list(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Vec<String>> {
    let text: String = r.get(i)?;
    serde_json::from_str(&text).map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e)))
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRecord> {
    Ok(TokenRecord {
        id: r.get(0)?,
        description: r.get(1)?,
        role: r.get(2)?,
        profiles: list(r, 3)?,
        san_patterns: list(r, 4)?,
        secret_sha256: r.get(5)?,
        created_at: r.get(6)?,
        created_by: r.get(7)?,
        expires_at: r.get(8)?,
        revoked_at: r.get(9)?,
    })
}

fn json(list: &[String]) -> Result<String, Error> {
    serde_json::to_string(list).map_err(|e| Error::Backend(e.to_string()))
}

pub(super) fn insert(tx: &Transaction<'_>, t: &TokenRecord) -> Result<(), Error> {
    let result = tx.execute(
        &format!("INSERT INTO tokens ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
        params![
            t.id,
            t.description,
            t.role,
            json(&t.profiles)?,
            json(&t.san_patterns)?,
            t.secret_sha256,
            t.created_at,
            t.created_by,
            t.expires_at,
            t.revoked_at
        ],
    );
    match result {
        Err(e) if is_unique_violation(&e) => Err(Error::DuplicateToken(t.id.clone())),
        other => other.map(|_| ()).map_err(Error::from),
    }
}

pub(super) fn by_id(conn: &Connection, id: &str) -> Result<Option<TokenRecord>, Error> {
    Ok(conn.prepare_cached(&format!("SELECT {COLUMNS} FROM tokens WHERE id = ?1"))?.query_row([id], row).optional()?)
}

pub(super) fn all(conn: &Connection) -> Result<Vec<TokenRecord>, Error> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM tokens ORDER BY created_at, id"))?;
    let rows = stmt.query_map([], row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn revoke(tx: &Transaction<'_>, id: &str, at: i64) -> Result<(), Error> {
    let revoked_at: Option<Option<i64>> =
        tx.query_row("SELECT revoked_at FROM tokens WHERE id = ?1", [id], |r| r.get(0)).optional()?;
    match revoked_at {
        None => Err(Error::TokenNotFound(id.to_string())),
        Some(Some(_)) => Err(Error::TokenRevoked(id.to_string())),
        Some(None) => {
            tx.execute("UPDATE tokens SET revoked_at = ?1 WHERE id = ?2", params![at, id])?;
            Ok(())
        }
    }
}

pub(super) fn acquire_lease(tx: &Transaction<'_>, name: &str, holder: &str, now: i64, ttl: i64) -> Result<bool, Error> {
    let changed = tx.execute(
        "INSERT INTO leases (name, holder, expires_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE leases.holder = excluded.holder OR leases.expires_at < ?4",
        params![name, holder, now.saturating_add(ttl), now],
    )?;
    Ok(changed == 1)
}
