//! ACME accounts and used nonces in SQLite.

use rusqlite::{params, OptionalExtension};

use super::chain::append;
use super::{is_unique_violation, SqliteStore};
use crate::acme::{
    authzs_processing_sql, contact_json, contact_list, ids_json, ids_list, mark_early_renewal_sql, selection_values, AcmeAccount, AcmeAuthz, AcmeOrder, AcmeStore, EabKey,
    RenewalSelection, ACCOUNT_COLUMNS, AUTHZ_COLUMNS, BIND_EAB, EAB_COLUMNS, EARLY_RENEWAL, FAILED_AUTHZS, ORDERS_OF, ORDERS_SINCE, ORDER_COLUMNS, ORDER_REPLACING,
};
use crate::{AuditEvent, Error};

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(AcmeAccount, String)> {
    Ok((
        AcmeAccount {
            id: r.get(0)?,
            provisioner: r.get(1)?,
            thumbprint: r.get(2)?,
            jwk: r.get(3)?,
            status: r.get(4)?,
            contact: Vec::new(),
            eab_kid: r.get(6)?,
            created_at: r.get(7)?,
        },
        r.get(5)?,
    ))
}

fn order_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(AcmeOrder, String)> {
    Ok((
        AcmeOrder {
            id: r.get(0)?,
            account_id: r.get(1)?,
            provisioner: r.get(2)?,
            status: r.get(3)?,
            identifiers: r.get(4)?,
            authorizations: Vec::new(),
            expires: r.get(6)?,
            error: r.get(7)?,
            cert_issuer: r.get(8)?,
            cert_serial: r.get(9)?,
            created_at: r.get(10)?,
            replaces: r.get(11)?,
        },
        r.get(5)?,
    ))
}

fn authz_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AcmeAuthz> {
    Ok(AcmeAuthz {
        id: r.get(0)?,
        account_id: r.get(1)?,
        provisioner: r.get(2)?,
        identifier_type: r.get(3)?,
        identifier_value: r.get(4)?,
        wildcard: r.get(5)?,
        status: r.get(6)?,
        expires: r.get(7)?,
        challenges: r.get(8)?,
    })
}

fn eab_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<EabKey> {
    Ok(EabKey {
        kid: r.get(0)?,
        provisioner: r.get(1)?,
        sealed_key: r.get(2)?,
        created_at: r.get(3)?,
        created_by: r.get(4)?,
        expires_at: r.get(5)?,
        revoked_at: r.get(6)?,
        account_id: r.get(7)?,
    })
}

fn with_contact(found: Option<(AcmeAccount, String)>) -> Result<Option<AcmeAccount>, Error> {
    found.map(|(mut a, contact)| contact_list(&contact).map(|c| { a.contact = c; a })).transpose()
}

