//! The SQLite schema, as versioned migrations. v5 adds a trigram index of each
//! certificate's names (an FTS5 table) for substring search, and lets the expiry index
//! answer counts per profile on its own. v6 drops v5's trigger that filled the names
//! index row by row: `put_certificates` fills it once per transaction. v7 keeps the
//! count of valid certificates per profile and hour of notAfter (crate::expiry). v8
//! records how far the names index reaches: `put_certificates` fills it every
//! `NAMES_BATCH` certificates, and searches scan the rows past it. v9 moves the names
//! index to a file of its own, filled by a thread of its own (`names`), and gives the
//! store the identity that file must repeat. v10 drops v7's insert trigger:
//! `put_certificates` adds a transaction's certificates to `expiry_counts` itself, one
//! upsert per profile and hour (the trigger ran an upsert per row, and made every insert a
//! statement with a journal of its own). v11 lets a CA be revoked (SQLite rebuilds the
//! `cas` table to change its CHECK constraint). v12 adds ACME accounts, the nonces used,
//! and the key every replica signs its nonces with. v13 adds External Account Binding
//! keys, sealed under a key derived from the CA passphrase with the store's salt. v14
//! adds ACME orders and authorizations (with their challenges). v15 adds ARI: the
//! certificate an order replaces, and the certificates marked for early renewal.

use rusqlite::{Connection, TransactionBehavior};

use crate::Error;

/// Versioned migrations; the index + 1 is the schema version.
const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE cas (
    name       TEXT PRIMARY KEY,
    role       TEXT NOT NULL CHECK (role IN ('root', 'intermediate')),
    parent     TEXT REFERENCES cas(name),
    subject    TEXT NOT NULL,
    serial     TEXT NOT NULL,
    key_type   TEXT NOT NULL,
    not_before INTEGER NOT NULL,
    not_after  INTEGER NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('active', 'retired')),
    key_ref    TEXT NOT NULL,
    der        BLOB NOT NULL
);
CREATE TABLE certificates (
    id                INTEGER PRIMARY KEY,
    serial            TEXT NOT NULL,
    issuer            TEXT NOT NULL REFERENCES cas(name),
    subject           TEXT NOT NULL,
    common_name       TEXT,
    sans              TEXT NOT NULL,
    key_type          TEXT NOT NULL,
    profile           TEXT NOT NULL,
    not_before        INTEGER NOT NULL,
    not_after         INTEGER NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('valid', 'revoked')),
    revoked_at        INTEGER,
    revocation_reason INTEGER,
    invalidity_date   INTEGER,
    requester         TEXT NOT NULL,
    issued_at         INTEGER NOT NULL,
    der               BLOB NOT NULL,
    UNIQUE (serial, issuer)
);
CREATE INDEX certificates_expiry ON certificates (status, not_after);
CREATE INDEX certificates_profile_expiry ON certificates (profile, not_after);
CREATE INDEX certificates_issuer ON certificates (issuer, id);
CREATE TABLE audit (
    seq       INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT NOT NULL,
    details   TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"#, r#"
ALTER TABLE certificates ADD COLUMN revocation_seq INTEGER;
UPDATE certificates SET revocation_seq = id WHERE status = 'revoked';
CREATE UNIQUE INDEX certificates_revocation_seq ON certificates (revocation_seq) WHERE revocation_seq IS NOT NULL;
CREATE INDEX certificates_revoked ON certificates (issuer, revocation_seq) WHERE revocation_seq IS NOT NULL;
CREATE TABLE crls (
    issuer         TEXT NOT NULL REFERENCES cas(name),
    number         INTEGER NOT NULL,
    base_number    INTEGER,
    this_update    INTEGER NOT NULL,
    next_update    INTEGER NOT NULL,
    revocation_seq INTEGER NOT NULL,
    entries        INTEGER NOT NULL,
    der            BLOB NOT NULL,
    PRIMARY KEY (issuer, number)
);
CREATE INDEX crls_latest ON crls (issuer, base_number IS NULL, number);
"#, r#"
DROP INDEX crls_latest;
"#, r#"
CREATE TABLE tokens (
    id            TEXT PRIMARY KEY,
    description   TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'auditor')),
    profiles      TEXT NOT NULL,
    san_patterns  TEXT NOT NULL,
    secret_sha256 BLOB NOT NULL,
    created_at    INTEGER NOT NULL,
    created_by    TEXT NOT NULL,
    expires_at    INTEGER,
    revoked_at    INTEGER
);
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX certificates_valid_expiry ON certificates (not_after, id) WHERE status = 'valid';
"#, r#"
DROP INDEX certificates_valid_expiry;
CREATE INDEX certificates_valid_expiry ON certificates (not_after, id, profile) WHERE status = 'valid';
CREATE VIRTUAL TABLE certificate_names USING fts5(names, content='', tokenize='trigram');
INSERT INTO certificate_names (rowid, names) SELECT id, coalesce(common_name, '') || ' ' || sans FROM certificates;
CREATE TRIGGER certificates_names AFTER INSERT ON certificates BEGIN
    INSERT INTO certificate_names (rowid, names) VALUES (new.id, coalesce(new.common_name, '') || ' ' || new.sans);
