//! Group commit for online issuance. Handlers decide, lint and sign on blocking
//! threads in parallel; one committer thread records whatever is waiting in one
//! transaction and only then lets each handler answer.

use std::sync::mpsc;
use std::sync::Arc;
use std::time::Instant;

use ironpki_authority::{Authority, Error, Issued, Prepared};
use tokio::sync::oneshot;

use crate::metrics::Metrics;

/// The most certificates recorded in one transaction.
const MAX_BATCH: usize = 256;

type Job = (Prepared, oneshot::Sender<Result<Issued, Error>>);

pub struct Committer {
    queue: mpsc::Sender<Job>,
}

impl Committer {
    pub fn start(authority: Arc<Authority>, metrics: Arc<Metrics>) -> Committer {
        let (queue, jobs) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("ironpki-commit".into())
            .spawn(move || {
                while let Ok(first) = jobs.recv() {
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match jobs.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                    let (prepared, replies): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
                    let started = Instant::now();
                    let results = authority.commit(prepared);
                    metrics.store_write("put_certificates", started.elapsed());
                    for (reply, result) in replies.into_iter().zip(results) {
                        if result.is_err() {
                            metrics.error("store");
                        }
                        let _ = reply.send(result);
                    }
                }
            })
            .map(|_| ())
            .unwrap_or_else(|e| tracing::error!(error = %e, "cannot start the committer thread"));
        Committer { queue }
    }

    /// Records a prepared certificate; resolves once it is durably committed.
    pub async fn commit(&self, prepared: Prepared) -> Result<Issued, Error> {
        let (reply, answer) = oneshot::channel();
        self.queue.send((prepared, reply)).map_err(|_| Error::Internal("the committer has stopped".into()))?;
        answer.await.map_err(|_| Error::Internal("the committer dropped the request".into()))?
    }
}
