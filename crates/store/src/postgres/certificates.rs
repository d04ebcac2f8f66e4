//! Certificate records in PostgreSQL: batched inserts, the filtered listing, revocation.

use std::collections::HashSet;

use postgres::types::ToSql;
use postgres::Row;

use super::pool::Session;
use super::writer::Writer;
use crate::{AuditEvent, CertFilter, CertRecord, CertStatus, Error, NewCertificate, Revocation, StatusFilter};

pub(super) const CERT_COLUMNS: &str = "id, issuer, serial, subject, common_name, sans, key_type, profile, not_before, not_after, status, revoked_at, revocation_reason, requester, issued_at, der";

/// An RFC 5280 reason code as stored (INTEGER).
pub(super) fn reason(code: Option<i32>) -> Result<Option<u8>, Error> {
    code.map(|c| u8::try_from(c).map_err(|_| Error::Backend(format!("revocation reason {c} out of range")))).transpose()
}

pub(super) fn cert_row(r: &Row, now: i64) -> Result<CertRecord, Error> {
    let status: &str = r.try_get(10)?;
    let not_after: i64 = r.try_get(9)?;
    let sans: &str = r.try_get(5)?;
    Ok(CertRecord {
        id: r.try_get(0)?,
        issuer: r.try_get(1)?,
        serial: r.try_get(2)?,
        subject: r.try_get(3)?,
        common_name: r.try_get(4)?,
        sans: serde_json::from_str(sans).unwrap_or_default(),
        key_type: r.try_get(6)?,
        profile: r.try_get(7)?,
        not_before: r.try_get(8)?,
        not_after,
        status: match status {
            "revoked" => CertStatus::Revoked,
            _ if not_after < now => CertStatus::Expired,
            _ => CertStatus::Valid,
        },
        revoked_at: r.try_get(11)?,
        revocation_reason: reason(r.try_get(12)?)?,
        requester: r.try_get(13)?,
        issued_at: r.try_get(14)?,
        der: r.try_get(15)?,
    })
}

/// Inserts the batch with one statement and appends an entry per certificate. A serial
/// already used by its issuer (or twice in the batch) fails the whole batch.
pub(super) fn insert(w: &mut Writer<'_>, certs: &[(NewCertificate, AuditEvent)]) -> Result<(), Error> {
    if certs.is_empty() {
        return Ok(());
    }
    let mut seen = HashSet::with_capacity(certs.len());
    for (c, _) in certs {
        if !seen.insert((c.issuer.as_str(), c.serial.as_str())) {
            return Err(Error::DuplicateSerial { issuer: c.issuer.clone(), serial: c.serial.clone() });
        }
    }
    let col = |f: fn(&NewCertificate) -> &str| certs.iter().map(|(c, _)| f(c)).collect::<Vec<&str>>();
    let num = |f: fn(&NewCertificate) -> i64| certs.iter().map(|(c, _)| f(c)).collect::<Vec<i64>>();
    let sans = certs
        .iter()
        .map(|(c, _)| serde_json::to_string(&c.sans))
        .collect::<Result<Vec<String>, _>>()
        .map_err(|e| Error::Backend(e.to_string()))?;
    let common_names: Vec<Option<&str>> = certs.iter().map(|(c, _)| c.common_name.as_deref()).collect();
    let ders: Vec<&[u8]> = certs.iter().map(|(c, _)| c.der.as_slice()).collect();
    // ON CONFLICT DO NOTHING keeps the transaction alive, so the rows it skipped name
    // the duplicate; the caller then rolls the whole batch back.
    let inserted = w.query(
        "INSERT INTO certificates (serial, issuer, subject, common_name, sans, key_type, profile, not_before, not_after, status, requester, issued_at, der)
         SELECT serial, issuer, subject, common_name, sans, key_type, profile, not_before, not_after, 'valid', requester, issued_at, der
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::bigint[],
                     $10::text[], $11::bigint[], $12::bytea[])
              WITH ORDINALITY AS u(serial, issuer, subject, common_name, sans, key_type, profile, not_before, not_after, requester, issued_at, der, ord)
         ORDER BY ord
         ON CONFLICT (serial, issuer) DO NOTHING
         RETURNING serial, issuer",
        &[
            &col(|c| &c.serial),
            &col(|c| &c.issuer),
            &col(|c| &c.subject),
            &common_names,
            &sans,
            &col(|c| &c.key_type),
            &col(|c| &c.profile),
            &num(|c| c.not_before),
            &num(|c| c.not_after),
            &col(|c| &c.requester),
            &num(|c| c.issued_at),
            &ders,
        ],
    )?;
    if inserted.len() != certs.len() {
        let mut written = HashSet::with_capacity(inserted.len());
        for r in &inserted {
            written.insert((r.try_get::<_, String>(1)?, r.try_get::<_, String>(0)?));
        }
        let duplicate = certs.iter().map(|(c, _)| c).find(|c| !written.contains(&(c.issuer.clone(), c.serial.clone())));
        return Err(match duplicate {
            Some(c) => Error::DuplicateSerial { issuer: c.issuer.clone(), serial: c.serial.clone() },
            None => Error::Backend("certificate batch: fewer rows written than given".into()),
        });
    }
    for (_, event) in certs {
        w.append(event);
    }
    Ok(())
}

/// The next revocation sequence number. Only revocations set it, and they all hold the
/// audit head, so the MAX read here stays the MAX until the caller commits.
fn next_revocation_seq(w: &mut Writer<'_>) -> Result<i64, Error> {
    let max: i64 = w
        .query_one("SELECT COALESCE(MAX(revocation_seq), 0) FROM certificates WHERE revocation_seq IS NOT NULL", &[])?
        .try_get(0)?;
    Ok(max + 1)
}

