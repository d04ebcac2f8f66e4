//! Challenge validation for ACME: the front end goes and looks for what the authority
//! says a challenge must show, off the request path and a bounded number at a time,
//! and reports what it found.

use std::sync::Arc;
use std::time::Duration;

use ironpki_authority::acme_order::Validation;
use ironpki_authority::Authority;
use tokio::sync::Semaphore;

/// Validations running at once, at most.
static RUNNING: Semaphore = Semaphore::const_new(16);
/// The whole of one fetch, redirects included.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `validation` in the background and records its outcome with the authority.
pub fn spawn(authority: Arc<Authority>, validation: Validation) {
    tokio::spawn(async move {
        let Ok(_permit) = RUNNING.acquire().await else { return };
        let found = tokio::task::spawn_blocking(move || {
            let failure = match validation.kind.as_str() {
                "http-01" => http01(&validation).err(),
                other => Some(format!("{other} validation is not available")),
            };
            if let Err(problem) = authority.acme_validated(&validation, failure) {
                tracing::error!(detail = problem.detail, "recording an ACME validation failed");
            }
        })
        .await;
        if let Err(e) = found {
            tracing::error!(error = %e, "an ACME validation task failed");
        }
    });
}

/// http-01 (RFC 8555 section 8.3): `GET http://IDENTIFIER:PORT/.well-known/acme-challenge/TOKEN`
/// must answer 200 with the key authorization (whitespace around it ignored).
fn http01(v: &Validation) -> Result<(), String> {
    let host = if v.identifier_type == "ip" && v.identifier.contains(':') { format!("[{}]", v.identifier) } else { v.identifier.clone() };
    let url = format!("http://{host}:{}/.well-known/acme-challenge/{}", v.port, v.token);
    let agent: ureq::Agent = ureq::Agent::config_builder().timeout_global(Some(TIMEOUT)).max_redirects(10).http_status_as_error(false).build().into();
    let mut response = agent.get(&url).call().map_err(|e| format!("fetching {url}: {e}"))?;
    let status = response.status().as_u16();
    let body = response.body_mut().with_config().limit(8192).read_to_string().map_err(|e| format!("reading {url}: {e}"))?;
    if status != 200 {
        return Err(format!("{url} answered {status}, not 200"));
    }
    if body.trim() != v.key_authorization {
        let shown: String = body.trim().chars().take(100).collect();
        return Err(format!("{url} answered {shown:?}, not the key authorization {:?}", v.key_authorization));
    }
    Ok(())
}
