//! ACME decisions (RFC 8555): which request is genuine (signature, URL, nonce used once
//! across replicas) and which account it acts for, and what becomes of accounts. The
//! front end translates HTTP; the wire format is `ironpki_acme`'s.

use aws_lc_rs::rand::SecureRandom;
use ironpki_acme::jws::{Jws, KeyRef};
use ironpki_acme::{b64, unb64, Jwk};
use ironpki_config::Provisioner;
use ironpki_store::acme::AcmeAccount;
use serde_json::{json, Map, Value};

use crate::{Authority, Error};

/// How long a nonce may wait for its request.
const NONCE_LIFE: i64 = 3600;
const NONCE_KEY: &str = "acme_nonce_key";

/// An ACME problem document (RFC 8555 section 6.7): `urn:ietf:params:acme:error:KIND`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: &'static str,
    pub status: u16,
    pub detail: String,
    /// A resource the problem is about, sent as `Location` (the account holding a key).
    pub location: Option<String>,
    /// Seconds until the request may succeed, sent as `Retry-After` (`rateLimited`).
    pub retry_after: Option<i64>,
}

impl Problem {
    pub fn new(kind: &'static str, status: u16, detail: impl Into<String>) -> Problem {
        Problem { kind, status, detail: detail.into(), location: None, retry_after: None }
    }

    fn malformed(detail: impl Into<String>) -> Problem {
        Problem::new("malformed", 400, detail)
    }
}

impl From<ironpki_acme::Error> for Problem {
    fn from(e: ironpki_acme::Error) -> Problem {
        let status = if e.problem_type() == "unauthorized" { 403 } else { 400 };
        Problem::new(e.problem_type(), status, e.to_string())
    }
}

impl From<Error> for Problem {
    fn from(e: Error) -> Problem {
        match e {
            Error::Refused(m) => Problem::malformed(m),
            Error::NotFound(m) => Problem::new("malformed", 404, m),
            Error::Unauthenticated(m) | Error::Forbidden(m) => Problem::new("unauthorized", 403, m),
            Error::Conflict(m) => Problem::new("conflict", 409, m),
            other => Problem::new("serverInternal", 500, other.to_string()),
        }
    }
}

impl From<ironpki_store::Error> for Problem {
    fn from(e: ironpki_store::Error) -> Problem {
        Problem::from(Error::from(e))
    }
}

/// A request the authority has checked: its signature verified with the key it names,
/// its URL the one it was sent to, its nonce used for the first time.
pub struct Verified {
    pub jws: Jws,
    pub key: Jwk,
    /// The account a `kid` named; None for requests signed with a `jwk`.
    pub account: Option<AcmeAccount>,
}

/// The URLs of a provisioner, from the origin the client reached (`https://HOST:PORT`).
pub struct AcmeUrls {
    pub base: String,
}

impl AcmeUrls {
    pub fn new(origin: &str, provisioner: &str) -> AcmeUrls {
        AcmeUrls { base: format!("{}/acme/{provisioner}", origin.trim_end_matches('/')) }
    }
    pub fn directory(&self) -> String {
        format!("{}/directory", self.base)
    }
    pub fn new_nonce(&self) -> String {
        format!("{}/new-nonce", self.base)
    }
    pub fn new_account(&self) -> String {
        format!("{}/new-account", self.base)
    }
    pub fn account(&self, id: &str) -> String {
        format!("{}/acct/{id}", self.base)
    }
    pub fn key_change(&self) -> String {
        format!("{}/key-change", self.base)
    }
    pub fn orders(&self, id: &str) -> String {
        format!("{}/acct/{id}/orders", self.base)
    }
}

