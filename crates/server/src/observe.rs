//! Observability glue: the scrape-time gauges and the per-request log line with its
//! request id (also returned as `X-Request-Id`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use ironpki_authority::{Action, Caller};
use tracing::Instrument;

use crate::api::error::ApiError;
use crate::metrics::Snapshot;
use crate::AppState;

/// Store-wide counts are recomputed at most this often (they scan an index).
const COUNTS_TTL: Duration = Duration::from_secs(30);

/// (profile, window, count) of certificates expiring soon.
type Expiring = Vec<(String, &'static str, u64)>;

#[derive(Default)]
pub struct CountsCache(Mutex<Option<(Instant, Expiring, u64)>>);

/// The scrape-time gauges, for a caller allowed to read them.
pub async fn snapshot(state: &Arc<AppState>, caller: Caller) -> Result<Snapshot, ApiError> {
    let now = state.authority.now().unix_timestamp();
    let mut crls = Vec::new();
    for ca in state.ca_certs.keys() {
        let published = state.crls.published(ca);
        for (kind, crl) in [("full", &published.full), ("delta", &published.delta)] {
            if let Some(c) = crl {
                crls.push((ca.clone(), kind, now - c.this_update, c.der.len(), c.number, c.next_update - now));
            }
        }
    }
    crls.sort();
    let cached = state.counts.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let authority = state.authority.clone();
    let (expiring, certificates, fresh) = crate::api::blocking(move || -> Result<_, ironpki_authority::Error> {
        match cached {
            // Counts read for an earlier caller are shown only once this one may read them.
            Some((at, expiring, total)) if at.elapsed() < COUNTS_TTL => {
                authority.authorize(&caller, &Action::Read)?;
                Ok((expiring, total, false))
            }
            _ => {
                let mut expiring = Vec::new();
                for (label, days) in [("7d", 7), ("30d", 30)] {
                    for (profile, n) in authority.expiring_counts(&caller, now + days * 86_400)? {
                        expiring.push((profile, label, n));
                    }
                }
                Ok((expiring, authority.count_certificates(&caller)?, true))
            }
        }
    })
    .await?;
    if fresh {
        *state.counts.0.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), expiring.clone(), certificates));
    }
    Ok(Snapshot { crls, expiring, certificates })
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);
/// The process id, read once (each read is a system call).
static PID: LazyLock<u32> = LazyLock::new(std::process::id);

/// Tags each request with an id, logs one line when it is answered, and returns the
/// id in `X-Request-Id`. Logs carry method, path, status and duration: never bodies
/// or headers, so no key, token or CSR reaches the log.
pub async fn trace(request: Request, next: Next) -> Response {
    let id = format!("{:x}-{:x}", *PID, NEXT_ID.fetch_add(1, Ordering::Relaxed));
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let started = Instant::now();
    let span = tracing::info_span!("request", request_id = %id);
    let mut response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    span.in_scope(|| {
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        if status >= 500 {
            tracing::warn!(%method, path, status, duration_ms = ms, "request");
        } else {
            tracing::info!(%method, path, status, duration_ms = ms, "request");
        }
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", v);
    }
    response
}
