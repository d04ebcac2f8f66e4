//! Who is calling: a bearer token or a verified client certificate, turned into a
//! caller by the authority, then held to a per-identity rate limit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use ironpki_authority::Caller;
use ironpki_authority::CertRecord;

use super::blocking;
use super::error::ApiError;
use crate::https::PeerCertificate;
use crate::AppState;

/// The authenticated identity of a request.
pub struct Identity {
    /// From a token, or from a client certificate whose profile carries a role.
    caller: Option<Caller>,
    /// The verified client certificate, when one was presented.
    pub certificate: Option<CertRecord>,
}

impl Identity {
    /// The caller, or 403 when only a role-less client certificate was presented.
    pub fn caller(&self) -> Result<&Caller, ApiError> {
        self.caller.as_ref().ok_or_else(|| {
            ApiError::forbidden("this client certificate carries no API role (serve.client_roles); use a token or an API certificate")
        })
    }

    pub fn id(&self) -> String {
        match (&self.caller, &self.certificate) {
            (Some(c), _) => c.id.clone(),
            (None, Some(cert)) => format!("cert:{}/{}", cert.issuer, cert.serial),
            (None, None) => "anonymous".into(),
        }
    }
}

impl FromRequestParts<Arc<AppState>> for Identity {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, ApiError> {
        let peer = parts.extensions.get::<PeerCertificate>().cloned().unwrap_or_default();
        let bearer = match parts.headers.get(header::AUTHORIZATION) {
            None => None,
            Some(value) => {
                let value = value.to_str().unwrap_or_default();
                match value.split_once(' ') {
                    Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Some(token.trim().to_string()),
                    _ => {
                        return Err(ApiError::new(
                            StatusCode::UNAUTHORIZED,
                            "unauthenticated",
                            "the Authorization header must be \"Bearer <token>\"",
                        ))
                    }
                }
            }
        };
        if bearer.is_none() && peer.0.is_none() {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "no credentials: send Authorization: Bearer <token> or a client certificate",
            ));
        }
        // A token seen within the last second is answered from memory, here.
        if let (Some(token), None) = (&bearer, &peer.0) {
            if let Some(result) = state.authority.authenticate_token_cached(token) {
                let identity = Identity { caller: Some(result?), certificate: None };
                state.limiter.check(&identity.id())?;
                return Ok(identity);
            }
        }
        let authority = state.authority.clone();
        let identity = blocking(move || -> Result<Identity, ironpki_authority::Error> {
            let certificate = match &peer.0 {
                Some(der) => Some(authority.client_certificate(der)?),
                None => None,
            };
            let caller = match &bearer {
                Some(token) => Some(authority.authenticate_token(token)?),
                None => certificate.as_ref().and_then(|c| authority.certificate_caller(c)),
            };
            Ok(Identity { caller, certificate })
        })
        .await?;
        state.limiter.check(&identity.id())?;
        Ok(identity)
    }
}

/// Token buckets per identity: `rate` requests a second, bursts of twice that.
pub struct RateLimiter {
    rate: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(rate: u32) -> RateLimiter {
        RateLimiter { rate: f64::from(rate), buckets: Mutex::new(HashMap::new()) }
    }

    pub fn check(&self, id: &str) -> Result<(), ApiError> {
        let burst = self.rate * 2.0;
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > 100_000 {
            buckets.retain(|_, (_, at)| now.duration_since(*at).as_secs_f64() * self.rate < burst);
        }
        let (tokens, at) = buckets.entry(id.to_string()).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.rate).min(burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            return Ok(());
        }
        let wait = ((1.0 - *tokens) / self.rate).ceil().max(1.0) as u64;
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            format!("more than {} requests a second from {id}", self.rate),
        );
        e.retry_after = Some(wait);
        Err(e)
    }
}
