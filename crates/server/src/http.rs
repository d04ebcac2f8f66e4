//! HTTP plumbing shared by the handlers: problem documents and caching headers.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::OffsetDateTime;

/// An RFC 9457 problem document.
pub fn problem(status: StatusCode, kind: &str, detail: impl Into<String>) -> Response {
    let body = serde_json::json!({
        "type": format!("urn:ironpki:problem:{kind}"),
        "title": status.canonical_reason().unwrap_or("error"),
        "status": status.as_u16(),
        "detail": detail.into(),
    });
    (status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response()
}

pub async fn not_found() -> Response {
    problem(StatusCode::NOT_FOUND, "not-found", "no such resource")
}

const HTTP_DATE: &[BorrowedFormatItem<'static>] =
    format_description!("[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT");

pub fn http_date(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix).ok().and_then(|t| t.format(HTTP_DATE).ok()).unwrap_or_default()
}

/// Caching headers for a document issued at `this_update` that caches may keep until
/// `fresh_until` (RFC 5019 section 6 for OCSP: its nextUpdate; for a CRL, when the next
/// one is published): Last-Modified, Expires, an ETag of the body, and a max-age that
/// never reaches past `fresh_until`.
pub fn cache_headers(headers: &mut HeaderMap, body: &[u8], this_update: i64, fresh_until: i64, now: i64) {
    let max_age = (fresh_until - now).max(0);
    let etag = hex::encode(&aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, body).as_ref()[..16]);
    let pairs = [
        (header::LAST_MODIFIED, http_date(this_update)),
        (header::EXPIRES, http_date(fresh_until)),
        (header::ETAG, format!("\"{etag}\"")),
        (header::CACHE_CONTROL, format!("max-age={max_age}, public, no-transform, must-revalidate")),
    ];
    for (name, value) in pairs {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    }
}
