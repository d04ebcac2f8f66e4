//! The one place where errors become HTTP answers: RFC 9457 problem documents with a
//! stable type URI per kind of failure.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use ironpki_authority::Error;

use crate::http::problem;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub detail: String,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError { status, kind, detail: detail.into(), retry_after: None }
    }

    pub fn bad_request(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad-request", detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn internal(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", detail)
    }

    /// Whether the fault is ours (counted as a store or signer error).
    pub fn is_server_fault(&self) -> bool {
        self.status.is_server_error()
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        let (status, kind) = match &e {
            Error::Refused(_) => (StatusCode::BAD_REQUEST, "refused"),
            Error::NotFound(_) => (StatusCode::NOT_FOUND, "not-found"),
            Error::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Error::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            Error::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Error::Signer(_) => (StatusCode::INTERNAL_SERVER_ERROR, "signer"),
            Error::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "store"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        if status.is_server_error() {
            tracing::error!(error = %e, kind, "request failed");
        }
        ApiError::new(status, kind, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = problem(self.status, self.kind, self.detail);
        let headers = response.headers_mut();
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"ironpki\""));
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
