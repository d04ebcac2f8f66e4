//! ACME orders (RFC 8555 section 7.4): which identifiers an account may order, the
//! authorizations and challenges they need, what a validation must find, and issuance at
//! finalize under the provisioner's profile, through the same path as every issuance.

use std::net::IpAddr;

use aws_lc_rs::rand::SecureRandom;
use ironpki_acme::{b64, key_authorization, unb64};
use ironpki_config::{Challenge as ChallengeType, Provisioner, Role, RoleGrant};
use ironpki_store::acme::{AcmeAccount, AcmeAuthz, AcmeOrder};
use ironpki_x509::san::San;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::access::Caller;
use crate::acme::{AcmeUrls, Problem, Verified};
use crate::issue::{IssueRequest, Subject};
use crate::Authority;

/// How long an order and its authorizations wait for the client.
const ORDER_LIFE: i64 = 7 * 86_400;

/// A challenge as stored inside its authorization.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Challenge {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub token: String,
    /// `pending`, `processing`, `valid` or `invalid`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validated: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
}

/// What a validation must find, for the front end that goes and looks.
#[derive(Debug, Clone)]
pub struct Validation {
    pub authz_id: String,
    pub challenge_id: String,
    /// `http-01`, `dns-01` or `tls-alpn-01`.
    pub kind: String,
    /// `dns` or `ip`.
    pub identifier_type: String,
    pub identifier: String,
    pub token: String,
    pub key_authorization: String,
    /// The port http-01 (or tls-alpn-01) connects to.
    pub port: u16,
    /// The provisioner's `dns_resolver`: `system` or `ADDR:PORT`.
    pub resolver: String,
}

/// What validating `challenge` of `authz` must find, under the provisioner's settings.
fn validation_of(provisioner: &Provisioner, authz: &AcmeAuthz, challenge: &Challenge, key_authorization: String) -> Validation {
    Validation {
        authz_id: authz.id.clone(),
        challenge_id: challenge.id.clone(),
        kind: challenge.kind.clone(),
        identifier_type: authz.identifier_type.clone(),
        identifier: authz.identifier_value.clone(),
        token: challenge.token.clone(),
        key_authorization,
        port: if challenge.kind == "tls-alpn-01" { provisioner.tls_alpn01_port } else { provisioner.http01_port },
        resolver: provisioner.dns_resolver.clone(),
    }
}

/// Why a validation failed: an RFC 8555 error type (`dns`, `connection`, `tls`,
/// `incorrectResponse`, `unauthorized`) and what was found against what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationFailure {
    pub kind: &'static str,
    pub detail: String,
}

impl ValidationFailure {
    pub fn new(kind: &'static str, detail: impl Into<String>) -> ValidationFailure {
        ValidationFailure { kind, detail: detail.into() }
    }
}

pub(crate) fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix).ok().and_then(|t| t.format(&Rfc3339).ok()).unwrap_or_default()
}

fn challenges(authz: &AcmeAuthz) -> Result<Vec<Challenge>, Problem> {
    serde_json::from_str(&authz.challenges).map_err(|_| Problem::new("serverInternal", 500, "an authorization's challenges are unreadable"))
}

fn account_of(request: &Verified) -> Result<&ironpki_store::acme::AcmeAccount, Problem> {
    request.account.as_ref().ok_or_else(|| Problem::new("malformed", 400, "this request is signed with the account's \"kid\""))
}

impl Authority {
    fn random_id(&self, len: usize) -> Result<String, Problem> {
        let mut bytes = vec![0u8; len];
        self.rng.fill(&mut bytes).map_err(|_| Problem::new("serverInternal", 500, "the random number generator failed"))?;
        Ok(b64(&bytes))
    }

