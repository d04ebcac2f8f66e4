//! The filtered listing of certificates in SQLite: a WHERE clause built from a
//! [`CertFilter`], and the search of names through the trigram index (`names`).

use rusqlite::{params_from_iter, Connection};

use super::certificates::{cert_row, CERT_COLUMNS};
use crate::{CertFilter, CertRecord, Error, StatusFilter};

/// The certificates `f` lets through, in its order, up to its limit.
pub(super) fn list(conn: &Connection, f: &CertFilter) -> Result<Vec<CertRecord>, Error> {
    let expiring = f.expiring_within.is_some();
    let order = if expiring { "not_after, id" } else { "id" };
    // Substrings of three characters or more go through the trigram index, and the
    // rows past its end (see `names`) are scanned; shorter ones (which it cannot
    // answer) are a scan. Both ignore ASCII case.
    let Some(text) = f.name_contains.as_ref().filter(|t| t.chars().count() >= 3) else {
        let mut w = Where::filters(f);
        if let Some(text) = &f.name_contains {
            w.name_scan(text);
        }
        w.cursor(f, "id");
        return query_certificates(conn, "certificates", w, order, f);
    };
    // Through the index, rows come in its rowid (= id) order: no sort, and the LIMIT
    // ends the scan early however common the text is.
    let mut indexed = Where::filters(f);
    indexed.arg("certificate_names MATCH ?", format!("\"{}\"", text.replace('"', "\"\"")).into());
    indexed.cursor(f, "certificate_names.rowid");
    let mut tail = Where::filters(f);
    tail.raw("id > (SELECT indexed_through FROM names.names_index)");
    tail.name_scan(text);
    tail.cursor(f, "id");
    // One read transaction: the index and its end from one snapshot of the names file.
    // Every row up to that end is in the index, so the rows of the store's snapshot are
    // each found once, on one side, whichever of the two snapshots was taken first.
    let tx = conn.unchecked_transaction()?;
    let from = "names.certificate_names JOIN certificates ON certificates.id = certificate_names.rowid";
    let mut rows = query_certificates(&tx, from, indexed, if expiring { order } else { "certificate_names.rowid" }, f)?;
    // NOT INDEXED: the tail is found by its ids, never by an index on the other filters
    // (the expiry index would walk every certificate expiring in the window).
    rows.extend(query_certificates(&tx, "certificates NOT INDEXED", tail, order, f)?);
    if expiring {
        rows.sort_by_key(|c| (c.not_after, c.id));
    }
    rows.truncate(f.limit.map_or(usize::MAX, |n| n as usize));
    Ok(rows)
}

/// A WHERE clause built from optional filters, with numbered parameters.
#[derive(Default)]
struct Where {
    clauses: Vec<String>,
    args: Vec<rusqlite::types::Value>,
}

impl Where {
    fn arg(&mut self, clause: &str, value: rusqlite::types::Value) {
        self.args(clause, [value]);
    }
    /// Adds a clause whose `?`s take `values` in order.
    fn args<const N: usize>(&mut self, clause: &str, values: [rusqlite::types::Value; N]) {
        let mut numbered = String::with_capacity(clause.len() + 4 * N);
        for (i, part) in clause.split('?').enumerate() {
            if i > 0 {
                numbered.push_str(&format!("?{}", self.args.len() + i));
            }
            numbered.push_str(part);
        }
        self.args.extend(values);
        self.clauses.push(numbered);
    }
    fn raw(&mut self, clause: &str) {
        self.clauses.push(clause.to_string());
    }

    /// The filters of `f` on status, expiry, profile and issuer.
    fn filters(f: &CertFilter) -> Where {
        let mut w = Where::default();
        match f.status {
            Some(StatusFilter::Valid) => w.arg("status = 'valid' AND not_after >= ?", f.now.into()),
            Some(StatusFilter::Expired) => w.arg("status = 'valid' AND not_after < ?", f.now.into()),
            Some(StatusFilter::Revoked) => w.raw("status = 'revoked'"),
            None => {}
        }
        if let Some(window) = f.expiring_within {
            w.raw("status = 'valid'");
            w.arg("not_after >= ?", f.now.into());
            w.arg("not_after <= ?", (f.now + window).into());
        }
        if let Some(p) = &f.profile {
            w.arg("profile = ?", p.clone().into());
        }
        if let Some(i) = &f.issuer {
            w.arg("issuer = ?", i.clone().into());
        }
        w
    }

    /// Rows whose common name or SANs contain `text`, ignoring ASCII case, by scanning.
    fn name_scan(&mut self, text: &str) {
        self.args(
            "(instr(lower(common_name), lower(?)) > 0 OR instr(lower(sans), lower(?)) > 0)",
            [text.to_string().into(), text.to_string().into()],
        );
    }

    /// The page after `f`'s cursor: by (not_after, id) when listing what expires, else by
    /// `id_column`.
    fn cursor(&mut self, f: &CertFilter, id_column: &str) {
        match (f.after_id, f.after_not_after) {
            (Some(id), Some(not_after)) if f.expiring_within.is_some() => {
                self.args("(not_after, id) > (?, ?)", [not_after.into(), id.into()])
            }
            (Some(id), _) => self.arg(&format!("{id_column} > ?"), id.into()),
            _ => {}
        }
    }
}

/// `SELECT` the certificates of `from` that `w` lets through, in `order`, up to `f`'s limit.
fn query_certificates(conn: &Connection, from: &str, w: Where, order: &str, f: &CertFilter) -> Result<Vec<CertRecord>, Error> {
    let mut sql = format!("SELECT {CERT_COLUMNS} FROM {from}");
    if !w.clauses.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&w.clauses.join(" AND "));
    }
    sql.push_str(" ORDER BY ");
    sql.push_str(order);
    if let Some(limit) = f.limit {
        sql.push_str(&format!(" LIMIT {limit}"));
    }
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(w.args), cert_row(f.now))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
