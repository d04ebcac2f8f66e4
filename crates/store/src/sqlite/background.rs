//! A thread of the store's own: it runs a step, sleeps for as long as the step asks or
//! until nudged, and stops when dropped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::Error;

pub(super) struct Background {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Background {
    /// Starts `name`, which sleeps `first`, then runs `step` and sleeps for the pause it
    /// returns, until the `Background` is dropped. `step` sees the stop flag, so that a
    /// long step can end early.
    pub(super) fn start(
        name: &str,
        first: Duration,
        mut step: impl FnMut(&AtomicBool) -> Duration + Send + 'static,
    ) -> Result<Background, Error> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let mut pause = first;
                loop {
                    std::thread::park_timeout(pause);
                    if flag.load(Ordering::Relaxed) {
                        break;
                    }
                    pause = step(&flag);
                }
            })
            .map_err(|e| Error::Backend(format!("cannot start the {name} thread: {e}")))?;
        Ok(Background { stop, thread: Some(thread) })
    }

    /// Wakes the thread now (or, while it runs its step, right after it).
    pub(super) fn nudge(&self) {
        if let Some(thread) = &self.thread {
            thread.thread().unpark();
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}
