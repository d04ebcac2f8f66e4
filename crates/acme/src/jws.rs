//! The flattened JWS JSON serialization every ACME POST carries (RFC 8555 section 6.2,
//! RFC 7515 section 7.2.2): parsed and checked here, verified against the account key
//! that the caller looks up.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::jwk::{Alg, Jwk};
use crate::{unb64, Error};

/// Which key signed: a new key given whole (newAccount, revokeCert by the certificate's
/// key), or an account named by its URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyRef {
    Jwk(Jwk),
    Kid(String),
}

/// A parsed request: its protected header, checked for shape; its signature, not yet
/// verified (that needs the key, which [`KeyRef::Kid`] only names).
#[derive(Debug)]
pub struct Jws {
    pub alg: Alg,
    pub key: KeyRef,
    /// Absent only in the inner JWS of an External Account Binding or a key change.
    pub nonce: Option<String>,
    pub url: String,
    /// Every member of the protected header, for checks this crate does not know of.
    pub header: Map<String, Value>,
    signing_input: Vec<u8>,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Flattened {
    protected: String,
    payload: String,
    signature: String,
}

impl Jws {
    /// Parses a request body. Refuses what RFC 8555 section 6.2 forbids: an unprotected
    /// header, `alg: none` or an algorithm we do not accept, both or neither of `jwk` and
    /// `kid`, and a missing `url`.
    pub fn parse(body: &[u8]) -> Result<Jws, Error> {
        let flat: Flattened = serde_json::from_slice(body).map_err(|e| {
            Error::Malformed(format!("the body is not a flattened JWS (protected, payload, signature; no unprotected header): {e}"))
        })?;
        Jws::from_parts(&flat.protected, &flat.payload, &flat.signature)
    }

    /// Parses a JWS given as a JSON value (the inner JWS of a key change or an EAB).
    pub fn from_value(value: &Value) -> Result<Jws, Error> {
        let flat: Flattened = serde_json::from_value(value.clone()).map_err(|e| Error::Malformed(format!("the inner JWS is not a flattened JWS: {e}")))?;
        Jws::from_parts(&flat.protected, &flat.payload, &flat.signature)
    }

    fn from_parts(protected: &str, payload: &str, signature: &str) -> Result<Jws, Error> {
        let header_bytes = unb64(protected, "the protected header")?;
        let header: Map<String, Value> = serde_json::from_slice(&header_bytes)
            .map_err(|_| Error::Malformed("the protected header is not a JSON object".into()))?;
        let text = |name: &str| -> Result<Option<String>, Error> {
            match header.get(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(Error::Malformed(format!("protected header member {name:?} is not a string"))),
            }
        };
        let alg = Alg::parse(&text("alg")?.ok_or_else(|| Error::Malformed("the protected header has no \"alg\"".into()))?)?;
        let key = match (header.get("jwk"), text("kid")?) {
            (Some(jwk), None) => KeyRef::Jwk(Jwk::from_json(jwk)?),
            (None, Some(kid)) => KeyRef::Kid(kid),
            (Some(_), Some(_)) => return Err(Error::Malformed("the protected header has both \"jwk\" and \"kid\": name the key one way".into())),
            (None, None) => return Err(Error::Malformed("the protected header has neither \"jwk\" nor \"kid\"".into())),
        };
        let url = text("url")?.ok_or_else(|| Error::Malformed("the protected header has no \"url\"".into()))?;
        let nonce = text("nonce")?;
        let signature = unb64(signature, "the signature")?;
        let payload_bytes = unb64(payload, "the payload")?;
        let signing_input = format!("{protected}.{payload}").into_bytes();
        Ok(Jws { alg, key, nonce, url, header, signing_input, payload: payload_bytes, signature })
    }

    /// Verifies the signature with `key` (the `jwk` in the header, or the account's key
    /// that `kid` names). An HS256 signature is refused: only an EAB carries one.
    pub fn verify(&self, key: &Jwk) -> Result<(), Error> {
        key.verify(self.alg, &self.signing_input, &self.signature)
    }

    /// Verifies an HMAC-SHA256 signature (an External Account Binding) with `mac_key`.
    pub(crate) fn verify_mac(&self, mac_key: &[u8]) -> Result<(), Error> {
        if self.alg != Alg::Hs256 {
            return Err(Error::Malformed("an External Account Binding is signed with HS256".into()));
        }
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, mac_key);
        aws_lc_rs::hmac::verify(&key, &self.signing_input, &self.signature)
            .map_err(|_| Error::Unauthorized("the External Account Binding's MAC does not verify with that key".into()))
    }

    /// Refuses a request whose `url` header is not the URL it was sent to (RFC 8555
    /// section 6.4).
    pub fn check_url(&self, request_url: &str) -> Result<(), Error> {
        if self.url == request_url {
            Ok(())
        } else {
            Err(Error::Unauthorized(format!("the JWS \"url\" header {:?} is not the URL the request went to ({request_url:?})", self.url)))
        }
    }

    /// The payload as sent: empty for POST-as-GET.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// Whether this is a POST-as-GET (RFC 8555 section 6.3): an empty payload.
    pub fn is_post_as_get(&self) -> bool {
        self.payload.is_empty()
    }

    /// The payload as a JSON object.
    pub fn payload_json(&self) -> Result<Map<String, Value>, Error> {
        serde_json::from_slice(&self.payload).map_err(|_| Error::Malformed("the payload is not a JSON object".into()))
    }
}
