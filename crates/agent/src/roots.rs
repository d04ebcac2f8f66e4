//! The trust bundle: refreshed from `roots_url` (an IronPKI server's `/roots.pem`) over
//! TLS verified by the bundle already held, and replaced only by a readable bundle.

use std::time::Duration;

use http_body_util::BodyExt;
use hyper::Request;

use crate::config::AgentConfig;
use crate::{acme, log};

pub const REFRESH: Duration = Duration::from_secs(86_400);
const TIMEOUT: Duration = Duration::from_secs(30);

pub async fn refresh(config: &AgentConfig) {
    let Some(url) = &config.roots_url else { return };
    match fetch(config, url).await {
        Ok(true) => log::info("", "roots.updated", &[("url", url)]),
        Ok(false) => {}
        Err(e) => log::warn("", "roots.refresh_failed", &[("url", url), ("error", &e)]),
    }
}

/// Whether the bundle changed.
async fn fetch(config: &AgentConfig, url: &str) -> Result<bool, String> {
    let body = get(config, url).await?;
    let certs = ironpki_x509::pem::blocks(&body, "CERTIFICATE", "certificate").map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("no certificates in the answer".into());
    }
    for der in &certs {
        x509_parser::parse_x509_certificate(der).map_err(|e| format!("unreadable certificate: {e}"))?;
    }
    if std::fs::read(&config.roots).is_ok_and(|old| old == body) {
        return Ok(false);
    }
    crate::state::write_public(&config.roots, &body).map_err(|e| e.to_string())?;
    Ok(true)
}

/// GETs `url` with the bundle as trust; the body of a 200 answer.
pub async fn get(config: &AgentConfig, url: &str) -> Result<Vec<u8>, String> {
    let client = acme::http_client(&config.roots).map_err(|e| e.to_string())?;
    let request = Request::get(url).body(instant_acme::BodyWrapper::default()).map_err(|e| e.to_string())?;
    let response = tokio::time::timeout(TIMEOUT, client.request(request)).await.map_err(|_| "timed out".to_string())?.map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("{url} answered {}", response.status()));
    }
    let body = tokio::time::timeout(TIMEOUT, response.into_body().collect()).await.map_err(|_| "timed out".to_string())?.map_err(|e| e.to_string())?;
    Ok(body.to_bytes().to_vec())
}