    /// newOrder (RFC 8555 section 7.4): every identifier must be one the provisioner's
    /// profile allows (`rejectedIdentifier` before any validation traffic); wildcards only
    /// where dns-01 is offered.
    pub fn acme_new_order(&self, provisioner: &Provisioner, request: &Verified) -> Result<AcmeOrder, Problem> {
        let account = account_of(request)?;
        self.acme_within_limits(provisioner, account)?;
        let payload = request.jws.payload_json()?;
        if payload.contains_key("notBefore") || payload.contains_key("notAfter") {
            return Err(Problem::new("malformed", 400, "notBefore and notAfter are not supported: the provisioner's profile sets the validity"));
        }
        let identifiers = payload
            .get("identifiers")
            .and_then(Value::as_array)
            .filter(|l| !l.is_empty() && l.len() <= 100)
            .ok_or_else(|| Problem::new("malformed", 400, "\"identifiers\" must list 1 to 100 identifiers"))?;
        let profile = self.config.profile(&provisioner.profile).ok_or_else(|| Problem::new("serverInternal", 500, "the provisioner's profile is gone"))?;
        let now = self.now().unix_timestamp();
        let mut authzs = Vec::new();
        let mut seen = Vec::new();
        for identifier in identifiers {
            let kind = identifier.get("type").and_then(Value::as_str).unwrap_or_default();
            let mut value = identifier.get("value").and_then(Value::as_str).unwrap_or_default().to_ascii_lowercase();
            let (san, wildcard) = match kind {
                "dns" => {
                    let wildcard = value.starts_with("*.");
                    let san = San::Dns(value.clone());
                    san.validate().map_err(|e| Problem::new("rejectedIdentifier", 400, format!("{value:?} is not a DNS name: {e}")))?;
                    (san, wildcard)
                }
                "ip" => {
                    let ip: IpAddr = value.parse().map_err(|_| Problem::new("rejectedIdentifier", 400, format!("{value:?} is not an IP address")))?;
                    value = ip.to_string();
                    (San::Ip(ip), false)
                }
                other => return Err(Problem::new("unsupportedIdentifier", 400, format!("identifier type {other:?}: only dns and ip"))),
            };
            if !profile.san.allows(&san) {
                return Err(Problem::new("rejectedIdentifier", 400, format!("{san} is not a name provisioner {:?} may issue for (profile {})", provisioner.name, profile.name)));
            }
            if seen.contains(&(kind.to_string(), value.clone())) {
                continue;
            }
            seen.push((kind.to_string(), value.clone()));
            let types: Vec<ChallengeType> = provisioner
                .challenges
                .iter()
                .copied()
                .filter(|c| match c {
                    ChallengeType::Dns01 => kind == "dns",
                    ChallengeType::Http01 | ChallengeType::TlsAlpn01 => !wildcard,
                })
                .collect();
            if types.is_empty() {
                return Err(Problem::new("rejectedIdentifier", 400, format!("no challenge of provisioner {:?} can validate {value:?}", provisioner.name)));
            }
            let mut list = Vec::new();
            for t in types {
                list.push(Challenge { id: self.random_id(8)?, kind: t.name().into(), token: self.random_id(32)?, status: "pending".into(), validated: None, error: None });
            }
            authzs.push(AcmeAuthz {
                id: self.random_id(12)?,
                account_id: account.id.clone(),
                provisioner: provisioner.name.clone(),
                identifier_type: kind.into(),
                identifier_value: value.trim_start_matches("*.").to_string(),
                wildcard,
                status: "pending".into(),
                expires: now + ORDER_LIFE,
                challenges: serde_json::to_string(&list).map_err(|e| Problem::new("serverInternal", 500, e.to_string()))?,
            });
        }
        let replaces = payload.get("replaces").map(|id| self.replaced_certificate(account, id, &seen)).transpose()?;
        let identifiers: Vec<Value> = seen.iter().map(|(t, v)| json!({ "type": t, "value": v })).collect();
        let order = AcmeOrder {
            id: self.random_id(12)?,
            account_id: account.id.clone(),
            provisioner: provisioner.name.clone(),
            status: "pending".into(),
            identifiers: Value::Array(identifiers.clone()).to_string(),
            authorizations: authzs.iter().map(|a| a.id.clone()).collect(),
            expires: now + ORDER_LIFE,
            error: None,
            cert_issuer: None,
            cert_serial: None,
            created_at: now,
            replaces,
        };
        let event = self.event_by(
            &format!("acme:{}/{}", account.provisioner, account.id),
            "acme.order.created",
            &format!("acme-order:{}/{}", order.provisioner, order.id),
            json!({ "identifiers": identifiers, "replaces": order.replaces }),
        );
        match self.store.acme().put_acme_order(&order, &authzs, &event) {
            Err(ironpki_store::Error::AlreadyReplaced(id)) => Err(Problem::new("alreadyReplaced", 409, format!("another order replaced the certificate {id} meanwhile"))),
            other => other.map(|()| order).map_err(Problem::from),
        }
    }