impl Authority {
    /// The provisioner called `name`.
    pub fn acme_provisioner(&self, name: &str) -> Result<&Provisioner, Problem> {
        self.config
            .acme
            .provisioners
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| Problem::new("malformed", 404, format!("no ACME provisioner named {name:?}")))
    }

    /// The key nonces are MACed with: every replica reads the same one from the store.
    fn nonce_key(&self) -> Result<&[u8], Problem> {
        if let Some(key) = self.acme_nonce_key.get() {
            return Ok(key);
        }
        let hex_key = self.store.meta(NONCE_KEY)?.ok_or_else(|| Problem::new("serverInternal", 500, "the store has no ACME nonce key"))?;
        let key = hex::decode(hex_key).map_err(|_| Problem::new("serverInternal", 500, "the store's ACME nonce key is unreadable"))?;
        Ok(self.acme_nonce_key.get_or_init(|| key))
    }

    fn nonce_tag(&self, body: &[u8]) -> Result<Vec<u8>, Problem> {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, self.nonce_key()?);
        Ok(aws_lc_rs::hmac::sign(&key, body).as_ref()[..16].to_vec())
    }

    /// A fresh nonce: the time it was made, 16 random octets and a MAC over both with
    /// the store's nonce key, so every replica accepts it without a write.
    pub fn acme_nonce(&self) -> Result<String, Problem> {
        let mut body = self.now().unix_timestamp().to_be_bytes().to_vec();
        let mut random = [0u8; 16];
        self.rng.fill(&mut random).map_err(|_| Problem::new("serverInternal", 500, "the random number generator failed"))?;
        body.extend_from_slice(&random);
        let tag = self.nonce_tag(&body)?;
        body.extend_from_slice(&tag);
        Ok(b64(&body))
    }

    /// Accepts a nonce this CA made, less than an hour ago, and never used before.
    fn use_acme_nonce(&self, nonce: &str) -> Result<(), Problem> {
        let bad = |why: &str| Problem::new("badNonce", 400, format!("the nonce {why}: get a fresh one from newNonce (or the Replay-Nonce of the last response)"));
        let raw = unb64(nonce, "the nonce").map_err(|_| bad("is not one of ours"))?;
        if raw.len() != 40 {
            return Err(bad("is not one of ours"));
        }
        let expected = self.nonce_tag(&raw[..24])?;
        if aws_lc_rs::constant_time::verify_slices_are_equal(&expected, &raw[24..]).is_err() {
            return Err(bad("is not one of ours"));
        }
        let made = i64::from_be_bytes(raw[..8].try_into().map_err(|_| bad("is not one of ours"))?);
        let now = self.now().unix_timestamp();
        if now >= made + NONCE_LIFE {
            return Err(bad("has expired"));
        }
        if !self.store.acme().use_acme_nonce(nonce, made + NONCE_LIFE, now)? {
            return Err(bad("has been used already"));
        }
        Ok(())
    }

    /// Checks a request to `url` of `provisioner`: the JWS, its URL, the key it names (an
    /// account of this provisioner, valid, for `kid`), its signature, then its nonce.
    pub fn acme_verify(&self, provisioner: &Provisioner, urls: &AcmeUrls, url: &str, body: &[u8]) -> Result<Verified, Problem> {
        let jws = Jws::parse(body)?;
        jws.check_url(url)?;
        let (key, account) = match &jws.key {
            KeyRef::Jwk(key) => (key.clone(), None),
            KeyRef::Kid(kid) => {
                let missing = || Problem::new("accountDoesNotExist", 400, format!("no account {kid:?} at this provisioner"));
                let id = kid.strip_prefix(&format!("{}/acct/", urls.base)).ok_or_else(missing)?;
                let account = self.store.acme().acme_account(id)?.filter(|a| a.provisioner == provisioner.name).ok_or_else(missing)?;
                if account.status != "valid" {
                    return Err(Problem::new("unauthorized", 403, format!("account {kid:?} is {}", account.status)));
                }
                let value: Value = serde_json::from_str(&account.jwk).map_err(|_| Problem::new("serverInternal", 500, "an account's stored key is unreadable"))?;
                (Jwk::from_json(&value)?, Some(account))
            }
        };
        jws.verify(&key)?;
        let nonce = jws.nonce.clone().ok_or_else(|| Problem::new("badNonce", 400, "the protected header has no \"nonce\""))?;
        self.use_acme_nonce(&nonce)?;
        Ok(Verified { jws, key, account })
    }

    /// newAccount (RFC 8555 section 7.3): finds the account of the request's key, or
    /// creates it. Returns the account and whether it was created.
    pub fn acme_new_account(&self, provisioner: &Provisioner, urls: &AcmeUrls, request: &Verified) -> Result<(AcmeAccount, bool), Problem> {
        if request.account.is_some() {
            return Err(Problem::malformed("newAccount is signed with the new account's key (\"jwk\"), not a \"kid\""));
        }
        let payload = request.jws.payload_json()?;
        let thumbprint = request.key.thumbprint();
        if let Some(existing) = self.store.acme().acme_account_by_key(&provisioner.name, &thumbprint)? {
            // A deactivated account's key authorizes nothing more (RFC 8555 section 7.3.6).
            if existing.status != "valid" {
                return Err(Problem::new("unauthorized", 403, format!("the account of this key is {}", existing.status)));
            }
            return Ok((existing, false));
        }
        if payload.get("onlyReturnExisting").and_then(Value::as_bool) == Some(true) {
            return Err(Problem::new("accountDoesNotExist", 400, "no account has this key (onlyReturnExisting)"));
        }
        let contact = contacts(&payload)?;
        let eab_kid = match (provisioner.eab, payload.get("externalAccountBinding")) {
            (true, None) => {
                return Err(Problem::new("externalAccountRequired", 400, format!("provisioner {:?} needs an External Account Binding", provisioner.name)))
            }
            (true, Some(binding)) => Some(ironpki_acme::eab::verify(binding, &request.key, &urls.new_account(), |kid| {
                self.eab_mac_key(&provisioner.name, kid).map(|k| k.to_vec())
            })?),
            (false, _) => None,
        };
        let mut id = [0u8; 16];
        self.rng.fill(&mut id).map_err(|_| Problem::new("serverInternal", 500, "the random number generator failed"))?;
        let account = AcmeAccount {
            id: b64(&id),
            provisioner: provisioner.name.clone(),
            thumbprint,
            jwk: request.key.canonical_json(),
            status: "valid".into(),
            contact,
            eab_kid,
            created_at: self.now().unix_timestamp(),
        };
        let event = self.event_by(
            &account_actor(&account),
            "acme.account.created",
            &format!("acme-account:{}/{}", account.provisioner, account.id),
            json!({ "thumbprint": account.thumbprint, "contact": account.contact, "eab_kid": account.eab_kid }),
        );
        match self.store.acme().put_acme_account(&account, &event) {
            Ok(()) => Ok((account, true)),
            Err(ironpki_store::Error::EabUnusable(kid)) => {
                Err(Problem::new("unauthorized", 403, format!("External Account Binding key {kid:?} is bound to another account already")))
            }
            // Another replica made it between the lookup and the insert: it is the account.
            Err(ironpki_store::Error::DuplicateAccount(_)) => self
                .store
                .acme()
                .acme_account_by_key(&provisioner.name, &account.thumbprint)?
                .map(|a| (a, false))
                .ok_or_else(|| Problem::new("serverInternal", 500, "the account vanished")),
            Err(e) => Err(e.into()),
        }
    }

    /// A request to the account URL of `id` (RFC 8555 section 7.3.2 and 7.3.6):
    /// POST-as-GET reads it; a payload may replace the contact or deactivate it.
    pub fn acme_account_update(&self, id: &str, request: &Verified) -> Result<AcmeAccount, Problem> {
        let account = request.account.clone().ok_or_else(|| Problem::malformed("requests to an account are signed with its \"kid\""))?;
        if account.id != id {
            return Err(Problem::new("unauthorized", 403, "the request is signed by another account than the one it is sent to"));
        }
        if request.jws.is_post_as_get() {
            return Ok(account);
        }
        let payload = request.jws.payload_json()?;
        let status = match payload.get("status").map(|s| s.as_str()) {
            None => account.status.clone(),
            Some(Some("deactivated")) => "deactivated".into(),
            Some(Some("valid")) if account.status == "valid" => "valid".into(),
            Some(other) => return Err(Problem::malformed(format!("an account's status can only be set to \"deactivated\", not {other:?}"))),
        };
        let contact = if payload.contains_key("contact") { contacts(&payload)? } else { account.contact.clone() };
        let action = if status == "deactivated" { "acme.account.deactivated" } else { "acme.account.updated" };
        let event = self.event_by(
            &account_actor(&account),
            action,
            &format!("acme-account:{}/{}", account.provisioner, account.id),
            json!({ "status": status, "contact": contact }),
        );
        self.store.acme().update_acme_account(&account.id, &status, &contact, &event)?;
        Ok(AcmeAccount { status, contact, ..account })
    }
}

