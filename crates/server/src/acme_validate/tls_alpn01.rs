//! tls-alpn-01 (RFC 8737): a TLS handshake with the identifier's address on the configured
//! port, offering only ALPN `acme-tls/1` and naming the identifier in SNI (an IP address by
//! its reverse-DNS name, RFC 8738 section 6). The certificate presented must name exactly
//! the identifier and carry the critical acmeIdentifier extension holding the SHA-256 of
//! the key authorization. Its chain is not checked: the challenge does not rely on it.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use ironpki_authority::acme_order::{Validation, ValidationFailure};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, SubjectPublicKeyInfoDer, UnixTime};
use tokio::net::TcpStream;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::resolve::Resolver;
use super::{key_authorization_digest, STEP};

const ACME_TLS: &[u8] = b"acme-tls/1";
/// id-pe-acmeIdentifier.
const ACME_IDENTIFIER: &str = "1.3.6.1.5.5.7.1.31";

pub async fn validate(v: &Validation, resolver: &Resolver) -> Result<(), ValidationFailure> {
    let ip_identifier = v.identifier.parse::<IpAddr>().ok();
    let sni = match ip_identifier {
        Some(ip) => reverse_name(ip),
        None => v.identifier.clone(),
    };
    let name = ServerName::try_from(sni.clone()).map_err(|e| ValidationFailure::new("malformed", format!("{sni}: {e}")))?;
    let addresses = resolver.addresses(&v.identifier).await?;
    let mut last = String::new();
    for ip in addresses {
        let stream = match tokio::time::timeout(STEP, TcpStream::connect((ip, v.port))).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                last = format!("connecting to {ip} port {}: {e}", v.port);
                continue;
            }
            Err(_) => {
                last = format!("connecting to {ip} port {}: no answer in {STEP:?}", v.port);
                continue;
            }
        };
        let connector = tokio_rustls::TlsConnector::from(unverified_client(ACME_TLS)?);
        let tls = tokio::time::timeout(STEP, connector.connect(name.clone(), stream))
            .await
            .map_err(|_| ValidationFailure::new("tls", format!("TLS with {ip} port {}: no handshake in {STEP:?}", v.port)))?
            .map_err(|e| ValidationFailure::new("tls", format!("TLS with {ip} port {} (SNI {sni}, ALPN acme-tls/1): {e}", v.port)))?;
        let (_, connection) = tls.get_ref();
        if connection.alpn_protocol() != Some(ACME_TLS) {
            return Err(ValidationFailure::new("tls", format!("{ip} port {} did not negotiate ALPN acme-tls/1", v.port)));
        }
        let leaf = connection.peer_certificates().and_then(|c| c.first()).ok_or_else(|| ValidationFailure::new("tls", format!("{ip} port {} presented no certificate", v.port)))?;
        return check_certificate(leaf, v, ip_identifier).map_err(|why| ValidationFailure::new("incorrectResponse", format!("the certificate {ip} port {} presented for {sni} {why}", v.port)));
    }
    Err(ValidationFailure::new("connection", last))
}

/// What the challenge certificate must show, or why it does not.
fn check_certificate(der: &[u8], v: &Validation, ip: Option<IpAddr>) -> Result<(), String> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| format!("does not parse: {e}"))?;
    let san = cert.subject_alternative_name().map_err(|e| format!("has a malformed subjectAltName: {e}"))?.ok_or("has no subjectAltName")?;
    let names = &san.value.general_names;
    let names_it = match (names.as_slice(), ip) {
        ([GeneralName::DNSName(dns)], None) => dns.eq_ignore_ascii_case(&v.identifier),
        ([GeneralName::IPAddress(bytes)], Some(IpAddr::V4(want))) => *bytes == want.octets().as_slice(),
        ([GeneralName::IPAddress(bytes)], Some(IpAddr::V6(want))) => *bytes == want.octets().as_slice(),
        _ => false,
    };
    if !names_it {
        return Err(format!("must name exactly {} in its subjectAltName, and names {} entries other than that", v.identifier, names.len()));
    }
    let ext = cert.extensions().iter().find(|e| e.oid.to_id_string() == ACME_IDENTIFIER).ok_or("has no acmeIdentifier extension")?;
    if !ext.critical {
        return Err("has an acmeIdentifier extension that is not critical".into());
    }
    let mut expected = vec![0x04, 0x20];
    expected.extend_from_slice(&key_authorization_digest(v));
    if ext.value != expected.as_slice() {
        return Err(format!("has acmeIdentifier {}, not the SHA-256 of the key authorization {}", hex::encode(ext.value), hex::encode(&expected[2..])));
    }
    Ok(())
}

/// The reverse-DNS name of an address: `4.3.2.1.in-addr.arpa`, or nibbles under `ip6.arpa`.
fn reverse_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(v6) => {
            let mut labels: Vec<String> = v6.octets().iter().flat_map(|b| [b >> 4, b & 0xf]).map(|n| format!("{n:x}")).collect();
            labels.reverse();
            format!("{}.ip6.arpa", labels.join("."))
        }
    }
}

