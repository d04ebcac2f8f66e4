//! ACME accounts and used nonces in PostgreSQL.

use postgres::Row;

use super::{unique_violation, PostgresStore};
use crate::acme::{
    authzs_processing_sql, contact_json, contact_list, ids_json, ids_list, mark_early_renewal_sql, selection_values, RenewalSelection, AcmeAccount, AcmeAuthz, AcmeOrder, AcmeStore, EabKey, ACCOUNT_COLUMNS, AUTHZ_COLUMNS,
    BIND_EAB, EAB_COLUMNS, EARLY_RENEWAL, FAILED_AUTHZS, ORDERS_OF, ORDERS_SINCE, ORDER_COLUMNS, ORDER_REPLACING,
};
use crate::{AuditEvent, Error};

fn row(r: &Row) -> Result<AcmeAccount, Error> {
    let contact: String = r.try_get(5)?;
    Ok(AcmeAccount {
        id: r.try_get(0)?,
        provisioner: r.try_get(1)?,
        thumbprint: r.try_get(2)?,
        jwk: r.try_get(3)?,
        status: r.try_get(4)?,
        contact: contact_list(&contact)?,
        eab_kid: r.try_get(6)?,
        created_at: r.try_get(7)?,
    })
}

fn order_row(r: &Row) -> Result<AcmeOrder, Error> {
    let ids: String = r.try_get(5)?;
    Ok(AcmeOrder {
        id: r.try_get(0)?,
        account_id: r.try_get(1)?,
        provisioner: r.try_get(2)?,
        status: r.try_get(3)?,
        identifiers: r.try_get(4)?,
        authorizations: ids_list(&ids)?,
        expires: r.try_get(6)?,
        error: r.try_get(7)?,
        cert_issuer: r.try_get(8)?,
        cert_serial: r.try_get(9)?,
        created_at: r.try_get(10)?,
        replaces: r.try_get(11)?,
    })
}

fn count_and_earliest(r: &Row) -> Result<(u64, Option<i64>), Error> {
    Ok((r.try_get::<_, i64>(0)? as u64, r.try_get(1)?))
}

fn authz_row(r: &Row) -> Result<AcmeAuthz, Error> {
    Ok(AcmeAuthz {
        id: r.try_get(0)?,
        account_id: r.try_get(1)?,
        provisioner: r.try_get(2)?,
        identifier_type: r.try_get(3)?,
        identifier_value: r.try_get(4)?,
        wildcard: r.try_get(5)?,
        status: r.try_get(6)?,
        expires: r.try_get(7)?,
        challenges: r.try_get(8)?,
    })
}

fn eab_row(r: &Row) -> Result<EabKey, Error> {
    Ok(EabKey {
        kid: r.try_get(0)?,
        provisioner: r.try_get(1)?,
        sealed_key: r.try_get(2)?,
        created_at: r.try_get(3)?,
        created_by: r.try_get(4)?,
        expires_at: r.try_get(5)?,
        revoked_at: r.try_get(6)?,
        account_id: r.try_get(7)?,
    })
}

impl AcmeStore for PostgresStore {
    fn put_acme_account(&self, a: &AcmeAccount, event: &AuditEvent) -> Result<(), Error> {
        let contact = contact_json(&a.contact)?;
        self.write(|w| {
            let inserted = w.execute(
                &format!("INSERT INTO acme_accounts ({ACCOUNT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"),
                &[&a.id, &a.provisioner, &a.thumbprint, &a.jwk, &a.status, &contact, &a.eab_kid, &a.created_at],
            );
            match inserted {
                Err(e) if unique_violation(&e).is_some() => return Err(Error::DuplicateAccount(a.thumbprint.clone())),
                other => other?,
            };
            if let Some(kid) = &a.eab_kid {
                if w.execute(BIND_EAB, &[&a.id, kid])? != 1 {
                    return Err(Error::EabUnusable(kid.clone()));
                }
            }
            w.append(event);
            Ok(())
        })
    }

    fn acme_account(&self, id: &str) -> Result<Option<AcmeAccount>, Error> {
        self.read(|s| s.query_opt(&format!("SELECT {ACCOUNT_COLUMNS} FROM acme_accounts WHERE id = $1"), &[&id])?.map(|r| row(&r)).transpose())
    }

