//! OCSP over HTTP (RFC 6960 Appendix A, RFC 5019): POST with an
//! application/ocsp-request body, or GET with the base64 request in the path.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use ironpki_authority::ocsp::{Answer, OcspResponder};
use ironpki_x509::ocsp::MAX_REQUEST_LEN;

use crate::http::{cache_headers, problem};
use crate::{AppState, POLL};

fn disabled() -> Response {
    problem(StatusCode::NOT_FOUND, "ocsp-disabled", "OCSP is turned off (revocation.ocsp)")
}

pub async fn post(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let Some(responder) = state.ocsp.clone() else { return disabled() };
    let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !content_type.trim().eq_ignore_ascii_case("application/ocsp-request") {
        return problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "bad-content-type",
            format!("OCSP requests are POSTed as application/ocsp-request, not {content_type:?}"),
        );
    }
    let body = match axum::body::to_bytes(request.into_body(), MAX_REQUEST_LEN).await {
        Ok(b) => b,
        Err(_) => {
            return problem(StatusCode::PAYLOAD_TOO_LARGE, "too-large", format!("OCSP requests are at most {MAX_REQUEST_LEN} bytes"))
        }
    };
    answer(&state, responder, body.to_vec()).await
}

pub async fn get(State(state): State<Arc<AppState>>, Path(encoded): Path<String>) -> Response {
    let Some(responder) = state.ocsp.clone() else { return disabled() };
    if encoded.len() > MAX_REQUEST_LEN * 2 {
        return problem(StatusCode::URI_TOO_LONG, "too-large", "the encoded OCSP request is too long");
    }
    // Path segments arrive percent-decoded; accept standard and URL-safe alphabets.
    let trimmed = encoded.trim_end_matches('=');
    let der = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(trimmed)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(trimmed))
        .unwrap_or_default();
    answer(&state, responder, der).await
}

async fn answer(state: &AppState, responder: Arc<OcspResponder>, der: Vec<u8>) -> Response {
    // A response held in memory is answered here; a miss needs the store and a key, so it
    // goes to a blocking thread.
    let started = std::time::Instant::now();
    let answer: Answer = match responder.answer_cached(&der) {
        Some(hit) => hit,
        None => match tokio::task::spawn_blocking(move || responder.answer(&der)).await {
            Ok(a) => a,
            Err(_) => return problem(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the responder failed"),
        },
    };
    state.metrics.ocsp(answer.status, started.elapsed());
    let mut response = ([(header::CONTENT_TYPE, "application/ocsp-response")], Body::from(answer.der.to_vec())).into_response();
    match answer.cacheable {
        Some((this_update, next_update)) => {
            let now = state.authority.now().unix_timestamp();
            cache_headers(response.headers_mut(), &answer.der, this_update, next_update, now);
        }
        None => {
            response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
        }
    }
    response
}

/// Follows the store's revocation sequence: retires revoked CAs from issuance and
/// re-signs the OCSP responses of newly revoked certificates; renews delegated
/// responders and retires old responses.
pub async fn watch_forever(state: Arc<AppState>, mut seen: i64) {
    let mut last_maintenance = std::time::Instant::now();
    loop {
        tokio::time::sleep(POLL).await;
        let (st, responder) = (state.clone(), state.ocsp.clone());
        let maintain = last_maintenance.elapsed() >= Duration::from_secs(60);
        let result = tokio::task::spawn_blocking(move || -> Result<i64, ironpki_authority::Error> {
            let (after, retired) = st.authority.follow_revocations(seen, responder.as_deref())?;
            for ca in retired {
                tracing::warn!(ca, "CA revoked: it signs nothing more here");
            }
            if let Some(r) = responder.as_ref().filter(|_| maintain) {
                r.maintain()?;
            }
            Ok(after)
        })
        .await;
        match result {
            Ok(Ok(seq)) => seen = seq,
            Ok(Err(e)) => tracing::error!(error = %e, "OCSP refresh failed; retrying"),
            Err(e) => tracing::error!(error = %e, "OCSP watcher task failed"),
        }
        if maintain {
            last_maintenance = std::time::Instant::now();
        }
    }
}
