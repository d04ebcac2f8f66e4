//! The ACME side (RFC 8555, RFC 9773) through instant-acme: the account kept in the state
//! directory, an order with `replaces`, the challenge answered as configured, the chain
//! downloaded; and the renewal information of a certificate.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use aws_lc_rs::digest;
use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, CertificateIdentifier, ChallengeType, ExternalAccountKey, Identifier,
    NewAccount, NewOrder, OrderStatus, RenewalInfo, RetryPolicy,
};
use ironpki_x509::san::San;
use time::OffsetDateTime;
use tokio::sync::Mutex;

use crate::challenge::Responder;
use crate::config::{AcmeSource, Cert, ChallengeKind};
use crate::inspect::Leaf;
use crate::{state, Error};

/// The ACME accounts in use, one per (directory, EAB key id), kept in the state
/// directory so that restarts reuse them.
#[derive(Default)]
pub struct Accounts {
    open: Mutex<HashMap<String, Account>>,
}

fn account_key(source: &AcmeSource) -> String {
    let id = format!("{}\n{}", source.directory, source.eab.as_ref().map_or("", |e| e.kid.as_str()));
    hex::encode(&digest::digest(&digest::SHA256, id.as_bytes()).as_ref()[..12])
}

impl Accounts {
    pub async fn get(&self, state_dir: &Path, source: &AcmeSource, roots: &Path) -> Result<Account, Error> {
        let key = account_key(source);
        let mut open = self.open.lock().await;
        if let Some(account) = open.get(&key) {
            return Ok(account.clone());
        }
        let tls_roots = source.tls_roots.as_deref().unwrap_or(roots);
        let http = crate::fetch::http_client(tls_roots)?;
        let path = state_dir.join("accounts").join(format!("{key}.json"));
        let account = match std::fs::read(&path) {
            Ok(bytes) => {
                let credentials: AccountCredentials =
                    serde_json::from_slice(&bytes).map_err(|e| Error::Files(format!("{}: {e}", path.display())))?;
                Account::builder_with_http(Box::new(http)).from_credentials(credentials).await.map_err(|e| acme_err("loading the account", e))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let eab = match &source.eab {
                    Some(eab) => {
                        let text = std::fs::read_to_string(&eab.hmac_key_file).map_err(|e| Error::Files(format!("{}: {e}", eab.hmac_key_file.display())))?;
                        let key = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, text.trim().trim_end_matches('='))
                            .map_err(|_| Error::Config(format!("{}: not a base64url key", eab.hmac_key_file.display())))?;
                        Some(ExternalAccountKey::new(eab.kid.clone(), &key))
                    }
                    None => None,
                };
                let contact: Vec<&str> = source.contact.iter().map(String::as_str).collect();
                let new = NewAccount { contact: &contact, terms_of_service_agreed: true, only_return_existing: false };
                let (account, credentials) = Account::builder_with_http(Box::new(http))
                    .create(&new, source.directory.clone(), eab.as_ref())
                    .await
                    .map_err(|e| acme_err("creating the account", e))?;
                let text = serde_json::to_vec(&credentials).map_err(|e| Error::Files(e.to_string()))?;
                state::write_private(&path, &text)?;
                crate::log::info("", "account.created", &[("directory", &source.directory), ("account", account.id())]);
                account
            }
            Err(e) => return Err(Error::Files(format!("{}: {e}", path.display()))),
        };
        open.insert(key, account.clone());
        Ok(account)
    }
}

fn acme_err(what: &str, e: instant_acme::Error) -> Error {
    Error::Acme(format!("{what}: {}", e.to_string().replace('\n', " ")))
}

/// The RFC 9773 identifier of a certificate, when it has an authority key identifier.
pub fn cert_id(leaf: &Leaf) -> Option<CertificateIdentifier<'static>> {
    let aki = leaf.authority_key_id.as_ref()?;
    // Both parts are DER: the key identifier's octets and the serial's INTEGER contents.
    Some(CertificateIdentifier::new(aki.as_slice().into(), leaf.raw_serial.as_slice().into()).into_owned())
}

