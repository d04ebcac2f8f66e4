//! Revocation notices pushed as they happen: one task per notifier (the MQTT broker,
//! each webhook) delivers the revocations after its cursor, in sequence order, each
//! retried until delivered, then advances the cursor in the store. One replica delivers
//! (the notifier's lease); a restart resumes from the cursor, so nothing is skipped
//! (at least once: a crash between a delivery and its cursor repeats that one).

mod mqtt;
mod webhook;

use std::sync::Arc;
use std::time::Duration;

use ironpki_authority::notify::{Notice, PAGE};
use ironpki_authority::Authority;

use crate::AppState;

/// How often a notifier looks for new revocations: a revocation goes out within this.
const POLL: Duration = Duration::from_millis(250);
const RETRY_FIRST: Duration = Duration::from_millis(500);
const RETRY_MAX: Duration = Duration::from_secs(60);

/// Where notices go.
trait Sink: Send {
    /// The cursor's name in the store.
    fn name(&self) -> &str;
    /// Delivers one notice; an error is retried.
    fn deliver<'a>(&'a mut self, notice: &'a Notice, json: &'a [u8]) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + 'a>>;
}

/// Starts a task for each configured notifier.
pub fn start(state: &Arc<AppState>) -> Vec<tokio::task::JoinHandle<()>> {
    let config = &state.authority.config.notify;
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    if let Some(m) = &config.mqtt {
        match mqtt::Mqtt::start(m) {
            Ok(sink) => sinks.push(Box::new(sink)),
            Err(e) => tracing::error!(error = %e, "MQTT notifier not started"),
        }
    }
    for w in &config.webhooks {
        match webhook::Webhook::new(w, &state.roots_pem) {
            Ok(sink) => sinks.push(Box::new(sink)),
            Err(e) => tracing::error!(url = %w.url, error = %e, "webhook notifier not started"),
        }
    }
    sinks.into_iter().map(|sink| tokio::spawn(deliver_forever(state.authority.clone(), state.replica.clone(), sink))).collect()
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, ironpki_authority::Error> + Send + 'static) -> Result<T, String> {
    tokio::task::spawn_blocking(f).await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())
}

async fn deliver_forever(authority: Arc<Authority>, replica: String, mut sink: Box<dyn Sink>) {
    let name = sink.name().to_string();
    loop {
        let (a, r, n) = (authority.clone(), replica.clone(), name.clone());
        let batch = blocking(move || {
            if !a.notifier_lease(&n, &r)? {
                return Ok(None);
            }
            let cursor = a.notify_cursor(&n)?;
            Ok(Some(a.notices_after(cursor, PAGE)?))
        })
        .await;
        let notices = match batch {
            Ok(Some(n)) if !n.is_empty() => n,
            Ok(_) => {
                tokio::time::sleep(POLL).await;
                continue;
            }
            Err(e) => {
                tracing::error!(notifier = %name, error = %e, "reading revocations for the notifier failed");
                tokio::time::sleep(RETRY_MAX.min(Duration::from_secs(5))).await;
                continue;
            }
        };
        for notice in &notices {
            let json = serde_json::to_vec(notice).unwrap_or_default();
            let mut wait = RETRY_FIRST;
            while let Err(e) = sink.deliver(notice, &json).await {
                tracing::warn!(notifier = %name, seq = notice.seq, error = %e, retry_in_ms = wait.as_millis() as u64, "revocation notice not delivered");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(RETRY_MAX);
                // Keep the lease while retrying, so no other replica delivers meanwhile.
                let (a, r, n) = (authority.clone(), replica.clone(), name.clone());
                let _ = blocking(move || a.notifier_lease(&n, &r)).await;
            }
            let (a, n, seq) = (authority.clone(), name.clone(), notice.seq);
            if let Err(e) = blocking(move || a.set_notify_cursor(&n, seq)).await {
                tracing::error!(notifier = %name, error = %e, "notifier cursor not saved");
            }
            tracing::info!(notifier = %name, seq = notice.seq, issuer = %notice.issuer, serial = %notice.serial, "revocation notice delivered");
        }
    }
}
