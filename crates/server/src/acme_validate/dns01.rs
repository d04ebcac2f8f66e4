//! dns-01 (RFC 8555 section 8.4): a TXT record at `_acme-challenge.NAME`, found through
//! the provisioner's resolver after any CNAMEs, must hold the base64url SHA-256 of the key
//! authorization. A wildcard's authorization is for the name under the `*.`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ironpki_authority::acme_order::{Validation, ValidationFailure};

use super::key_authorization_digest;
use super::resolve::Resolver;

pub async fn validate(v: &Validation, resolver: &Resolver) -> Result<(), ValidationFailure> {
    let name = format!("_acme-challenge.{}", v.identifier);
    let expected = URL_SAFE_NO_PAD.encode(key_authorization_digest(v));
    let found = resolver.txt(&name).await?;
    if found.iter().any(|txt| txt.trim() == expected) {
        return Ok(());
    }
    let shown: Vec<String> = found.iter().take(5).map(|t| format!("{:?}", t.chars().take(100).collect::<String>())).collect();
    let detail = if shown.is_empty() {
        format!("no TXT record at {name}; expected {expected:?}")
    } else {
        format!("TXT {name} holds {}, not {expected:?}", shown.join(", "))
    };
    Err(ValidationFailure::new("incorrectResponse", detail))
}