END;
"#, r#"
DROP TRIGGER certificates_names;
"#, r#"
CREATE TABLE expiry_counts (
    profile     TEXT NOT NULL,
    expiry_hour INTEGER NOT NULL,
    count       INTEGER NOT NULL,
    PRIMARY KEY (profile, expiry_hour)
) WITHOUT ROWID;
INSERT INTO expiry_counts (profile, expiry_hour, count)
    SELECT profile, not_after / 3600, COUNT(*) FROM certificates WHERE status = 'valid' GROUP BY 1, 2;
CREATE TRIGGER certificates_count_inserted AFTER INSERT ON certificates WHEN new.status = 'valid' BEGIN
    INSERT INTO expiry_counts (profile, expiry_hour, count) VALUES (new.profile, new.not_after / 3600, 1)
        ON CONFLICT (profile, expiry_hour) DO UPDATE SET count = count + 1;
END;
CREATE TRIGGER certificates_count_revoked AFTER UPDATE OF status ON certificates
    WHEN old.status = 'valid' AND new.status <> 'valid' BEGIN
    UPDATE expiry_counts SET count = count - 1 WHERE profile = old.profile AND expiry_hour = old.not_after / 3600;
END;
"#, r#"
CREATE TABLE names_index (
    one             INTEGER PRIMARY KEY CHECK (one = 1),
    indexed_through INTEGER NOT NULL
);
INSERT INTO names_index (one, indexed_through) SELECT 1, coalesce(max(id), 0) FROM certificates;
"#, r#"
DROP TABLE certificate_names;
DROP TABLE names_index;
INSERT INTO meta (key, value) VALUES ('names_index', lower(hex(randomblob(16))));
"#, r#"
DROP TRIGGER certificates_count_inserted;
"#, r#"
CREATE TABLE cas_v11 (
    name       TEXT PRIMARY KEY,
    role       TEXT NOT NULL CHECK (role IN ('root', 'intermediate')),
    parent     TEXT REFERENCES cas(name),
    subject    TEXT NOT NULL,
    serial     TEXT NOT NULL,
    key_type   TEXT NOT NULL,
    not_before INTEGER NOT NULL,
    not_after  INTEGER NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('active', 'retired', 'revoked')),
    key_ref    TEXT NOT NULL,
    der        BLOB NOT NULL
);
INSERT INTO cas_v11 SELECT name, role, parent, subject, serial, key_type, not_before, not_after, status, key_ref, der FROM cas;
DROP TABLE cas;
ALTER TABLE cas_v11 RENAME TO cas;
"#, r#"
CREATE TABLE acme_accounts (
    id          TEXT PRIMARY KEY,
    provisioner TEXT NOT NULL,
    thumbprint  TEXT NOT NULL,
    jwk         TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('valid', 'deactivated', 'revoked')),
    contact     TEXT NOT NULL,
    eab_kid     TEXT,
    created_at  INTEGER NOT NULL,
    UNIQUE (provisioner, thumbprint)
);
CREATE TABLE acme_nonces (
    nonce      TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX acme_nonces_expiry ON acme_nonces (expires_at);
INSERT INTO meta (key, value) VALUES ('acme_nonce_key', lower(hex(randomblob(32))));
"#, r#"
CREATE TABLE acme_eab_keys (
    kid         TEXT PRIMARY KEY,
    provisioner TEXT NOT NULL,
    sealed_key  BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL,
    expires_at  INTEGER,
    revoked_at  INTEGER,
    account_id  TEXT UNIQUE REFERENCES acme_accounts(id)
);
INSERT INTO meta (key, value) VALUES ('acme_eab_salt', lower(hex(randomblob(16))));
"#, r#"
CREATE TABLE acme_orders (
    id             TEXT PRIMARY KEY,
    account_id     TEXT NOT NULL REFERENCES acme_accounts(id),
    provisioner    TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('pending', 'ready', 'processing', 'valid', 'invalid')),
    identifiers    TEXT NOT NULL,
    authorizations TEXT NOT NULL,
    expires        INTEGER NOT NULL,
    error          TEXT,
    cert_issuer    TEXT,
    cert_serial    TEXT,
    created_at     INTEGER NOT NULL
);
CREATE INDEX acme_orders_account ON acme_orders (account_id, created_at);
CREATE TABLE acme_authorizations (
    id               TEXT PRIMARY KEY,
    account_id       TEXT NOT NULL REFERENCES acme_accounts(id),
    provisioner      TEXT NOT NULL,
    identifier_type  TEXT NOT NULL CHECK (identifier_type IN ('dns', 'ip')),
    identifier_value TEXT NOT NULL,
    wildcard         BOOLEAN NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'valid', 'invalid', 'deactivated', 'expired', 'revoked')),
    expires          INTEGER NOT NULL,
    challenges       TEXT NOT NULL
);
"#, r#"
ALTER TABLE acme_orders ADD COLUMN replaces TEXT;
CREATE UNIQUE INDEX acme_orders_replaces ON acme_orders (replaces) WHERE replaces IS NOT NULL AND status <> 'invalid';
CREATE INDEX acme_authorizations_account ON acme_authorizations (account_id, status, expires);
CREATE TABLE early_renewals (
    issuer       TEXT NOT NULL,
    serial       TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    window_end   INTEGER NOT NULL,
    PRIMARY KEY (issuer, serial)
);
"#];

