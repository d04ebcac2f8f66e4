//! The issuance pipeline of the server. Handlers decide, lint and sign on the signing
//! threads, one per core, in parallel; one committer thread records whatever is waiting
//! in one transaction (group commit) and only then lets each handler answer.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ironpki_authority::{Authority, Error, Issued, Prepared};
use tokio::sync::oneshot;

use crate::metrics::Metrics;

/// The most certificates recorded in one transaction.
const MAX_BATCH: usize = 256;
/// While more certificates are being signed, the committer waits up to `LINGER` for a
/// batch of `FULL_BATCH` before committing, as PostgreSQL's `commit_delay` does: fewer,
/// larger commits write fewer pages and fsyncs per certificate (measured: batches of
/// about 27 instead of 15, 5 % less CPU a request). With none on its way it commits at
/// once: a lone request never waits, and the cores never idle on the timer.
const FULL_BATCH: usize = 48;
const LINGER: Duration = Duration::from_millis(1);
/// How often the waiting committer looks again whether any are still on their way.
const LOOK: Duration = Duration::from_micros(100);

type Reply = oneshot::Sender<Result<Issued, Error>>;
type Job = (Prepared, Reply, Coming);

/// A certificate on its way to the committer (being signed). Counted from
/// [`Committer::announce`] until the committer receives it, or until dropped on a refusal.
pub struct Coming(Arc<AtomicUsize>);

impl Drop for Coming {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

pub struct Committer {
    queue: mpsc::Sender<Job>,
    coming: Arc<AtomicUsize>,
}

impl Committer {
    pub fn start(authority: Arc<Authority>, metrics: Arc<Metrics>) -> Committer {
        let (queue, jobs) = mpsc::channel::<Job>();
        let coming = Arc::new(AtomicUsize::new(0));
        let on_the_way = coming.clone();
        // Receiving a job ends its `Coming`.
        let take = |(prepared, reply, _coming): Job| (prepared, reply);
        std::thread::Builder::new()
            .name("ironpki-commit".into())
            .spawn(move || {
                while let Ok(first) = jobs.recv() {
                    let mut batch = vec![take(first)];
                    let until = Instant::now() + LINGER;
                    while batch.len() < MAX_BATCH {
                        if let Ok(job) = jobs.try_recv() {
                            batch.push(take(job));
                            continue;
                        }
                        let now = Instant::now();
                        if batch.len() >= FULL_BATCH || now >= until || on_the_way.load(Ordering::Relaxed) == 0 {
                            break;
                        }
                        match jobs.recv_timeout((until - now).min(LOOK)) {
                            Ok(job) => batch.push(take(job)),
                            Err(RecvTimeoutError::Timeout) => {}
                            Err(RecvTimeoutError::Disconnected) => break,
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
        Committer { queue, coming }
    }

    /// Announces a certificate about to be signed and then committed.
    pub fn announce(&self) -> Coming {
        self.coming.fetch_add(1, Ordering::Relaxed);
        Coming(self.coming.clone())
    }

    /// Records a prepared certificate; resolves once it is durably committed.
    pub async fn commit(&self, prepared: Prepared, coming: Coming) -> Result<Issued, Error> {
        let (reply, answer) = oneshot::channel();
        self.queue.send((prepared, reply, coming)).map_err(|_| Error::Internal("the committer has stopped".into()))?;
        answer.await.map_err(|_| Error::Internal("the committer dropped the request".into()))?
    }
}

type Task = Box<dyn FnOnce() + Send>;

/// Threads for the CPU-bound half of issuance (CSR verification, policy, lint,
/// signature), as many as the cores. tokio's blocking pool, sized for tasks that wait on
/// the store, would run up to eight of them at once on two cores, and they would take
/// turns on the cores instead of finishing (about 8 % fewer certificates a second in the
/// trials in BENCHMARKS.md).
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A certificate counts as on its way until the committer receives it or its request
    /// is refused: either way its `Coming` is dropped exactly once.
    #[test]
    fn coming_counts_until_dropped() {
        let count = Arc::new(AtomicUsize::new(0));
        let expect = || {
            count.fetch_add(1, Ordering::Relaxed);
            Coming(count.clone())
        };
        let (a, b) = (expect(), expect());
        assert_eq!(count.load(Ordering::Relaxed), 2);
        drop(a);
        assert_eq!(count.load(Ordering::Relaxed), 1);
        let (queue, jobs) = mpsc::channel::<Coming>();
        queue.send(b).unwrap();
        assert_eq!(count.load(Ordering::Relaxed), 1, "still on its way while queued");
        drop(jobs.recv().unwrap());
        assert_eq!(count.load(Ordering::Relaxed), 0);
    }
}
