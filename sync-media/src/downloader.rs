//! [`MediaDownloader`]: the queue's API and its scheduler (bounded concurrency, priority, retries, control).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::error::{Failure, MediaError};
use crate::events::{MediaEvent, MediaEventFn, Throttle};
use crate::fetch::{Fetcher, Stopped, blocking};
use crate::item::{ItemState, MediaItem, QueueTotals};
use crate::options::MediaOptions;
use crate::queue::{Queue, now_ms};

type Key = (String, String);

/// A running download's token and, once told to stop, why.
type Running = (CancellationToken, Arc<Mutex<Option<StopReason>>>);

/// Why a running download was told to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StopReason {
    Pause,
    Cancel,
    /// Its media changed on the server: the queue already holds it again, from zero.
    Restart,
    /// The runner stops (the app closes): queued again, its partial file kept for the next run.
    Shutdown,
}

struct Inner {
    queue: Arc<Queue>,
    fetcher: Fetcher,
    options: MediaOptions,
    listener: Mutex<Option<MediaEventFn>>,
    running: Mutex<HashMap<Key, Running>>,
    wake: Notify,
    /// One scheduler at a time, so `concurrency` holds.
    scheduler: tokio::sync::Mutex<()>,
    /// Set by [`MediaRunner::stop`]: the scheduler starts nothing more and returns once its downloads stopped.
    stopping: AtomicBool,
}

/// What [`MediaDownloader::reconcile`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Items whose media row is gone: cancelled, partial files removed.
    pub gone: Vec<String>,
    /// Items whose file changed (size or SHA-256): downloading again from zero.
    pub changed: Vec<String>,
    /// Media rows the auto-download policy queued.
    pub added: Vec<String>,
}

/// The download queue of one replica: persistent in its SQLite file, bounded, resumable, verified.
#[derive(Clone)]
pub struct MediaDownloader {
    inner: Arc<Inner>,
}

impl MediaDownloader {
    /// Opens the queue in `options.db` (creating its table; what a crash left downloading is queued again) and
    /// the download folder (creating it).
    pub fn open(options: MediaOptions) -> Result<MediaDownloader, MediaError> {
        let folder = options.folder()?;
        std::fs::create_dir_all(&folder)
            .map_err(|e| MediaError::Folder { path: folder.clone(), why: e.to_string() })?;
        let fetcher = Fetcher::new(&options.url, options.token.clone(), folder, options.read_timeout)?;
        let queue = Arc::new(Queue::open(&options.db, options.columns.clone())?);
        let inner = Inner {
            queue,
            fetcher,
            options,
            listener: Mutex::new(None),
            running: Mutex::new(HashMap::new()),
            wake: Notify::new(),
            scheduler: tokio::sync::Mutex::new(()),
            stopping: AtomicBool::new(false),
        };
        Ok(MediaDownloader { inner: Arc::new(inner) })
    }

    /// Sends every later event to `listener` (replacing any earlier one).
    pub fn set_listener(&self, listener: MediaEventFn) {
        *lock(&self.inner.listener) = Some(listener);
    }

    /// Where the partial file of an item is kept while it downloads (in a hidden folder of the download folder,
    /// named by a hash of the item's key).
    pub fn partial_path(&self, scope: &str, media_id: &str) -> std::path::PathBuf {
        self.inner.fetcher.partial(scope, media_id)
    }

    /// The folder finished files go to.
    pub fn folder(&self) -> &std::path::Path {
        &self.inner.fetcher.folder
    }

    /// Queues media `media_id` of `scope` (from its row in the replica) with `priority` (higher goes first; the
    /// item the user is looking at should get the highest). Queues a failed or cancelled item again; gives a
    /// waiting one the new priority; leaves a finished one alone. Returns whether it is waiting now.
    pub async fn download(&self, scope: &str, media_id: &str, priority: i64) -> Result<bool, MediaError> {
        let (s, id) = (scope.to_owned(), media_id.to_owned());
        let record = blocking(&self.inner.queue, move |q| q.record(&s, &id)).await?;
        let Some(record) = record else {
            return Err(MediaError::UnknownMedia { scope: scope.into(), media_id: media_id.into() });
        };
        let (s, id) = (scope.to_owned(), media_id.to_owned());
        let waiting = blocking(&self.inner.queue, move |q| q.enqueue(&s, &id, &record, priority)).await?;
        self.inner.wake.notify_one();
        self.inner.state_event(scope, media_id, ItemState::Queued, None).await;
        Ok(waiting)
    }

