//! One store test suite, run against every engine: each test in `suite` takes an
//! [`harness::Engine`] (a fresh, empty database) and runs once per engine, as
//! `sqlite::NAME` and `postgres::NAME`.
//!
//! PostgreSQL: `IRONPKI_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/test`);
//! each test gets a schema of its own, dropped afterwards. If the server cannot be
//! reached the PostgreSQL tests are skipped, unless `CI=true`, where they fail.

mod harness;
mod suite;

macro_rules! on_every_engine {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $test() {
                    let engine = crate::harness::sqlite::SqliteEngine::fresh();
                    crate::suite::$test(&engine);
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $test() {
                    if let Some(engine) = crate::harness::postgres::PostgresEngine::fresh() {
                        crate::suite::$test(&engine);
                    }
                }
            )*
        }
    };
}

on_every_engine!(
    // certificates
    cas_and_meta,
    duplicate_serial_is_refused_and_batch_is_atomic,
    certificate_fields_round_trip,
    expiry_query_and_status,
    expiry_query_uses_an_index,
    name_contains_matches_common_names_and_sans,
    names_of_every_batch_are_searchable,
    names_are_found_in_the_index_and_past_it,
    expiring_counts_agree_with_the_rows,
    id_cursor_pages_every_row_once,
    expiry_cursor_pages_every_row_once,
    // audit
    audit_chain_verifies_and_detects_tampering,
    appended_entries_chain_and_stream_from_a_point,
    // revocation
    revocations_are_sequenced_and_streamed,
    revoke_many_takes_each_serial_once,
    revoking_a_ca_changes_its_status_and_certificate_together,
    acme_accounts_and_nonces,
    acme_eab_keys_bind_one_account,
    acme_orders_and_authorizations,
    early_renewal_marks,
    revoked_sets_stream_past_one_batch,
    streaming_stops_at_the_first_callback_error,
    // CRLs
    crl_numbers_are_unique_per_issuer,
    large_crls_round_trip_and_old_ones_are_pruned,
    // tokens and leases
    tokens_lifecycle,
    lease_is_held_renewed_and_taken_over,
    // schema
    schema_is_at_the_latest_version,
    reopening_is_idempotent,
    concurrent_opens_of_a_fresh_database_both_succeed,
    newer_schema_is_refused,
    // several stores on one database
    concurrent_writers_keep_the_chain_and_the_revocation_sequence,
    rivals_for_a_lease_win_one_at_a_time,
);

/// What only the PostgreSQL engine has: its connection pool.
mod postgres_pool {
    use std::sync::Barrier;

    use ironpki_store::Store;

    use crate::harness::postgres::PostgresEngine;
    use crate::suite::{event, verify_chain};

    #[test]
    fn broken_connections_are_replaced() {
        let Some(engine) = PostgresEngine::fresh() else { return };
        let s = engine.open_with("").unwrap();
        s.append_audit(&event("test.one", "x")).unwrap();
        assert_eq!(engine.kill_connections(), 1, "the store keeps the connection it migrated with");
        assert_eq!(s.count_certificates().unwrap(), 0, "a read on a dead connection is run again on a new one");
        assert_eq!(engine.kill_connections(), 1);
        let err = s.append_audit(&event("test.lost", "x")).unwrap_err();
        assert!(err.to_string().contains("terminat") || err.to_string().contains("closed"), "{err}");
        s.append_audit(&event("test.two", "x")).unwrap();
        let actions: Vec<String> = crate::suite::audit_entries(&s).into_iter().map(|e| e.action).collect();
        assert_eq!(actions, ["test.one", "test.two"], "the write on the dead connection recorded nothing");
        assert_eq!(verify_chain(&s), Ok(2));
        assert_eq!(engine.connections(), 1, "the dead connection was dropped, not kept beside the new one");
    }

    #[test]
    fn the_pool_opens_at_most_pool_size_connections() {
        let Some(engine) = PostgresEngine::fresh() else { return };
        let s = engine.open_with("pool_size=2").unwrap();
        let barrier = &Barrier::new(4);
        let s = &s;
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(move || {
                    barrier.wait();
                    for _ in 0..50 {
                        assert_eq!(s.count_certificates().unwrap(), 0);
                        s.acquire_lease("l", "h", 0, 10).unwrap();
                    }
                });
            }
        });
        let open = engine.connections();
        assert!((1..=2).contains(&open), "{open} connections open");
    }
}
