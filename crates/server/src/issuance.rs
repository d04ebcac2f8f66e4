//! The issuance pipeline of the server. A handler hands its request to the signing
//! threads (one per core), which decide, lint and sign, then queue the certificate
//! straight to the one committer thread. The committer records whatever is queued in one
//! transaction (group commit) and only then answers each handler. A handler waits on one
//! reply: between signing and committing nothing goes back through the async runtime,
//! which saves a thread wake-up and a task poll per certificate.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, OnceLock};
use std::thread::Thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
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

type Reply = oneshot::Sender<Result<Issued, Error>>;
type Job = (Prepared, Reply);
/// Work for a signing thread, given the committer's queue.
type Task = Box<dyn FnOnce(&Sender<Job>) + Send>;

/// What the handlers, the signing threads and the committer share to decide when a
/// lingering batch is complete.
struct Tally {
    /// Certificates announced and not yet queued for the committer (being signed).
    coming: AtomicUsize,
    /// While the committer lingers: how many queued certificates would fill its batch.
    wanted: AtomicUsize,
    committer: OnceLock<Thread>,
}

impl Tally {
    fn new() -> Arc<Tally> {
        Arc::new(Tally { coming: AtomicUsize::new(0), wanted: AtomicUsize::new(usize::MAX), committer: OnceLock::new() })
    }

    /// Wakes a lingering committer (a no-op token when it is not parked).
    fn wake(&self) {
        if let Some(t) = self.committer.get() {
            t.unpark();
        }
    }
}

/// A certificate on its way to the committer: counted from [`Issuance::issue`] until it
/// is queued or refused. The last one dropped wakes a lingering committer.
struct Coming(Arc<Tally>);

impl Coming {
    fn new(tally: &Arc<Tally>) -> Coming {
        tally.coming.fetch_add(1, SeqCst);
        Coming(tally.clone())
    }
}

impl Drop for Coming {
    fn drop(&mut self) {
        if self.0.coming.fetch_sub(1, SeqCst) == 1 {
            self.0.wake();
        }
    }
}

pub struct Issuance {
    tasks: Sender<Task>,
    tally: Arc<Tally>,
    metrics: Arc<Metrics>,
}

impl Issuance {
    /// Starts the signing threads (as many as the cores) and the committer. Signing
    /// threads rather than tokio's blocking pool: sized for tasks that wait on the
    /// store, it would run up to eight CPU-bound tasks at once on two cores, taking turns
    /// instead of finishing (about 8 % fewer certificates a second in the trials in
    /// BENCHMARKS.md).
    pub fn start(authority: Arc<Authority>, metrics: Arc<Metrics>) -> Issuance {
        let (tasks, pending) = crossbeam_channel::unbounded::<Task>();
        let (queue, jobs) = crossbeam_channel::unbounded::<Job>();
        let tally = Tally::new();
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        for i in 0..threads {
            let (pending, queue) = (pending.clone(), queue.clone());
            spawn(format!("ironpki-sign-{i}"), move || {
                for task in pending.iter() {
                    // A panic drops the task's reply: its caller answers 500, the thread goes on.
                    drop(catch_unwind(AssertUnwindSafe(|| task(&queue))));
                }
            });
        }
        let (t, m) = (tally.clone(), metrics.clone());
        let committer = spawn("ironpki-commit".into(), move || commit_loop(&authority, &m, &t, &jobs));
        if let Some(thread) = committer {
            let _ = tally.committer.set(thread);
        }
        Issuance { tasks, tally, metrics }
    }

    /// Runs `prepare` (decide, lint, sign) on a signing thread, then records the
    /// certificate with whatever else is queued; resolves once it is durably committed.
    pub async fn issue(&self, prepare: impl FnOnce() -> Result<Prepared, Error> + Send + 'static) -> Result<Issued, Error> {
        let (reply, answer) = oneshot::channel();
        let coming = Coming::new(&self.tally);
        let metrics = self.metrics.clone();
        let started = Instant::now();
        let task: Task = Box::new(move |queue| {
            match prepare() {
                Ok(prepared) => {
                    metrics.signed(prepared.profile(), started.elapsed());
                    let tally = &coming.0;
                    match queue.send((prepared, reply)) {
                        Ok(()) if queue.len() >= tally.wanted.load(SeqCst) => tally.wake(),
                        Ok(()) => {}
                        Err(lost) => drop(lost.into_inner().1.send(Err(stopped("committer")))),
                    }
                }
                Err(e) => drop(reply.send(Err(e))),
            }
            // Queued before it stops counting: a committer that sees none coming finds it.
            drop(coming);
        });
        self.tasks.send(task).map_err(|_| stopped("signing threads"))?;
        answer.await.map_err(|_| Error::Internal("a signing thread failed on this request".into()))?
    }
}

/// The committer: takes what is queued, lingers for a fuller batch while more is being
/// signed, records the batch in one transaction and answers each request.
fn commit_loop(authority: &Authority, metrics: &Metrics, tally: &Tally, jobs: &Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        batch.extend(jobs.try_iter().take(MAX_BATCH - 1));
        let until = Instant::now() + LINGER;
        while batch.len() < FULL_BATCH {
            let now = Instant::now();
            if tally.coming.load(SeqCst) == 0 || now >= until {
                break;
            }
            // Published before looking again, so that a signing thread queueing meanwhile
            // either is seen here or sees it and wakes this thread.
            let wanted = FULL_BATCH - batch.len();
            tally.wanted.store(wanted, SeqCst);
            if jobs.len() < wanted && tally.coming.load(SeqCst) > 0 {
                std::thread::park_timeout(until - now);
            }
            tally.wanted.store(usize::MAX, SeqCst);
            batch.extend(jobs.try_iter().take(MAX_BATCH - batch.len()));
        }
        // Those queued just before the last of them stopped counting.
        batch.extend(jobs.try_iter().take(MAX_BATCH - batch.len()));
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
        // The store's upkeep (SQLite's checkpoint) once the batch is answered, not inside it.
        authority.after_commit();
    }
}

fn spawn(name: String, f: impl FnOnce() + Send + 'static) -> Option<Thread> {
    std::thread::Builder::new()
        .name(name.clone())
        .spawn(f)
        .map(|handle| handle.thread().clone())
        .map_err(|e| tracing::error!(error = %e, thread = name, "cannot start a thread"))
        .ok()
}

fn stopped(what: &str) -> Error {
    Error::Internal(format!("the {what} stopped"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A certificate counts as on its way until its `Coming` is dropped (queued or
    /// refused), exactly once.
    #[test]
    fn coming_counts_until_dropped() {
        let t = Tally::new();
        let (a, b) = (Coming::new(&t), Coming::new(&t));
        assert_eq!(t.coming.load(SeqCst), 2);
        drop(a);
        assert_eq!(t.coming.load(SeqCst), 1);
        drop(b);
        assert_eq!(t.coming.load(SeqCst), 0);
    }

    /// The last one on its way wakes the lingering committer (an unpark before the park
    /// leaves a token, so the park below returns at once).
    #[test]
    fn the_last_coming_wakes_the_committer() {
        let t = Tally::new();
        t.committer.set(std::thread::current()).unwrap();
        let (a, b) = (Coming::new(&t), Coming::new(&t));
        drop(a);
        std::thread::park_timeout(Duration::ZERO);
        drop(b);
        let before = Instant::now();
        std::thread::park_timeout(Duration::from_secs(60));
        assert!(before.elapsed() < Duration::from_secs(30), "the last drop did not unpark the committer");
        assert_eq!(t.coming.load(SeqCst), 0);
    }
}