    /// Stops an item, keeping its partial file; [`MediaDownloader::resume`] continues from there.
    pub async fn pause(&self, scope: &str, media_id: &str) -> Result<(), MediaError> {
        self.control(scope, media_id, &[ItemState::Queued], ItemState::Paused, StopReason::Pause).await
    }

    /// Queues a paused or failed item again (a failed one with its attempts reset).
    pub async fn resume(&self, scope: &str, media_id: &str) -> Result<(), MediaError> {
        let (s, id) = (scope.to_owned(), media_id.to_owned());
        let from = [ItemState::Paused, ItemState::Failed];
        blocking(&self.inner.queue, move |q| q.transition(&s, &id, &from, ItemState::Queued)).await?;
        self.inner.wake.notify_one();
        self.inner.state_event(scope, media_id, ItemState::Queued, None).await;
        Ok(())
    }

    /// Stops an item for good and removes its partial file.
    pub async fn cancel(&self, scope: &str, media_id: &str) -> Result<(), MediaError> {
        let from = &[ItemState::Queued, ItemState::Paused, ItemState::Failed];
        self.control(scope, media_id, from, ItemState::Cancelled, StopReason::Cancel).await?;
        let _ = std::fs::remove_file(self.inner.fetcher.partial(scope, media_id));
        Ok(())
    }

    async fn control(
        &self,
        scope: &str,
        media_id: &str,
        from: &'static [ItemState],
        to: ItemState,
        reason: StopReason,
    ) -> Result<(), MediaError> {
        let (s, id) = (scope.to_owned(), media_id.to_owned());
        let moved = blocking(&self.inner.queue, move |q| q.transition(&s, &id, from, to)).await?;
        if !self.inner.stop((scope.to_owned(), media_id.to_owned()), reason) && moved {
            self.inner.state_event(scope, media_id, to, None).await;
        }
        Ok(())
    }

    /// After a sync of `scope`: cancels the items whose media row is gone, downloads again those whose file
    /// changed, and queues the new rows the auto-download policy wants.
    pub async fn reconcile(&self, scope: &str) -> Result<Reconciled, MediaError> {
        let (s, auto) = (scope.to_owned(), self.inner.options.auto.clone());
        let Reconciled { gone, changed, added } = blocking(&self.inner.queue, move |q| q.reconcile(&s, &auto)).await?;
        for id in &gone {
            if !self.inner.stop((scope.to_owned(), id.clone()), StopReason::Cancel) {
                let _ = std::fs::remove_file(self.inner.fetcher.partial(scope, id));
            }
        }
        for id in &changed {
            if !self.inner.stop((scope.to_owned(), id.clone()), StopReason::Restart) {
                let _ = std::fs::remove_file(self.inner.fetcher.partial(scope, id));
            }
        }
        for id in &added {
            self.download(scope, id, 0).await?;
        }
        self.inner.wake.notify_one();
        Ok(Reconciled { gone, changed, added })
    }

    /// Gives the waiting (queued, paused or failed) items `media_ids` of `scope` the new `priority` (higher
    /// starts first); returns how many it changed. Running and finished items are left alone.
    pub async fn prioritize(&self, scope: &str, media_ids: Vec<String>, priority: i64) -> Result<u64, MediaError> {
        let s = scope.to_owned();
        let changed = blocking(&self.inner.queue, move |q| q.set_priority(&s, &media_ids, priority)).await?;
        self.inner.wake.notify_one();
        Ok(changed)
    }

    /// [`MediaDownloader::prioritize`] for every media row of a conversation (the `conversation` column of
    /// [`crate::MediaColumns`]).
    pub async fn prioritize_conversation(
        &self,
        scope: &str,
        conversation_id: &str,
        priority: i64,
    ) -> Result<u64, MediaError> {
        let (s, c) = (scope.to_owned(), conversation_id.to_owned());
        let ids = blocking(&self.inner.queue, move |q| q.conversation_media(&s, &c)).await?;
        self.prioritize(scope, ids, priority).await
    }

    /// One item.
    pub async fn item(&self, scope: &str, media_id: &str) -> Result<Option<MediaItem>, MediaError> {
        let (s, id) = (scope.to_owned(), media_id.to_owned());
        blocking(&self.inner.queue, move |q| q.get(&s, &id)).await
    }

    /// Every item, in the order they would start.
    pub async fn items(&self) -> Result<Vec<MediaItem>, MediaError> {
        blocking(&self.inner.queue, |q| q.list()).await
    }

