//! API tokens and client certificates as credentials. A token is `ipk_ID_SECRET`: the
//! store keeps the ID and the SHA-256 of the secret, never the secret. Lookups are
//! cached for [`CREDENTIAL_CACHE`], so a revoked token or certificate stops working
//! within that time on every replica.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_lc_rs::digest;
use aws_lc_rs::rand::SecureRandom;
use ironpki_config::{Role, RoleGrant};
use ironpki_store::{CertRecord, CertStatus, TokenRecord};
use serde_json::json;
use zeroize::Zeroizing;

use crate::access::{Action, Caller};
use crate::{Authority, Error};

/// How long a credential lookup is trusted before the store is asked again.
pub const CREDENTIAL_CACHE: Duration = Duration::from_secs(1);
const PREFIX: &str = "ipk_";
const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(100 * 365 * 86_400);

/// A token as handed to its owner, once. Its `Debug` hides it.
pub struct TokenSecret(Zeroizing<String>);

impl TokenSecret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSecret(..)")
    }
}

/// What a new token may do.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub description: String,
    pub role: Role,
    pub profiles: Vec<String>,
    pub san_patterns: Vec<String>,
    pub lifetime: Option<Duration>,
}

/// Lookups by key, each remembered with the time it was made.
type Remembered<K, V> = Mutex<HashMap<K, (Instant, Option<V>)>>;

#[derive(Default)]
pub(crate) struct CredentialCache {
    tokens: Remembered<String, TokenRecord>,
    /// By SHA-256 of the certificate DER.
    certs: Remembered<Vec<u8>, CertRecord>,
}

fn fresh<K: std::hash::Hash + Eq, V: Clone>(map: &Mutex<HashMap<K, (Instant, V)>>, key: &K) -> Option<V> {
    let map = map.lock().unwrap_or_else(|p| p.into_inner());
    map.get(key).filter(|(at, _)| at.elapsed() < CREDENTIAL_CACHE).map(|(_, v)| v.clone())
}

fn remember<K: std::hash::Hash + Eq, V>(map: &Mutex<HashMap<K, (Instant, V)>>, key: K, value: V) {
    let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
    if map.len() > 100_000 {
        map.retain(|_, (at, _)| at.elapsed() < CREDENTIAL_CACHE);
    }
    map.insert(key, (Instant::now(), value));
}

fn secret_hash(secret: &str) -> Vec<u8> {
    digest::digest(&digest::SHA256, secret.as_bytes()).as_ref().to_vec()
}

impl Authority {
    /// Creates a token; the secret is returned once and never stored.
    pub fn create_token(&self, caller: &Caller, spec: &NewToken) -> Result<(TokenSecret, TokenRecord), Error> {
        self.authorize(caller, &Action::ManageTokens)?;
        if let Some(p) = spec.profiles.iter().find(|p| !self.config.profiles.contains_key(*p)) {
            return Err(Error::Refused(format!("no profile named {p:?}")));
        }
        if spec.lifetime.is_some_and(|d| d > MAX_TOKEN_LIFETIME) {
            return Err(Error::Refused("a token lives at most 100 years".into()));
        }
        if spec.san_patterns.iter().any(|p| p.trim().is_empty()) {
            return Err(Error::Refused("an empty SAN pattern matches nothing".into()));
        }
        let mut id = [0u8; 8];
        let mut secret = Zeroizing::new([0u8; 32]);
        self.rng.fill(&mut id).and_then(|_| self.rng.fill(secret.as_mut())).map_err(|_| Error::Internal("no randomness".into()))?;
        let id = hex::encode(id);
        let secret = Zeroizing::new(hex::encode(secret.as_ref()));
        let now = self.now().unix_timestamp();
        let record = TokenRecord {
            id: id.clone(),
            description: spec.description.clone(),
            role: spec.role.name().to_string(),
            profiles: spec.profiles.clone(),
            san_patterns: spec.san_patterns.clone(),
            secret_sha256: secret_hash(&secret),
            created_at: now,
            created_by: caller.id.clone(),
            expires_at: spec.lifetime.map(|d| now + d.as_secs() as i64),
            revoked_at: None,
        };
        let event = self.event_by(
            &caller.id,
            "token.created",
            &format!("token:{id}"),
            json!({ "role": record.role, "profiles": record.profiles, "san_patterns": record.san_patterns,
                    "expires_at": record.expires_at, "description": record.description }),
        );
        self.store.put_token(&record, &event)?;
        Ok((TokenSecret(Zeroizing::new(format!("{PREFIX}{id}_{}", secret.as_str()))), record))
    }

