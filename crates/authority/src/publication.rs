//! CRL publication policy: which CRLs are served, when a new one is due, full or delta,
//! and which replica publishes (the `crl-publisher` lease in the store). The server
//! schedules rounds and serves what this holds; it decides nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use ironpki_store::CrlRecord;

use crate::{Authority, Error};

/// The lease that makes one replica the CRL publisher.
pub const LEASE: &str = "crl-publisher";
/// How long the lease runs without renewal: a dead publisher is replaced after this.
pub const LEASE_SECONDS: i64 = 10;
/// Above this many entries, a revocation refreshes the delta CRL at once and the full
/// CRL on its schedule; below it, both at once.
pub const FULL_ON_CHANGE_LIMIT: i64 = 100_000;

/// The CRLs being served for one CA.
#[derive(Default, Clone)]
pub struct Published {
    pub full: Option<Arc<CrlRecord>>,
    pub delta: Option<Arc<CrlRecord>>,
}

/// What a round did, for the server's log.
#[derive(Default)]
pub struct Round {
    /// Some(true) when this replica took the lease, Some(false) when it lost it.
    pub lease_changed: Option<bool>,
    /// CRLs this replica signed in the round.
    pub published: Vec<Arc<CrlRecord>>,
}

struct Lease {
    /// The revocation sequence the last round acted on, while holding the lease.
    last_seq: Option<i64>,
    held_until: i64,
}

/// The CRLs served by this process and its part in publishing them.
pub struct CrlPublisher {
    replica: String,
    cas: Vec<String>,
    crls: RwLock<HashMap<String, Published>>,
    lease: Mutex<Lease>,
}

impl CrlPublisher {
    /// Starts from the newest CRLs of every CA in the store; `replica` names this
    /// process as the lease holder.
    pub fn load(authority: &Authority, replica: &str) -> Result<CrlPublisher, Error> {
        let cas: Vec<String> = authority.all_cas()?.into_iter().map(|c| c.name).collect();
        let mut crls = HashMap::new();
        for ca in &cas {
            let store = authority.store();
            let published = Published {
                full: store.latest_crl(ca, false)?.map(Arc::new),
                delta: store.latest_crl(ca, true)?.map(Arc::new),
            };
            crls.insert(ca.clone(), published);
        }
        Ok(CrlPublisher {
            replica: replica.to_string(),
            cas,
            crls: RwLock::new(crls),
            lease: Mutex::new(Lease { last_seq: None, held_until: 0 }),
        })
    }

    /// The CRLs served for `ca`.
    pub fn published(&self, ca: &str) -> Published {
        self.crls.read().unwrap_or_else(|p| p.into_inner()).get(ca).cloned().unwrap_or_default()
    }

    fn serve(&self, ca: &str, crl: Arc<CrlRecord>) {
        let mut map = self.crls.write().unwrap_or_else(|p| p.into_inner());
        let entry = map.entry(ca.to_string()).or_default();
        if crl.base_number.is_some() {
            entry.delta = Some(crl);
        } else {
            entry.full = Some(crl);
        }
    }

    /// One round, on a blocking thread: keep or take the lease; the holder publishes
    /// what is due for every CA whose key is online here; every replica picks up from
    /// the store the CRLs it did not sign (another replica's, or a key ceremony's).
    pub fn round(&self, authority: &Authority) -> Result<Round, Error> {
        let mut lease = self.lease.lock().unwrap_or_else(|p| p.into_inner());
        let now = authority.now().unix_timestamp();
        let mut round = Round::default();
        let was_holder = lease.held_until > now;
        if now + LEASE_SECONDS / 2 >= lease.held_until {
            let held = authority.store().acquire_lease(LEASE, &self.replica, now, LEASE_SECONDS)?;
            lease.held_until = if held { now + LEASE_SECONDS } else { 0 };
            if held != was_holder {
                round.lease_changed = Some(held);
            }
        }
        let unlocked = authority.unlocked_cas();
        if lease.held_until > now {
            let seen = if was_holder { lease.last_seq } else { None };
            lease.last_seq = Some(self.publish_due(authority, &unlocked, seen, &mut round)?);
            self.follow(authority, &|ca| !unlocked.iter().any(|u| u == ca))?;
        } else {
            lease.last_seq = None;
            self.follow(authority, &|_| true)?;
        }
        Ok(round)
    }

    /// Gives the lease up (at shutdown), so another replica takes over at once.
    pub fn release(&self, authority: &Authority) -> Result<(), Error> {
        Ok(authority.store().release_lease(LEASE, &self.replica)?)
    }

    /// Serves the newest CRLs in the store of the CAs `which` selects.
    fn follow(&self, authority: &Authority, which: &dyn Fn(&str) -> bool) -> Result<(), Error> {
        let store = authority.store();
        for ca in self.cas.iter().filter(|ca| which(ca)) {
            let published = self.published(ca);
            let serving = [&published.full, &published.delta].iter().filter_map(|c| c.as_ref().map(|c| c.number)).max().unwrap_or(0);
            if store.last_crl_number(ca)? > serving {
                for delta in [false, true] {
                    if let Some(crl) = store.latest_crl(ca, delta)? {
                        self.serve(ca, Arc::new(crl));
                    }
                }
            }
        }
        Ok(())
    }

    /// Publishes what is due for each CA in `signing`; returns the revocation sequence
    /// number it acted on. A CRL is due when there is none, when its refresh time has
    /// come ([`Authority::crl_refresh_at`]), or when revocations arrived after it: the
    /// delta at once; the full CRL at once too while it is small or there are no deltas.
    fn publish_due(&self, authority: &Authority, signing: &[String], last_seq: Option<i64>, round: &mut Round) -> Result<i64, Error> {
        let store = authority.store();
        let seq = store.revocation_seq()?;
        let changed = last_seq != Some(seq);
        let now = authority.now().unix_timestamp();
        for ca in signing {
            let published = self.published(ca);
            let due = |crl: &Option<Arc<CrlRecord>>| crl.as_ref().is_none_or(|c| now >= authority.crl_refresh_at(c));
            let pending_after = |crl: &Option<Arc<CrlRecord>>| -> Result<bool, Error> {
                Ok(match crl {
                    Some(c) => changed && store.revoked_after(ca, c.revocation_seq)?,
                    None => false,
                })
            };
            let full_pending = pending_after(&published.full)?;
            let deltas = authority.publishes_delta(ca);
            let small = !deltas || published.full.as_ref().is_none_or(|f| f.entries < FULL_ON_CHANGE_LIMIT);
            let mut new_full = false;
            if due(&published.full) || (full_pending && small) {
                let crl = Arc::new(authority.generate_crl(ca, false)?);
                self.serve(ca, crl.clone());
                round.published.push(crl);
                new_full = true;
            }
            if !deltas {
                continue;
            }
            let delta_pending = pending_after(&published.delta)? || (published.delta.is_none() && full_pending);
            if new_full || due(&published.delta) || delta_pending {
                let crl = Arc::new(authority.generate_crl(ca, true)?);
                self.serve(ca, crl.clone());
                round.published.push(crl);
            }
        }
        Ok(seq)
    }
}
