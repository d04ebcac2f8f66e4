//! Plain HTTP(S) requests (the trust bundle, OCSP), through the same client as ACME:
//! hyper with rustls, trusting the bundle given. Bodies are read with a size limit and
//! a timeout.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::Request;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use instant_acme::BodyWrapper;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::Error;

pub type HttpClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, BodyWrapper<Bytes>>;

const TIMEOUT: Duration = Duration::from_secs(30);
const MAX_BODY: usize = 4 * 1024 * 1024;

/// An HTTP(S) client trusting the certificates of `roots`.
pub fn http_client(roots: &Path) -> Result<HttpClient, Error> {
    http_client_with(roots, None)
}

/// An HTTP(S) client trusting `roots` that presents `client_auth` (a chain, leaf first,
/// and its key) when a server asks for a certificate.
pub fn http_client_with(roots: &Path, client_auth: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>) -> Result<HttpClient, Error> {
    let mut store = rustls::RootCertStore::empty();
    for der in crate::inspect::read_roots(roots)? {
        store.add(CertificateDer::from(der)).map_err(|e| Error::Files(format!("{}: {e}", roots.display())))?;
    }
    let builder = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Files(e.to_string()))?
        .with_root_certificates(store);
    let tls = match client_auth {
        Some((chain, key)) => builder.with_client_auth_cert(chain, key).map_err(|e| Error::Files(format!("client certificate: {e}")))?,
        None => builder.with_no_client_auth(),
    };
    let connector = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls).https_or_http().enable_http1().build();
    let mut builder = Client::builder(TokioExecutor::new());
    builder.pool_idle_timeout(Duration::from_secs(30)).pool_max_idle_per_host(1);
    Ok(builder.build(connector))
}

/// GETs `url`; the body of a 2xx answer.
pub async fn get(client: &HttpClient, url: &str) -> Result<Vec<u8>, String> {
    let request = Request::get(url).body(BodyWrapper::default()).map_err(|e| e.to_string())?;
    send(client, url, request).await
}

/// POSTs `body` as `content_type` to `url`; the body of a 2xx answer.
pub async fn post(client: &HttpClient, url: &str, content_type: &str, body: Vec<u8>) -> Result<Vec<u8>, String> {
    let request = Request::post(url).header("content-type", content_type).body(BodyWrapper::from(body)).map_err(|e| e.to_string())?;
    send(client, url, request).await
}

async fn send(client: &HttpClient, url: &str, request: Request<BodyWrapper<Bytes>>) -> Result<Vec<u8>, String> {
    let (status, body) = exchange(client, url, request).await?;
    if !status.is_success() {
        return Err(format!("{url} answered {status}"));
    }
    Ok(body)
}

/// Sends `request`; the status and body of whatever answer comes.
pub async fn exchange(client: &HttpClient, url: &str, request: Request<BodyWrapper<Bytes>>) -> Result<(hyper::StatusCode, Vec<u8>), String> {
    let response = tokio::time::timeout(TIMEOUT, client.request(request))
        .await
        .map_err(|_| format!("{url}: no answer within {}s", TIMEOUT.as_secs()))?
        .map_err(|e| format!("{url}: {}", with_sources(&e)))?;
    let status = response.status();
    let body = tokio::time::timeout(TIMEOUT, Limited::new(response.into_body(), MAX_BODY).collect())
        .await
        .map_err(|_| format!("{url}: the answer did not arrive within {}s", TIMEOUT.as_secs()))?
        .map_err(|e| format!("{url}: {e}"))?;
    Ok((status, body.to_bytes().to_vec()))
}

/// An error and its causes, `a: b: c` (hyper's own message alone says little).
pub fn with_sources(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
