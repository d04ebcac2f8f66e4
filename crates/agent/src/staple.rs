//! OCSP for the certificate in place: the answer is fetched from the URL the certificate
//! names, checked (signer, serial, freshness), written as the staple file (DER, for
//! nginx's `ssl_stapling_file` or HAProxy's `.ocsp`) and refreshed half-way through its
//! validity. An answer of `revoked` has the certificate replaced at once.

use ironpki_x509::ocsp::{self, CertStatus};
use ironpki_x509::ocsp_check::{self, Checked};
use ironpki_x509::Serial;
use time::OffsetDateTime;

use crate::config::AgentConfig;
use crate::inspect::Leaf;
use crate::state::Staple;
use crate::{fetch, Error};

/// The least time between two fetches, whatever the answer's validity.
const MIN_REFRESH: i64 = 60;

/// Asks the certificate's OCSP responder about `leaf`; the answer (DER) and what it
/// says. `None` when the certificate names no responder or its issuer is not at hand.
pub async fn fetch(config: &AgentConfig, leaf: &Leaf) -> Result<Option<(Vec<u8>, Checked)>, Error> {
    let (Some(url), Some(issuer)) = (&leaf.ocsp_url, &leaf.issuer_der) else { return Ok(None) };
    let fail = |e: String| Error::Ocsp(format!("{url}: {e}"));
    let serial = Serial::from_der_integer(&leaf.raw_serial);
    // No nonce: a staple is shared by every client, and the responder's pre-signed
    // answer (RFC 5019) serves it.
    let request = ocsp::build_request(issuer, &serial, None).map_err(|e| fail(e.to_string()))?;
    let client = fetch::http_client(&config.roots)?;
    let body = fetch::post(&client, url, "application/ocsp-request", request).await.map_err(Error::Ocsp)?;
    let checked = ocsp_check::check_response(&body, &serial, issuer, None, OffsetDateTime::now_utc()).map_err(|e| fail(e.to_string()))?;
    Ok(Some((body, checked)))
}

pub fn status_name(status: &CertStatus) -> &'static str {
    match status {
        CertStatus::Good => "good",
        CertStatus::Revoked { .. } => "revoked",
        CertStatus::Unknown => "unknown",
    }
}

/// The state recorded after an answer.
pub fn recorded(leaf: &Leaf, checked: &Checked, now: i64) -> Staple {
    let (this, next) = (checked.this_update.unix_timestamp(), checked.next_update.unix_timestamp());
    Staple {
        serial: leaf.serial.clone(),
        status: Some(status_name(&checked.status).to_string()),
        fetched_at: Some(now),
        this_update: Some(this),
        next_update: Some(next),
        refresh_at: (this + (next - this) / 2).max(now + MIN_REFRESH),
        error: None,
    }
}

/// Whether `staple` is due for a refresh for `leaf`.
pub fn due(staple: Option<&Staple>, leaf: &Leaf, now: i64) -> bool {
    staple.is_none_or(|s| s.serial != leaf.serial || s.refresh_at <= now)
}
