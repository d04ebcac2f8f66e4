//! Answering a challenge for the length of one order: http-01 from the agent's own
//! listener or a web root, tls-alpn-01 (RFC 8737) from the agent's own TLS listener,
//! dns-01 through the configured hook commands. Listeners are bound when an order
//! starts and closed when it ends, so the ports are free the rest of the time.

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use instant_acme::KeyAuthorization;
use ironpki_x509::san::San;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::{AcmeSource, ChallengeKind};
use crate::{hooks, Error};

const HOOK_TIMEOUT: Duration = Duration::from_secs(120);
const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

type Tokens = Arc<Mutex<HashMap<String, String>>>;
type AlpnCerts = Arc<Mutex<HashMap<String, Arc<CertifiedKey>>>>;

pub struct Responder {
    kind: Kind,
    server: Option<JoinHandle<()>>,
    /// What to undo when the order ends: web root files, or dns-01 records.
    placed: Vec<Placed>,
}

enum Kind {
    Http(Tokens),
    Webroot(PathBuf),
    TlsAlpn(AlpnCerts),
    Dns { present: String, cleanup: String },
}

enum Placed {
    File(PathBuf),
    Txt { record: String, value: String },
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Responder {
    pub async fn start(source: &AcmeSource) -> Result<Responder, Error> {
        let (kind, server) = match source.challenge {
            ChallengeKind::Http01 => match (&source.http01_listen, &source.webroot) {
                (Some(addr), _) => {
                    let tokens = Tokens::default();
                    let listener = TcpListener::bind(addr).await.map_err(|e| Error::Challenge(format!("http-01 listener on {addr}: {e}")))?;
                    (Kind::Http(tokens.clone()), Some(tokio::spawn(serve_http01(listener, tokens))))
                }
                (None, Some(root)) => (Kind::Webroot(root.clone()), None),
                (None, None) => return Err(Error::Config("http-01 needs http01_listen or webroot".into())),
            },
            ChallengeKind::TlsAlpn01 => {
                let addr = source.tls_alpn01_listen.ok_or_else(|| Error::Config("tls-alpn-01 needs tls_alpn01_listen".into()))?;
                let certs = AlpnCerts::default();
                let listener = TcpListener::bind(addr).await.map_err(|e| Error::Challenge(format!("tls-alpn-01 listener on {addr}: {e}")))?;
                let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
                    .with_safe_default_protocol_versions()
                    .map_err(|e| Error::Challenge(e.to_string()))?
                    .with_no_client_auth()
                    .with_cert_resolver(Arc::new(AlpnResolver(certs.clone())));
                config.alpn_protocols = vec![ACME_TLS_ALPN.to_vec()];
                (Kind::TlsAlpn(certs), Some(tokio::spawn(serve_tls_alpn(listener, Arc::new(config)))))
            }
            ChallengeKind::Dns01 => {
                let hooks = source.dns01.as_ref().ok_or_else(|| Error::Config("dns-01 needs dns01 hooks".into()))?;
                (Kind::Dns { present: hooks.present.clone(), cleanup: hooks.cleanup.clone() }, None)
            }
        };
        Ok(Responder { kind, server, placed: Vec::new() })
    }

    /// Makes the answer to one challenge available.
    pub async fn publish(&mut self, identifier: &San, token: &str, key_auth: &KeyAuthorization) -> Result<(), Error> {
        if token.is_empty() || !token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(Error::Challenge(format!("the CA sent the token {token:?}, not base64url")));
        }
        match &self.kind {
            Kind::Http(tokens) => {
                lock(tokens).insert(token.to_string(), key_auth.as_str().to_string());
            }
            Kind::Webroot(root) => {
                let dir = root.join(".well-known/acme-challenge");
                std::fs::create_dir_all(&dir).map_err(|e| Error::Challenge(format!("{}: {e}", dir.display())))?;
                let path = dir.join(token);
                std::fs::write(&path, key_auth.as_str()).map_err(|e| Error::Challenge(format!("{}: {e}", path.display())))?;
                self.placed.push(Placed::File(path));
            }
            Kind::TlsAlpn(certs) => {
                let (sni, key) = alpn_certificate(identifier, key_auth)?;
                lock(certs).insert(sni, key);
            }
            Kind::Dns { present, .. } => {
                let name = match identifier {
                    San::Dns(d) => d.trim_start_matches("*."),
                    other => return Err(Error::Challenge(format!("dns-01 cannot prove {other}"))),
                };
                let record = format!("_acme-challenge.{name}.");
                let value = key_auth.dns_value();
                hooks::run(present, &[("IRONPKI_DNS_RECORD", &record), ("IRONPKI_DNS_VALUE", &value)], HOOK_TIMEOUT)
                    .await
                    .map_err(|e| Error::Challenge(format!("dns-01 present hook: {e}")))?;
                self.placed.push(Placed::Txt { record, value });
            }
        }
        Ok(())
    }

