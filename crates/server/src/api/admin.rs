//! CAs, profiles, the audit log, API tokens, health and metrics.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ironpki_authority::{AuditEntry, NewToken};
use ironpki_config::Role;
use serde::Deserialize;

use super::auth::Identity;
use super::error::ApiError;
use super::extract::{Json, Path, Query};
use super::views::{rfc3339, CaView};
use super::{blocking, json};
use crate::AppState;

/// `GET /cas`.
pub async fn cas(State(state): State<Arc<AppState>>, identity: Identity) -> Result<Response, ApiError> {
    let caller = identity.caller()?.clone();
    let authority = state.authority.clone();
    let cas = blocking(move || authority.cas(&caller)).await?;
    let views: Vec<CaView> = cas.iter().map(|c| CaView::new(c, state.authority.unlocked_cas().contains(&c.name))).collect();
    Ok(json(&serde_json::json!({ "items": views })).into_response())
}

/// `GET /profiles`.
pub async fn profiles(State(state): State<Arc<AppState>>, identity: Identity) -> Result<Response, ApiError> {
    let caller = identity.caller()?.clone();
    let authority = state.authority.clone();
    let profiles = blocking(move || authority.profiles(&caller).cloned()).await?;
    let items: Vec<serde_json::Value> = profiles
        .iter()
        .map(|(name, p)| {
            let mut v = serde_json::to_value(p).unwrap_or_default();
            v["name"] = serde_json::Value::String(name.clone());
            v
        })
        .collect();
    Ok(json(&serde_json::json!({ "items": items, "default_profile": state.authority.config.default_profile })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    since: Option<u64>,
    limit: Option<usize>,
}

const AUDIT_PAGE: usize = 1000;

/// `GET /audit?since=SEQ`: entries after SEQ, oldest first, a page at a time.
pub async fn audit(State(state): State<Arc<AppState>>, identity: Identity, Query(q): Query<AuditQuery>) -> Result<Response, ApiError> {
    let caller = identity.caller()?.clone();
    let limit = q.limit.unwrap_or(AUDIT_PAGE);
    if limit == 0 || limit > AUDIT_PAGE {
        return Err(ApiError::bad_request(format!("limit must be 1 to {AUDIT_PAGE}")));
    }
    let authority = state.authority.clone();
    let since = q.since.unwrap_or(0);
    let entries = blocking(move || -> Result<Vec<AuditEntry>, ironpki_authority::Error> {
        let mut entries = Vec::with_capacity(limit.min(64));
        authority.audit(&caller, since, &mut |entry| {
            entries.push(entry);
            entries.len() < limit
        })?;
        Ok(entries)
    })
    .await?;
    let next = (entries.len() == limit).then(|| entries.last().map(|e| e.seq)).flatten();
    let items: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| {
            serde_json::json!({
                "seq": e.seq, "at": rfc3339(e.at), "actor": e.actor, "action": e.action, "target": e.target,
                "details": e.details_json(),
                "prev_hash": e.prev_hash, "hash": e.hash,
            })
        })
        .collect();
    Ok(json(&serde_json::json!({ "items": items, "next_since": next })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    role: Role,
    #[serde(default)]
    description: String,
    #[serde(default)]
    profiles: Vec<String>,
    #[serde(default)]
    san_patterns: Vec<String>,
    expires: Option<String>,
}

fn token_view(t: &ironpki_authority::TokenRecord) -> serde_json::Value {
    serde_json::json!({
        "id": t.id, "description": t.description, "role": t.role, "profiles": t.profiles,
        "san_patterns": t.san_patterns, "created_at": rfc3339(t.created_at), "created_by": t.created_by,
        "expires_at": t.expires_at.map(rfc3339), "revoked_at": t.revoked_at.map(rfc3339),
    })
}

/// `POST /tokens` (admin): the secret is in this answer only.
pub async fn create_token(State(state): State<Arc<AppState>>, identity: Identity, Json(body): Json<TokenRequest>) -> Result<Response, ApiError> {
    let caller = identity.caller()?.clone();
    let lifetime = body
        .expires
        .as_deref()
        .map(|v| humantime::parse_duration(v).map_err(|_| ApiError::bad_request(format!("expires {v:?} is not a duration such as 90d"))))
        .transpose()?;
    let spec = NewToken {
        description: body.description,
        role: body.role,
        profiles: body.profiles,
        san_patterns: body.san_patterns,
        lifetime,
    };
    let authority = state.authority.clone();
    let (secret, record) = blocking(move || authority.create_token(&caller, &spec)).await?;
    let mut view = token_view(&record);
    view["token"] = serde_json::Value::String(secret.expose().to_string());
    let mut response = (StatusCode::CREATED, json(&view)).into_response();
    response.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `GET /tokens` (admin): without secrets.
pub async fn tokens(State(state): State<Arc<AppState>>, identity: Identity) -> Result<Response, ApiError> {
    let caller = identity.caller()?.clone();
    let authority = state.authority.clone();
    let tokens = blocking(move || authority.tokens(&caller)).await?;
    let items: Vec<serde_json::Value> = tokens.iter().map(token_view).collect();
    Ok(json(&serde_json::json!({ "items": items })).into_response())
}

/// `DELETE /tokens/{id}` (admin).
pub async fn revoke_token(State(state): State<Arc<AppState>>, identity: Identity, Path(id): Path<String>) -> Result<Response, ApiError> {
    let caller = identity.caller()?.clone();
    let authority = state.authority.clone();
    blocking(move || authority.revoke_token(&caller, &id)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /healthz`: the process answers.
pub async fn healthz() -> Response {
    json(&serde_json::json!({ "status": "ok" })).into_response()
}

/// `GET /readyz`: the store answers and every profile's issuing CA is unlocked.
pub async fn readyz(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let authority = state.authority.clone();
    let version = blocking(move || authority.schema_version()).await?;
    let unlocked = state.authority.unlocked_cas();
    let locked: Vec<&String> = state
        .authority
        .config
        .profiles
        .values()
        .map(|p| &p.issuer)
        .filter(|issuer| !unlocked.contains(issuer))
        .collect();
    if !locked.is_empty() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not-ready",
            format!("issuing CA keys not available here: {locked:?}"),
        ));
    }
    Ok(json(&serde_json::json!({ "status": "ready", "schema_version": version, "signing_cas": unlocked })).into_response())
}

/// `GET /metrics` (auditor and up).
pub async fn metrics(State(state): State<Arc<AppState>>, identity: Identity) -> Result<Response, ApiError> {
    let snapshot = crate::observe::snapshot(&state, identity.caller()?.clone()).await?;
    let body = state.metrics.render(&snapshot);
    Ok(([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response())
}
