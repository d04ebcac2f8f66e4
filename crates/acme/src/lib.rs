//! The ACME wire format (RFC 8555): the flattened JWS every request is wrapped in, the
//! account keys it names (JWK, RFC 7517/7518/8037) and their thumbprints (RFC 7638),
//! key authorizations for challenges, and External Account Binding.
//!
//! This crate owns what a request *says* and whether its signature holds. It must never
//! decide what a request may do (the authority decides), keep state, or do I/O.
#![forbid(unsafe_code)]

pub mod eab;
mod error;
pub mod jwk;
pub mod jws;
#[cfg(test)]
mod tests;

pub use error::Error;
pub use jwk::Jwk;
pub use jws::{Jws, KeyRef};

/// base64url without padding, as JOSE writes every binary value.
pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn unb64(text: &str, what: &str) -> Result<Vec<u8>, Error> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| Error::Malformed(format!("{what} is not base64url without padding")))
}

/// The key authorization of a challenge (RFC 8555 section 8.1): the token, a dot, and
/// the thumbprint of the account key.
pub fn key_authorization(token: &str, account_key: &Jwk) -> String {
    format!("{token}.{}", account_key.thumbprint())
}

/// What dns-01 publishes in the TXT record (RFC 8555 section 8.4): base64url of the
/// SHA-256 of the key authorization.
pub fn dns01_txt(key_authorization: &str) -> String {
    b64(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key_authorization.as_bytes()).as_ref())
}
