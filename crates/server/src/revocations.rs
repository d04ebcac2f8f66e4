//! `GET /revocations?after=SEQ&limit=N`: the revocations after a sequence number, for a
//! subscriber of the revocation notices that missed some (or starts late).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use ironpki_authority::notify::PAGE;
use serde::Deserialize;

use crate::http::problem;
use crate::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Range {
    #[serde(default)]
    after: i64,
    limit: Option<u32>,
}

pub async fn get(State(state): State<Arc<AppState>>, uri: axum::http::Uri) -> Response {
    let range = match axum::extract::Query::<Range>::try_from_uri(&uri) {
        Ok(q) => q.0,
        Err(e) => return problem(StatusCode::BAD_REQUEST, "bad-request", format!("bad query: {}", e.body_text())),
    };
    if range.after < 0 || range.limit == Some(0) {
        return problem(StatusCode::BAD_REQUEST, "bad-request", "after must be at least 0 and limit at least 1");
    }
    let authority = state.authority.clone();
    let limit = range.limit.unwrap_or(PAGE).min(PAGE);
    let read = tokio::task::spawn_blocking(move || -> Result<_, ironpki_authority::Error> {
        Ok((authority.notices_after(range.after, limit)?, authority.revocation_seq()?))
    })
    .await;
    match read {
        Ok(Ok((notices, last))) => {
            let body = serde_json::json!({ "revocations": notices, "last_seq": last });
            ([(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store")], body.to_string()).into_response()
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "reading revocations failed");
            problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the store could not be read")
        }
        Err(e) => problem(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
    }
}
