//! The issuance pipeline of the server. Handlers decide, lint and sign on the signing
//! threads, one per core, in parallel; one committer thread records whatever is waiting
//! in one transaction (group commit) and only then lets each handler answer.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use ironpki_authority::{Authority, Error, Issued, Prepared};
use tokio::sync::oneshot;

use crate::metrics::Metrics;

/// The most certificates recorded in one transaction.
const MAX_BATCH: usize = 256;
/// Under load (the last commit took at least `BUSY_BATCH`), the committer waits up to
/// `LINGER` for `FULL_BATCH` certificates before committing, as PostgreSQL's
/// `commit_delay` does: fewer, larger commits write fewer pages and fsyncs per
/// certificate (measured: batches of about 27 instead of 15, 5 % less CPU a request).
/// A lone request never waits.
const BUSY_BATCH: usize = 8;
const FULL_BATCH: usize = 48;
const LINGER: std::time::Duration = std::time::Duration::from_millis(1);

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
                let mut last = 0;
                while let Ok(first) = jobs.recv() {
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match jobs.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                    if last >= BUSY_BATCH {
                        let until = Instant::now() + LINGER;
                        while batch.len() < FULL_BATCH {
                            match jobs.recv_timeout(until.saturating_duration_since(Instant::now())) {
                                Ok(job) => batch.push(job),
                                Err(_) => break,
                            }
                        }
                    }
                    last = batch.len();
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

type Task = Box<dyn FnOnce() + Send>;

/// Threads for the CPU-bound half of issuance (CSR verification, policy, lint,
/// signature), as many as the cores. tokio's blocking pool, sized for tasks that wait on
/// the store, would run up to eight of them at once on two cores, and they would take
/// turns on the cores instead of finishing: measured, 8 % fewer certificates a second.
pub struct Signers {
    queue: mpsc::Sender<Task>,
}

impl Signers {
    pub fn start() -> Signers {
        let (queue, tasks) = mpsc::channel::<Task>();
        let tasks = Arc::new(Mutex::new(tasks));
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        for i in 0..threads {
            let tasks = tasks.clone();
            std::thread::Builder::new()
                .name(format!("ironpki-sign-{i}"))
                .spawn(move || loop {
                    let next = tasks.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    match next {
                        // A panic drops the task's reply: its caller answers 500, the thread goes on.
                        Ok(task) => drop(catch_unwind(AssertUnwindSafe(task))),
                        Err(_) => break,
                    }
                })
                .map(|_| ())
                .unwrap_or_else(|e| tracing::error!(error = %e, "cannot start a signing thread"));
        }
        Signers { queue }
    }

    /// Runs `f` on a signing thread.
    pub async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> Result<T, Error> + Send + 'static) -> Result<T, Error> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Box::new(move || {
                let _ = reply.send(f());
            }))
            .map_err(|_| Error::Internal("the signing threads have stopped".into()))?;
        answer.await.map_err(|_| Error::Internal("a signing thread failed on this request".into()))?
    }
}