impl Authority {
    /// keyChange (RFC 8555 section 7.3.5): the outer request, signed by the account, holds
    /// an inner JWS signed by the new key, for the same URL, naming the account and its
    /// old key. Another account's key is a conflict (the error names that account).
    pub fn acme_key_change(&self, urls: &AcmeUrls, request: &Verified) -> Result<AcmeAccount, Problem> {
        let account = request.account.clone().ok_or_else(|| Problem::malformed("keyChange is signed with the account's \"kid\""))?;
        let inner_value: Value = serde_json::from_slice(request.jws.payload()).map_err(|_| Problem::malformed("the keyChange payload is not a JWS"))?;
        let inner = Jws::from_value(&inner_value)?;
        let KeyRef::Jwk(new_key) = &inner.key else {
            return Err(Problem::malformed("the inner JWS of keyChange carries the new key as \"jwk\""));
        };
        if inner.url != request.jws.url {
            return Err(Problem::malformed("the inner JWS of keyChange must have the outer JWS's \"url\""));
        }
        inner.verify(new_key)?;
        let payload = inner.payload_json()?;
        if payload.get("account").and_then(Value::as_str) != Some(urls.account(&account.id).as_str()) {
            return Err(Problem::malformed("the keyChange payload's \"account\" is not the account signing the request"));
        }
        let old_key = payload.get("oldKey").ok_or_else(|| Problem::malformed("the keyChange payload has no \"oldKey\""))?;
        if Jwk::from_json(old_key)? != request.key {
            return Err(Problem::malformed("the keyChange payload's \"oldKey\" is not the account's key"));
        }
        let thumbprint = new_key.thumbprint();
        let event = self.event_by(
            &account_actor(&account),
            "acme.account.key_changed",
            &format!("acme-account:{}/{}", account.provisioner, account.id),
            json!({ "old_thumbprint": account.thumbprint, "new_thumbprint": thumbprint }),
        );
        match self.store.acme().change_acme_account_key(&account.id, &thumbprint, &new_key.canonical_json(), &event) {
            Ok(()) => Ok(AcmeAccount { thumbprint, jwk: new_key.canonical_json(), ..account }),
            Err(ironpki_store::Error::DuplicateAccount(_)) => {
                // RFC 8555 section 7.3.5: the conflict names the account holding the key.
                let other = self.store.acme().acme_account_by_key(&account.provisioner, &thumbprint)?.map(|o| urls.account(&o.id));
                let detail = match &other {
                    Some(url) => format!("the new key already belongs to account {url}"),
                    None => "the new key already belongs to another account".into(),
                };
                Err(Problem { location: other, ..Problem::new("conflict", 409, detail) })
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// Who acts, in the audit log, for an ACME account.
fn account_actor(account: &AcmeAccount) -> String {
    format!("acme:{}/{}", account.provisioner, account.id)
}

/// The contact URLs of a payload: `mailto:` addresses only (RFC 8555 section 7.3).
fn contacts(payload: &Map<String, Value>) -> Result<Vec<String>, Problem> {
    let Some(value) = payload.get("contact") else { return Ok(Vec::new()) };
    let list = value.as_array().ok_or_else(|| Problem::malformed("\"contact\" is not an array of URLs"))?;
    let mut out = Vec::new();
    for item in list {
        let url = item.as_str().ok_or_else(|| Problem::malformed("\"contact\" holds something other than URLs"))?;
        let Some(address) = url.strip_prefix("mailto:") else {
            return Err(Problem::new("unsupportedContact", 400, format!("contact {url:?}: only mailto: URLs are accepted")));
        };
        let valid = address.split_once('@').is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'))
            && !address.contains([',', '?', ' ', '<', '>']);
        if !valid || list.len() > 10 {
            return Err(Problem::new("invalidContact", 400, format!("contact {url:?} is not one mailto: address (at most 10 contacts)")));
        }
        out.push(url.to_string());
    }
    Ok(out)
}