/// Applies the migrations the store lacks, in one transaction. Foreign keys are off
/// meanwhile (a migration may rebuild a referenced table, as SQLite's ALTER TABLE
/// procedure does) and checked before the commit.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), Error> {
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    let migrated = (|| {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let known = MIGRATIONS.len() as i64;
        if current > known {
            return Err(Error::SchemaTooNew { found: current, known });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", i as i64 + 1)?;
        }
        if tx.prepare("PRAGMA foreign_key_check")?.exists([])? {
            return Err(Error::Backend("a migration left rows whose foreign keys do not match".into()));
        }
        tx.commit()?;
        Ok(())
    })();
    conn.pragma_update(None, "foreign_keys", "ON")?;
    migrated
}

#[cfg(test)]
mod tests {
    use super::*;

    /// v11 rebuilds `cas`: the rows, and the certificates and CRLs that refer to them,
    /// come through, foreign keys hold again afterwards, and a CA may then be revoked.
    #[test]
    fn v11_rebuilds_the_cas_and_keeps_what_refers_to_them() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        for sql in &MIGRATIONS[..10] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 10).unwrap();
        conn.execute_batch(
            "INSERT INTO cas VALUES ('root', 'root', NULL, 'CN=r', '01', 'ecdsa-p384', 0, 9, 'active', 'k', x'00');
             INSERT INTO cas VALUES ('issuing', 'intermediate', 'root', 'CN=i', '02', 'ecdsa-p256', 0, 9, 'active', 'k', x'00');
             INSERT INTO crls VALUES ('issuing', 1, NULL, 0, 9, 0, 0, x'00');",
        )
        .unwrap();
        assert!(conn.execute("UPDATE cas SET status = 'revoked' WHERE name = 'issuing'", []).is_err(), "v10 knows no revoked CA");

        migrate(&mut conn).unwrap();
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        let parent: Option<String> = conn.query_row("SELECT parent FROM cas WHERE name = 'issuing'", [], |r| r.get(0)).unwrap();
        assert_eq!(parent.as_deref(), Some("root"));
        conn.execute("UPDATE cas SET status = 'revoked' WHERE name = 'issuing'", []).unwrap();
        let fk: bool = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
        assert!(fk, "foreign keys are on again");
        let orphan = conn.execute("INSERT INTO crls VALUES ('nobody', 1, NULL, 0, 9, 0, 0, x'00')", []);
        assert!(orphan.is_err(), "the CRLs' reference to cas still holds");
    }
}
