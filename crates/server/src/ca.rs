use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::http::problem;
use crate::AppState;

/// `GET /ca/NAME.crt`: a CA certificate, DER (the caIssuers target).
pub async fn certificate(State(state): State<Arc<AppState>>, Path(file): Path<String>) -> Response {
    let Some(name) = file.strip_suffix(".crt") else {
        return problem(StatusCode::NOT_FOUND, "not-found", "CA certificates are at /ca/NAME.crt");
    };
    match state.ca_certs.get(name) {
        Some(der) => ([(header::CONTENT_TYPE, "application/pkix-cert")], der.clone()).into_response(),
        None => problem(StatusCode::NOT_FOUND, "unknown-ca", format!("no CA named {name:?}")),
    }
}

/// `GET /roots.pem`: the trust bundle.
pub async fn roots(State(state): State<Arc<AppState>>) -> Response {
    ([(header::CONTENT_TYPE, "application/x-pem-file")], state.roots_pem.clone()).into_response()
}
