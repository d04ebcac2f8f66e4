//! The OCSP responder: the status of a certificate is decided here, from the store, and
//! signed by a delegated responder certificate per issuing CA (rotated before expiry).
//! Requests without a nonce for one certificate are answered from responses signed ahead
//! of time and held in memory, re-signed at half their validity, and re-signed at once
//! when the certificate is revoked.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use ironpki_signer::{GeneratedKey, Signer, SoftwareKey};
use ironpki_x509::build::IssuingCa;
use ironpki_store::{NewCertificate, RevocationState, RevokedEntry};
use ironpki_x509::ocsp::{self, CertId, CertStatus, HashAlg, IssuerId, ResponseStatus, SingleResponse};
use ironpki_x509::revocation::Reason;
use ironpki_x509::{KeyType, Serial};
use serde_json::json;
use time::OffsetDateTime;

use crate::{Authority, Error};

/// Most certificates whose responses are held in memory; beyond it the cache is thinned.
const CACHE_LIMIT: usize = 200_000;
/// Revocations arriving together up to this many are also pre-signed in the SHA-1 form
/// not yet asked for; a larger bulk revocation is signed on demand.
const PRESIGN_LIMIT: usize = 1_000;

/// A delegated responder of one CA.
struct Delegate {
    ca: String,
    issuer: IssuerId,
    key: SoftwareKey,
    cert_der: Vec<u8>,
    /// When to replace it (two thirds into its life).
    renew_at: i64,
}

/// A signed response and the window it is good for.
#[derive(Debug)]
pub struct Signed {
    pub der: Vec<u8>,
    pub this_update: i64,
    pub next_update: i64,
}

/// What to send back: the DER, and the validity window when it may be cached (no nonce).
#[derive(Debug)]
pub struct Answer {
    pub der: Arc<Vec<u8>>,
    pub cacheable: Option<(i64, i64)>,
    /// The status of each certificate asked about, for logs and metrics.
    pub status: &'static str,
}

/// (CA, serial): the cache holds, per certificate, one response per CertID form.
type CacheKey = (String, Vec<u8>);

/// A signed response for one form of a CertID (hash algorithm, NULL parameters or not).
struct Cached {
    hash: HashAlg,
    params_null: bool,
    this_update: i64,
    next_update: i64,
    der: Arc<Vec<u8>>,
    /// good, revoked or unknown.
    status: &'static str,
}

pub struct OcspResponder {
    authority: Arc<Authority>,
    delegates: RwLock<HashMap<String, Arc<Delegate>>>,
    cache: RwLock<HashMap<CacheKey, Vec<Cached>>>,
}

fn key_of(ca: &str, serial: &Serial) -> CacheKey {
    (ca.to_string(), serial.as_bytes().to_vec())
}

