//! The database thread both stores use: one `std::thread` owns a connection (and the state that goes with it)
//! and runs jobs sent over a channel, one at a time.
//!
//! rusqlite blocks, so no rusqlite call may run on an async runtime's worker thread. Jobs reply through a tokio
//! `oneshot`, which an async caller awaits without blocking, and which works on any executor. Owning the write
//! connection on one thread also serialises writes, which SQLite needs anyway (one writer at a time).

use std::sync::mpsc;
use std::thread::JoinHandle;

use crate::error::{Error, Stopped};

type Job<S> = Box<dyn FnOnce(&mut S) + Send>;

/// A thread that owns a state `S` (typically a connection) and runs jobs on it in order.
///
/// Dropping the `Worker` closes the channel; the thread finishes the jobs already queued, drops its state (closing
/// the connection) and ends, and the drop waits for it so that the file is closed when the store is gone.
pub(crate) struct Worker<S> {
    jobs: Option<mpsc::Sender<Job<S>>>,
    thread: Option<JoinHandle<()>>,
}

impl<S: 'static> Worker<S> {
    /// Starts a thread named `name`, builds its state with `init` on that thread and waits for it: an error of
    /// `init` (a file that cannot be opened, a failed migration) is returned here and the thread ends.
    pub(crate) fn spawn(name: &str, init: impl FnOnce() -> Result<S, Error> + Send + 'static) -> Result<Self, Error> {
        let (jobs, queue) = mpsc::channel::<Job<S>>();
        let (ready, started) = mpsc::sync_channel::<Result<(), Error>>(1);
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let mut state = match init() {
                    Ok(state) => state,
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        return;
                    }
                };
                let _ = ready.send(Ok(()));
                drop(ready);
                while let Ok(job) = queue.recv() {
                    job(&mut state);
                }
            })
            .map_err(Error::Thread)?;
        match started.recv() {
            Ok(Ok(())) => Ok(Worker { jobs: Some(jobs), thread: Some(thread) }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => {
                let _ = thread.join();
                Err(Error::Thread(std::io::Error::other("the database thread panicked while opening the database")))
            }
        }
    }

    /// Runs `job` on the thread and waits for its result without blocking the caller's thread.
    ///
    /// A job runs to the end even if the caller stops waiting (its future is dropped): a transaction it started
    /// commits or rolls back as a whole either way.
    pub(crate) async fn run<R: Send + 'static>(
        &self,
        job: impl FnOnce(&mut S) -> R + Send + 'static,
    ) -> Result<R, Stopped> {
        let (reply, result) = tokio::sync::oneshot::channel();
        let jobs = self.jobs.as_ref().ok_or(Stopped)?;
        jobs.send(Box::new(move |state: &mut S| {
            let _ = reply.send(job(state));
        }))
        .map_err(|_| Stopped)?;
        result.await.map_err(|_| Stopped)
    }
}

impl<S> Drop for Worker<S> {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("a sync-sqlite database thread had panicked");
        }
    }
}
