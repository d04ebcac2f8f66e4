//! http-01 (RFC 8555 section 8.3): `GET http://IDENTIFIER:PORT/.well-known/acme-challenge/TOKEN`
//! must answer 200 with the key authorization (whitespace around it ignored). At most ten
//! redirects are followed, each only to HTTP or HTTPS on port 80, 443 or the configured
//! port; an HTTPS hop does not check the certificate, as the challenge does not rely on it.

use std::net::IpAddr;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::header::{HOST, LOCATION, USER_AGENT};
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;
use ironpki_authority::acme_order::{Validation, ValidationFailure};
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::resolve::Resolver;
use super::{tls_alpn01, STEP};

const MAX_REDIRECTS: usize = 10;
/// The most of a response body read: a key authorization is under 100 bytes.
const MAX_BODY: usize = 8192;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    https: bool,
    host: String,
    port: u16,
    path: String,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}{}", if self.https { "https" } else { "http" }, self.authority(), self.path)
    }
}

impl Target {
    /// `host` or `host:port` when the port is not the scheme's default; IPv6 in brackets.
    fn authority(&self) -> String {
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        if self.port == if self.https { 443 } else { 80 } {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

struct Answer {
    status: u16,
    location: Option<String>,
    body: Vec<u8>,
}

pub async fn validate(v: &Validation, resolver: &Resolver) -> Result<(), ValidationFailure> {
    let mut target = Target { https: false, host: v.identifier.clone(), port: v.port, path: format!("/.well-known/acme-challenge/{}", v.token) };
    let mut redirects = 0;
    loop {
        let answer = fetch(&target, resolver).await?;
        if matches!(answer.status, 301 | 302 | 303 | 307 | 308) {
            let location = answer.location.ok_or_else(|| ValidationFailure::new("connection", format!("{target} answered {} without a Location", answer.status)))?;
            if redirects == MAX_REDIRECTS {
                return Err(ValidationFailure::new("connection", format!("more than {MAX_REDIRECTS} redirects, the last from {target}")));
            }
            redirects += 1;
            target = follow(&target, &location, v.port)?;
            continue;
        }
        if answer.status != 200 {
            return Err(ValidationFailure::new("incorrectResponse", format!("{target} answered {}, not 200", answer.status)));
        }
        let body = String::from_utf8_lossy(&answer.body);
        if body.trim() != v.key_authorization {
            let shown: String = body.trim().chars().take(100).collect();
            return Err(ValidationFailure::new("incorrectResponse", format!("{target} answered {shown:?}, not the key authorization {:?}", v.key_authorization)));
        }
        return Ok(());
    }
}

/// Where a redirect from `from` to `location` leads, if it is allowed.
fn follow(from: &Target, location: &str, configured_port: u16) -> Result<Target, ValidationFailure> {
    let refused = |why: String| ValidationFailure::new("connection", format!("{from} redirected to {location:?}: {why}"));
    let next = if location.starts_with('/') && !location.starts_with("//") {
        Target { path: location.to_string(), ..from.clone() }
    } else if location.contains("://") || location.starts_with("//") {
        let uri: Uri = location.parse().map_err(|e| refused(format!("not a URL ({e})")))?;
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            None => from.https,
            Some(other) => return Err(refused(format!("scheme {other} is neither http nor https"))),
        };
        let host = uri.host().ok_or_else(|| refused("no host".into()))?.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let path = uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into());
        Target { https, host, port, path }
    } else {
        let dir = &from.path[..from.path.rfind('/').map_or(0, |i| i + 1)];
        Target { path: format!("{dir}{location}"), ..from.clone() }
    };
    if ![80, 443, configured_port].contains(&next.port) {
        return Err(refused(format!("port {} is not 80, 443 or {configured_port}", next.port)));
    }
    Ok(next)
}

async fn fetch(target: &Target, resolver: &Resolver) -> Result<Answer, ValidationFailure> {
    let addresses = resolver.addresses(&target.host).await?;
    let mut last = String::new();
    let mut stream = None;
    for ip in &addresses {
        match tokio::time::timeout(STEP, TcpStream::connect((*ip, target.port))).await {
            Ok(Ok(s)) => {
                stream = Some(s);
                break;
            }
            Ok(Err(e)) => last = format!("connecting to {ip} port {} for {target}: {e}", target.port),
            Err(_) => last = format!("connecting to {ip} port {} for {target}: no answer in {STEP:?}", target.port),
        }
    }
    let stream = stream.ok_or_else(|| ValidationFailure::new("connection", last))?;
    if !target.https {
        return exchange(stream, target).await;
    }
    let name = match target.host.parse::<IpAddr>() {
        Ok(ip) => ServerName::IpAddress(ip.into()),
        Err(_) => ServerName::try_from(target.host.clone()).map_err(|e| ValidationFailure::new("connection", format!("{target}: {e}")))?,
    };
    let connector = tokio_rustls::TlsConnector::from(tls_alpn01::unverified_client(b"http/1.1")?);
    let tls = tokio::time::timeout(STEP, connector.connect(name, stream))
        .await
        .map_err(|_| ValidationFailure::new("tls", format!("TLS with {target}: no handshake in {STEP:?}")))?
        .map_err(|e| ValidationFailure::new("tls", format!("TLS with {target}: {e}")))?;
    exchange(tls, target).await
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(io: S, target: &Target) -> Result<Answer, ValidationFailure> {
    let failed = |e: String| ValidationFailure::new("connection", format!("fetching {target}: {e}"));
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await.map_err(|e| failed(e.to_string()))?;
    tokio::spawn(connection);
    let request = Request::get(target.path.as_str())
        .header(HOST, target.authority())
        .header(USER_AGENT, concat!("IronPKI-validation/", env!("CARGO_PKG_VERSION")))
        .body(Empty::<&'static [u8]>::new())
        .map_err(|e| failed(e.to_string()))?;
    let response = sender.send_request(request).await.map_err(|e| failed(e.to_string()))?;
    let status = response.status().as_u16();
    let location = response.headers().get(LOCATION).and_then(|l| l.to_str().ok()).map(str::to_string);
    let body = Limited::new(response.into_body(), MAX_BODY).collect().await.map_err(|e| failed(format!("reading the body: {e}")))?.to_bytes().to_vec();
    Ok(Answer { status, location, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(path: &str) -> Target {
        Target { https: false, host: "web.internal".into(), port: 5002, path: path.into() }
    }

    #[test]
    fn redirects_stay_on_web_ports() {
        let from = at("/.well-known/acme-challenge/t");
        assert_eq!(follow(&from, "/elsewhere/t", 5002).unwrap(), at("/elsewhere/t"));
        assert_eq!(follow(&from, "other/t", 5002).unwrap(), at("/.well-known/acme-challenge/other/t"));
        let https = follow(&from, "https://Web2.internal/x?y=1", 5002).unwrap();
        assert_eq!(https, Target { https: true, host: "web2.internal".into(), port: 443, path: "/x?y=1".into() });
        assert_eq!(https.to_string(), "https://web2.internal/x?y=1");
        assert_eq!(follow(&from, "http://[::1]:5002/x", 5002).unwrap().authority(), "[::1]:5002");
        let e = follow(&from, "http://web.internal:22/x", 5002).unwrap_err();
        assert!(e.detail.contains("port 22 is not 80, 443 or 5002"), "{}", e.detail);
        let e = follow(&from, "ftp://web.internal/x", 5002).unwrap_err();
        assert!(e.detail.contains("neither http nor https"), "{}", e.detail);
    }
}