    fn acme_account_by_key(&self, provisioner: &str, thumbprint: &str) -> Result<Option<AcmeAccount>, Error> {
        self.read(|s| {
            s.query_opt(&format!("SELECT {ACCOUNT_COLUMNS} FROM acme_accounts WHERE provisioner = $1 AND thumbprint = $2"), &[&provisioner, &thumbprint])?
                .map(|r| row(&r))
                .transpose()
        })
    }

    fn update_acme_account(&self, id: &str, status: &str, contact: &[String], event: &AuditEvent) -> Result<(), Error> {
        let contact = contact_json(contact)?;
        self.write(|w| {
            w.execute("UPDATE acme_accounts SET status = $1, contact = $2 WHERE id = $3", &[&status, &contact, &id])?;
            w.append(event);
            Ok(())
        })
    }

    fn change_acme_account_key(&self, id: &str, thumbprint: &str, jwk: &str, event: &AuditEvent) -> Result<(), Error> {
        self.write(|w| {
            match w.execute("UPDATE acme_accounts SET thumbprint = $1, jwk = $2 WHERE id = $3", &[&thumbprint, &jwk, &id]) {
                Err(e) if unique_violation(&e).is_some() => return Err(Error::DuplicateAccount(thumbprint.to_string())),
                other => other?,
            };
            w.append(event);
            Ok(())
        })
    }

    fn put_acme_eab_key(&self, k: &EabKey, event: &AuditEvent) -> Result<(), Error> {
        self.write(|w| {
            w.execute(
                &format!("INSERT INTO acme_eab_keys ({EAB_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"),
                &[&k.kid, &k.provisioner, &k.sealed_key, &k.created_at, &k.created_by, &k.expires_at, &k.revoked_at, &k.account_id],
            )?;
            w.append(event);
            Ok(())
        })
    }

    fn acme_eab_key(&self, kid: &str) -> Result<Option<EabKey>, Error> {
        self.read(|s| s.query_opt(&format!("SELECT {EAB_COLUMNS} FROM acme_eab_keys WHERE kid = $1"), &[&kid])?.map(|r| eab_row(&r)).transpose())
    }

    fn acme_eab_keys(&self) -> Result<Vec<EabKey>, Error> {
        self.read(|s| s.query(&format!("SELECT {EAB_COLUMNS} FROM acme_eab_keys ORDER BY created_at, kid"), &[])?.iter().map(eab_row).collect())
    }

    fn revoke_acme_eab_key(&self, kid: &str, at: i64, event: &AuditEvent) -> Result<(), Error> {
        self.write(|w| {
            if w.execute("UPDATE acme_eab_keys SET revoked_at = $1 WHERE kid = $2 AND revoked_at IS NULL", &[&at, &kid])? != 1 {
                return Err(Error::EabUnusable(kid.to_string()));
            }
            w.append(event);
            Ok(())
        })
    }

    fn put_acme_order(&self, o: &AcmeOrder, authzs: &[AcmeAuthz], event: &AuditEvent) -> Result<(), Error> {
        let ids = ids_json(&o.authorizations)?;
        self.write(|w| {
            let inserted = w.execute(
                &format!("INSERT INTO acme_orders ({ORDER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"),
                &[&o.id, &o.account_id, &o.provisioner, &o.status, &o.identifiers, &ids, &o.expires, &o.error, &o.cert_issuer, &o.cert_serial, &o.created_at, &o.replaces],
            );
            match inserted {
                Err(e) if unique_violation(&e).is_some() && o.replaces.is_some() => return Err(Error::AlreadyReplaced(o.replaces.clone().unwrap_or_default())),
                other => other?,
            };
            for a in authzs {
                w.execute(
                    &format!("INSERT INTO acme_authorizations ({AUTHZ_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"),
                    &[&a.id, &a.account_id, &a.provisioner, &a.identifier_type, &a.identifier_value, &a.wildcard, &a.status, &a.expires, &a.challenges],
                )?;
            }
            w.append(event);
            Ok(())
        })
    }

