//! Several stores on one database, as several processes or replicas: the chain, the
//! revocation sequence and leases hold across them.

use std::collections::HashSet;
use std::sync::Barrier;

use super::*;

pub fn concurrent_writers_keep_the_chain_and_the_revocation_sequence(e: &dyn Engine) {
    const BATCHES: usize = 15;
    const PER_BATCH: usize = 8;
    let first = store(e);
    let second = e.open().unwrap();
    let barrier = &Barrier::new(2);
    std::thread::scope(|scope| {
        for (t, s) in [(0, &*first), (1, &*second)] {
            scope.spawn(move || {
                barrier.wait();
                let ev = |serial: &str| event("cert.revoked", serial);
                for b in 0..BATCHES {
                    let batch: Vec<_> = (0..PER_BATCH).map(|i| cert(&format!("{t}-{b}-{i}"), 10_000)).collect();
                    s.put_certificates(&batch).unwrap();
                    let one = format!("{t}-{b}-0");
                    s.revoke("issuing", &one, &revocation(), &ev(&one)).unwrap();
                    let two = [format!("{t}-{b}-1"), format!("{t}-{b}-2")];
                    assert_eq!(s.revoke_many("issuing", &two, &revocation(), &ev).unwrap().len(), 2);
                    s.append_audit(&event("test.mark", &format!("{t}-{b}"))).unwrap();
                }
            });
        }
    });
    let per_thread = BATCHES * (PER_BATCH + 3 + 1);
    let entries = audit_entries(&*first);
    assert_eq!(entries.len(), 1 + 2 * per_thread, "no lost audit entries");
    assert_eq!(verify_chain(&*second), Ok(1 + 2 * per_thread as u64), "the chain verifies");
    for t in 0..2 {
        let marks: Vec<String> = entries
            .iter()
            .filter(|e| e.action == "test.mark" && e.target.starts_with(&format!("{t}-")))
            .map(|e| e.target.clone())
            .collect();
        let expected: Vec<String> = (0..BATCHES).map(|b| format!("{t}-{b}")).collect();
        assert_eq!(marks, expected, "each writer's entries in its own order");
    }

    let revoked = 2 * BATCHES * 3;
    let seqs: Vec<i64> = first.revoked_since(0, 10_000).unwrap().into_iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=revoked as i64).collect::<Vec<_>>(), "revocation sequence numbers unique and gapless");
    assert_eq!(second.revocation_seq().unwrap(), revoked as i64);
    let serials: HashSet<String> = first.revoked_since(0, 10_000).unwrap().into_iter().map(|e| e.serial).collect();
    assert_eq!(serials.len(), revoked);
    assert_eq!(first.count_certificates().unwrap(), (2 * BATCHES * PER_BATCH) as u64);
}

pub fn rivals_for_a_lease_win_one_at_a_time(e: &dyn Engine) {
    const ROUNDS: i64 = 40;
    let first = store(e);
    let second = e.open().unwrap();
    let barrier = &Barrier::new(2);
    let wins: Vec<Vec<bool>> = std::thread::scope(|scope| {
        let handles: Vec<_> = [("replica-a", &*first), ("replica-b", &*second)]
            .into_iter()
            .map(|(holder, s)| {
                scope.spawn(move || {
                    (0..ROUNDS)
                        .map(|round| {
                            barrier.wait();
                            // Each round starts after the last round's lease (50 s) ran out.
                            s.acquire_lease("crl-publisher", holder, round * 100, 50).unwrap()
                        })
                        .collect::<Vec<bool>>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("lease thread")).collect()
    });
    assert_eq!((wins[0].len(), wins[1].len()), (ROUNDS as usize, ROUNDS as usize));
    for (round, (a, b)) in wins[0].iter().zip(&wins[1]).enumerate() {
        assert!(a ^ b, "round {round}: exactly one holder, got {a} and {b}");
    }
    // Whoever holds it now keeps it against the other until it expires.
    let holder = if wins[0][ROUNDS as usize - 1] { "replica-a" } else { "replica-b" };
    let other = if holder == "replica-a" { "replica-b" } else { "replica-a" };
    assert!(!second.acquire_lease("crl-publisher", other, (ROUNDS - 1) * 100 + 50, 50).unwrap());
    assert!(first.acquire_lease("crl-publisher", holder, (ROUNDS - 1) * 100 + 50, 50).unwrap());
}
