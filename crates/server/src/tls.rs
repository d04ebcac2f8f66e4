//! TLS for the HTTPS listener: a server certificate issued by our own intermediate and
//! swapped in place before it expires, and client certificates verified against our
//! roots when presented, the path completed with our intermediates for a client that sends
//! its leaf alone (the authority then checks they are ours and not revoked).

use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use ironpki_authority::Authority;
use ironpki_config::Config;
use ironpki_x509::san::San;
use rustls::crypto::CryptoProvider;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig, SignatureScheme, SupportedCipherSuite};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};

use crate::Error;

/// The listener's certificate, replaced atomically on renewal.
#[derive(Debug)]
pub struct ListenerCert {
    current: RwLock<Arc<CertifiedKey>>,
    /// Unix time at which the current certificate should be renewed.
    renew_at: RwLock<i64>,
    names: Vec<San>,
}

impl ResolvesServerCert for ListenerCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.read().unwrap_or_else(|p| p.into_inner()).clone())
    }
}

impl ListenerCert {
    /// Issues the first certificate (blocking: it signs and records).
    pub fn issue(authority: &Authority, provider: &CryptoProvider) -> Result<ListenerCert, Error> {
        let names = listener_names(&authority.config);
        let (key, renew_at) = issue_key(authority, &names, provider)?;
        Ok(ListenerCert { current: RwLock::new(key), renew_at: RwLock::new(renew_at), names })
    }

    pub fn renew_at(&self) -> i64 {
        *self.renew_at.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Issues a successor and swaps it in; connections already open keep theirs.
    pub fn renew(&self, authority: &Authority, provider: &CryptoProvider) -> Result<(), Error> {
        let (key, renew_at) = issue_key(authority, &self.names, provider)?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = key;
        *self.renew_at.write().unwrap_or_else(|p| p.into_inner()) = renew_at;
        Ok(())
    }

    pub fn names(&self) -> &[San] {
        &self.names
    }
}

fn issue_key(authority: &Authority, names: &[San], provider: &CryptoProvider) -> Result<(Arc<CertifiedKey>, i64), Error> {
    let (issued, key) = authority.issue_listener_certificate(names, "serve")?;
    let mut chain = vec![CertificateDer::from(issued.der.clone())];
    chain.extend(issued.chain.iter().map(|c| CertificateDer::from(c.clone())));
    let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.pkcs8.to_vec()));
    let signing = provider.key_provider.load_private_key(private).map_err(|e| Error::Tls(e.to_string()))?;
    let lifetime = issued.not_after.unix_timestamp() - issued.not_before.unix_timestamp();
    let renew_at = issued.not_before.unix_timestamp() + lifetime * 2 / 3;
    tracing::info!(serial = %issued.serial, not_after = %issued.not_after, "listener certificate issued");
    Ok((Arc::new(CertifiedKey::new(chain, signing)), renew_at))
}

/// The configured names, or localhost, 127.0.0.1, ::1 and the host name.
fn listener_names(config: &Config) -> Vec<San> {
    let mut names: Vec<String> = config.serve.tls_names.clone();
    if names.is_empty() {
        names = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
        if let Some(host) = host_name().filter(|h| h != "localhost") {
            names.push(host);
        }
    }
    names
        .into_iter()
        .map(|n| match n.parse::<IpAddr>() {
            Ok(ip) => San::Ip(ip),
            Err(_) => San::Dns(n.to_ascii_lowercase()),
        })
        .collect()
}

fn host_name() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim().to_ascii_lowercase();
    let valid = !name.is_empty()
        && name.split('.').all(|l| !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    valid.then_some(name)
}

/// How often the renewer looks at the listener certificate.
const RENEW_CHECK: std::time::Duration = std::time::Duration::from_secs(60);

/// Renews the listener certificate at two thirds of its lifetime, without a restart.
pub async fn renew_forever(authority: Arc<Authority>, cert: Arc<ListenerCert>, provider: Arc<CryptoProvider>) {
    loop {
        tokio::time::sleep(RENEW_CHECK).await;
        if authority.now().unix_timestamp() < cert.renew_at() {
            continue;
        }
        let (a, c, p) = (authority.clone(), cert.clone(), provider.clone());
        match tokio::task::spawn_blocking(move || c.renew(&a, &p)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "renewing the listener certificate failed; retrying"),
            Err(e) => tracing::error!(error = %e, "listener certificate renewal task failed"),
        }
    }
}

/// The rustls configuration of the HTTPS listener.
pub fn server_config(
    authority: &Authority,
    cert: Arc<ListenerCert>,
    provider: Arc<CryptoProvider>,
) -> Result<Arc<ServerConfig>, Error> {
    let mtls = &authority.config.mtls;
    let mut roots = RootCertStore::empty();
    for ca in authority.public_cas()?.iter().filter(|c| c.role == "root") {
        roots.add(CertificateDer::from(ca.der.clone())).map_err(|e| Error::Tls(e.to_string()))?;
    }
    let mut provider = (*provider).clone();
    if !mtls.cipher_suites.is_empty() {
        provider.cipher_suites.retain(|s: &SupportedCipherSuite| {
            s.suite().as_str().is_some_and(|name| mtls.cipher_suites.iter().any(|c| c == name))
        });
    }
    let provider = Arc::new(provider);
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
    let verifier = if mtls.client_auth_required { verifier } else { verifier.allow_unauthenticated() };
    let verifier = verifier.build().map_err(|e| Error::Tls(e.to_string()))?;
    let intermediates = authority
        .public_cas()?
        .into_iter()
        .filter(|c| c.role != "root" && c.status != "revoked")
        .map(|c| CertificateDer::from(c.der))
        .collect();
    let verifier = Arc::new(CompletingVerifier { inner: verifier, intermediates });
    let versions: &[&'static rustls::SupportedProtocolVersion] = if mtls.min_tls_version == "1.3" {
        &[&rustls::version::TLS13]
    } else {
        &[&rustls::version::TLS13, &rustls::version::TLS12]
    };
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(cert);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Client certificates verified against our roots, the path completed with our own
/// intermediates when the client sends its leaf alone (as many device TLS stacks do).
/// They join the intermediates the client sent, never the trust anchors, so a path still
/// has to reach one of our roots and meet every rule of the inner verifier.
#[derive(Debug)]
struct CompletingVerifier {
    inner: Arc<dyn ClientCertVerifier>,
    intermediates: Vec<CertificateDer<'static>>,
}

impl ClientCertVerifier for CompletingVerifier {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(&self, end_entity: &CertificateDer<'_>, intermediates: &[CertificateDer<'_>], now: UnixTime) -> Result<ClientCertVerified, rustls::Error> {
        let mut all: Vec<CertificateDer<'_>> = intermediates.to_vec();
        all.extend(self.intermediates.iter().filter(|ours| !intermediates.contains(ours)).cloned());
        self.inner.verify_client_cert(end_entity, &all, now)
    }

    fn verify_tls12_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