    /// Closes the listener and removes what was published.
    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
            let _ = server.await;
        }
        for placed in std::mem::take(&mut self.placed) {
            match placed {
                Placed::File(path) => {
                    let _ = std::fs::remove_file(path);
                }
                Placed::Txt { record, value } => {
                    if let Kind::Dns { cleanup, .. } = &self.kind {
                        if let Err(e) = hooks::run(cleanup, &[("IRONPKI_DNS_RECORD", &record), ("IRONPKI_DNS_VALUE", &value)], HOOK_TIMEOUT).await {
                            crate::log::warn("", "dns01.cleanup_failed", &[("error", &e)]);
                        }
                    }
                }
            }
        }
    }
}

async fn serve_http01(listener: TcpListener, tokens: Tokens) {
    while let Ok((stream, _)) = listener.accept().await {
        let tokens = tokens.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let answer = req.uri().path().strip_prefix("/.well-known/acme-challenge/").and_then(|t| lock(&tokens).get(t).cloned());
                async move {
                    let response = match answer {
                        Some(body) => Response::new(Full::new(Bytes::from(body))),
                        None => {
                            let mut r = Response::new(Full::new(Bytes::from_static(b"not found\n")));
                            *r.status_mut() = hyper::StatusCode::NOT_FOUND;
                            r
                        }
                    };
                    Ok::<_, Infallible>(response)
                }
            });
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

async fn serve_tls_alpn(listener: TcpListener, config: Arc<rustls::ServerConfig>) {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    while let Ok((stream, _)) = listener.accept().await {
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            // The handshake is the answer; the validator closes the connection after it.
            if let Ok(mut tls) = acceptor.accept(stream).await {
                let _ = tokio::io::AsyncWriteExt::shutdown(&mut tls).await;
            }
        });
    }
}

#[derive(Debug)]
struct AlpnResolver(AlpnCerts);

impl ResolvesServerCert for AlpnResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        if !hello.alpn()?.any(|p| p == ACME_TLS_ALPN) {
            return None;
        }
        let sni = hello.server_name()?.to_ascii_lowercase();
        lock(&self.0).get(&sni).cloned()
    }
}

/// The self-signed certificate of RFC 8737 §3 for `identifier`, and the SNI it answers:
/// the name, or the reverse-DNS name of an IP address (RFC 8738 §6).
fn alpn_certificate(identifier: &San, key_auth: &KeyAuthorization) -> Result<(String, Arc<CertifiedKey>), Error> {
    let fail = |e: rcgen::Error| Error::Challenge(format!("tls-alpn-01 certificate: {e}"));
    let (sni, san) = match identifier {
        San::Dns(d) => (d.clone(), rcgen::SanType::DnsName(d.clone().try_into().map_err(fail)?)),
        San::Ip(ip) => (reverse_name(ip), rcgen::SanType::IpAddress(*ip)),
        other => return Err(Error::Challenge(format!("tls-alpn-01 cannot prove {other}"))),
    };
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(fail)?;
    let mut params = rcgen::CertificateParams::default();
    params.subject_alt_names = vec![san];
    params.custom_extensions = vec![rcgen::CustomExtension::new_acme_identifier(key_auth.digest().as_ref())];
    let cert = params.self_signed(&key).map_err(fail)?;
    let key_der = rustls_pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let signing = provider.key_provider.load_private_key(key_der).map_err(|e| Error::Challenge(format!("tls-alpn-01 key: {e}")))?;
    Ok((sni, Arc::new(CertifiedKey::new(vec![cert.der().clone()], signing))))
}

fn reverse_name(ip: &std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
        }
        std::net::IpAddr::V6(v6) => {
            let nibbles: Vec<String> = v6.octets().iter().rev().flat_map(|b| [b & 0x0f, b >> 4]).map(|n| format!("{n:x}")).collect();
            format!("{}.ip6.arpa", nibbles.join("."))
        }
    }
}