impl AcmeStore for SqliteStore {
    fn put_acme_account(&self, a: &AcmeAccount, event: &AuditEvent) -> Result<(), Error> {
        self.write(|tx| {
            let inserted = tx.execute(
                &format!("INSERT INTO acme_accounts ({ACCOUNT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
                params![a.id, a.provisioner, a.thumbprint, a.jwk, a.status, contact_json(&a.contact)?, a.eab_kid, a.created_at],
            );
            match inserted {
                Err(e) if is_unique_violation(&e) => return Err(Error::DuplicateAccount(a.thumbprint.clone())),
                other => other?,
            };
            if let Some(kid) = &a.eab_kid {
                if tx.execute(BIND_EAB, params![a.id, kid])? != 1 {
                    return Err(Error::EabUnusable(kid.clone()));
                }
            }
            append(tx, event)?;
            Ok(())
        })
    }

    fn acme_account(&self, id: &str) -> Result<Option<AcmeAccount>, Error> {
        let conn = self.reader();
        let found = conn.prepare_cached(&format!("SELECT {ACCOUNT_COLUMNS} FROM acme_accounts WHERE id = ?1"))?.query_row([id], row).optional()?;
        with_contact(found)
    }

    fn acme_account_by_key(&self, provisioner: &str, thumbprint: &str) -> Result<Option<AcmeAccount>, Error> {
        let conn = self.reader();
        let found = conn
            .prepare_cached(&format!("SELECT {ACCOUNT_COLUMNS} FROM acme_accounts WHERE provisioner = ?1 AND thumbprint = ?2"))?
            .query_row([provisioner, thumbprint], row)
            .optional()?;
        with_contact(found)
    }

    fn update_acme_account(&self, id: &str, status: &str, contact: &[String], event: &AuditEvent) -> Result<(), Error> {
        self.write(|tx| {
            tx.execute("UPDATE acme_accounts SET status = ?1, contact = ?2 WHERE id = ?3", params![status, contact_json(contact)?, id])?;
            append(tx, event)?;
            Ok(())
        })
    }

    fn change_acme_account_key(&self, id: &str, thumbprint: &str, jwk: &str, event: &AuditEvent) -> Result<(), Error> {
        self.write(|tx| {
            match tx.execute("UPDATE acme_accounts SET thumbprint = ?1, jwk = ?2 WHERE id = ?3", params![thumbprint, jwk, id]) {
                Err(e) if is_unique_violation(&e) => return Err(Error::DuplicateAccount(thumbprint.to_string())),
                other => other?,
            };
            append(tx, event)?;
            Ok(())
        })
    }

    fn put_acme_eab_key(&self, k: &EabKey, event: &AuditEvent) -> Result<(), Error> {
        self.write(|tx| {
            tx.execute(
                &format!("INSERT INTO acme_eab_keys ({EAB_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
                params![k.kid, k.provisioner, k.sealed_key, k.created_at, k.created_by, k.expires_at, k.revoked_at, k.account_id],
            )?;
            append(tx, event)?;
            Ok(())
        })
    }

    fn acme_eab_key(&self, kid: &str) -> Result<Option<EabKey>, Error> {
        let conn = self.reader();
        let found = conn.prepare_cached(&format!("SELECT {EAB_COLUMNS} FROM acme_eab_keys WHERE kid = ?1"))?.query_row([kid], eab_row).optional()?;
        Ok(found)
    }

    fn acme_eab_keys(&self) -> Result<Vec<EabKey>, Error> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!("SELECT {EAB_COLUMNS} FROM acme_eab_keys ORDER BY created_at, kid"))?;
        let rows = stmt.query_map([], eab_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn revoke_acme_eab_key(&self, kid: &str, at: i64, event: &AuditEvent) -> Result<(), Error> {
        self.write(|tx| {
            if tx.execute("UPDATE acme_eab_keys SET revoked_at = ?1 WHERE kid = ?2 AND revoked_at IS NULL", params![at, kid])? != 1 {
                return Err(Error::EabUnusable(kid.to_string()));
            }
            append(tx, event)?;
            Ok(())
        })
    }

    fn put_acme_order(&self, o: &AcmeOrder, authzs: &[AcmeAuthz], event: &AuditEvent) -> Result<(), Error> {
        self.write(|tx| {
            let inserted = tx.execute(
                &format!("INSERT INTO acme_orders ({ORDER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"),
                params![o.id, o.account_id, o.provisioner, o.status, o.identifiers, ids_json(&o.authorizations)?, o.expires, o.error, o.cert_issuer, o.cert_serial, o.created_at, o.replaces],
            );
            match inserted {
                Err(e) if is_unique_violation(&e) && o.replaces.is_some() => return Err(Error::AlreadyReplaced(o.replaces.clone().unwrap_or_default())),
                other => other?,
            };
            for a in authzs {
                tx.execute(
                    &format!("INSERT INTO acme_authorizations ({AUTHZ_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
                    params![a.id, a.account_id, a.provisioner, a.identifier_type, a.identifier_value, a.wildcard, a.status, a.expires, a.challenges],
                )?;
            }
            append(tx, event)?;
            Ok(())
        })
    }

    fn acme_order(&self, id: &str) -> Result<Option<AcmeOrder>, Error> {
        let conn = self.reader();
        let found = conn.prepare_cached(&format!("SELECT {ORDER_COLUMNS} FROM acme_orders WHERE id = ?1"))?.query_row([id], order_row).optional()?;
        found.map(|(mut o, ids)| ids_list(&ids).map(|ids| { o.authorizations = ids; o })).transpose()
    }

    fn acme_authz(&self, id: &str) -> Result<Option<AcmeAuthz>, Error> {
        let conn = self.reader();
        let found = conn.prepare_cached(&format!("SELECT {AUTHZ_COLUMNS} FROM acme_authorizations WHERE id = ?1"))?.query_row([id], authz_row).optional()?;
        Ok(found)
    }

    fn acme_orders_of(&self, account_id: &str, limit: i64, offset: i64) -> Result<Vec<String>, Error> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(ORDERS_OF)?;
        let rows = stmt.query_map(params![account_id, limit, offset], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn acme_orders_since(&self, account_id: &str, since: i64) -> Result<(u64, Option<i64>), Error> {
        let conn = self.reader();
        let found = conn.prepare_cached(ORDERS_SINCE)?.query_row(params![account_id, since], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))?;
        Ok(found)
    }

    fn acme_failed_authzs(&self, account_id: &str, expiring_after: i64) -> Result<(u64, Option<i64>), Error> {
        let conn = self.reader();
        let found = conn.prepare_cached(FAILED_AUTHZS)?.query_row(params![account_id, expiring_after], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))?;
        Ok(found)
    }

    fn update_acme_authz(&self, a: &AcmeAuthz) -> Result<(), Error> {
        let write = |tx: &rusqlite::Transaction<'_>| {
            tx.execute("UPDATE acme_authorizations SET status = ?1, challenges = ?2 WHERE id = ?3", params![a.status, a.challenges, a.id])?;
            Ok(())
        };
        match a.status.as_str() {
            "pending" => self.write_unsynced(write),
            _ => self.write(write),
        }
    }

    fn update_acme_order(&self, o: &AcmeOrder, event: Option<&AuditEvent>) -> Result<(), Error> {
        let write = |tx: &rusqlite::Transaction<'_>| {
            tx.execute(
                "UPDATE acme_orders SET status = ?1, error = ?2, cert_issuer = ?3, cert_serial = ?4 WHERE id = ?5",
                params![o.status, o.error, o.cert_issuer, o.cert_serial, o.id],
            )?;
            if let Some(event) = event {
                append(tx, event)?;
            }
            Ok(())
        };
        // Without an event the change is derived state (ready or invalid, from the
        // authorizations), computed again on the next read if a machine crash loses it.
        match event {
            Some(_) => self.write(write),
            None => self.write_unsynced(write),
        }
    }

