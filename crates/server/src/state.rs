use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use ironpki_authority::ocsp::OcspResponder;
use ironpki_authority::{Authority, CaRecordExt};
use ironpki_store::CrlRecord;

use crate::api::RateLimiter;
use crate::issuance::Issuance;
use crate::metrics::Metrics;
use crate::observe::CountsCache;
use crate::Error;

/// The CRLs being served for one CA.
#[derive(Default, Clone)]
pub struct Published {
    pub full: Option<Arc<CrlRecord>>,
    pub delta: Option<Arc<CrlRecord>>,
}

pub struct AppState {
    pub authority: Arc<Authority>,
    /// CA name → certificate DER (for /ca/NAME.crt).
    pub ca_certs: HashMap<String, Vec<u8>>,
    pub roots_pem: String,
    pub crls: RwLock<HashMap<String, Published>>,
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
        let cas = authority.cas()?;
        let ca_certs = cas.iter().map(|c| (c.name.clone(), c.der.clone())).collect();
        let roots_pem = authority.roots_pem()?;
        let offline_cas = cas.iter().filter(|c| c.key_offline()).map(|c| c.name.clone()).collect();
        let mut crls = HashMap::new();
        for ca in &cas {
            let published = Published {
                full: authority.store().latest_crl(&ca.name, false)?.map(Arc::new),
                delta: authority.store().latest_crl(&ca.name, true)?.map(Arc::new),
            };
            crls.insert(ca.name.clone(), published);
        }
        let ocsp = if authority.config.revocation.ocsp { Some(Arc::new(OcspResponder::new(authority.clone())?)) } else { None };
        let metrics = Arc::new(Metrics::default());
        let issuance = Issuance::start(authority.clone(), metrics.clone());
        let limiter = RateLimiter::new(authority.config.serve.rate_limit);
        Ok(AppState {
            authority,
            ca_certs,
            roots_pem,
            crls: RwLock::new(crls),
            offline_cas,
            ocsp,
            metrics,
            issuance,
            limiter,
            counts: CountsCache::default(),
            replica: replica_id().to_string(),
        })
    }

    pub fn published(&self, ca: &str) -> Option<Published> {
        self.crls.read().unwrap_or_else(|p| p.into_inner()).get(ca).cloned()
    }

    pub fn set_published(&self, ca: &str, crl: CrlRecord) {
        let mut map = self.crls.write().unwrap_or_else(|p| p.into_inner());
        let entry = map.entry(ca.to_string()).or_default();
        if crl.base_number.is_some() {
            entry.delta = Some(Arc::new(crl));
        } else {
            entry.full = Some(Arc::new(crl));
        }
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