    fn acme_order(&self, id: &str) -> Result<Option<AcmeOrder>, Error> {
        self.read(|s| s.query_opt(&format!("SELECT {ORDER_COLUMNS} FROM acme_orders WHERE id = $1"), &[&id])?.map(|r| order_row(&r)).transpose())
    }

    fn acme_authz(&self, id: &str) -> Result<Option<AcmeAuthz>, Error> {
        self.read(|s| s.query_opt(&format!("SELECT {AUTHZ_COLUMNS} FROM acme_authorizations WHERE id = $1"), &[&id])?.map(|r| authz_row(&r)).transpose())
    }

    fn acme_orders_of(&self, account_id: &str, limit: i64, offset: i64) -> Result<Vec<String>, Error> {
        self.read(|s| s.query(ORDERS_OF, &[&account_id, &limit, &offset])?.iter().map(|r| Ok(r.try_get(0)?)).collect())
    }

    fn acme_orders_since(&self, account_id: &str, since: i64) -> Result<(u64, Option<i64>), Error> {
        self.read(|s| count_and_earliest(&s.query_one(ORDERS_SINCE, &[&account_id, &since])?))
    }

    fn acme_failed_authzs(&self, account_id: &str, expiring_after: i64) -> Result<(u64, Option<i64>), Error> {
        self.read(|s| count_and_earliest(&s.query_one(FAILED_AUTHZS, &[&account_id, &expiring_after])?))
    }

    fn update_acme_authz(&self, a: &AcmeAuthz) -> Result<(), Error> {
        self.pool.with(|s| {
            s.query("UPDATE acme_authorizations SET status = $1, challenges = $2 WHERE id = $3", &[&a.status, &a.challenges, &a.id])?;
            Ok(())
        })
    }

    fn update_acme_order(&self, o: &AcmeOrder, event: Option<&AuditEvent>) -> Result<(), Error> {
        self.write(|w| {
            w.execute(
                "UPDATE acme_orders SET status = $1, error = $2, cert_issuer = $3, cert_serial = $4 WHERE id = $5",
                &[&o.status, &o.error, &o.cert_issuer, &o.cert_serial, &o.id],
            )?;
            if let Some(event) = event {
                w.append(event);
            }
            Ok(())
        })
    }

    fn acme_authzs_processing(&self, now: i64) -> Result<Vec<AcmeAuthz>, Error> {
        self.read(|s| s.query(&authzs_processing_sql(), &[&now])?.iter().map(authz_row).collect())
    }

    fn acme_order_replacing(&self, cert_id: &str) -> Result<Option<String>, Error> {
        self.read(|s| Ok(s.query_opt(ORDER_REPLACING, &[&cert_id])?.map(|r| r.try_get(0)).transpose()?))
    }

    fn mark_early_renewal(&self, selection: &RenewalSelection, from: i64, by: i64, now: i64, event: &AuditEvent) -> Result<u64, Error> {
        let (column, values) = selection_values(selection);
        let sql = mark_early_renewal_sql(column);
        self.write(|w| {
            let mut marked = 0;
            for value in &values {
                marked += w.execute(&sql, &[&from, &by, &now, value])?;
            }
            w.append(event);
            Ok(marked)
        })
    }

    fn early_renewal(&self, issuer: &str, serial: &str) -> Result<Option<(i64, i64)>, Error> {
        self.read(|s| Ok(s.query_opt(EARLY_RENEWAL, &[&issuer, &serial])?.map(|r| Ok::<_, postgres::Error>((r.try_get(0)?, r.try_get(1)?))).transpose()?))
    }

    /// One autocommit statement each, outside the audit writer: a nonce is not an audited
    /// change, and must not queue behind the audit head's lock.
    fn use_acme_nonce(&self, nonce: &str, expires_at: i64, now: i64) -> Result<bool, Error> {
        self.pool.with(|s| {
            s.query("DELETE FROM acme_nonces WHERE expires_at < $1", &[&now])?;
            let inserted = s.query("INSERT INTO acme_nonces (nonce, expires_at) VALUES ($1, $2) ON CONFLICT (nonce) DO NOTHING RETURNING 1", &[&nonce, &expires_at])?;
            Ok(!inserted.is_empty())
        })
    }
}
