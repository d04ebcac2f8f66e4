use std::collections::HashMap;
use std::sync::Arc;

use ironpki_authority::ocsp::OcspResponder;
use ironpki_authority::publication::CrlPublisher;
use ironpki_authority::Authority;

use crate::api::RateLimiter;
use crate::issuance::Issuance;
use crate::metrics::Metrics;
use crate::observe::CountsCache;
use crate::Error;

pub struct AppState {
    pub authority: Arc<Authority>,
    /// CA name → certificate DER (for /ca/NAME.crt).
    pub ca_certs: HashMap<String, Vec<u8>>,
    pub roots_pem: String,
    /// The CRLs served, and this replica's part in publishing them.
    pub crls: CrlPublisher,
    /// CAs whose key is offline: their CRLs come from key ceremonies.
    pub offline_cas: Vec<String>,
    /// None when `revocation.ocsp` is off.
    pub ocsp: Option<Arc<OcspResponder>>,
    pub metrics: Arc<Metrics>,
    pub issuance: Issuance,
    pub limiter: RateLimiter,
    pub(crate) counts: CountsCache,
    /// This process among the replicas (host, pid and a random tag): the lease holder name.
    pub replica: String,
}

impl AppState {
    /// Loads what is served from the store (on a blocking thread: the store may not be
    /// used from async tasks).
    pub async fn start(authority: Arc<Authority>) -> Result<AppState, Error> {
        tokio::task::spawn_blocking(move || AppState::load(authority))
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?
    }

    fn load(authority: Arc<Authority>) -> Result<AppState, Error> {
        let cas = authority.public_cas()?;
        let ca_certs = cas.iter().map(|c| (c.name.clone(), c.der.clone())).collect();
        let roots_pem = authority.roots_pem()?;
        let offline_cas = cas.iter().filter(|c| c.key_offline).map(|c| c.name.clone()).collect();
        let crls = CrlPublisher::load(&authority, replica_id())?;
        let ocsp = if authority.config.revocation.ocsp { Some(Arc::new(OcspResponder::new(authority.clone())?)) } else { None };
        let metrics = Arc::new(Metrics::default());
        let issuance = Issuance::start(authority.clone(), metrics.clone());
        let limiter = RateLimiter::new(authority.config.serve.rate_limit);
        Ok(AppState {
            authority,
            ca_certs,
            roots_pem,
            crls,
            offline_cas,
            ocsp,
            metrics,
            issuance,
            limiter,
            counts: CountsCache::default(),
            replica: replica_id().to_string(),
        })
    }
}

/// This process among the replicas: host, pid and a random tag, drawn once. It names the
/// lease holder, and `serve:REPLICA` is the audit actor of what the server does itself.
pub fn replica_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
        let mut tag = [0u8; 4];
        let _ = aws_lc_rs::rand::SecureRandom::fill(&aws_lc_rs::rand::SystemRandom::new(), &mut tag);
        format!("{host}:{}:{}", std::process::id(), hex::encode(tag))
    })
}