    /// The order `id` of the request's account, its status brought up to date with its
    /// authorizations (pending → ready or invalid).
    pub fn acme_order(&self, request: &Verified, id: &str) -> Result<AcmeOrder, Problem> {
        let account = account_of(request)?;
        let mut order = self.store.acme().acme_order(id)?.filter(|o| o.account_id == account.id).ok_or_else(|| Problem::new("malformed", 404, format!("no order {id:?} of this account")))?;
        if order.status == "pending" {
            let mut all_valid = true;
            for authz_id in &order.authorizations {
                let status = self.store.acme().acme_authz(authz_id)?.map(|a| a.status).unwrap_or_default();
                if status == "invalid" {
                    order.status = "invalid".into();
                    order.error = Some(json!({ "type": "urn:ietf:params:acme:error:unauthorized", "detail": "an authorization failed" }).to_string());
                }
                all_valid &= status == "valid";
            }
            if order.status == "pending" && all_valid {
                order.status = "ready".into();
            }
            if order.status != "pending" {
                self.store.acme().update_acme_order(&order, None)?;
            }
        }
        Ok(order)
    }

    /// The order as the client sees it.
    pub fn acme_order_view(&self, urls: &AcmeUrls, order: &AcmeOrder) -> Value {
        let mut view = json!({
            "status": order.status,
            "expires": rfc3339(order.expires),
            "identifiers": serde_json::from_str::<Value>(&order.identifiers).unwrap_or(Value::Null),
            "authorizations": order.authorizations.iter().map(|a| format!("{}/authz/{a}", urls.base)).collect::<Vec<_>>(),
            "finalize": format!("{}/order/{}/finalize", urls.base, order.id),
        });
        if order.cert_serial.is_some() {
            view["certificate"] = json!(format!("{}/cert/{}", urls.base, order.id));
        }
        if let Some(error) = order.error.as_deref().and_then(|e| serde_json::from_str::<Value>(e).ok()) {
            view["error"] = error;
        }
        if let Some(replaces) = &order.replaces {
            view["replaces"] = json!(replaces);
        }
        view
    }

    /// RFC 9773 `replaces`: the certificate must be this account's, share an identifier
    /// with the order, and not be replaced by another order already.
    fn replaced_certificate(&self, account: &AcmeAccount, id: &Value, identifiers: &[(String, String)]) -> Result<String, Problem> {
        let id = id.as_str().ok_or_else(|| Problem::new("malformed", 400, "\"replaces\" must be a CertID string"))?;
        let cert = self.certificate_by_cert_id(id).map_err(|p| Problem { status: 400, ..p })?;
        if cert.requester != format!("acme:{}/{}", account.provisioner, account.id) {
            return Err(Problem::new("unauthorized", 403, format!("the certificate {id} was not issued to this account")));
        }
        if !identifiers.iter().any(|(kind, value)| cert.sans.contains(&format!("{kind}:{value}"))) {
            return Err(Problem::new("malformed", 400, format!("the order shares no identifier with the certificate {id} it replaces")));
        }
        if let Some(other) = self.store.acme().acme_order_replacing(id)? {
            return Err(Problem::new("alreadyReplaced", 409, format!("order {other} already replaces the certificate {id}")));
        }
        Ok(id.to_string())
    }

    /// The authorization `id` of the request's account.
    pub fn acme_authz(&self, request: &Verified, id: &str) -> Result<AcmeAuthz, Problem> {
        let account = account_of(request)?;
        self.store.acme().acme_authz(id)?.filter(|a| a.account_id == account.id).ok_or_else(|| Problem::new("malformed", 404, format!("no authorization {id:?} of this account")))
    }

    /// The authorization as the client sees it.
    pub fn acme_authz_view(&self, urls: &AcmeUrls, authz: &AcmeAuthz) -> Value {
        let list = challenges(authz).unwrap_or_default();
        let challenges: Vec<Value> = list.iter().map(|c| challenge_view(urls, authz, c)).collect();
        let mut view = json!({
            "status": authz.status,
            "expires": rfc3339(authz.expires),
            "identifier": { "type": authz.identifier_type, "value": authz.identifier_value },
            "challenges": challenges,
        });
        if authz.wildcard {
            view["wildcard"] = json!(true);
        }
        view
    }

