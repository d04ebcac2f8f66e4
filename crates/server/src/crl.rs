//! Serving CRLs, and publishing them: after revocations (coalesced: one CRL per CA per
//! poll, however many revocations arrived) and on schedule, well before nextUpdate.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use ironpki_store::CrlRecord;

use crate::http::{cache_headers, problem};
use crate::{AppState, POLL};

/// Above this many entries, a revocation refreshes the delta CRL at once and the full
/// CRL on its schedule; below it, both at once.
pub const FULL_ON_CHANGE_LIMIT: i64 = 100_000;

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
    let published = state.published(ca).unwrap_or_default();
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
        let published = state.published(ca).unwrap_or_default();
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

/// The lease that makes one replica the CRL publisher.
pub const LEASE: &str = "crl-publisher";
/// How long the lease runs without renewal: a dead publisher is replaced after this.
pub const LEASE_SECONDS: i64 = 10;

/// Polls the store until the task is aborted. The replica holding the publisher lease
/// publishes CRLs as they are due (renewing the lease at half its term); the others
/// serve what it published, picked up from the store within a poll.
pub async fn publish_forever(state: Arc<AppState>, seq: Option<i64>, held_until: i64) {
    let (mut last_seq, mut held_until) = (seq, held_until);
    loop {
        tokio::time::sleep(POLL).await;
        let st = state.clone();
        let (seen, held) = (last_seq, held_until);
        match tokio::task::spawn_blocking(move || publish_or_follow(&st, seen, held)).await {
            Ok(Ok((seq, held))) => (last_seq, held_until) = (seq, held),
            Ok(Err(e)) => tracing::error!(error = %e, "CRL publication failed; retrying"),
            Err(e) => tracing::error!(error = %e, "CRL publisher task failed"),
        }
    }
}

/// One round: keep or take the lease, then publish (holder) or follow (others).
/// Returns the revocation sequence acted on (None when following) and the lease's end.
pub fn publish_or_follow(state: &AppState, last_seq: Option<i64>, held_until: i64) -> Result<(Option<i64>, i64), ironpki_authority::Error> {
    let now = state.authority.now().unix_timestamp();
    let mut held = held_until;
    if now + LEASE_SECONDS / 2 >= held {
        let was_holder = held > now;
        held = if state.authority.store().acquire_lease(LEASE, &state.replica, now, LEASE_SECONDS)? { now + LEASE_SECONDS } else { 0 };
        if held > now && !was_holder {
            tracing::info!(replica = state.replica, "took the CRL publisher lease");
        } else if held == 0 && was_holder {
            tracing::warn!(replica = state.replica, "lost the CRL publisher lease");
        }
    }
    if held > now {
        let seq = publish_due(state, if held_until > now { last_seq } else { None })?;
        // CRLs of offline CAs come from key ceremonies, recorded by another process.
        let unlocked = state.authority.unlocked_cas();
        follow_published(state, &|ca| !unlocked.iter().any(|u| u == ca))?;
        Ok((Some(seq), held))
    } else {
        follow_published(state, &|_| true)?;
        Ok((None, 0))
    }
}

/// Serves the newest CRLs in the store of the CAs `which` selects (published by the
/// replica holding the lease, or at a key ceremony).
fn follow_published(state: &AppState, which: &dyn Fn(&str) -> bool) -> Result<(), ironpki_authority::Error> {
    let store = state.authority.store();
    for ca in state.ca_certs.keys().filter(|ca| which(ca)) {
        let published = state.published(ca).unwrap_or_default();
        let serving = [&published.full, &published.delta].iter().filter_map(|c| c.as_ref().map(|c| c.number)).max().unwrap_or(0);
        if store.last_crl_number(ca)? > serving {
            for delta in [false, true] {
                if let Some(crl) = store.latest_crl(ca, delta)? {
                    state.set_published(ca, crl);
                }
            }
        }
    }
    Ok(())
}

/// Publishes what is due for every CA whose key is online; returns the revocation
/// sequence number it acted on.
pub fn publish_due(state: &AppState, last_seq: Option<i64>) -> Result<i64, ironpki_authority::Error> {
    let authority = &state.authority;
    let store = authority.store();
    let seq = store.revocation_seq()?;
    let changed = last_seq != Some(seq);
    let now = authority.now().unix_timestamp();
    // A CA revoked while serving is retired from signing: it publishes no more CRLs.
    for ca in &authority.unlocked_cas() {
        let published = state.published(ca).unwrap_or_default();
        let due = |crl: &Option<Arc<CrlRecord>>| match crl {
            None => true,
            Some(c) => now >= authority.crl_refresh_at(c),
        };
        let pending_after = |crl: &Option<Arc<CrlRecord>>| -> Result<bool, ironpki_authority::Error> {
            Ok(match crl {
                Some(c) => changed && store.revoked_after(ca, c.revocation_seq)?,
                None => false,
            })
        };
        let full_pending = pending_after(&published.full)?;
        // Without delta CRLs, every revocation needs a new full CRL.
        let small = !authority.publishes_delta(ca) || published.full.as_ref().is_none_or(|f| f.entries < FULL_ON_CHANGE_LIMIT);
        let mut new_full = false;
        if due(&published.full) || (full_pending && small) {
            let crl = authority.generate_crl(ca, false)?;
            tracing::info!(ca, number = crl.number, entries = crl.entries, "published full CRL");
            state.set_published(ca, crl);
            new_full = true;
        }
        if !authority.publishes_delta(ca) {
            continue;
        }
        let delta_pending = pending_after(&published.delta)? || (published.delta.is_none() && full_pending);
        if new_full || due(&published.delta) || delta_pending {
            let crl = authority.generate_crl(ca, true)?;
            tracing::info!(ca, number = crl.number, entries = crl.entries, "published delta CRL");
            state.set_published(ca, crl);
        }
    }
    Ok(seq)
}
