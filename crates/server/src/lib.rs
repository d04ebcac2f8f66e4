//! The online front end of IronPKI: `ironpki serve`.
//!
//! Owns the HTTP listener that relying parties use (CRLs, CA certificates, the trust
//! bundle, OCSP) and the background tasks that keep what it serves fresh: the CRL
//! publisher and the revocation watcher, which learn of revocations from the store's
//! revocation sequence, so a revocation made by any process shows within a second.
//! It translates between HTTP and the authority; it decides nothing itself.
#![forbid(unsafe_code)]

mod ca;
mod crl;
mod http;
mod ocsp;
mod state;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use ironpki_authority::Authority;

pub use state::AppState;

/// How often the store's revocation sequence is polled.
pub const POLL: Duration = Duration::from_millis(100);

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("{0}")]
    Authority(#[from] ironpki_authority::Error),
    #[error("{0}")]
    Store(#[from] ironpki_store::Error),
    #[error("listener: {0}")]
    Io(#[from] std::io::Error),
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/crl/{file}", get(crl::get))
        .route("/ca/{file}", get(ca::certificate))
        .route("/roots.pem", get(ca::roots))
        .route("/healthz", get(crl::health))
        .route("/ocsp", axum::routing::post(ocsp::post))
        .route("/ocsp/{*request}", get(ocsp::get))
        .fallback(http::not_found)
        .with_state(state)
}

/// Runs the server on `listener` until `shutdown` completes. The authority's issuing
/// CAs must be unlocked.
pub async fn serve(
    authority: Arc<Authority>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let state = Arc::new(AppState::start(authority).await?);
    // CRLs that are missing or due are published before the first request is answered.
    let first = state.clone();
    let seq = tokio::task::spawn_blocking(move || crl::publish_due(&first, None))
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))??;
    let publisher = tokio::spawn(crl::publish_forever(state.clone(), seq));
    let watcher = tokio::spawn(ocsp::watch_forever(state.clone(), seq));
    let result = axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await;
    publisher.abort();
    watcher.abort();
    Ok(result?)
}
