//! The ACME front end (RFC 8555) on the HTTPS listener, under `/acme/PROVISIONER/`:
//! translates HTTP to the authority's ACME decisions and back. Every answer, errors
//! included, carries a fresh `Replay-Nonce` and a `Link` to the directory.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use ironpki_authority::acme::{AcmeUrls, Problem, Verified};
use ironpki_authority::Authority;
use ironpki_config::Provisioner;
use ironpki_authority::AcmeAccount;
use serde_json::{json, Value};

use crate::AppState;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/acme/{provisioner}/directory", get(directory))
        .route("/acme/{provisioner}/new-nonce", get(new_nonce).head(new_nonce))
        .route("/acme/{provisioner}/new-account", post(new_account))
        .route("/acme/{provisioner}/acct/{id}", post(account))
        .route("/acme/{provisioner}/acct/{id}/orders", post(orders))
        .route("/acme/{provisioner}/key-change", post(key_change))
        .route("/acme/{provisioner}/new-order", post(new_order))
        .route("/acme/{provisioner}/order/{id}", post(order))
        .route("/acme/{provisioner}/order/{id}/finalize", post(finalize))
        .route("/acme/{provisioner}/authz/{id}", post(authz))
        .route("/acme/{provisioner}/chall/{authz}/{id}", post(challenge))
        .route("/acme/{provisioner}/cert/{id}", post(certificate))
        .route("/acme/{provisioner}/revoke-cert", post(revoke_cert))
        .route("/acme/{provisioner}/renewal-info/{id}", get(renewal_info))
}

/// What a handler answers, before the headers every ACME response carries.
struct Reply {
    status: StatusCode,
    location: Option<String>,
    body: Option<Value>,
    /// A PEM certificate chain instead of JSON.
    pem: Option<String>,
    /// The resource this one belongs to, sent as `Link: <URL>;rel="up"` (a challenge's
    /// authorization).
    up: Option<String>,
    /// Seconds, sent as `Retry-After`.
    retry_after: Option<i64>,
    /// The next page of a list, sent as `Link: <URL>;rel="next"`.
    next: Option<String>,
}

impl Reply {
    fn empty(status: StatusCode) -> Reply {
        Reply { status, location: None, body: None, pem: None, up: None, retry_after: None, next: None }
    }

    fn json(status: StatusCode, body: Value) -> Reply {
        Reply { body: Some(body), ..Reply::empty(status) }
    }

    fn at(status: StatusCode, location: String, body: Value) -> Reply {
        Reply { location: Some(location), ..Reply::json(status, body) }
    }
}

/// The origin the client reached (`https://HOST[:PORT]`), from its Host header: the
/// URLs it signs are built on it.
fn origin(headers: &HeaderMap) -> Result<String, Problem> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)))
        .ok_or_else(|| Problem::new("malformed", 400, "the request has no usable Host header"))?;
    Ok(format!("https://{host}"))
}