pub(super) fn revoke(w: &mut Writer<'_>, issuer: &str, serial: &str, rev: &Revocation, event: &AuditEvent) -> Result<(), Error> {
    let status: Option<String> = w
        .query_opt("SELECT status FROM certificates WHERE serial = $1 AND issuer = $2", &[&serial, &issuer])?
        .map(|r| r.try_get(0))
        .transpose()?;
    match status.as_deref() {
        None => return Err(Error::NotFound { issuer: issuer.into(), serial: serial.into() }),
        Some("revoked") => return Err(Error::AlreadyRevoked { serial: serial.into() }),
        Some(_) => {}
    }
    let seq = next_revocation_seq(w)?;
    let changed = w.execute(
        "UPDATE certificates SET status = 'revoked', revoked_at = $1, revocation_reason = $2, invalidity_date = $3, revocation_seq = $4
         WHERE serial = $5 AND issuer = $6 AND status = 'valid'",
        &[&rev.at, &i32::from(rev.reason), &rev.invalidity_date, &seq, &serial, &issuer],
    )?;
    if changed != 1 {
        return Err(Error::Backend(format!("revoking {serial}: {changed} rows changed")));
    }
    w.append(event);
    Ok(())
}

/// Revokes the valid certificates among `serials` (in the order given, each once), with
/// consecutive sequence numbers and an audit entry each; returns the serials revoked.
pub(super) fn revoke_many(
    w: &mut Writer<'_>,
    issuer: &str,
    serials: &[String],
    rev: &Revocation,
    event: &dyn Fn(&str) -> AuditEvent,
) -> Result<Vec<String>, Error> {
    if serials.is_empty() {
        return Ok(Vec::new());
    }
    let valid: HashSet<String> = w
        .query(
            "SELECT serial FROM certificates WHERE issuer = $1 AND serial = ANY($2) AND status = 'valid'",
            &[&issuer, &serials],
        )?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    let mut taken = HashSet::with_capacity(valid.len());
    let revoked: Vec<String> = serials.iter().filter(|s| valid.contains(*s) && taken.insert(s.as_str())).cloned().collect();
    if revoked.is_empty() {
        return Ok(revoked);
    }
    let first = next_revocation_seq(w)?;
    let seqs: Vec<i64> = (first..).take(revoked.len()).collect();
    let changed = w.execute(
        "UPDATE certificates AS c SET status = 'revoked', revoked_at = $1, revocation_reason = $2, invalidity_date = $3, revocation_seq = u.seq
         FROM UNNEST($4::text[], $5::bigint[]) AS u(serial, seq)
         WHERE c.issuer = $6 AND c.serial = u.serial AND c.status = 'valid'",
        &[&rev.at, &i32::from(rev.reason), &rev.invalidity_date, &revoked, &seqs, &issuer],
    )?;
    if changed != revoked.len() as u64 {
        return Err(Error::Backend(format!("revoking {} certificates: {changed} rows changed", revoked.len())));
    }
    for serial in &revoked {
        w.append(&event(serial));
    }
    Ok(revoked)
}

/// SELECT over `certificates` with the filter's clauses and `$n` parameters.
pub(super) fn list(s: &mut Session, f: &CertFilter) -> Result<Vec<CertRecord>, Error> {
    let mut clauses: Vec<String> = Vec::new();
    let mut args: Vec<Box<dyn ToSql + Sync>> = Vec::new();
    let mut arg = |value: Box<dyn ToSql + Sync>| {
        args.push(value);
        format!("${}", args.len())
    };
    match f.status {
        Some(StatusFilter::Valid) => clauses.push(format!("status = 'valid' AND not_after >= {}", arg(Box::new(f.now)))),
        Some(StatusFilter::Expired) => clauses.push(format!("status = 'valid' AND not_after < {}", arg(Box::new(f.now)))),
        Some(StatusFilter::Revoked) => clauses.push("status = 'revoked'".into()),
        None => {}
    }
    if let Some(window) = f.expiring_within {
        clauses.push("status = 'valid'".into());
        clauses.push(format!("not_after >= {}", arg(Box::new(f.now))));
        clauses.push(format!("not_after <= {}", arg(Box::new(f.now.saturating_add(window)))));
    }
    if let Some(p) = &f.profile {
        clauses.push(format!("profile = {}", arg(Box::new(p.clone()))));
    }
    if let Some(i) = &f.issuer {
        clauses.push(format!("issuer = {}", arg(Box::new(i.clone()))));
    }
    if let Some(text) = &f.name_contains {
        let n = arg(Box::new(format!("%{}%", like_escaped(text))));
        clauses.push(format!("(coalesce(common_name, '') || ' ' || sans) ILIKE {n}"));
    }
    match (f.after_id, f.after_not_after) {
        (Some(id), Some(not_after)) if f.expiring_within.is_some() => {
            let (a, b) = (arg(Box::new(not_after)), arg(Box::new(id)));
            clauses.push(format!("(not_after, id) > ({a}, {b})"));
        }
        (Some(id), _) => clauses.push(format!("id > {}", arg(Box::new(id)))),
        _ => {}
    }
    let mut sql = format!("SELECT {CERT_COLUMNS} FROM certificates");
    if !clauses.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&clauses.join(" AND "));
    }
    sql.push_str(if f.expiring_within.is_some() { " ORDER BY not_after, id" } else { " ORDER BY id" });
    if let Some(limit) = f.limit {
        // A parameter, so that each shape of query is prepared once whatever the limit.
        sql.push_str(&format!(" LIMIT {}", arg(Box::new(i64::from(limit)))));
    }
    let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref()).collect();
    s.query(&sql, &params)?.iter().map(|r| cert_row(r, f.now)).collect()
}

/// `text` with LIKE's wildcards and escape character taken literally.
fn like_escaped(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}
