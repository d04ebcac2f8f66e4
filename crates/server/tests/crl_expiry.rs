//! A served CRL past its nextUpdate is flagged (a `Warning` header, `/healthz` degraded)
//! until the next publication round regenerates it; the authority's clock decides.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use ironpki_authority::{Authority, Home, InitOptions, ManualClock, Passphrase};
use ironpki_server::AppState;
use time::OffsetDateTime;
use tower::ServiceExt;

async fn get(state: &Arc<AppState>, path: &str) -> axum::response::Response {
    let request = Request::builder().uri(path).body(Body::empty()).unwrap();
    ironpki_server::router(state.clone()).oneshot(request).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_crl_is_flagged_then_regenerated() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()));
    let pass = Passphrase::new("expiry test passphrase".into());
    let home = Home::new(dir.path().join("home"));
    let options = InitOptions { org: Some("Expiry Org".into()), config_file: None, root_offline: None, passphrase: pass.clone(), actor: "test".into() };
    ironpki_authority::init(&home, options, clock.clone()).unwrap();
    let authority = Authority::open(home, clock.clone(), "test").unwrap();
    for ca in ["root", "issuing"] {
        authority.unlock(ca, &pass).unwrap();
    }
    let state = Arc::new(AppState::start(Arc::new(authority)).await.unwrap());
    let round = |state: Arc<AppState>| tokio::task::spawn_blocking(move || state.crls.round(&state.authority).map(|r| r.published.len()));

    assert_eq!(round(state.clone()).await.unwrap().unwrap(), 3, "root full, issuing full and delta");
    let fresh = get(&state, "/crl/issuing.crl").await;
    assert_eq!(fresh.status(), StatusCode::OK);
    assert!(fresh.headers().get("warning").is_none());
    assert_eq!(get(&state, "/healthz").await.status(), StatusCode::OK);

    // Eight days on, no round has run: what is served is past its nextUpdate.
    clock.advance(Duration::from_secs(8 * 86_400));
    let stale = get(&state, "/crl/issuing.crl").await;
    assert_eq!(stale.status(), StatusCode::OK);
    let warning = stale.headers().get("warning").expect("a Warning header").to_str().unwrap().to_string();
    assert!(warning.starts_with("110") && warning.contains("nextUpdate"), "{warning}");
    assert_eq!(stale.headers().get("cache-control").unwrap().to_str().unwrap().split(',').next(), Some("max-age=0"));
    assert_eq!(get(&state, "/healthz").await.status(), StatusCode::SERVICE_UNAVAILABLE);

    assert_eq!(round(state.clone()).await.unwrap().unwrap(), 3, "every CRL signed again");
    let renewed = get(&state, "/crl/issuing.crl").await;
    assert!(renewed.headers().get("warning").is_none());
    assert_eq!(get(&state, "/healthz").await.status(), StatusCode::OK);
}
