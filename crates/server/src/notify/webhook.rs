//! A webhook notifier: each notice POSTed as JSON (HTTPS verified against the PKI's roots
//! or the configured ones), signed with HMAC-SHA256 when a secret is configured; any
//! answer but 2xx is a failure to retry.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::hmac;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use ironpki_authority::notify::Notice;
use rustls_pki_types::CertificateDer;

use super::Sink;

const TIMEOUT: Duration = Duration::from_secs(10);

pub struct Webhook {
    name: String,
    url: hyper::Uri,
    key: Option<hmac::Key>,
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl Webhook {
    pub fn new(config: &ironpki_config::Webhook, roots_pem: &str) -> Result<Webhook, String> {
        let url: hyper::Uri = config.url.parse().map_err(|e| format!("{}: {e}", config.url))?;
        let key = match &config.secret_file {
            Some(path) => {
                let secret = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
                let secret = secret.trim_ascii();
                if secret.is_empty() {
                    return Err(format!("{}: empty secret", path.display()));
                }
                Some(hmac::Key::new(hmac::HMAC_SHA256, secret))
            }
            None => None,
        };
        let pem = match &config.ca_file {
            Some(path) => std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?,
            None => roots_pem.as_bytes().to_vec(),
        };
        let mut store = rustls::RootCertStore::empty();
        for der in ironpki_x509::pem::blocks(&pem, "CERTIFICATE", "roots").map_err(|e| e.to_string())? {
            store.add(CertificateDer::from(der)).map_err(|e| e.to_string())?;
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(store)
            .with_no_client_auth();
        let connector = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls).https_or_http().enable_http1().build();
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(Webhook { name: format!("webhook:{}", config.url), url, key, client })
    }
}

impl Sink for Webhook {
    fn name(&self) -> &str {
        &self.name
    }

    fn deliver<'a>(&'a mut self, _notice: &'a Notice, json: &'a [u8]) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            let mut request = hyper::Request::post(self.url.clone()).header("content-type", "application/json").header("user-agent", "ironpki");
            if let Some(key) = &self.key {
                request = request.header("x-ironpki-signature", format!("sha256={}", hex::encode(hmac::sign(key, json).as_ref())));
            }
            let request = request.body(Full::new(Bytes::copy_from_slice(json))).map_err(|e| e.to_string())?;
            let response = tokio::time::timeout(TIMEOUT, self.client.request(request))
                .await
                .map_err(|_| format!("no answer within {}s", TIMEOUT.as_secs()))?
                .map_err(|e| e.to_string())?;
            let status = response.status();
            let _ = tokio::time::timeout(TIMEOUT, response.into_body().collect()).await;
            if status.is_success() {
                Ok(())
            } else {
                Err(format!("answered {status}"))
            }
        })
    }
}