    fn acme_authzs_processing(&self, now: i64) -> Result<Vec<AcmeAuthz>, Error> {
        let conn = self.reader();
        let mut stmt = conn.prepare(&authzs_processing_sql())?;
        let rows = stmt.query_map([now], authz_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn acme_order_replacing(&self, cert_id: &str) -> Result<Option<String>, Error> {
        let conn = self.reader();
        let found = conn.prepare_cached(ORDER_REPLACING)?.query_row([cert_id], |r| r.get(0)).optional()?;
        Ok(found)
    }

    fn mark_early_renewal(&self, selection: &RenewalSelection, from: i64, by: i64, now: i64, event: &AuditEvent) -> Result<u64, Error> {
        let (column, values) = selection_values(selection);
        self.write(|tx| {
            let mut marked = 0;
            let mut stmt = tx.prepare_cached(&mark_early_renewal_sql(column))?;
            for value in &values {
                marked += stmt.execute(params![from, by, now, value])? as u64;
            }
            drop(stmt);
            append(tx, event)?;
            Ok(marked)
        })
    }

    fn early_renewal(&self, issuer: &str, serial: &str) -> Result<Option<(i64, i64)>, Error> {
        let conn = self.reader();
        let found = conn.prepare_cached(EARLY_RENEWAL)?.query_row([issuer, serial], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
        Ok(found)
    }

    /// Unsynced: a nonce lost to a machine crash is one whose request changed nothing
    /// durable (a request that did commit a change synced its nonce with it).
    fn use_acme_nonce(&self, nonce: &str, expires_at: i64, now: i64) -> Result<bool, Error> {
        self.write_unsynced(|tx| {
            tx.prepare_cached("DELETE FROM acme_nonces WHERE expires_at < ?1")?.execute([now])?;
            match tx.prepare_cached("INSERT INTO acme_nonces (nonce, expires_at) VALUES (?1, ?2)")?.execute(params![nonce, expires_at]) {
                Ok(_) => Ok(true),
                Err(e) if is_unique_violation(&e) => Ok(false),
                Err(e) => Err(e.into()),
            }
        })
    }
}
