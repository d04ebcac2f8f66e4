//! CRLs in SQLite: the newest full and delta CRL of each issuer.

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::is_unique_violation;
use crate::{CrlRecord, Error};

const CRL_COLUMNS: &str = "issuer, number, base_number, this_update, next_update, revocation_seq, entries, der";

fn crl_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CrlRecord> {
    Ok(CrlRecord {
        issuer: r.get(0)?,
        number: r.get(1)?,
        base_number: r.get(2)?,
        this_update: r.get(3)?,
        next_update: r.get(4)?,
        revocation_seq: r.get(5)?,
        entries: r.get(6)?,
        der: r.get(7)?,
    })
}

/// The newest delta CRL of `issuer` when `delta`, else its newest full CRL.
pub(super) fn latest(conn: &Connection, issuer: &str, delta: bool) -> Result<Option<CrlRecord>, Error> {
    let sql = format!(
        "SELECT {CRL_COLUMNS} FROM crls WHERE issuer = ?1 AND (base_number IS NULL) = ?2 ORDER BY number DESC LIMIT 1"
    );
    let crl = conn.prepare_cached(&sql)?.query_row(params![issuer, !delta], crl_row).optional()?;
    Ok(crl)
}

/// The highest CRL number `issuer` has used, 0 before its first CRL.
pub(super) fn last_number(conn: &Connection, issuer: &str) -> Result<i64, Error> {
    let n: Option<i64> =
        conn.prepare_cached("SELECT MAX(number) FROM crls WHERE issuer = ?1")?.query_row([issuer], |r| r.get(0))?;
    Ok(n.unwrap_or(0))
}

/// Stores `crl` and drops the older CRLs of its kind (full or delta) of its issuer.
pub(super) fn insert(tx: &Transaction<'_>, crl: &CrlRecord) -> Result<(), Error> {
    // The DER goes in through incremental blob I/O: binding it as a parameter would
    // make SQLite copy the whole CRL (tens of MB for a million entries).
    let result = tx.execute(
        &format!("INSERT INTO crls ({CRL_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
        params![
            crl.issuer,
            crl.number,
            crl.base_number,
            crl.this_update,
            crl.next_update,
            crl.revocation_seq,
            crl.entries,
            rusqlite::blob::ZeroBlob(i32::try_from(crl.der.len()).map_err(|_| Error::Backend("CRL over 2 GiB".into()))?)
        ],
    );
    match result {
        Err(e) if is_unique_violation(&e) => {
            return Err(Error::CrlNumberTaken { issuer: crl.issuer.clone(), number: crl.number })
        }
        other => other?,
    };
    let rowid = tx.last_insert_rowid();
    let mut blob = tx.blob_open(rusqlite::MAIN_DB, "crls", "der", rowid, false)?;
    std::io::Write::write_all(&mut blob, &crl.der).map_err(|e| Error::Backend(e.to_string()))?;
    blob.close()?;
    // Keep the newest full and delta CRL; numbers stay monotonic through MAX(number).
    tx.execute(
        "DELETE FROM crls WHERE issuer = ?1 AND (base_number IS NULL) = ?2 AND number < ?3",
        params![crl.issuer, crl.base_number.is_none(), crl.number],
    )?;
    Ok(())
}
