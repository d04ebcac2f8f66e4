//! EST (RFC 7030) on the HTTPS listener, at `/.well-known/est/`. This step serves
//! `cacerts` (section 4.1): the PKI's CA certificates as a base64 certs-only PKCS#7.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine;

use crate::http::problem;
use crate::AppState;

pub fn router() -> Router<Arc<AppState>> {
    Router::new().route("/.well-known/est/cacerts", get(cacerts))
}

/// `GET /.well-known/est/cacerts`: every CA certificate of this PKI (the roots and the
/// intermediates, so a client can build any of its chains).
async fn cacerts(State(state): State<Arc<AppState>>) -> Response {
    let mut names: Vec<&String> = state.ca_certs.keys().collect();
    names.sort();
    let certs: Vec<Vec<u8>> = names.iter().filter_map(|n| state.ca_certs.get(*n).cloned()).collect();
    match ironpki_x509::pkcs7::certs_only(&certs) {
        Ok(der) => (
            [(header::CONTENT_TYPE, "application/pkcs7-mime; smime-type=certs-only"), (header::HeaderName::from_static("content-transfer-encoding"), "base64")],
            base64::engine::general_purpose::STANDARD.encode(der),
        )
            .into_response(),
        Err(e) => problem(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
    }
}
