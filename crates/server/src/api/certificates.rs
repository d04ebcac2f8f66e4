//! `/api/v1/certificates`: issue (from a CSR or with a generated key), renew over
//! mTLS, revoke one or many, read one, list with filters and a cursor.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use ironpki_authority::{IssueRequest, KeyRequest, RequestSubject};
use ironpki_authority::{CertFilter, StatusFilter};
use ironpki_x509::revocation::Reason;
use ironpki_x509::san::San;
use ironpki_x509::{KeyType, Serial};
use serde::Deserialize;

use super::auth::Identity;
use super::error::ApiError;
use super::extract::{Json, JsonOrEmpty, Path, Query};
use super::views::{CertView, IssuedView};
use super::{blocking, json};
use crate::AppState;

const PROTOCOL: &str = "rest";
/// Most serials in one bulk revocation request.
const MAX_BULK: usize = 10_000;
const DEFAULT_PAGE: u32 = 100;
/// Shortest `name` filter: what a trigram index can answer.
const MIN_NAME: usize = 3;
const MAX_PAGE: u32 = 1000;

fn lifetime(value: Option<&str>) -> Result<Option<Duration>, ApiError> {
    value
        .map(|v| humantime::parse_duration(v).map_err(|_| ApiError::bad_request(format!("lifetime {v:?} is not a duration such as 24h or 90d"))))
        .transpose()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsrRequest {
    profile: Option<String>,
    csr: String,
    lifetime: Option<String>,
}

/// `POST /certificates`: sign a CSR.
pub async fn create(State(state): State<Arc<AppState>>, identity: Identity, Json(body): Json<CsrRequest>) -> Result<Response, ApiError> {
    let started = Instant::now();
    let req = IssueRequest {
        profile: body.profile,
        subject: RequestSubject::Csr(body.csr.into_bytes()),
        lifetime: lifetime(body.lifetime.as_deref())?,
        caller: identity.caller()?.clone(),
    };
    let authority = state.authority.clone();
    let issued = state.issuance.issue(move || authority.prepare_issue(&req)).await?;
    state.metrics.issued(&issued.profile, PROTOCOL, started.elapsed());
    Ok((StatusCode::CREATED, json(&IssuedView::new(&issued))).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyGenRequest {
    profile: Option<String>,
    common_name: Option<String>,
    #[serde(default)]
    sans: Vec<String>,
    key_type: Option<String>,
    lifetime: Option<String>,
}

/// `POST /certificates/issue`: generate the key here and return it with the certificate.
pub async fn issue_with_key(
    State(state): State<Arc<AppState>>,
    identity: Identity,
    Json(body): Json<KeyGenRequest>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let sans = body.sans.iter().map(|s| s.parse::<San>()).collect::<Result<Vec<_>, _>>().map_err(|e| ApiError::bad_request(e.to_string()))?;
    let key_type = match body.key_type.as_deref() {
        Some(k) => k.parse::<KeyType>().map_err(|e| ApiError::bad_request(e.to_string()))?,
        None => KeyType::EcdsaP256,
    };
    let req = KeyRequest {
        profile: body.profile,
        common_name: body.common_name,
        sans,
        key_type,
        lifetime: lifetime(body.lifetime.as_deref())?,
        caller: identity.caller()?.clone(),
    };
    let authority = state.authority.clone();
    let (issued, key) = blocking(move || authority.issue_with_new_key(req)).await?;
    state.metrics.issued(&issued.profile, "rest-keygen", started.elapsed());
    let mut view = IssuedView::new(&issued);
    view.private_key = Some(key.pkcs8_pem().to_string());
    let mut response = (StatusCode::CREATED, json(&view)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    Ok(response)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenewRequest {
    csr: String,
    lifetime: Option<String>,
}

/// `POST /certificates/renew`: the client certificate of the connection is renewed.
pub async fn renew(State(state): State<Arc<AppState>>, identity: Identity, Json(body): Json<RenewRequest>) -> Result<Response, ApiError> {
    let started = Instant::now();
    let Some(current) = identity.certificate else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "renewal is authenticated by the certificate being renewed: present it as the TLS client certificate",
        ));
    };
    let lifetime = lifetime(body.lifetime.as_deref())?;
    let authority = state.authority.clone();
    let issued = state.issuance.issue(move || authority.prepare_renewal(&current, body.csr.as_bytes(), lifetime)).await?;
    state.metrics.issued(&issued.profile, "rest-renew", started.elapsed());
    state.metrics.renewed(&issued.profile);
    Ok((StatusCode::CREATED, json(&IssuedView::new(&issued))).into_response())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    reason: Option<String>,
    /// Names the CA when several issued the serial.
    issuer: Option<String>,
    invalidity_date: Option<String>,
}

fn reason(value: Option<&str>) -> Result<Reason, ApiError> {
    value.unwrap_or("unspecified").parse::<Reason>().map_err(|e| ApiError::bad_request(e.to_string()))
}

fn invalidity(value: Option<&str>) -> Result<Option<i64>, ApiError> {
    value
        .map(|v| {
            time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339)
                .map(|t| t.unix_timestamp())
                .map_err(|_| ApiError::bad_request(format!("invalidity_date {v:?} is not an RFC 3339 time")))
        })
        .transpose()
}

/// `POST /certificates/{serial}/revoke`.
pub async fn revoke(
    State(state): State<Arc<AppState>>,
    identity: Identity,
    Path(serial): Path<String>,
    JsonOrEmpty(body): JsonOrEmpty<RevokeRequest>,
) -> Result<Response, ApiError> {
    let caller = identity.caller()?.clone();
    let reason = reason(body.reason.as_deref())?;
    let invalidity = invalidity(body.invalidity_date.as_deref())?;
    let authority = state.authority.clone();
    let cert = blocking(move || authority.revoke(&caller, &serial, body.issuer.as_deref(), reason, invalidity)).await?;
    state.metrics.revoked(reason.name(), 1);
    Ok(json(&CertView::new(&cert, false)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkRevokeRequest {
    serials: Vec<String>,
    issuer: Option<String>,
    reason: Option<String>,
    invalidity_date: Option<String>,
}

/// `POST /certificates/revoke`: many serials; unknown or already revoked ones are skipped.
pub async fn revoke_bulk(
    State(state): State<Arc<AppState>>,
    identity: Identity,
    Json(body): Json<BulkRevokeRequest>,
) -> Result<Response, ApiError> {
    let caller = identity.caller()?.clone();
    if body.serials.len() > MAX_BULK {
        return Err(ApiError::bad_request(format!("at most {MAX_BULK} serials per request")));
    }
    let serials: Vec<String> = body
        .serials
        .iter()
        .map(|s| s.parse::<Serial>().map(|s| s.to_hex()))
        .collect::<Result<_, _>>()
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let reason = reason(body.reason.as_deref())?;
    let invalidity = invalidity(body.invalidity_date.as_deref())?;
    let authority = state.authority.clone();
    let issuer = body.issuer;
    let revoked =
        blocking(move || authority.revoke_serials(&caller, &serials, issuer.as_deref(), reason, invalidity)).await?;
    state.metrics.revoked(reason.name(), revoked.len() as u64);
    Ok(json(&serde_json::json!({ "selected": body.serials.len(), "revoked": revoked })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShowQuery {
    issuer: Option<String>,
}

/// `GET /certificates/{serial}`.
pub async fn show(
    State(state): State<Arc<AppState>>,
    identity: Identity,
    Path(serial): Path<String>,
    Query(query): Query<ShowQuery>,
) -> Result<Response, ApiError> {
    let caller = identity.caller()?.clone();
    let authority = state.authority.clone();
    let cert = blocking(move || authority.show_certificate(&caller, &serial, query.issuer.as_deref())).await?;
    Ok(json(&CertView::new(&cert, true)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    status: Option<String>,
    profile: Option<String>,
    issuer: Option<String>,
    /// Substring of the common name or of a SAN.
    name: Option<String>,
    expiring_within: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// `GET /certificates`: a page of certificates and the cursor of the next one.
pub async fn list(State(state): State<Arc<AppState>>, identity: Identity, Query(q): Query<ListQuery>) -> Result<Response, ApiError> {
    let caller = identity.caller()?.clone();
    let status = match q.status.as_deref() {
        None => None,
        Some("valid") => Some(StatusFilter::Valid),
        Some("revoked") => Some(StatusFilter::Revoked),
        Some("expired") => Some(StatusFilter::Expired),
        Some(other) => return Err(ApiError::bad_request(format!("status {other:?} is not valid, revoked or expired"))),
    };
    let expiring_within = lifetime(q.expiring_within.as_deref())?.map(|d| d.as_secs().min(i64::MAX as u64 / 2) as i64);
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    if limit == 0 || limit > MAX_PAGE {
        return Err(ApiError::bad_request(format!("limit must be 1 to {MAX_PAGE}")));
    }
    if q.name.as_ref().is_some_and(|n| n.chars().count() < MIN_NAME) {
        return Err(ApiError::bad_request(format!("name must be at least {MIN_NAME} characters (it is matched through a trigram index)")));
    }
    let (after_not_after, after_id) = match q.cursor.as_deref() {
        None => (None, None),
        Some(c) => parse_cursor(c).ok_or_else(|| ApiError::bad_request(format!("cursor {c:?} is not one this API returned")))?,
    };
    let filter = CertFilter {
        now: state.authority.now().unix_timestamp(),
        status,
        expiring_within,
        profile: q.profile,
        issuer: q.issuer,
        name_contains: q.name,
        after_id,
        after_not_after,
        limit: Some(limit),
    };
    let authority = state.authority.clone();
    let by_expiry = filter.expiring_within.is_some();
    let certs = blocking(move || authority.list_certificates(&caller, &filter)).await?;
    let next_cursor = (certs.len() == limit as usize).then(|| certs.last()).flatten().map(|last| {
        if by_expiry {
            format!("{}.{}", last.not_after, last.id)
        } else {
            last.id.to_string()
        }
    });
    let items: Vec<CertView> = certs.iter().map(|c| CertView::new(c, false)).collect();
    Ok(json(&serde_json::json!({ "items": items, "next_cursor": next_cursor })).into_response())
}

/// `ID` or `NOT_AFTER.ID`.
fn parse_cursor(cursor: &str) -> Option<(Option<i64>, Option<i64>)> {
    match cursor.split_once('.') {
        Some((not_after, id)) => Some((Some(not_after.parse().ok()?), Some(id.parse().ok()?))),
        None => Some((None, Some(cursor.parse().ok()?))),
    }
}
