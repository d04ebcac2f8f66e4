use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use ironpki_config::Config;
use ironpki_store::sqlite::{Durability, SqliteStore};
use ironpki_store::{AuditEvent, CaRecord, Store};
use ironpki_x509::build::IssuingCa;
use ironpki_x509::profile::Profile;
use serde_json::json;

use crate::{Clock, Error, Home, Passphrase};

/// An opened PKI: its configuration, its store and, once unlocked, its issuing CAs.
pub struct Authority {
    pub home: Home,
    pub config: Config,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) rng: SystemRandom,
    pub(crate) issuers: RwLock<HashMap<String, Arc<Unlocked>>>,
    /// Who is acting, as recorded in the audit log.
    pub actor: String,
    pub(crate) credentials: crate::tokens::CredentialCache,
    /// Responders of offline CAs loaded from their last key ceremony, for the OCSP responder.
    pub(crate) ceremony_responders: std::sync::Mutex<Vec<(String, ironpki_signer::SoftwareKey, Vec<u8>)>>,
    /// The key ACME nonces are MACed with, read from the store once.
    pub(crate) acme_nonce_key: std::sync::OnceLock<Vec<u8>>,
    /// The key EAB MAC keys are sealed with, derived from the passphrase once.
    pub(crate) acme_wrap_key: std::sync::OnceLock<ironpki_signer::WrapKey>,
}

/// An issuing CA ready to sign, with the chain it hands out (loaded once at unlock).
pub(crate) struct Unlocked {
    pub ca: IssuingCa,
    pub chain: Vec<Vec<u8>>,
}

const CONFIG_HASH_KEY: &str = "config_sha256";

impl Authority {
    /// Opens the PKI in `home`. Records a `config.changed` audit entry when the
    /// configuration file differs from the one last loaded.
    pub fn open(home: Home, clock: Arc<dyn Clock>, actor: &str) -> Result<Authority, Error> {
        if !home.exists() {
            return Err(Error::NotFound(format!(
                "no PKI in {}: run `ironpki init` first (or pass --home)",
                home.dir.display()
            )));
        }
        let loaded = ironpki_config::load(&home.config_path())?;
        let store = open_store(&home, &loaded.config)?;
        let authority = Authority::assemble(home, loaded.config, store, clock, actor);
        authority.record_config_hash(&loaded.raw)?;
        Ok(authority)
    }

    pub(crate) fn assemble(home: Home, config: Config, store: Arc<dyn Store>, clock: Arc<dyn Clock>, actor: &str) -> Authority {
        Authority {
            home,
            config,
            store,
            clock,
            rng: SystemRandom::new(),
            issuers: RwLock::new(HashMap::new()),
            actor: actor.to_string(),
            credentials: Default::default(),
            ceremony_responders: Default::default(),
            acme_nonce_key: Default::default(),
            acme_wrap_key: Default::default(),
        }
    }

    pub(crate) fn record_config_hash(&self, raw: &[u8]) -> Result<(), Error> {
        let hash = hex::encode(digest::digest(&digest::SHA256, raw).as_ref());
        let previous = self.store.meta(CONFIG_HASH_KEY)?;
        if previous.as_deref() != Some(hash.as_str()) {
            let event = self.event(
                "config.changed",
                &self.home.config_path().display().to_string(),
                json!({ "sha256": hash, "previous_sha256": previous }),
            );
            self.store.set_meta(CONFIG_HASH_KEY, &hash, &event)?;
        }
        Ok(())
    }

    /// The store: only the authority reads and writes it; front ends go through the
    /// authority's methods, which check the caller.
    pub(crate) fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    pub fn now(&self) -> time::OffsetDateTime {
        self.clock.now()
    }

    pub(crate) fn event(&self, action: &str, target: &str, details: serde_json::Value) -> AuditEvent {
        self.event_by(&self.actor, action, target, details)
    }

    /// An audit event done by `actor` (a caller of the API rather than this process).
    pub(crate) fn event_by(&self, actor: &str, action: &str, target: &str, details: serde_json::Value) -> AuditEvent {
        AuditEvent::new(self.now().unix_timestamp(), actor, action, target, details)
    }