    /// Counts per state and bytes left.
    pub async fn totals(&self) -> Result<QueueTotals, MediaError> {
        blocking(&self.inner.queue, |q| q.totals()).await
    }

    /// Downloads until nothing is queued or downloading (waiting out retry delays), at most
    /// `options.concurrency` at once; returns the totals then.
    pub async fn run_until_idle(&self) -> Result<QueueTotals, MediaError> {
        let _only = self.inner.scheduler.lock().await;
        let mut tasks = JoinSet::new();
        loop {
            let mut wake_at = None;
            let stopping = self.inner.stopping.load(Ordering::SeqCst);
            while !stopping && tasks.len() < self.inner.options.concurrency.max(1) {
                match blocking(&self.inner.queue, |q| q.claim_next()).await? {
                    Ok(item) => {
                        tasks.spawn(self.inner.clone().work(item));
                    }
                    Err(at) => {
                        wake_at = at;
                        break;
                    }
                }
            }
            if tasks.is_empty() && (wake_at.is_none() || stopping) {
                return self.totals().await;
            }
            let delay =
                wake_at.map_or(Duration::from_secs(3600), |at| Duration::from_millis((at - now_ms()).max(1) as u64));
            tokio::select! {
                done = tasks.join_next(), if !tasks.is_empty() => {
                    if let Some(Err(e)) = done {
                        tracing::error!(error = %e, "a download task panicked");
                    }
                }
                () = self.inner.wake.notified() => {}
                () = tokio::time::sleep(delay) => {}
            }
        }
    }

