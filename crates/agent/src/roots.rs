//! The trust bundle: refreshed from `roots_url` (an IronPKI server's `/roots.pem`) over
//! TLS verified by the bundle already held, and replaced only by a readable bundle.

use std::time::Duration;

use crate::config::AgentConfig;
use crate::log;

pub const REFRESH: Duration = Duration::from_secs(86_400);

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
    let client = crate::fetch::http_client(&config.roots).map_err(|e| e.to_string())?;
    let body = crate::fetch::get(&client, url).await?;
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
