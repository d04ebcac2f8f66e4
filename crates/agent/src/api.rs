//! IronPKI's REST API as the source of a certificate: the first one (or one the
//! certificate in place can no longer renew) with an operator token, `POST
//! /api/v1/certificates`; each renewal with the certificate in place as the TLS client
//! certificate, `POST /api/v1/certificates/renew`. Both send a CSR for a fresh key.

use bytes::Bytes;
use hyper::Request;
use instant_acme::BodyWrapper;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;
use time::OffsetDateTime;

use crate::config::{AgentConfig, ApiSource, Cert};
use crate::inspect::Leaf;
use crate::{fetch, log, Error};

#[derive(Deserialize)]
struct Issued {
    fullchain: String,
}

#[derive(Deserialize)]
struct Problem {
    detail: Option<String>,
}

/// A new chain (PEM, leaf first) for `csr_der`.
pub async fn obtain(config: &AgentConfig, api: &ApiSource, cert: &Cert, current: Option<&Leaf>, csr_der: &[u8]) -> Result<String, Error> {
    let csr = ironpki_x509::pem::encode("CERTIFICATE REQUEST", csr_der);
    let base = api.url.trim_end_matches('/');
    if current.is_some_and(|l| l.valid_at(OffsetDateTime::now_utc())) {
        let body = serde_json::json!({ "csr": csr, "lifetime": api.lifetime });
        match renew_by_certificate(config, cert, &format!("{base}/api/v1/certificates/renew"), body).await {
            Ok(chain) => return Ok(chain),
            Err(e) if api.token_file.is_some() => log::warn(cert.name(), "api.renewal_refused", &[("error", &e.to_string())]),
            Err(e) => return Err(e),
        }
    }
    let Some(token_file) = &api.token_file else {
        return Err(Error::Api("no certificate in place can renew itself, and no token_file is configured".into()));
    };
    let token = std::fs::read_to_string(token_file).map_err(|e| Error::Files(format!("{}: {e}", token_file.display())))?;
    let body = serde_json::json!({ "csr": csr, "profile": api.profile, "lifetime": api.lifetime });
    let client = fetch::http_client(&config.roots)?;
    let url = format!("{base}/api/v1/certificates");
    let request = Request::post(&url)
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {}", token.trim()))
        .body(BodyWrapper::from(body.to_string().into_bytes()))
        .map_err(|e| Error::Api(e.to_string()))?;
    issued(&client, &url, request).await
}

/// Renews with the certificate and key in place as the TLS client certificate.
async fn renew_by_certificate(config: &AgentConfig, cert: &Cert, url: &str, body: serde_json::Value) -> Result<String, Error> {
    let files = &cert.config.files;
    let read = |p: &std::path::Path| std::fs::read(p).map_err(|e| Error::Files(format!("{}: {e}", p.display())));
    let mut chain: Vec<CertificateDer<'static>> = Vec::new();
    for path in [Some(&files.cert), files.chain.as_ref()].into_iter().flatten() {
        for der in ironpki_x509::pem::blocks(&read(path)?, "CERTIFICATE", "certificate").map_err(|e| Error::Files(e.to_string()))? {
            chain.push(CertificateDer::from(der));
        }
    }
    let key = PrivateKeyDer::from_pem_slice(&read(&files.key)?).map_err(|e| Error::Files(format!("{}: {e}", files.key.display())))?;
    let client = fetch::http_client_with(&config.roots, Some((chain, key)))?;
    let request = Request::post(url)
        .header("content-type", "application/json")
        .body(BodyWrapper::<Bytes>::from(body.to_string().into_bytes()))
        .map_err(|e| Error::Api(e.to_string()))?;
    issued(&client, url, request).await
}

async fn issued(client: &fetch::HttpClient, url: &str, request: Request<BodyWrapper<Bytes>>) -> Result<String, Error> {
    let (status, body) = fetch::exchange(client, url, request).await.map_err(Error::Api)?;
    if status.is_success() {
        let issued: Issued = serde_json::from_slice(&body).map_err(|e| Error::Api(format!("{url}: unreadable answer: {e}")))?;
        return Ok(issued.fullchain);
    }
    let detail = serde_json::from_slice::<Problem>(&body).ok().and_then(|p| p.detail).unwrap_or_default();
    Err(Error::Api(format!("{url} answered {status}: {detail}")))
}