    /// Runs the queue in the background (on the current tokio runtime) until [`MediaRunner::stop`]: downloads
    /// whatever gets queued.
    pub fn start(&self) -> MediaRunner {
        self.inner.stopping.store(false, Ordering::SeqCst);
        let stop = CancellationToken::new();
        let (this, stopped) = (self.clone(), stop.clone());
        let task = tokio::spawn(async move {
            loop {
                if let Err(e) = this.run_until_idle().await {
                    tracing::error!(error = %e, "the download queue failed; retrying in 1 s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                if stopped.is_cancelled() {
                    break;
                }
                tokio::select! {
                    () = this.inner.wake.notified() => {}
                    () = stopped.cancelled() => break,
                }
            }
        });
        MediaRunner { inner: self.inner.clone(), stop, task }
    }
}

/// The background scheduler of [`MediaDownloader::start`].
pub struct MediaRunner {
    inner: Arc<Inner>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl MediaRunner {
    /// Stops the scheduler: running downloads stop and go back to `queued` with their partial files (the next run
    /// resumes them); returns once they have.
    pub async fn stop(self) {
        self.inner.stopping.store(true, Ordering::SeqCst);
        self.inner.stop_all();
        self.stop.cancel();
        self.inner.wake.notify_one();
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "the download scheduler panicked");
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Inner {
    fn emit(&self, event: MediaEvent) {
        let listener = lock(&self.listener).clone();
        if let Some(listener) = listener {
            listener(&event);
        }
    }

    async fn state_event(&self, scope: &str, media_id: &str, state: ItemState, failure: Option<&Failure>) {
        self.emit(MediaEvent::State {
            scope: scope.into(),
            media_id: media_id.into(),
            state,
            error_code: failure.map(|f| f.code().to_owned()),
            message: failure.map(ToString::to_string),
            path: None,
        });
        if let Ok(totals) = blocking(&self.queue, |q| q.totals()).await {
            self.emit(MediaEvent::Totals(totals));
        }
    }

    /// Tells a running download to stop; false when it is not running.
    fn stop(&self, key: Key, reason: StopReason) -> bool {
        let running = lock(&self.running);
        let Some((token, why)) = running.get(&key) else { return false };
        *lock(why) = Some(reason);
        token.cancel();
        true
    }

    fn stop_all(&self) {
        for (token, why) in lock(&self.running).values() {
            lock(why).get_or_insert(StopReason::Shutdown);
            token.cancel();
        }
    }

    /// One attempt at `item`, and what follows from its outcome.
    async fn work(self: Arc<Self>, item: MediaItem) {
        let key = (item.scope.clone(), item.media_id.clone());
        let token = CancellationToken::new();
        let why = Arc::new(Mutex::new(None));
        lock(&self.running).insert(key.clone(), (token.clone(), why.clone()));
        if self.stopping.load(Ordering::SeqCst) {
            // Claimed just before the runner stopped: `stop_all` may have missed it.
            lock(&why).get_or_insert(StopReason::Shutdown);
            token.cancel();
        }
        self.state_event(&item.scope, &item.media_id, ItemState::Downloading, None).await;
        let outcome = self.attempt(&item, &token).await;
        lock(&self.running).remove(&key);
        let stopped = *lock(&why);
        if let Err(e) = self.settle(&item, outcome, stopped).await {
            tracing::error!(error = %e, media_id = %item.media_id, "cannot record a download's outcome");
        }
        self.wake.notify_one();
    }

    async fn attempt(&self, item: &MediaItem, token: &CancellationToken) -> Result<std::path::PathBuf, Stopped> {
        let mut throttle = Throttle::new(self.options.progress_interval);
        let mut saved = std::time::Instant::now();
        let queue = self.queue.clone();
        let (scope, id) = (item.scope.clone(), item.media_id.clone());
        let mut progress = |bytes: u64, total: u64| {
            if let Some(rate) = throttle.due(bytes, total) {
                self.emit(MediaEvent::Progress { scope: scope.clone(), media_id: id.clone(), bytes, total, rate });
            }
            // The queue row's byte count is for UIs; resuming trusts the partial file's length.
            if saved.elapsed() >= Duration::from_millis(500) {
                saved = std::time::Instant::now();
                let (queue, s, i) = (queue.clone(), scope.clone(), id.clone());
                tokio::task::spawn_blocking(move || queue.progress(&s, &i, bytes));
            }
        };
        self.fetcher.attempt(&self.queue, item, token, &mut progress).await
    }

    async fn settle(
        &self,
        item: &MediaItem,
        outcome: Result<std::path::PathBuf, Stopped>,
        stopped: Option<StopReason>,
    ) -> Result<(), MediaError> {
        let (scope, id) = (item.scope.clone(), item.media_id.clone());
        let partial = self.fetcher.partial(&scope, &id);
        match (outcome, stopped) {
            (Ok(path), _) => {
                let size = item.record.size.unwrap_or_default();
                let (s, i, p) = (scope.clone(), id.clone(), path.clone());
                blocking(&self.queue, move |q| q.done(&s, &i, &p, size)).await?;
                self.emit(MediaEvent::State {
                    scope,
                    media_id: id,
                    state: ItemState::Done,
                    error_code: None,
                    message: None,
                    path: Some(path),
                });
                if let Ok(totals) = blocking(&self.queue, |q| q.totals()).await {
                    self.emit(MediaEvent::Totals(totals));
                }
            }
            (Err(_), Some(reason)) => {
                let to = match reason {
                    StopReason::Pause => ItemState::Paused,
                    StopReason::Cancel => ItemState::Cancelled,
                    StopReason::Restart | StopReason::Shutdown => ItemState::Queued,
                };
                if matches!(reason, StopReason::Cancel | StopReason::Restart) {
                    let _ = std::fs::remove_file(&partial);
                }
                let (s, i) = (scope.clone(), id.clone());
                blocking(&self.queue, move |q| q.transition(&s, &i, &[ItemState::Downloading], to)).await?;
                self.state_event(&scope, &id, to, None).await;
            }
            (Err(Stopped::Cancelled), None) => {}
            (Err(Stopped::Failed(failure)), None) => {
                let (s, i) = (scope.clone(), id.clone());
                let (attempts, hashes) = blocking(&self.queue, move |q| q.counts(&s, &i)).await?;
                let hash = matches!(failure, Failure::Hash { .. });
                let retry = failure.retryable()
                    && attempts + 1 < self.options.max_attempts
                    && !(hash && hashes + 1 >= self.options.max_hash_mismatches);
                if !retry {
                    // A refused or exhausted download leaves nothing behind.
                    let _ = std::fs::remove_file(&partial);
                }
                let delay = retry.then(|| self.backoff(attempts));
                let (s, i, f) = (scope.clone(), id.clone(), failure.clone());
                let state = blocking(&self.queue, move |q| q.failed(&s, &i, &f, delay)).await?;
                self.state_event(&scope, &id, state, Some(&failure)).await;
            }
        }
        Ok(())
    }

    /// Exponential backoff with full jitter in its upper half.
    fn backoff(&self, attempts: u32) -> Duration {
        let base = self.options.initial_backoff.saturating_mul(1 << attempts.min(16)).min(self.options.max_backoff);
        base.mul_f64(rand::rng().random_range(0.5..=1.0))
    }
}