    /// A POST to a challenge (RFC 8555 section 7.5.1). An answer (a JSON payload) sends a
    /// pending challenge to `processing` and returns the validation to run; POST-as-GET,
    /// or a challenge settled already, only returns the challenge.
    pub fn acme_respond(&self, provisioner: &Provisioner, urls: &AcmeUrls, request: &Verified, authz_id: &str, challenge_id: &str) -> Result<(Value, Option<Validation>), Problem> {
        let mut authz = self.acme_authz(request, authz_id)?;
        let mut list = challenges(&authz)?;
        let index = list.iter().position(|c| c.id == challenge_id).ok_or_else(|| Problem::new("malformed", 404, format!("no challenge {challenge_id:?} in this authorization")))?;
        if request.jws.is_post_as_get() || authz.status != "pending" || list[index].status != "pending" {
            return Ok((challenge_view(urls, &authz, &list[index]), None));
        }
        list[index].status = "processing".into();
        authz.challenges = serde_json::to_string(&list).map_err(|e| Problem::new("serverInternal", 500, e.to_string()))?;
        self.store.acme().update_acme_authz(&authz)?;
        let challenge = &list[index];
        let validation = validation_of(provisioner, &authz, challenge, key_authorization(&challenge.token, &request.key));
        Ok((challenge_view(urls, &authz, challenge), Some(validation)))
    }

    /// The validations a stopped process left unfinished (authorizations still pending
    /// with a challenge processing), to run again: `serve` starts them when it starts.
    pub fn acme_interrupted_validations(&self) -> Result<Vec<Validation>, Problem> {
        let mut found = Vec::new();
        for authz in self.store.acme().acme_authzs_processing(self.now().unix_timestamp())? {
            let (Ok(provisioner), Some(account)) = (self.acme_provisioner(&authz.provisioner), self.store.acme().acme_account(&authz.account_id)?) else { continue };
            for challenge in challenges(&authz)?.iter().filter(|c| c.status == "processing") {
                found.push(validation_of(provisioner, &authz, challenge, format!("{}.{}", challenge.token, account.thumbprint)));
            }
        }
        Ok(found)
    }

    /// Records what a validation found: the challenge and its authorization become valid,
    /// or invalid with `failure` as the reason. A challenge no longer processing (another
    /// replica's validation of it finished first) is left as it is.
    pub fn acme_validated(&self, validation: &Validation, failure: Option<ValidationFailure>) -> Result<(), Problem> {
        let mut authz = self.store.acme().acme_authz(&validation.authz_id)?.ok_or_else(|| Problem::new("serverInternal", 500, "the authorization vanished"))?;
        let mut list = challenges(&authz)?;
        let Some(challenge) = list.iter_mut().find(|c| c.id == validation.challenge_id && c.status == "processing") else { return Ok(()) };
        if authz.status != "pending" {
            return Ok(());
        }
        match failure {
            None => {
                challenge.status = "valid".into();
                challenge.validated = Some(self.now().unix_timestamp());
                authz.status = "valid".into();
            }
            Some(failure) => {
                challenge.status = "invalid".into();
                challenge.error = Some(json!({ "type": format!("urn:ietf:params:acme:error:{}", failure.kind), "detail": failure.detail, "status": 400 }));
                authz.status = "invalid".into();
            }
        }
        authz.challenges = serde_json::to_string(&list).map_err(|e| Problem::new("serverInternal", 500, e.to_string()))?;
        Ok(self.store.acme().update_acme_authz(&authz)?)
    }

