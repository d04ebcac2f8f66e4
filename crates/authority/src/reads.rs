//! What front ends may read. Every read of records takes the caller and checks it first,
//! so a front end that forgets a check still reads nothing it may not; what relying
//! parties fetch anyway (CA certificates, the trust bundle) needs no caller.

use std::collections::BTreeMap;

use ironpki_config::ProfileConfig;
use ironpki_store::audit::ChainVerifier;
use ironpki_store::{AuditEntry, CaRecord, CertFilter, CertRecord};

use crate::access::{Action, Caller};
use crate::cas::key_offline;
use crate::{Authority, Error};

/// A CA as relying parties see it: its certificate and whether it signs here.
#[derive(Debug, Clone)]
pub struct PublicCa {
    pub name: String,
    pub role: String,
    pub status: String,
    /// Its key is offline: its CRLs come from key ceremonies.
    pub key_offline: bool,
    pub der: Vec<u8>,
}

/// The outcome of walking the audit chain.
#[derive(Debug)]
pub enum AuditCheck {
    Intact { entries: u64, head: String },
    /// The first entry whose sequence, link or hash does not match.
    Broken(String),
}

impl Authority {
    pub fn list_certificates(&self, caller: &Caller, filter: &CertFilter) -> Result<Vec<CertRecord>, Error> {
        self.authorize(caller, &Action::Read)?;
        Ok(self.store.list_certificates(filter)?)
    }

    /// The certificate with this serial; `issuer` picks one when several CAs used it.
    pub fn show_certificate(&self, caller: &Caller, serial: &str, issuer: Option<&str>) -> Result<CertRecord, Error> {
        self.authorize(caller, &Action::Read)?;
        self.certificate(serial, issuer)
    }

    /// (issuer, serial) of every unexpired, unrevoked certificate of `issuer` and `profile`.
    pub fn valid_serials(&self, caller: &Caller, issuer: Option<&str>, profile: Option<&str>) -> Result<Vec<(String, String)>, Error> {
        self.authorize(caller, &Action::Read)?;
        Ok(self.store.valid_serials(issuer, profile, self.now().unix_timestamp())?)
    }

    pub fn cas(&self, caller: &Caller) -> Result<Vec<CaRecord>, Error> {
        self.authorize(caller, &Action::Read)?;
        self.all_cas()
    }

    pub fn ca(&self, caller: &Caller, name: &str) -> Result<CaRecord, Error> {
        self.authorize(caller, &Action::Read)?;
        self.ca_record(name)
    }

    pub fn profiles(&self, caller: &Caller) -> Result<&BTreeMap<String, ProfileConfig>, Error> {
        self.authorize(caller, &Action::Read)?;
        Ok(&self.config.profiles)
    }

    /// Calls `f` for each audit entry after `since`, in order, until it returns false.
    pub fn audit(&self, caller: &Caller, since: u64, f: &mut dyn FnMut(AuditEntry) -> bool) -> Result<(), Error> {
        self.authorize(caller, &Action::ReadAudit)?;
        const STOP: &str = "audit reader stopped";
        let result = self.store.for_each_audit(since, &mut |entry| {
            if f(entry) {
                Ok(())
            } else {
                Err(ironpki_store::Error::Backend(STOP.into()))
            }
        });
        match result {
            Err(ironpki_store::Error::Backend(m)) if m == STOP => Ok(()),
            other => Ok(other?),
        }
    }

    /// Walks the whole audit chain and recomputes every hash.
    pub fn verify_audit(&self, caller: &Caller) -> Result<AuditCheck, Error> {
        let mut verifier = ChainVerifier::default();
        let mut broken = None;
        let mut head = String::new();
        self.audit(caller, 0, &mut |entry| match verifier.check(&entry) {
            Ok(()) => {
                head = entry.hash;
                true
            }
            Err(reason) => {
                broken = Some(reason);
                false
            }
        })?;
        Ok(match broken {
            Some(reason) => AuditCheck::Broken(reason),
            None => AuditCheck::Intact { entries: verifier.checked, head },
        })
    }

    /// Per profile, how many valid certificates expire within `[now, until]`.
    pub fn expiring_counts(&self, caller: &Caller, until: i64) -> Result<Vec<(String, u64)>, Error> {
        self.authorize(caller, &Action::Read)?;
        Ok(self.store.count_expiring(self.now().unix_timestamp(), until)?)
    }

    pub fn count_certificates(&self, caller: &Caller) -> Result<u64, Error> {
        self.authorize(caller, &Action::Read)?;
        Ok(self.store.count_certificates()?)
    }

    /// Every CA's certificate, as relying parties fetch them.
    pub fn public_cas(&self) -> Result<Vec<PublicCa>, Error> {
        Ok(self
            .all_cas()?
            .into_iter()
            .map(|c| PublicCa { key_offline: key_offline(&c), name: c.name, role: c.role, status: c.status, der: c.der })
            .collect())
    }

    /// The schema version of the store (applied when it was opened).
    pub fn schema_version(&self) -> Result<i64, Error> {
        Ok(self.store.schema_version()?)
    }

    /// The highest revocation sequence number: a new revocation anywhere raises it.
    pub fn revocation_seq(&self) -> Result<i64, Error> {
        Ok(self.store.revocation_seq()?)
    }

    /// Store upkeep once the answers for a commit have gone out ([`Authority::commit`]).
    pub fn after_commit(&self) {
        self.store.after_commit();
    }
}
