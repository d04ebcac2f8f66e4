//! Migrations: the version, idempotence, concurrent migrators, a newer schema.

use std::sync::Barrier;

use ironpki_store::Error;

use super::*;

/// The migrations both engines know.
const LATEST: i64 = 15;

pub fn schema_is_at_the_latest_version(e: &dyn Engine) {
    let s = store(e);
    assert_eq!(s.schema_version().unwrap(), LATEST);
}

pub fn reopening_is_idempotent(e: &dyn Engine) {
    let s = store(e);
    s.put_certificates(&[cert("01", 500)]).unwrap();
    drop(s);
    let again = e.open().unwrap();
    let third = e.open().unwrap();
    assert_eq!((again.schema_version().unwrap(), third.schema_version().unwrap()), (LATEST, LATEST));
    assert_eq!(again.count_certificates().unwrap(), 1, "reopening keeps what was recorded");
    assert_eq!(verify_chain(&*third), Ok(2));
}

pub fn concurrent_opens_of_a_fresh_database_both_succeed(e: &dyn Engine) {
    let barrier = Barrier::new(2);
    let opened: Vec<Result<Box<dyn Store>, Error>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    e.open()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("opening thread")).collect()
    });
    for s in &opened {
        let s = s.as_ref().unwrap_or_else(|err| panic!("a concurrent open failed: {err}"));
        assert_eq!(s.schema_version().unwrap(), LATEST);
    }
    let s = &opened[0].as_ref().expect("checked above");
    s.put_ca(&ca("issuing", "root", None), &event("ca.created", "ca:issuing")).unwrap();
    let t = &opened[1].as_ref().expect("checked above");
    t.put_certificates(&[cert("01", 500)]).unwrap();
    assert_eq!(verify_chain(&***s), Ok(2), "one schema, one chain");
}

pub fn newer_schema_is_refused(e: &dyn Engine) {
    let s = store(e);
    drop(s);
    e.set_schema_version(LATEST + 1);
    match e.open() {
        Err(Error::SchemaTooNew { found, known }) => assert_eq!((found, known), (LATEST + 1, LATEST)),
        Err(other) => panic!("expected SchemaTooNew, got {other}"),
        Ok(_) => panic!("a schema newer than this build was opened"),
    }
}
