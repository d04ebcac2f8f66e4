//! Serving CRLs, and publishing them: after revocations (coalesced: one CRL per CA per
//! poll, however many revocations arrived) and on schedule, well before nextUpdate.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use ironpki_authority::publication::{Published, Round};
use ironpki_authority::CrlRecord;

use crate::http::{cache_headers, problem};
use crate::{AppState, POLL};

/// `GET /crl/NAME.crl` (full) and `GET /crl/NAME-delta.crl` (delta).
pub async fn get(State(state): State<Arc<AppState>>, Path(file): Path<String>) -> Response {
    let Some(stem) = file.strip_suffix(".crl") else {
        return problem(StatusCode::NOT_FOUND, "not-found", "CRLs are at /crl/NAME.crl and /crl/NAME-delta.crl");
    };
    let (ca, delta) = match stem.strip_suffix("-delta") {
        Some(ca) if state.ca_certs.contains_key(ca) && !state.ca_certs.contains_key(stem) => (ca, true),
        _ => (stem, false),
    };
    if !state.ca_certs.contains_key(ca) {
        return problem(StatusCode::NOT_FOUND, "unknown-ca", format!("no CA named {ca:?}"));
    }
    let published: Published = state.crls.published(ca);
    let Some(crl) = (if delta { published.delta } else { published.full }) else {
        return problem(StatusCode::NOT_FOUND, "no-crl", format!("no {} CRL of {ca:?} has been published", if delta { "delta" } else { "full" }));
    };
    let now = state.authority.now().unix_timestamp();
    let mut response = ([(header::CONTENT_TYPE, "application/pkix-crl")], crl.der.clone()).into_response();
    let fresh_until = state.authority.crl_refresh_at(&crl);
    cache_headers(response.headers_mut(), &crl.der, crl.this_update, fresh_until, now);
    if now >= crl.next_update {
        tracing::error!(ca, number = crl.number, next_update = crl.next_update, "serving an expired CRL; regenerating");
        response.headers_mut().insert(header::WARNING, HeaderValue::from_static("110 - \"CRL is past its nextUpdate\""));
    }
    response
}

/// How long before an offline CA's CRL lapses `/healthz` warns that a key ceremony is due.
pub const CEREMONY_WARNING: i64 = 30 * 86_400;

/// `GET /healthz`: the process answers, and the CRLs it serves are current. A CRL past
/// its nextUpdate turns the status to "degraded" (503) until it is regenerated; an
/// offline CA's CRL within 30 days of its nextUpdate, or missing, adds a warning.
pub async fn health(State(state): State<Arc<AppState>>) -> Response {
    let now = state.authority.now().unix_timestamp();
    let unlocked = state.authority.unlocked_cas();
    let mut crls = serde_json::Map::new();
    let mut warnings = Vec::new();
    let mut expired = false;
    for ca in state.ca_certs.keys() {
        let published: Published = state.crls.published(ca);
        let describe = |crl: &Option<Arc<CrlRecord>>| match crl {
            Some(c) => serde_json::json!({ "number": c.number, "entries": c.entries, "this_update": c.this_update,
                                           "next_update": c.next_update, "expired": now >= c.next_update }),
            None => serde_json::Value::Null,
        };
        if unlocked.contains(ca) {
            let delta = state.authority.publishes_delta(ca);
            expired |= published.full.as_ref().is_none_or(|c| now >= c.next_update)
                || (delta && published.delta.as_ref().is_none_or(|c| now >= c.next_update));
        } else if state.offline_cas.contains(ca) {
            match &published.full {
                Some(c) if now >= c.next_update => {
                    expired = true;
                    warnings.push(format!("the CRL of offline CA {ca:?} has lapsed: sign the next at a key ceremony (`ironpki ca sign-crl --ca {ca}`)"));
                }
                Some(c) if c.next_update - now < CEREMONY_WARNING => warnings.push(format!(
                    "the CRL of offline CA {ca:?} lapses in {} days: sign the next at a key ceremony (`ironpki ca sign-crl --ca {ca}`)",
                    (c.next_update - now) / 86_400
                )),
                Some(_) => {}
                None => warnings.push(format!("offline CA {ca:?} has no CRL: sign one at a key ceremony (`ironpki ca sign-crl --ca {ca}`)")),
            }
        } else {
            continue;
        }
        crls.insert(ca.clone(), serde_json::json!({ "full": describe(&published.full), "delta": describe(&published.delta) }));
    }
    let status = if expired { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
    let body = serde_json::json!({ "status": if expired { "degraded" } else { "ok" }, "crls": crls, "warnings": warnings });
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// Runs publication rounds until the task is aborted: the replica holding the publisher
/// lease publishes CRLs as they are due; the others serve what it published, picked up
/// from the store within a poll (the authority decides; this schedules and logs).
pub async fn publish_forever(state: Arc<AppState>) {
    loop {
        tokio::time::sleep(POLL).await;
        let st = state.clone();
        match tokio::task::spawn_blocking(move || st.crls.round(&st.authority)).await {
            Ok(Ok(round)) => log_round(&state, &round),
            Ok(Err(e)) => tracing::error!(error = %e, "CRL publication failed; retrying"),
            Err(e) => tracing::error!(error = %e, "CRL publisher task failed"),
        }
    }
}

pub fn log_round(state: &AppState, round: &Round) {
    match round.lease_changed {
        Some(true) => tracing::info!(replica = state.replica, "took the CRL publisher lease"),
        Some(false) => tracing::warn!(replica = state.replica, "lost the CRL publisher lease"),
        None => {}
    }
    for crl in &round.published {
        let kind = if crl.base_number.is_some() { "delta" } else { "full" };
        tracing::info!(ca = crl.issuer, number = crl.number, entries = crl.entries, kind, "published CRL");
    }
}