/// The TLS clients validation uses, one per ALPN protocol, built at first use.
static CLIENTS: Mutex<Vec<(&'static [u8], Arc<ClientConfig>)>> = Mutex::new(Vec::new());

/// A TLS client that offers `alpn` and accepts any certificate whose handshake signature
/// holds: validation judges the certificate itself, not its chain.
pub fn unverified_client(alpn: &'static [u8]) -> Result<Arc<ClientConfig>, ValidationFailure> {
    let mut clients = CLIENTS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, config)) = clients.iter().find(|(a, _)| *a == alpn) {
        return Ok(config.clone());
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ValidationFailure::new("serverInternal", format!("the validation TLS client: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        .with_no_client_auth();
    config.alpn_protocols = vec![alpn.to_vec()];
    let config = Arc::new(config);
    clients.push((alpn, config.clone()));
    Ok(config)
}

#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl AnyCertificate {
    /// The handshake signature checked against the certificate's public key alone: a
    /// challenge certificate carries a critical extension a path validator would refuse.
    fn signed_by_certificate_key(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        let bad = |e: CertificateError| rustls::Error::InvalidCertificate(e);
        let (_, parsed) = X509Certificate::from_der(cert).map_err(|_| bad(CertificateError::BadEncoding))?;
        let spki = SubjectPublicKeyInfoDer::from(parsed.public_key().raw);
        let key = webpki::RawPublicKeyEntity::try_from(&spki).map_err(|_| bad(CertificateError::BadEncoding))?;
        let algorithms = self.0.signature_verification_algorithms.mapping.iter().filter(|(scheme, _)| *scheme == dss.scheme).flat_map(|(_, algs)| algs.iter());
        for alg in algorithms {
            if key.verify_signature(*alg, message, dss.signature()).is_ok() {
                return Ok(HandshakeSignatureValid::assertion());
            }
        }
        Err(bad(CertificateError::BadSignature))
    }
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(&self, _: &CertificateDer<'_>, _: &[CertificateDer<'_>], _: &ServerName<'_>, _: &[u8], _: UnixTime) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.signed_by_certificate_key(message, cert, dss)
    }

    fn verify_tls13_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.signed_by_certificate_key(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use rcgen::{CertificateParams, CustomExtension, KeyPair, SanType};

    use super::*;

    fn validation(identifier: &str) -> Validation {
        Validation {
            authz_id: "a".into(),
            challenge_id: "c".into(),
            kind: "tls-alpn-01".into(),
            identifier_type: "dns".into(),
            identifier: identifier.into(),
            token: "t".into(),
            key_authorization: "t.thumbprint".into(),
            port: 443,
            resolver: "system".into(),
        }
    }

    fn challenge_cert(sans: Vec<SanType>, digest: &[u8; 32], critical: bool) -> Vec<u8> {
        let mut params = CertificateParams::default();
        params.subject_alt_names = sans;
        let mut ext = CustomExtension::new_acme_identifier(digest);
        ext.set_criticality(critical);
        params.custom_extensions = vec![ext];
        params.self_signed(&KeyPair::generate().unwrap()).unwrap().der().to_vec()
    }

    #[test]
    fn challenge_certificates() {
        let v = validation("web.internal");
        let digest = key_authorization_digest(&v);
        let dns = |n: &str| SanType::DnsName(n.try_into().unwrap());
        check_certificate(&challenge_cert(vec![dns("web.internal")], &digest, true), &v, None).unwrap();
        let e = check_certificate(&challenge_cert(vec![dns("web.internal")], &[0; 32], true), &v, None).unwrap_err();
        assert!(e.contains("not the SHA-256 of the key authorization"), "{e}");
        let e = check_certificate(&challenge_cert(vec![dns("web.internal")], &digest, false), &v, None).unwrap_err();
        assert!(e.contains("not critical"), "{e}");
        let e = check_certificate(&challenge_cert(vec![dns("web.internal"), dns("other.internal")], &digest, true), &v, None).unwrap_err();
        assert!(e.contains("must name exactly web.internal"), "{e}");
        let v = validation("127.0.0.1");
        let ip = v.identifier.parse().unwrap();
        check_certificate(&challenge_cert(vec![SanType::IpAddress(ip)], &key_authorization_digest(&v), true), &v, Some(ip)).unwrap();
    }

    #[test]
    fn reverse_names() {
        assert_eq!(reverse_name("127.0.0.1".parse().unwrap()), "1.0.0.127.in-addr.arpa");
        let v6 = reverse_name("2001:db8::1".parse().unwrap());
        assert!(v6.starts_with("1.0.0.0.0.0.0.0") && v6.ends_with("8.b.d.0.1.0.0.2.ip6.arpa"), "{v6}");
    }
}