/// The CA's suggested window for `leaf` and when to ask again; `None` when the CA
/// offers no renewal information.
pub async fn renewal_info(account: &Account, leaf: &Leaf) -> Result<Option<(RenewalInfo, Duration)>, Error> {
    let Some(id) = cert_id(leaf) else { return Ok(None) };
    match account.renewal_info(&id).await {
        Ok(r) => Ok(Some(r)),
        Err(instant_acme::Error::Unsupported(_)) => Ok(None),
        Err(e) => Err(acme_err("renewal information", e)),
    }
}

/// The first wait before asking whether validation or issuance finished, doubled each
/// time: a CA that is quick (ours answers within milliseconds on a LAN) is not waited on
/// for long, and a slow one is asked about ten times a minute at most.
const POLL: Duration = Duration::from_millis(50);
const ORDER_TIMEOUT: Duration = Duration::from_secs(90);

/// Orders a certificate for `csr_der` and returns the chain (PEM, leaf first).
pub async fn order(account: &Account, cert: &Cert, source: &AcmeSource, csr_der: &[u8], replaces: Option<CertificateIdentifier<'static>>) -> Result<String, Error> {
    let identifiers: Vec<Identifier> = cert
        .sans
        .iter()
        .filter_map(|s| match s {
            San::Dns(d) => Some(Identifier::Dns(d.clone())),
            San::Ip(ip) => Some(Identifier::Ip(*ip)),
            _ => None,
        })
        .collect();
    let mut new = NewOrder::new(&identifiers);
    if let Some(id) = replaces {
        new = new.replaces(id);
    }
    let mut order = account.new_order(&new).await.map_err(|e| acme_err("newOrder", e))?;
    let mut responder = Responder::start(source).await?;
    let outcome = answer_and_finalize(&mut order, source.challenge, &mut responder, csr_der).await;
    responder.stop().await;
    outcome
}

async fn answer_and_finalize(order: &mut instant_acme::Order, kind: ChallengeKind, responder: &mut Responder, csr_der: &[u8]) -> Result<String, Error> {
    let ty = match kind {
        ChallengeKind::Http01 => ChallengeType::Http01,
        ChallengeKind::TlsAlpn01 => ChallengeType::TlsAlpn01,
        ChallengeKind::Dns01 => ChallengeType::Dns01,
    };
    let mut authorizations = order.authorizations();
    while let Some(authz) = authorizations.next().await {
        let mut authz = authz.map_err(|e| acme_err("authorization", e))?;
        if authz.status == AuthorizationStatus::Valid {
            continue;
        }
        let mut challenge = authz.challenge(ty.clone()).ok_or_else(|| Error::Acme(format!("the CA offers no {kind:?} challenge")))?;
        let identifier = match challenge.identifier().identifier {
            Identifier::Dns(d) => San::Dns(d.clone()),
            Identifier::Ip(ip) => San::Ip(*ip),
            other => return Err(Error::Acme(format!("unexpected identifier {other:?}"))),
        };
        let key_auth = challenge.key_authorization();
        responder.publish(&identifier, &challenge.token, &key_auth).await?;
        challenge.set_ready().await.map_err(|e| acme_err("challenge", e))?;
    }
    let retries = RetryPolicy::new().initial_delay(POLL).backoff(2.0).timeout(ORDER_TIMEOUT);
    let status = order.poll_ready(&retries).await.map_err(|e| acme_err("waiting for validation", e))?;
    if status != OrderStatus::Ready {
        let detail = order.state().error.as_ref().map(|p| p.to_string()).unwrap_or_default();
        return Err(Error::Acme(format!("the order became {status:?} {detail}").trim().to_string()));
    }
    order.finalize_csr(csr_der).await.map_err(|e| acme_err("finalize", e))?;
    order.poll_certificate(&retries).await.map_err(|e| acme_err("certificate", e))
}

/// The time as ACME reports it in a renewal window.
pub fn window(info: &RenewalInfo) -> (OffsetDateTime, OffsetDateTime) {
    (info.suggested_window.start, info.suggested_window.end)
}