    /// The profile called `name`, or the configured default profile.
    pub fn profile(&self, name: Option<&str>) -> Result<Profile, Error> {
        let name = match name.or(self.config.default_profile.as_deref()) {
            Some(n) => n,
            None => {
                return Err(Error::Refused(format!(
                    "no profile given and no default_profile configured (profiles: {})",
                    self.profile_names().join(", ")
                )))
            }
        };
        self.config
            .profile(name)
            .ok_or_else(|| Error::Refused(format!("no profile named {name:?} (profiles: {})", self.profile_names().join(", "))))
    }

    fn profile_names(&self) -> Vec<String> {
        self.config.profiles.keys().cloned().collect()
    }

    pub(crate) fn all_cas(&self) -> Result<Vec<CaRecord>, Error> {
        Ok(self.store.cas()?)
    }

    pub(crate) fn ca_record(&self, name: &str) -> Result<CaRecord, Error> {
        self.all_cas()?
            .into_iter()
            .find(|c| c.name == name)
            .ok_or_else(|| Error::NotFound(format!("no CA named {name:?}")))
    }

    /// The trust bundle: every active root, PEM.
    pub fn roots_pem(&self) -> Result<String, Error> {
        Ok(self
            .all_cas()?
            .iter()
            .filter(|c| c.role == "root" && c.status == "active")
            .map(|c| ironpki_x509::pem::cert(&c.der))
            .collect())
    }

    /// CA certificates from `issuer` up to, not including, its root.
    pub fn chain_for(&self, issuer: &str) -> Result<Vec<Vec<u8>>, Error> {
        let cas = self.all_cas()?;
        let mut chain = Vec::new();
        let mut current = cas.iter().find(|c| c.name == issuer);
        while let Some(ca) = current {
            if ca.role == "root" || chain.len() > 8 {
                break;
            }
            chain.push(ca.der.clone());
            current = ca.parent.as_ref().and_then(|p| cas.iter().find(|c| &c.name == p));
        }
        Ok(chain)
    }

    /// Decrypts the key of the CA that issues `profile` and readies it for signing.
    pub fn unlock_for_profile(&self, profile: Option<&str>, passphrase: &Passphrase) -> Result<(), Error> {
        let issuer = self.profile(profile)?.issuer;
        self.unlock(&issuer, passphrase)
    }

    pub fn unlock(&self, ca: &str, passphrase: &Passphrase) -> Result<(), Error> {
        if self.read_issuers().contains_key(ca) {
            return Ok(());
        }
        let record = self.ca_record(ca)?;
        let issuing = crate::cas::load_issuing(&self.config, &record, passphrase)?;
        let unlocked = Unlocked { ca: issuing, chain: self.chain_for(ca)? };
        self.issuers.write().unwrap_or_else(|p| p.into_inner()).insert(ca.to_string(), Arc::new(unlocked));
        Ok(())
    }

    /// Names of the CAs whose keys are unlocked in this process.
    pub fn unlocked_cas(&self) -> Vec<String> {
        let mut names: Vec<String> = self.read_issuers().keys().cloned().collect();
        names.sort();
        names
    }

    pub(crate) fn read_issuers(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<Unlocked>>> {
        self.issuers.read().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn issuer(&self, name: &str) -> Result<Arc<Unlocked>, Error> {
        if let Some(unlocked) = self.read_issuers().get(name) {
            return Ok(unlocked.clone());
        }
        match self.ca_record(name) {
            Ok(ca) if ca.status != "active" => Err(Error::Refused(format!("CA {name:?} is {}: it signs nothing", ca.status))),
            _ => Err(Error::Internal(format!("CA {name:?} is locked: unlock it with the passphrase first"))),
        }
    }
}

pub(crate) fn open_store(home: &Home, config: &Config) -> Result<Arc<dyn Store>, Error> {
    if let Some(url) = &config.store.postgres {
        return Ok(Arc::new(ironpki_store::postgres::PostgresStore::open(url, config.store.schema.as_deref())?));
    }
    let durability = match config.store.durability {
        ironpki_config::Durability::Full => Durability::Full,
        ironpki_config::Durability::Normal => Durability::Normal,
    };
    Ok(Arc::new(SqliteStore::open(&home.db_path(config), durability)?))
}
