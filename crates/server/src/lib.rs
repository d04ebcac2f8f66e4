//! The online front end of IronPKI: `ironpki serve`.
//!
//! Owns the HTTP listener that relying parties use (CRLs, CA certificates, the trust
//! bundle, OCSP) and the background tasks that keep what it serves fresh: the CRL
//! publisher and the revocation watcher, which learn of revocations from the store's
//! revocation sequence, so a revocation made by any process shows within a second.
//! It translates between HTTP and the authority; it decides nothing itself.
#![forbid(unsafe_code)]

mod acme;
mod acme_validate;
pub mod api;
mod ca;
mod crl;
mod est;
mod http;
mod https;
mod issuance;
pub mod metrics;
mod notify;
mod observe;
mod ocsp;
mod revocations;
mod state;
pub mod tls;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use ironpki_authority::Authority;
use tokio::net::TcpListener;

pub use state::{replica_id, AppState};

/// How often the store's revocation sequence is polled.
pub const POLL: Duration = Duration::from_millis(100);

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("{0}")]
    Authority(#[from] ironpki_authority::Error),
    #[error("listener: {0}")]
    Io(#[from] std::io::Error),
    #[error("TLS: {0}")]
    Tls(String),
}

/// What relying parties fetch: CRLs, CA certificates, the trust bundle, OCSP.
fn public_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/crl/{file}", get(crl::get))
        .route("/ca/{file}", get(ca::certificate))
        .route("/roots.pem", get(ca::roots))
        .route("/revocations", get(revocations::get))
        .route("/healthz", get(crl::health))
        .route("/ocsp", axum::routing::post(ocsp::post))
        .route("/ocsp/{*request}", get(ocsp::get))
}

fn finish(router: Router<Arc<AppState>>, state: Arc<AppState>) -> Router {
    router
        .fallback(http::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(axum::middleware::from_fn(observe::trace))
        .with_state(state)
}

/// The plain-HTTP router (public documents only).
pub fn router(state: Arc<AppState>) -> Router {
    finish(public_routes(), state)
}

/// The HTTPS router: the public documents and the REST API.
pub fn api_router(state: Arc<AppState>) -> Router {
    finish(public_routes().merge(api::router()).merge(acme::router()).merge(est::router()), state)
}

/// Runs the server until `shutdown` completes: plain HTTP on `http`, and HTTPS with
/// the API on `https` when given. `ready` runs once both answer. The authority's
/// issuing CAs must be unlocked.
pub async fn serve(
    authority: Arc<Authority>,
    http: TcpListener,
    https: Option<TcpListener>,
    ready: impl Future<Output = ()>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let state = Arc::new(AppState::start(authority.clone()).await?);
    // The publisher publishes CRLs that are missing or due before the first request is
    // answered; the OCSP watcher starts from the revocations already known.
    let first = state.clone();
    let seq = tokio::task::spawn_blocking(move || -> Result<_, Error> {
        crl::log_round(&first, &first.crls.round(&first.authority)?);
        Ok(first.authority.revocation_seq()?)
    })
    .await
    .map_err(|e| std::io::Error::other(e.to_string()))??;
    let mut tasks = vec![tokio::spawn(crl::publish_forever(state.clone())), tokio::spawn(ocsp::watch_forever(state.clone(), seq))];
    tasks.extend(notify::start(&state));
    acme_validate::resume(authority.clone());

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let https_server = match https {
        Some(listener) => {
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let (a, p) = (authority.clone(), provider.clone());
            let (cert, config) = tokio::task::spawn_blocking(move || -> Result<_, Error> {
                let cert = Arc::new(tls::ListenerCert::issue(&a, &p)?);
                let config = tls::server_config(&a, cert.clone(), p)?;
                Ok((cert, config))
            })
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))??;
            tasks.push(tokio::spawn(tls::renew_forever(authority.clone(), cert, provider)));
            let mut rx = stopped.clone();
            Some(tokio::spawn(https::serve(listener, config, api_router(state.clone()), async move {
                let _ = rx.wait_for(|s| *s).await;
            })))
        }
        None => None,
    };
    let mut rx = stopped.clone();
    let state_for_release = state.clone();
    let http_server = axum::serve(http, router(state)).with_graceful_shutdown(async move {
        let _ = rx.wait_for(|s| *s).await;
    });
    let http_task = tokio::spawn(async move { http_server.await });
    ready.await;
    shutdown.await;
    let _ = stop.send(true);
    let result = http_task.await.map_err(|e| std::io::Error::other(e.to_string()))?;
    if let Some(task) = https_server {
        let _ = task.await;
    }
    for task in tasks {
        task.abort();
    }
    let releasing = state_for_release;
    let _ = tokio::task::spawn_blocking(move || releasing.crls.release(&releasing.authority)).await;
    Ok(result?)
}