    /// finalize (RFC 8555 section 7.4): the order must be ready; the CSR must name exactly
    /// the order's identifiers; the certificate is issued under the provisioner's profile
    /// and recorded before the order says so.
    pub fn acme_finalize(&self, provisioner: &Provisioner, request: &Verified, order_id: &str) -> Result<AcmeOrder, Problem> {
        let account = account_of(request)?.clone();
        let mut order = self.acme_order(request, order_id)?;
        if order.status != "ready" {
            return Err(Problem::new("orderNotReady", 403, format!("the order is {}, not ready: every authorization must be valid first", order.status)));
        }
        let payload = request.jws.payload_json()?;
        let csr_b64 = payload.get("csr").and_then(Value::as_str).ok_or_else(|| Problem::new("malformed", 400, "finalize needs \"csr\""))?;
        let der = unb64(csr_b64, "the CSR").map_err(|e| Problem::new("badCSR", 400, e.to_string()))?;
        let csr = ironpki_x509::csr::Csr::parse_and_verify(&der).map_err(|e| Problem::new("badCSR", 400, e.to_string()))?;
        let identifiers: Vec<Value> = serde_json::from_str(&order.identifiers).unwrap_or_default();
        let mut wanted: Vec<String> = identifiers.iter().map(|i| format!("{}:{}", i["type"].as_str().unwrap_or_default(), i["value"].as_str().unwrap_or_default())).collect();
        let mut asked: Vec<String> = csr.sans.iter().map(|s| s.to_string()).collect();
        if let Some(cn) = &csr.common_name {
            let cn_san = San::for_common_name(cn).to_string();
            if !asked.contains(&cn_san) {
                asked.push(cn_san);
            }
        }
        wanted.sort();
        wanted.dedup();
        asked.sort();
        asked.dedup();
        if asked != wanted {
            return Err(Problem::new("badCSR", 400, format!("the CSR names {} but the order is for {}", asked.join(", "), wanted.join(", "))));
        }
        let caller = Caller::with_grant(
            format!("acme:{}/{}", account.provisioner, account.id),
            &RoleGrant { role: Role::Operator, profiles: vec![provisioner.profile.clone()], san_patterns: Vec::new() },
        );
        let issued = self
            .issue(&IssueRequest { profile: Some(provisioner.profile.clone()), subject: Subject::Csr(der), lifetime: provisioner.lifetime.map(|d| d.0), caller })
            .map_err(|e| match e {
                crate::Error::Refused(m) => Problem::new("badCSR", 400, m),
                other => Problem::from(other),
            })?;
        order.status = "valid".into();
        order.cert_issuer = Some(issued.issuer.clone());
        order.cert_serial = Some(issued.serial.to_hex());
        let event = self.event_by(
            &format!("acme:{}/{}", account.provisioner, account.id),
            "acme.order.finalized",
            &format!("acme-order:{}/{}", order.provisioner, order.id),
            json!({ "serial": issued.serial.to_hex(), "issuer": issued.issuer }),
        );
        self.store.acme().update_acme_order(&order, Some(&event))?;
        Ok(order)
    }

    /// The certificate of a valid order, PEM: the certificate, then the intermediates.
    pub fn acme_certificate(&self, request: &Verified, order_id: &str) -> Result<String, Problem> {
        let order = self.acme_order(request, order_id)?;
        let (Some(issuer), Some(serial)) = (&order.cert_issuer, &order.cert_serial) else {
            return Err(Problem::new("malformed", 404, "the order has no certificate yet"));
        };
        let cert = self.certificate(serial, Some(issuer))?;
        let chain = self.chain_for(issuer)?;
        Ok(std::iter::once(&cert.der).chain(chain.iter()).map(|d| ironpki_x509::pem::cert(d)).collect())
    }
}

fn challenge_view(urls: &AcmeUrls, authz: &AcmeAuthz, c: &Challenge) -> Value {
    let mut view = json!({
        "type": c.kind,
        "url": format!("{}/chall/{}/{}", urls.base, authz.id, c.id),
        "token": c.token,
        "status": c.status,
    });
    if let Some(at) = c.validated {
        view["validated"] = json!(rfc3339(at));
    }
    if let Some(error) = &c.error {
        view["error"] = error.clone();
    }
    view
}