    pub fn tokens(&self, caller: &Caller) -> Result<Vec<TokenRecord>, Error> {
        self.authorize(caller, &Action::ManageTokens)?;
        Ok(self.store.tokens()?)
    }

    pub fn revoke_token(&self, caller: &Caller, id: &str) -> Result<(), Error> {
        self.authorize(caller, &Action::ManageTokens)?;
        let id = id.strip_prefix("token:").unwrap_or(id);
        let event = self.event_by(&caller.id, "token.revoked", &format!("token:{id}"), json!({}));
        match self.store.revoke_token(id, self.now().unix_timestamp(), &event) {
            Err(ironpki_store::Error::TokenNotFound(_)) => Err(Error::NotFound(format!("no token {id:?}"))),
            Err(ironpki_store::Error::TokenRevoked(_)) => Err(Error::Conflict(format!("token {id:?} is already revoked"))),
            other => Ok(other?),
        }
    }

    /// The caller a bearer token stands for.
    pub fn authenticate_token(&self, presented: &str) -> Result<Caller, Error> {
        self.token_caller(presented, true).unwrap_or_else(|| Err(Error::Internal("token lookup skipped".into())))
    }

    /// As [`Authority::authenticate_token`] when the answer is in the cache (no store
    /// access: cheap enough for an async thread); `None` when the store must be asked.
    pub fn authenticate_token_cached(&self, presented: &str) -> Option<Result<Caller, Error>> {
        self.token_caller(presented, false)
    }

    fn token_caller(&self, presented: &str, may_fetch: bool) -> Option<Result<Caller, Error>> {
        let bad = |why: &str| Some(Err(Error::Unauthenticated(format!("bearer token {why}"))));
        let Some((id, secret)) = presented.strip_prefix(PREFIX).and_then(|t| t.split_once('_')) else {
            return bad("is not an IronPKI token (ipk_…)");
        };
        let record = match fresh(&self.credentials.tokens, &id.to_string()) {
            Some(r) => r,
            None if may_fetch => match self.store.token(id) {
                Ok(r) => {
                    remember(&self.credentials.tokens, id.to_string(), r.clone());
                    r
                }
                Err(e) => return Some(Err(e.into())),
            },
            None => return None,
        };
        let Some(record) = record else { return bad("is unknown") };
        if aws_lc_rs::constant_time::verify_slices_are_equal(&record.secret_sha256, &secret_hash(secret)).is_err() {
            return bad("is unknown");
        }
        if record.revoked_at.is_some() {
            return bad("is revoked");
        }
        let now = self.now().unix_timestamp();
        if record.expires_at.is_some_and(|at| at <= now) {
            return bad("has expired");
        }
        let role: Role = match record.role.parse() {
            Ok(role) => role,
            Err(e) => return Some(Err(Error::Internal(e))),
        };
        Some(Ok(Caller::with_grant(
            format!("token:{}", record.id),
            &RoleGrant { role, profiles: record.profiles, san_patterns: record.san_patterns },
        )))
    }

    /// The record of a client certificate that TLS has verified up to our roots: it must
    /// be one we issued, and neither revoked nor expired.
    pub fn client_certificate(&self, der: &[u8]) -> Result<CertRecord, Error> {
        let key = digest::digest(&digest::SHA256, der).as_ref().to_vec();
        let record = match fresh(&self.credentials.certs, &key) {
            Some(r) => r,
            None => {
                let serial = ironpki_x509::inspect::summarize(der)?.serial;
                let r = self.store.certificates_by_serial(&serial, self.now().unix_timestamp())?.into_iter().find(|c| c.der == der);
                remember(&self.credentials.certs, key, r.clone());
                r
            }
        };
        let Some(record) = record else {
            return Err(Error::Unauthenticated("the client certificate is not one this PKI issued".into()));
        };
        match record.status {
            CertStatus::Revoked => Err(Error::Unauthenticated(format!("client certificate {} is revoked", record.serial))),
            _ if record.not_after <= self.now().unix_timestamp() => {
                Err(Error::Unauthenticated(format!("client certificate {} has expired", record.serial)))
            }
            _ => Ok(record),
        }
    }

    /// The caller a client certificate stands for, if its profile carries a role.
    pub fn certificate_caller(&self, record: &CertRecord) -> Option<Caller> {
        let grant = self.config.serve.client_roles.get(&record.profile)?;
        Some(Caller::with_grant(format!("cert:{}/{}", record.issuer, record.serial), grant))
    }
}