fn unix(t: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(t).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

impl OcspResponder {
    /// A responder for every unlocked CA, each with a fresh delegated certificate.
    pub fn new(authority: Arc<Authority>) -> Result<OcspResponder, Error> {
        let responder = OcspResponder { authority, delegates: RwLock::new(HashMap::new()), cache: RwLock::new(HashMap::new()) };
        for ca in responder.authority.unlocked_cas() {
            responder.rotate(&ca)?;
        }
        responder.adopt_ceremony_responders()?;
        Ok(responder)
    }

    /// Issues (and records) a new delegated responder certificate for `ca`.
    fn rotate(&self, ca: &str) -> Result<(), Error> {
        let authority = &self.authority;
        let unlocked = authority.issuer(ca)?;
        let validity = authority.config.revocation.ocsp_responder_validity.0;
        let now = authority.now();
        let (generated, signed) = issue_responder(authority, &unlocked.ca, validity)?;
        let life = signed.not_after.unix_timestamp() - now.unix_timestamp();
        let delegate = Delegate {
            ca: ca.to_string(),
            issuer: IssuerId::from_cert(&unlocked.ca.cert_der)?,
            key: generated.key,
            cert_der: signed.der,
            renew_at: now.unix_timestamp() + life * 2 / 3,
        };
        self.delegates.write().unwrap_or_else(|p| p.into_inner()).insert(ca.to_string(), Arc::new(delegate));
        // Responses signed by the old delegate stay valid; new ones use the new key.
        Ok(())
    }

    /// Adds the responder an offline CA's key ceremony signed (`ca sign-crl`), loaded by
    /// [`Authority::load_ceremony_responder`]: it answers until it expires, and is never
    /// renewed here.
    fn adopt_ceremony_responders(&self) -> Result<(), Error> {
        for (ca, (key, cert_der)) in self.authority.ceremony_responders() {
            let issuer_der = self.authority.ca_record(&ca)?.der;
            let delegate = Delegate { ca: ca.clone(), issuer: IssuerId::from_cert(&issuer_der)?, key, cert_der, renew_at: i64::MAX };
            self.delegates.write().unwrap_or_else(|p| p.into_inner()).insert(ca, Arc::new(delegate));
        }
        Ok(())
    }

    /// Replaces delegates due for renewal and drops responses past half their life.
    pub fn maintain(&self) -> Result<(), Error> {
        let now = self.authority.now().unix_timestamp();
        let due: Vec<String> = self.delegates().values().filter(|d| now >= d.renew_at).map(|d| d.ca.clone()).collect();
        for ca in due {
            self.rotate(&ca)?;
        }
        let half = self.authority.config.revocation.ocsp_validity.0.as_secs() as i64 / 2;
        let mut cache = self.cache.write().unwrap_or_else(|p| p.into_inner());
        cache.retain(|_, forms| {
            forms.retain(|c| now < c.this_update + half);
            !forms.is_empty()
        });
        Ok(())
    }

    fn delegates(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<Delegate>>> {
        self.delegates.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The responder certificate currently used for `ca`.
    pub fn responder_cert(&self, ca: &str) -> Option<Vec<u8>> {
        self.delegates().get(ca).map(|d| d.cert_der.clone())
    }

    /// Answers a DER OCSPRequest.
    pub fn answer(&self, request: &[u8]) -> Answer {
        let fail = |status: ResponseStatus| Answer {
            der: Arc::new(ocsp::error_response(status)),
            cacheable: None,
            status: status.name(),
        };
        let request = match ocsp::parse_request(request) {
            Ok(r) => r,
            Err(e) => return fail(ResponseStatus::for_request_error(&e)),
        };
        let Some(delegate) = self.delegate_for(&request.cert_ids) else { return fail(ResponseStatus::Unauthorized) };
        if request.nonce.is_none() && request.cert_ids.len() == 1 {
            let id = &request.cert_ids[0];
            if let Some(hit) = self.lookup(&delegate, id) {
                return hit;
            }
            return match self.sign_one(&delegate, id) {
                Ok((signed, status)) => {
                    let window = (signed.this_update, signed.next_update);
                    let der = self.remember(&delegate.ca, id, signed, status);
                    Answer { der, cacheable: Some(window), status }
                }
                Err(_) => fail(ResponseStatus::InternalError),
            };
        }
        match self.sign_many(&delegate, &request.cert_ids, request.nonce.as_deref()) {
            Ok((der, status)) => Answer { der: Arc::new(der), cacheable: None, status },
            Err(_) => fail(ResponseStatus::InternalError),
        }
    }

    /// Answers from memory, without touching the store or a key: for a request for one
    /// certificate, without a nonce, whose response is held and fresh. `None` otherwise
    /// (then [`OcspResponder::answer`] decides). Cheap enough to call on an async thread.
    pub fn answer_cached(&self, request: &[u8]) -> Option<Answer> {
        let request = ocsp::parse_request(request).ok()?;
        if request.nonce.is_some() || request.cert_ids.len() != 1 {
            return None;
        }
        let delegate = self.delegate_for(&request.cert_ids)?;
        self.lookup(&delegate, &request.cert_ids[0])
    }

    fn delegate_for(&self, ids: &[CertId]) -> Option<Arc<Delegate>> {
        let delegates = self.delegates();
        let head = ids.first()?;
        let first = delegates.values().find(|d| d.issuer.matches(head)).cloned()?;
        ids.iter().all(|id| first.issuer.matches(id)).then_some(first)
    }

    fn lookup(&self, delegate: &Delegate, id: &CertId) -> Option<Answer> {
        let now = self.authority.now().unix_timestamp();
        let half = self.authority.config.revocation.ocsp_validity.0.as_secs() as i64 / 2;
        let cache = self.cache.read().unwrap_or_else(|p| p.into_inner());
        let forms = cache.get(&key_of(&delegate.ca, &id.serial))?;
        let hit = forms.iter().find(|c| c.hash == id.hash && c.params_null == id.hash_params_null && now < c.this_update + half)?;
        Some(Answer { der: hit.der.clone(), cacheable: Some((hit.this_update, hit.next_update)), status: hit.status })
    }

    fn status(&self, ca: &str, serial: &Serial) -> Result<CertStatus, Error> {
        Ok(match self.authority.store().revocation_state(ca, &serial.to_hex())? {
            None => CertStatus::Unknown,
            Some(RevocationState::Valid) => CertStatus::Good,
            Some(RevocationState::Revoked { at, reason }) => {
                CertStatus::Revoked { at: unix(at), reason: reason.and_then(Reason::from_code) }
            }
        })
    }

    fn single(&self, delegate: &Delegate, id: &CertId, now: OffsetDateTime) -> Result<SingleResponse, Error> {
        let validity = self.authority.config.revocation.ocsp_validity.0;
        Ok(SingleResponse { cert_id: id.clone(), status: self.status(&delegate.ca, &id.serial)?, this_update: now, next_update: now + validity })
    }

    fn sign_one(&self, delegate: &Delegate, id: &CertId) -> Result<(Signed, &'static str), Error> {
        let now = self.authority.now().replace_nanosecond(0).unwrap_or_else(|_| self.authority.now());
        let single = self.single(delegate, id, now)?;
        let status = status_name(&single.status);
        let der = ocsp::sign_response(&delegate.key, &delegate.cert_der, std::slice::from_ref(&single), now, None)?;
        let signed = Signed { der, this_update: now.unix_timestamp(), next_update: single.next_update.unix_timestamp() };
        Ok((signed, status))
    }

    /// Signs one response for all of `ids`; its status is theirs when they agree.
    fn sign_many(&self, delegate: &Delegate, ids: &[CertId], nonce: Option<&[u8]>) -> Result<(Vec<u8>, &'static str), Error> {
        let now = self.authority.now().replace_nanosecond(0).unwrap_or_else(|_| self.authority.now());
        let singles = ids.iter().map(|id| self.single(delegate, id, now)).collect::<Result<Vec<_>, _>>()?;
        let mut statuses = singles.iter().map(|s| status_name(&s.status));
        let first = statuses.next().unwrap_or("unknown");
        let status = if statuses.all(|s| s == first) { first } else { "mixed" };
        Ok((ocsp::sign_response(&delegate.key, &delegate.cert_der, &singles, now, nonce)?, status))
    }

    fn remember(&self, ca: &str, id: &CertId, signed: Signed, status: &'static str) -> Arc<Vec<u8>> {
        let der = Arc::new(signed.der);
        let form = Cached {
            status,
            hash: id.hash,
            params_null: id.hash_params_null,
            this_update: signed.this_update,
            next_update: signed.next_update,
            der: der.clone(),
        };
        let mut cache = self.cache.write().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHE_LIMIT {
            let mut n = 0usize;
            cache.retain(|_, _| {
                n += 1;
                !n.is_multiple_of(10)
            });
        }
        let forms = cache.entry(key_of(ca, &id.serial)).or_default();
        forms.retain(|c| !(c.hash == form.hash && c.params_null == form.params_null));
        forms.push(form);
        der
    }

    /// Re-signs, at once, the responses held for newly revoked certificates, so none is
    /// answered "good" from memory; a small batch is also pre-signed in the SHA-1 form
    /// RFC 5019 clients ask for.
    pub fn revoked(&self, entries: &[RevokedEntry]) -> Result<usize, Error> {
        let presign = entries.len() <= PRESIGN_LIMIT;
        let mut signed = 0;
        for entry in entries {
            let Some(delegate) = self.delegates().get(&entry.issuer).cloned() else { continue };
            let serial: Serial = entry.serial.parse()?;
            let held: Vec<(HashAlg, bool)> = self
                .cache
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&key_of(&entry.issuer, &serial))
                .map(|forms| forms.iter().map(|c| (c.hash, c.params_null)).collect())
                .unwrap_or_default();
            let mut ids: Vec<CertId> = held
                .into_iter()
                .map(|(hash, params_null)| {
                    let mut id = delegate.issuer.cert_id(hash, &serial);
                    id.hash_params_null = params_null;
                    id
                })
                .collect();
            if presign && !ids.iter().any(|i| i.hash == HashAlg::Sha1 && i.hash_params_null) {
                ids.push(delegate.issuer.cert_id(HashAlg::Sha1, &serial));
            }
            for id in ids {
                let (response, status) = self.sign_one(&delegate, &id)?;
                self.remember(&delegate.ca, &id, response, status);
                signed += 1;
            }
        }
        Ok(signed)
    }
}

fn status_name(status: &CertStatus) -> &'static str {
    match status {
        CertStatus::Good => "good",
        CertStatus::Revoked { .. } => "revoked",
        CertStatus::Unknown => "unknown",
    }
}

/// Generates a key and issues, signed by `ca` and recorded with its audit entry, a
/// delegated OCSP responder certificate valid for `validity` (at most the CA's life).
pub(crate) fn issue_responder(authority: &Authority, ca: &IssuingCa, validity: std::time::Duration) -> Result<(GeneratedKey, ironpki_x509::build::Signed), Error> {
    let generated = SoftwareKey::generate(KeyType::EcdsaP256)?;
    let serial = Serial::generate(authority.now(), &authority.rng)?;
    let now = authority.now();
    let signed =
        ca.issue_ocsp_responder((generated.key.public_key_raw(), KeyType::EcdsaP256), &serial, now, authority.config.backdate.0, validity)?;
    let summary = ironpki_x509::inspect::summarize(&signed.der)?;
    let record = NewCertificate {
        issuer: ca.name.clone(),
        serial: serial.to_hex(),
        subject: summary.subject.clone(),
        common_name: Some(format!("{} OCSP Responder", ca.name)),
        sans: Vec::new(),
        key_type: KeyType::EcdsaP256.to_string(),
        profile: "ocsp-responder".into(),
        not_before: signed.not_before.unix_timestamp(),
        not_after: signed.not_after.unix_timestamp(),
        requester: authority.actor.clone(),
        issued_at: now.unix_timestamp(),
        der: signed.der.clone(),
    };
    let event = authority.event(
        "cert.issued",
        &format!("cert:{}/{serial}", ca.name),
        json!({ "serial": serial.to_hex(), "issuer": ca.name, "profile": "ocsp-responder", "subject": summary.subject,
                "not_after": record.not_after, "key_source": "generated" }),
    );
    authority.store().put_certificates(&[(record, event)])?;
    Ok((generated, signed))
}

impl Authority {
    /// Acts on the revocations recorded after sequence number `seen`, by any process:
    /// retires revoked CAs from signing, and has `responder` re-sign at once what it holds
    /// for the revoked certificates. Returns the last sequence number acted on and the
    /// CAs retired.
    pub fn follow_revocations(&self, seen: i64, responder: Option<&OcspResponder>) -> Result<(i64, Vec<String>), Error> {
        let mut after = seen;
        let mut retired = Vec::new();
        loop {
            let batch = self.store().revoked_since(after, 10_000)?;
            let Some(last) = batch.last() else { break };
            after = last.seq;
            retired.extend(self.retire_revoked_cas(&batch)?);
            if let Some(r) = responder {
                r.revoked(&batch)?;
            }
        }
        Ok((after, retired))
    }
}
