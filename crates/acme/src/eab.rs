//! External Account Binding (RFC 8555 section 7.3.4): a newAccount request carries a JWS,
//! MACed with a key the CA handed out beforehand, over the account's public key.

use serde_json::Value;

use crate::jwk::Alg;
use crate::jws::{Jws, KeyRef};
use crate::{Error, Jwk};

/// Checks the `externalAccountBinding` of a newAccount request sent to `url` by
/// `account_key`, with the MAC key that `mac_key_for` finds for the binding's key id
/// (None: no such key, or it may not be used). Returns that key id.
pub fn verify(binding: &Value, account_key: &Jwk, url: &str, mac_key_for: impl FnOnce(&str) -> Option<Vec<u8>>) -> Result<String, Error> {
    let jws = Jws::from_value(binding)?;
    if jws.alg != Alg::Hs256 {
        return Err(Error::Malformed(format!("the External Account Binding must be MACed with HS256, not {}", jws.alg.name())));
    }
    let KeyRef::Kid(kid) = &jws.key else {
        return Err(Error::Malformed("the External Account Binding names its key with \"kid\"".into()));
    };
    if jws.nonce.is_some() {
        return Err(Error::Malformed("the External Account Binding must not carry a nonce".into()));
    }
    if jws.url != url {
        return Err(Error::Malformed(format!("the External Account Binding's \"url\" {:?} is not the newAccount URL", jws.url)));
    }
    let bound: Value = serde_json::from_slice(jws.payload()).map_err(|_| Error::Malformed("the External Account Binding's payload is not a JWK".into()))?;
    if Jwk::from_json(&bound)? != *account_key {
        return Err(Error::Malformed("the External Account Binding binds another key than the one signing the request".into()));
    }
    let mac_key = mac_key_for(kid).ok_or_else(|| Error::Unauthorized(format!("no usable External Account Binding key {kid:?}")))?;
    jws.verify_mac(&mac_key)?;
    Ok(kid.clone())
}