impl Authority {
    /// revokeCert (RFC 8555 section 7.6): signed by the account the certificate was issued
    /// to, or by the certificate's own key; the reason is kept. Goes through
    /// [`Authority::revoke`] like every revocation.
    pub fn acme_revoke(&self, provisioner: &Provisioner, request: &Verified) -> Result<(), Problem> {
        let payload = request.jws.payload_json()?;
        let der = unb64(payload.get("certificate").and_then(Value::as_str).unwrap_or_default(), "the certificate")
            .map_err(|e| Problem::new("malformed", 400, e.to_string()))?;
        let (serial, public_key) = ironpki_x509::inspect::serial_and_public_key(&der).map_err(|e| Problem::new("malformed", 400, e.to_string()))?;
        let record = self
            .store
            .certificates_by_serial(&serial, self.now().unix_timestamp())?
            .into_iter()
            .find(|c| c.der == der)
            .ok_or_else(|| Problem::new("malformed", 404, "this CA did not issue that certificate"))?;
        let by = match &request.account {
            Some(account) => {
                let holder = format!("acme:{}/{}", account.provisioner, account.id);
                if record.requester != holder {
                    return Err(Problem::new("unauthorized", 403, "the certificate was not issued to this account: sign with its own key instead"));
                }
                holder
            }
            None => {
                if request.key.public_key_bits() != public_key {
                    return Err(Problem::new("unauthorized", 403, "the request is signed neither by the account holding the certificate nor by the certificate's key"));
                }
                format!("acme-certificate-key:{}", request.key.thumbprint())
            }
        };
        let code = payload.get("reason").map(|r| r.as_u64().and_then(|c| u8::try_from(c).ok())).unwrap_or(Some(0));
        let reason = code
            .filter(|c| ![2u8, 7, 8, 10].contains(c))
            .and_then(ironpki_x509::revocation::Reason::from_code)
            .ok_or_else(|| Problem::new("badRevocationReason", 400, "the reason must be an RFC 5280 code other than cACompromise, 7, removeFromCRL and aACompromise"))?;
        let caller = Caller::with_grant(by, &RoleGrant { role: Role::Operator, profiles: vec![provisioner.profile.clone()], san_patterns: Vec::new() });
        match self.revoke(&caller, &record.serial, Some(&record.issuer), reason, None) {
            Ok(_) => Ok(()),
            Err(crate::Error::Conflict(m)) => Err(Problem::new("alreadyRevoked", 400, m)),
            Err(e) => Err(e.into()),
        }
    }
}

/// The most orders one page of an orders list names.
pub const ORDERS_PAGE: i64 = 100;

impl Authority {
    /// The provisioner's per-account limits: new orders in the last hour, and failed
    /// authorizations among those created in the last hour. Beyond either, `rateLimited`
    /// with the seconds until the oldest counted one leaves the hour.
    fn acme_within_limits(&self, provisioner: &Provisioner, account: &AcmeAccount) -> Result<(), Problem> {
        let now = self.now().unix_timestamp();
        let limited = |what: String, leaves_at: Option<i64>| Problem {
            retry_after: Some(leaves_at.map_or(3600, |t| t - now).clamp(1, 3600)),
            ..Problem::new("rateLimited", 429, what)
        };
        let limit = u64::from(provisioner.orders_per_hour);
        if limit > 0 {
            let (count, earliest) = self.store.acme().acme_orders_since(&account.id, now - 3600)?;
            if count >= limit {
                return Err(limited(format!("this account created {count} orders in the last hour; provisioner {:?} allows {limit}", provisioner.name), earliest.map(|t| t + 3600)));
            }
        }
        let limit = u64::from(provisioner.failed_validations_per_hour);
        if limit > 0 {
            let (count, earliest) = self.store.acme().acme_failed_authzs(&account.id, now - 3600 + ORDER_LIFE)?;
            if count >= limit {
                let detail = format!("{count} of this account's authorizations from the last hour failed validation; provisioner {:?} allows {limit}", provisioner.name);
                return Err(limited(detail, earliest.map(|t| t - ORDER_LIFE + 3600)));
            }
        }
        Ok(())
    }
}

impl Authority {
    /// Page `page` (from 0) of the URLs of the orders of account `id` (RFC 8555 section
    /// 7.1.2.1), newest first, and whether another page follows; only the account itself
    /// may list them.
    pub fn acme_orders_list(&self, urls: &AcmeUrls, request: &Verified, id: &str, page: i64) -> Result<(Vec<String>, bool), Problem> {
        let account = account_of(request)?;
        if account.id != id {
            return Err(Problem::new("unauthorized", 403, "an account lists only its own orders"));
        }
        let mut ids = self.store.acme().acme_orders_of(id, ORDERS_PAGE + 1, page.saturating_mul(ORDERS_PAGE))?;
        let more = ids.len() as i64 > ORDERS_PAGE;
        ids.truncate(ORDERS_PAGE as usize);
        Ok((ids.into_iter().map(|o| format!("{}/order/{o}", urls.base)).collect(), more))
    }
}