/// Runs `f` on a blocking thread with the provisioner, its URLs and, for a POST, the
/// verified request; then answers with a fresh nonce and the directory link.
async fn run<F>(state: Arc<AppState>, provisioner: String, headers: HeaderMap, uri: Uri, body: Option<Bytes>, f: F) -> Response
where
    F: FnOnce(&Authority, &Provisioner, &AcmeUrls, Option<Verified>) -> Result<Reply, Problem> + Send + 'static,
{
    let authority = state.authority.clone();
    let origin = origin(&headers);
    let body = body.map(|b| jose_body(&headers, b));
    let outcome = tokio::task::spawn_blocking(move || {
        let origin = origin?;
        let provisioner = authority.acme_provisioner(&provisioner)?.clone();
        let urls = AcmeUrls::new(&origin, &provisioner.name);
        let directory = urls.directory();
        let answer = (|| {
            let verified = match body {
                Some(body) => {
                    let url = format!("{origin}{}", uri.path_and_query().map_or(uri.path(), |p| p.as_str()));
                    Some(authority.acme_verify(&provisioner, &urls, &url, &body?)?)
                }
                None => None,
            };
            f(&authority, &provisioner, &urls, verified)
        })();
        Ok::<_, Problem>((answer, authority.acme_nonce().ok(), directory))
    })
    .await;
    let (answer, nonce, directory) = match outcome {
        Ok(Ok(parts)) => parts,
        Ok(Err(problem)) => (Err(problem), None, String::new()),
        Err(e) => (Err(Problem::new("serverInternal", 500, format!("the request's worker failed: {e}"))), None, String::new()),
    };
    let mut response = match answer {
        Ok(reply) => {
            let mut response = match (reply.body, reply.pem) {
                (_, Some(pem)) => (reply.status, [(header::CONTENT_TYPE, "application/pem-certificate-chain")], pem).into_response(),
                (Some(body), None) => (reply.status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response(),
                (None, None) => reply.status.into_response(),
            };
            if let Some(location) = reply.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            for (url, rel) in [(reply.up, "up"), (reply.next, "next")] {
                if let Some(link) = url.and_then(|u| HeaderValue::from_str(&format!("<{u}>;rel=\"{rel}\"")).ok()) {
                    response.headers_mut().append(header::LINK, link);
                }
            }
            if let Some(seconds) = reply.retry_after {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            response
        }
        Err(problem) => problem_response(&problem),
    };
    let headers = response.headers_mut();
    if let Some(nonce) = nonce.and_then(|n| HeaderValue::from_str(&n).ok()) {
        headers.insert("replay-nonce", nonce);
    }
    if let Ok(link) = HeaderValue::from_str(&format!("<{directory}>;rel=\"index\"")) {
        if !directory.is_empty() {
            headers.append(header::LINK, link);
        }
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn problem_response(problem: &Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::BAD_REQUEST);
    let body = json!({ "type": format!("urn:ietf:params:acme:error:{}", problem.kind), "detail": problem.detail, "status": problem.status });
    let mut response = (status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response();
    if let Some(location) = problem.location.as_deref().and_then(|l| HeaderValue::from_str(l).ok()) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    if let Some(seconds) = problem.retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// A POST body, which must be `application/jose+json` (RFC 8555 section 6.2).
fn jose_body(headers: &HeaderMap, body: Bytes) -> Result<Bytes, Problem> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if content_type.split(';').next().map(str::trim) == Some("application/jose+json") {
        Ok(body)
    } else {
        Err(Problem::new("malformed", 415, "ACME requests are application/jose+json"))
    }
}

/// `GET directory` (RFC 8555 section 7.1.1).
async fn directory(State(state): State<Arc<AppState>>, Path(provisioner): Path<String>, headers: HeaderMap, uri: Uri) -> Response {
    run(state, provisioner, headers, uri, None, |_, provisioner, urls, _| {
        Ok(Reply::json(
            StatusCode::OK,
            json!({
                "newNonce": urls.new_nonce(),
                "newAccount": urls.new_account(),
                "keyChange": urls.key_change(),
                "newOrder": format!("{}/new-order", urls.base),
                "revokeCert": format!("{}/revoke-cert", urls.base),
                "renewalInfo": format!("{}/renewal-info", urls.base),
                "meta": { "externalAccountRequired": provisioner.eab },
            }),
        ))
    })
    .await
}

/// `GET renewalInfo/{CertID}` (RFC 9773 section 4.2): the suggested renewal window, and
/// when to ask again.
async fn renewal_info(State(state): State<Arc<AppState>>, Path((provisioner, id)): Path<(String, String)>, headers: HeaderMap, uri: Uri) -> Response {
    run(state, provisioner, headers, uri, None, move |authority, _, _, _| {
        let window = authority.acme_renewal_info(&id)?;
        Ok(Reply { retry_after: Some(ironpki_authority::ari::RETRY_AFTER), ..Reply::json(StatusCode::OK, window.view()) })
    })
    .await
}

/// `HEAD`/`GET newNonce` (RFC 8555 section 7.2): 200 to HEAD, 204 to GET.
async fn new_nonce(State(state): State<Arc<AppState>>, Path(provisioner): Path<String>, method: Method, headers: HeaderMap, uri: Uri) -> Response {
    let status = if method == Method::HEAD { StatusCode::OK } else { StatusCode::NO_CONTENT };
    run(state, provisioner, headers, uri, None, move |_, _, _, _| Ok(Reply::empty(status))).await
}

fn account_view(account: &AcmeAccount, urls: &AcmeUrls) -> Value {
    json!({ "status": account.status, "contact": account.contact, "orders": urls.orders(&account.id) })
}

/// `POST newAccount` (RFC 8555 section 7.3): 201 with the new account, or 200 with the
/// existing one for that key.
async fn new_account(State(state): State<Arc<AppState>>, Path(provisioner): Path<String>, headers: HeaderMap, uri: Uri, body: Bytes) -> Response {
    run(state, provisioner, headers, uri, Some(body), |authority, provisioner, urls, verified| {
        let verified = verified.ok_or_else(|| Problem::new("malformed", 400, "no request"))?;
        let (account, created) = authority.acme_new_account(provisioner, urls, &verified)?;
        let status = if created { StatusCode::CREATED } else { StatusCode::OK };
        Ok(Reply::at(status, urls.account(&account.id), account_view(&account, urls)))
    })
    .await
}

/// `POST` to an account URL (RFC 8555 sections 7.3.2, 7.3.6): read, update or deactivate.
async fn account(State(state): State<Arc<AppState>>, Path((provisioner, id)): Path<(String, String)>, headers: HeaderMap, uri: Uri, body: Bytes) -> Response {
    run(state, provisioner, headers, uri, Some(body), move |authority, _, urls, verified| {
        let verified = verified.ok_or_else(|| Problem::new("malformed", 400, "no request"))?;
        let account = authority.acme_account_update(&id, &verified)?;
        Ok(Reply::at(StatusCode::OK, urls.account(&account.id), account_view(&account, urls)))
    })
    .await
}

/// `POST keyChange` (RFC 8555 section 7.3.5): the account's key replaced by the one that
/// signed the inner JWS.
async fn key_change(State(state): State<Arc<AppState>>, Path(provisioner): Path<String>, headers: HeaderMap, uri: Uri, body: Bytes) -> Response {
    run(state, provisioner, headers, uri, Some(body), |authority, _, urls, verified| {
        let verified = verified.ok_or_else(|| Problem::new("malformed", 400, "no request"))?;
        let account = authority.acme_key_change(urls, &verified)?;
        Ok(Reply::at(StatusCode::OK, urls.account(&account.id), account_view(&account, urls)))
    })
    .await
}

fn need(verified: Option<Verified>) -> Result<Verified, Problem> {
    verified.ok_or_else(|| Problem::new("malformed", 400, "no request"))
}

/// `POST newOrder` (RFC 8555 section 7.4): 201 with the order.
async fn new_order(State(state): State<Arc<AppState>>, Path(provisioner): Path<String>, headers: HeaderMap, uri: Uri, body: Bytes) -> Response {
    run(state, provisioner, headers, uri, Some(body), |authority, provisioner, urls, verified| {
        let order = authority.acme_new_order(provisioner, &need(verified)?)?;
        Ok(Reply::at(StatusCode::CREATED, format!("{}/order/{}", urls.base, order.id), authority.acme_order_view(urls, &order)))
    })
    .await
}

/// `POST` (as GET) to an order URL.
async fn order(State(state): State<Arc<AppState>>, Path((provisioner, id)): Path<(String, String)>, headers: HeaderMap, uri: Uri, body: Bytes) -> Response {
    run(state, provisioner, headers, uri, Some(body), move |authority, _, urls, verified| {
        let order = authority.acme_order(&need(verified)?, &id)?;
        Ok(Reply::at(StatusCode::OK, format!("{}/order/{}", urls.base, order.id), authority.acme_order_view(urls, &order)))
    })
    .await
}

/// `POST finalize`: the CSR issued under the provisioner's profile.
async fn finalize(State(state): State<Arc<AppState>>, Path((provisioner, id)): Path<(String, String)>, headers: HeaderMap, uri: Uri, body: Bytes) -> Response {
    run(state, provisioner, headers, uri, Some(body), move |authority, provisioner, urls, verified| {
        let order = authority.acme_finalize(provisioner, &need(verified)?, &id)?;
        Ok(Reply::at(StatusCode::OK, format!("{}/order/{}", urls.base, order.id), authority.acme_order_view(urls, &order)))
    })
    .await
}

/// `POST` (as GET) to an authorization URL.
async fn authz(State(state): State<Arc<AppState>>, Path((provisioner, id)): Path<(String, String)>, headers: HeaderMap, uri: Uri, body: Bytes) -> Response {
    run(state, provisioner, headers, uri, Some(body), move |authority, _, urls, verified| {
        let authz = authority.acme_authz(&need(verified)?, &id)?;
        Ok(Reply::json(StatusCode::OK, authority.acme_authz_view(urls, &authz)))
    })
    .await
}

/// `POST` to a challenge URL: the client is ready; validation starts in the background.
async fn challenge(State(state): State<Arc<AppState>>, Path((provisioner, authz_id, id)): Path<(String, String, String)>, headers: HeaderMap, uri: Uri, body: Bytes) -> Response {
    let authority = state.authority.clone();
    run(state, provisioner, headers, uri, Some(body), move |a, provisioner, urls, verified| {
        let (view, validation) = a.acme_respond(provisioner, urls, &need(verified)?, &authz_id, &id)?;
        if let Some(validation) = validation {
            crate::acme_validate::spawn(authority, validation);
        }
        let mut reply = Reply::json(StatusCode::OK, view);
        reply.up = Some(format!("{}/authz/{authz_id}", urls.base));
        Ok(reply)
    })
    .await
}

/// `POST` (as GET) to the certificate URL: the chain as PEM, certificate first.
async fn certificate(State(state): State<Arc<AppState>>, Path((provisioner, id)): Path<(String, String)>, headers: HeaderMap, uri: Uri, body: Bytes) -> Response {
    run(state, provisioner, headers, uri, Some(body), move |authority, _, _, verified| {
        let pem = authority.acme_certificate(&need(verified)?, &id)?;
        Ok(Reply { pem: Some(pem), ..Reply::empty(StatusCode::OK) })
    })
    .await
}

/// `POST revokeCert` (RFC 8555 section 7.6).
async fn revoke_cert(State(state): State<Arc<AppState>>, Path(provisioner): Path<String>, headers: HeaderMap, uri: Uri, body: Bytes) -> Response {
    run(state, provisioner, headers, uri, Some(body), |authority, provisioner, _, verified| {
        authority.acme_revoke(provisioner, &need(verified)?)?;
        Ok(Reply::empty(StatusCode::OK))
    })
    .await
}

/// `POST` (as GET) to an account's orders URL.
async fn orders(State(state): State<Arc<AppState>>, Path((provisioner, id)): Path<(String, String)>, headers: HeaderMap, uri: Uri, body: Bytes) -> Response {
    let page = match uri.query().map(|q| q.strip_prefix("page=").and_then(|n| n.parse::<i64>().ok()).filter(|n| *n >= 0)) {
        None => Ok(0),
        Some(Some(n)) => Ok(n),
        Some(None) => Err(Problem::new("malformed", 400, "an orders list takes only ?page=N")),
    };
    run(state, provisioner, headers, uri, Some(body), move |authority, _, urls, verified| {
        let page = page?;
        let (list, more) = authority.acme_orders_list(urls, &need(verified)?, &id, page)?;
        let next = more.then(|| format!("{}?page={}", urls.orders(&id), page + 1));
        Ok(Reply { next, ..Reply::json(StatusCode::OK, json!({ "orders": list })) })
    })
    .await
}
