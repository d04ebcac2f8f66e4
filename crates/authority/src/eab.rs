//! ACME External Account Binding keys (RFC 8555 section 7.3.4): made by an admin, shown
//! once, sealed at rest under a key derived from the CA passphrase, bound to the one
//! account created with them.

use std::time::Duration;

use aws_lc_rs::rand::SecureRandom;
use ironpki_acme::b64;
use ironpki_signer::{Passphrase, WrapKey};
use ironpki_store::acme::EabKey;
use serde_json::json;
use zeroize::Zeroizing;

use crate::access::{Action, Caller};
use crate::{Authority, Error};

const SALT_KEY: &str = "acme_eab_salt";
/// The longest an EAB key may wait for its account.
const MAX_EAB_LIFETIME: Duration = Duration::from_secs(366 * 86_400);

/// A new EAB key: its record and its MAC key (base64url), shown once.
pub struct NewEabKey {
    pub key: EabKey,
    pub hmac_key: Zeroizing<String>,
}

impl Authority {
    /// Derives, once, the key EAB MAC keys are sealed with (scrypt over the passphrase and
    /// the store's salt), so this process can check bindings.
    pub fn unlock_acme_eab(&self, passphrase: &Passphrase) -> Result<(), Error> {
        self.wrap_key(passphrase).map(|_| ())
    }

    fn wrap_key(&self, passphrase: &Passphrase) -> Result<&WrapKey, Error> {
        if let Some(key) = self.acme_wrap_key.get() {
            return Ok(key);
        }
        let salt = self.store.meta(SALT_KEY)?.ok_or_else(|| Error::Internal("the store has no EAB salt".into()))?;
        let key = WrapKey::derive(passphrase, salt.as_bytes())?;
        Ok(self.acme_wrap_key.get_or_init(|| key))
    }

    /// Makes an EAB key for `provisioner`, valid for `lifetime` (default 30 days). Admin only.
    pub fn create_eab_key(&self, caller: &Caller, provisioner: &str, lifetime: Option<Duration>, passphrase: &Passphrase) -> Result<NewEabKey, Error> {
        self.authorize(caller, &Action::ManageAcme)?;
        if !self.config.acme.provisioners.iter().any(|p| p.name == provisioner) {
            return Err(Error::Refused(format!("no ACME provisioner named {provisioner:?}")));
        }
        let lifetime = lifetime.unwrap_or(Duration::from_secs(30 * 86_400));
        if lifetime > MAX_EAB_LIFETIME || lifetime < Duration::from_secs(60) {
            return Err(Error::Refused("an EAB key lives between 1m and 366d".into()));
        }
        let mut kid = [0u8; 16];
        let mut mac = Zeroizing::new([0u8; 32]);
        self.rng.fill(&mut kid).and_then(|_| self.rng.fill(mac.as_mut())).map_err(|_| Error::Internal("the random number generator failed".into()))?;
        let kid = b64(&kid);
        let now = self.now().unix_timestamp();
        let key = EabKey {
            kid: kid.clone(),
            provisioner: provisioner.to_string(),
            sealed_key: self.wrap_key(passphrase)?.seal(mac.as_ref(), kid.as_bytes())?,
            created_at: now,
            created_by: caller.id.clone(),
            expires_at: Some(now + lifetime.as_secs() as i64),
            revoked_at: None,
            account_id: None,
        };
        let event = self.event_by(
            &caller.id,
            "acme.eab.created",
            &format!("acme-eab:{kid}"),
            json!({ "kid": kid, "provisioner": provisioner, "expires_at": key.expires_at }),
        );
        self.store.acme().put_acme_eab_key(&key, &event)?;
        Ok(NewEabKey { key, hmac_key: Zeroizing::new(b64(mac.as_ref())) })
    }

    /// Every EAB key, without its MAC key. Admin only.
    pub fn eab_keys(&self, caller: &Caller) -> Result<Vec<EabKey>, Error> {
        self.authorize(caller, &Action::ManageAcme)?;
        Ok(self.store.acme().acme_eab_keys()?)
    }

    /// Revokes an EAB key: it binds no account from now on. Admin only.
    pub fn revoke_eab_key(&self, caller: &Caller, kid: &str) -> Result<(), Error> {
        self.authorize(caller, &Action::ManageAcme)?;
        let event = self.event_by(&caller.id, "acme.eab.revoked", &format!("acme-eab:{kid}"), json!({ "kid": kid }));
        match self.store.acme().revoke_acme_eab_key(kid, self.now().unix_timestamp(), &event) {
            Err(ironpki_store::Error::EabUnusable(_)) => Err(Error::NotFound(format!("no unrevoked EAB key {kid:?}"))),
            other => Ok(other?),
        }
    }

    /// The MAC key of `kid` when it may bind a new account of `provisioner`: its own
    /// provisioner's, not revoked, not expired, not bound yet.
    pub(crate) fn eab_mac_key(&self, provisioner: &str, kid: &str) -> Option<Zeroizing<Vec<u8>>> {
        let key = self.store.acme().acme_eab_key(kid).ok()??;
        let usable = key.provisioner == provisioner
            && key.revoked_at.is_none()
            && key.account_id.is_none()
            && key.expires_at.is_none_or(|at| self.now().unix_timestamp() < at);
        if !usable {
            return None;
        }
        self.acme_wrap_key.get()?.open(&key.sealed_key, kid.as_bytes()).ok()
    }
}
