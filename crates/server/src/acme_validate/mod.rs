//! Challenge validation for ACME: the front end goes and looks for what the authority
//! says a challenge must show, off the request path and a bounded number at a time,
//! and reports what it found. Every lookup goes through the provisioner's resolver.

mod dns01;
mod http01;
mod resolve;
mod tls_alpn01;

use std::sync::Arc;
use std::time::Duration;

use ironpki_authority::acme_order::{Validation, ValidationFailure};
use ironpki_authority::Authority;
use tokio::sync::Semaphore;

/// Validations running at once, at most.
static RUNNING: Semaphore = Semaphore::const_new(16);
/// One validation, lookups and redirects included.
const DEADLINE: Duration = Duration::from_secs(20);
/// One connection attempt, or one lookup.
const STEP: Duration = Duration::from_secs(5);

/// Runs `validation` in the background and records its outcome with the authority.
pub fn spawn(authority: Arc<Authority>, validation: Validation) {
    tokio::spawn(async move {
        let Ok(_permit) = RUNNING.acquire().await else { return };
        let failure = match tokio::time::timeout(DEADLINE, validate(&validation)).await {
            Ok(outcome) => outcome.err(),
            Err(_) => Some(ValidationFailure::new("connection", format!("{} validation of {} took longer than {DEADLINE:?}", validation.kind, validation.identifier))),
        };
        let recorded = tokio::task::spawn_blocking(move || authority.acme_validated(&validation, failure)).await;
        match recorded {
            Ok(Ok(())) => {}
            Ok(Err(problem)) => tracing::error!(detail = problem.detail, "recording an ACME validation failed"),
            Err(e) => tracing::error!(error = %e, "an ACME validation task failed"),
        }
    });
}

/// Runs again, in the background, the validations a stopped process left unfinished.
pub fn resume(authority: Arc<Authority>) {
    tokio::spawn(async move {
        let found = {
            let authority = authority.clone();
            tokio::task::spawn_blocking(move || authority.acme_interrupted_validations()).await
        };
        match found {
            Ok(Ok(validations)) => {
                if !validations.is_empty() {
                    tracing::info!(count = validations.len(), "resuming ACME validations a stopped process left unfinished");
                }
                for validation in validations {
                    spawn(authority.clone(), validation);
                }
            }
            Ok(Err(problem)) => tracing::error!(detail = problem.detail, "finding unfinished ACME validations failed"),
            Err(e) => tracing::error!(error = %e, "finding unfinished ACME validations failed"),
        }
    });
}

async fn validate(v: &Validation) -> Result<(), ValidationFailure> {
    let resolver = resolve::Resolver::for_setting(&v.resolver)?;
    match v.kind.as_str() {
        "http-01" => http01::validate(v, &resolver).await,
        "dns-01" => dns01::validate(v, &resolver).await,
        "tls-alpn-01" => tls_alpn01::validate(v, &resolver).await,
        other => Err(ValidationFailure::new("malformed", format!("{other} is not a challenge type this server validates"))),
    }
}

/// SHA-256 of the key authorization: what dns-01 publishes (base64url) and tls-alpn-01
/// carries in its acmeIdentifier extension.
fn key_authorization_digest(v: &Validation) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, v.key_authorization.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}
