//! The REST API under `/api/v1` (HTTPS only): thin handlers that authenticate, call
//! the authority on a blocking thread and translate the answer. The OpenAPI document
//! at `/api/v1/openapi.json` describes exactly these routes.

mod admin;
mod auth;
mod certificates;
pub(crate) mod error;
mod extract;
mod views;

use std::sync::Arc;

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::Router;
use serde::Serialize;

pub use auth::RateLimiter;
use error::ApiError;

use crate::AppState;

pub const OPENAPI: &str = include_str!("../../openapi.json");

pub fn router() -> Router<Arc<AppState>> {
    let v1 = Router::new()
        .route("/certificates", post(certificates::create).get(certificates::list))
        .route("/certificates/issue", post(certificates::issue_with_key))
        .route("/certificates/renew", post(certificates::renew))
        .route("/certificates/revoke", post(certificates::revoke_bulk))
        .route("/certificates/{serial}", get(certificates::show))
        .route("/certificates/{serial}/revoke", post(certificates::revoke))
        .route("/cas", get(admin::cas))
        .route("/profiles", get(admin::profiles))
        .route("/audit", get(admin::audit))
        .route("/tokens", post(admin::create_token).get(admin::tokens))
        .route("/tokens/{id}", delete(admin::revoke_token))
        .route("/healthz", get(admin::healthz))
        .route("/readyz", get(admin::readyz))
        .route("/metrics", get(admin::metrics))
        .route("/openapi.json", get(openapi));
    Router::new().nest("/api/v1", v1).route("/metrics", get(admin::metrics))
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed", "this resource does not take that method")
}

/// Runs store- or CPU-bound authority work off the async threads (the PostgreSQL
/// client must never run on them).
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ironpki_authority::Error> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result.map_err(ApiError::from),
        Err(e) => Err(ApiError::internal(format!("the request's worker failed: {e}"))),
    }
}

pub fn json<T: Serialize>(value: &T) -> impl IntoResponse {
    let body = serde_json::to_vec(value).unwrap_or_default();
    ([(header::CONTENT_TYPE, "application/json")], body)
}

#[cfg(test)]
mod tests {
    /// Every route the router serves is in the OpenAPI document with its methods, and
    /// the document names no route the router lacks.
    #[test]
    fn the_openapi_document_lists_exactly_the_routes() {
        let doc: serde_json::Value = serde_json::from_str(super::OPENAPI).expect("valid JSON");
        assert_eq!(doc["openapi"].as_str().map(|v| v.starts_with("3.")), Some(true));
        let mut documented: Vec<String> = Vec::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for method in item.as_object().expect("path item").keys().filter(|k| *k != "parameters") {
                documented.push(format!("{} {path}", method.to_uppercase()));
            }
        }
        documented.sort();
        let mut served: Vec<String> = [
            "POST /certificates",
            "GET /certificates",
            "POST /certificates/issue",
            "POST /certificates/renew",
            "POST /certificates/revoke",
            "GET /certificates/{serial}",
            "POST /certificates/{serial}/revoke",
            "GET /cas",
            "GET /profiles",
            "GET /audit",
            "POST /tokens",
            "GET /tokens",
            "DELETE /tokens/{id}",
            "GET /healthz",
            "GET /readyz",
            "GET /metrics",
            "GET /openapi.json",
        ]
        .iter()
        .map(|r| r.replacen(' ', " /api/v1", 1))
        .collect();
        served.sort();
        assert_eq!(documented, served);
    }
}
