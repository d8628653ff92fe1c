//! The sync loop: fetch page N+1 while page N is written, with retries, timeouts, progress and cancellation.

use std::future::Future;
use std::sync::Arc;

use backon::{BackoffBuilder, ExponentialBuilder};
use tokio::sync::{OnceCell, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::code::ErrorCode;
use crate::config::SyncConfig;
use crate::error::{SyncError, TransportError};
use crate::page::{Page, PageRequest, ScopeStatus};
use crate::progress::{CollectionReport, Progress, ProgressFn, Stage, SyncReport};
use crate::schema::{Collection, Schema};
use crate::store::ClientStore;
use crate::transport::Transport;
use crate::wire::decode_page;

mod push;
pub use push::{PUSH_BATCH, PushReport, WriteEvent};

/// How long the writer waits for the next page before it commits the pages a store holds open
/// ([`ClientStore::apply_page_held`]).
const HOLD_WAIT: std::time::Duration = std::time::Duration::from_millis(100);

/// Per-call options of [`SyncEngine::sync`].
#[derive(Clone, Default)]
pub struct SyncOptions {
    /// Called with throttled progress events.
    pub progress: Option<ProgressFn>,
    /// Cancels the sync between pages (a page being written completes: it is atomic).
    pub cancel: CancellationToken,
    /// Only these collections, in schema order. Default: all.
    pub collections: Option<Vec<String>>,
}

/// Keeps a [`ClientStore`] an exact replica of what a server holds for each scope it syncs.
pub struct SyncEngine {
    store: Arc<dyn ClientStore>,
    transport: Arc<dyn Transport>,
    config: SyncConfig,
    schema: OnceCell<Schema>,
    writes: push::Writes,
}

impl SyncEngine {
    /// An engine over `store` and `transport`. Nothing happens until the first call.
    pub fn new(store: Arc<dyn ClientStore>, transport: Arc<dyn Transport>, config: SyncConfig) -> Self {
        SyncEngine { store, transport, config, schema: OnceCell::new(), writes: push::Writes::default() }
    }

    /// The store, for stats, sync state and reads.
    pub fn store(&self) -> &Arc<dyn ClientStore> {
        &self.store
    }

    /// The transport and configuration, for the live loop (`live/follow.rs`).
    pub(crate) fn parts(&self) -> (&Arc<dyn Transport>, &SyncConfig) {
        (&self.transport, &self.config)
    }

    /// The schema in use: the configured one, or the server's (fetched once); the store is prepared for it.
    pub async fn schema(&self, cancel: &CancellationToken) -> Result<&Schema, SyncError> {
        self.schema
            .get_or_try_init(|| async {
                let schema = match &self.config.schema {
                    Some(schema) => schema.clone(),
                    None => self.with_retry("GET /schema", cancel, || self.transport.fetch_schema()).await?,
                };
                schema.validate()?;
                self.store.prepare(&schema).await?;
                Ok(schema)
            })
            .await
    }

    /// Syncs `scope`: pushes its local writes ([`SyncEngine::push`]), then pulls every collection (or those in
    /// `options.collections`) in schema order, each until the server says `has_more: false`. Returns what the
    /// pull did; on error, what was applied stays applied.
    ///
    /// When the server answers `resync_required` (HTTP 409: it pruned tombstones newer than a cursor of this
    /// client, so deletes could be missed), the scope is reset in the store ([`ClientStore::reset`]) and synced
    /// again from scratch, once; the report then says `resynced`. A second `resync_required` is returned as an
    /// error.
    pub async fn sync(&self, scope: &str, options: SyncOptions) -> Result<SyncReport, SyncError> {
        self.push_pull(scope, options).await
    }

    async fn pull(&self, scope: &str, options: SyncOptions) -> Result<SyncReport, SyncError> {
        let started = Instant::now();
        match self.sync_once(scope, &options).await {
            Err(e) if e.code() == ErrorCode::ResyncRequired => {
                tracing::warn!(scope, error = %e, "the server asks for a full re-sync; resetting the scope");
                self.store.reset(scope).await?;
                let mut report = self.sync_once(scope, &options).await?;
                report.resynced = true;
                report.elapsed = started.elapsed();
                Ok(report)
            }
            other => other,
        }
    }

    async fn sync_once(&self, scope: &str, options: &SyncOptions) -> Result<SyncReport, SyncError> {
        let started = Instant::now();
        let cancel = &options.cancel;
        let schema = self.schema(cancel).await?;
        let collections: Vec<&Collection> = match &options.collections {
            None => schema.collections.iter().collect(),
            Some(names) => {
                if let Some(unknown) = names.iter().find(|n| schema.collection(n).is_none()) {
                    return Err(SyncError::UnknownCollection(unknown.clone()));
                }
                schema.collections.iter().filter(|c| names.contains(&c.name)).collect()
            }
        };
        let status = self
            .with_retry(&format!("GET /sync/status/{scope}"), cancel, || self.transport.fetch_status(scope))
            .await?;
        let cursors = self.store.sync_state(scope).await?;
        let mut run = Run { scope, options, report: SyncReport { scope: scope.to_owned(), ..Default::default() } };
        run.emit(Progress::new(scope, Stage::Started, None));
        for collection in collections {
            let cursor = cursors.iter().find(|c| c.collection == collection.name).map_or(0, |c| c.last_seq);
            let report = self.sync_collection(&mut run, schema, collection, cursor, &status).await?;
            run.report.collections.push(report);
        }
        run.report.elapsed = started.elapsed();
        let mut done = Progress::new(scope, Stage::Finished, None);
        done.applied = run.report.rows();
        done.pages = run.report.pages();
        done.bytes = run.report.bytes();
        run.emit(done);
        Ok(run.report)
    }

    async fn sync_collection(
        &self,
        run: &mut Run<'_>,
        schema: &Schema,
        collection: &Collection,
        cursor: i64,
        status: &ScopeStatus,
    ) -> Result<CollectionReport, SyncError> {
        let scope = run.scope;
        let cancel = &run.options.cancel;
        let server = status.collections.get(&collection.name);
        let target_seq = server.map_or(0, |s| s.latest_seq);
        let mut report = CollectionReport {
            collection: collection.name.clone(),
            cursor_before: cursor,
            cursor_after: cursor,
            ..Default::default()
        };
        let mut progress = Progress::new(scope, Stage::Collection, Some(&collection.name));
        progress.start_cursor = cursor;
        progress.cursor = cursor;
        progress.target_seq = target_seq;
        progress.total = if cursor == 0 { server.map(|s| s.count) } else { None };
        if target_seq <= cursor && server.is_some() {
            // The status says nothing is newer than our cursor: skip the round trip.
            progress.stage = Stage::CollectionDone;
            run.emit(progress);
            return Ok(report);
        }

        let limit = self.config.page_size(schema, &collection.name);
        let (pages_tx, pages_rx) = mpsc::channel::<Page>(self.config.prefetch_pages);
        let fetcher = async move {
            let mut since_seq = cursor;
            loop {
                // A collection synced from cursor 0 in this session holds nothing a pruned tombstone could delete.
                let fresh = cursor == 0;
                let request = PageRequest {
                    scope: scope.to_owned(),
                    collection: collection.name.clone(),
                    since_seq,
                    limit,
                    fresh,
                };
                let what = format!("GET /sync/{}/{scope}?since_seq={since_seq}", collection.name);
                let fetch_started = Instant::now();
                let body = self.with_retry(&what, cancel, || self.transport.fetch_page(&request)).await?;
                let fetched_at = Instant::now();
                let page = decode_page(collection, &request, &body, self.config.max_page_bytes)
                    .map_err(|cause| SyncError::BadPage { collection: collection.name.clone(), since_seq, cause })?;
                tracing::debug!(
                    collection = %collection.name, since_seq, rows = page.rows.len(), bytes = body.len(),
                    fetch_ms = (fetched_at - fetch_started).as_secs_f64() * 1e3,
                    decode_ms = fetched_at.elapsed().as_secs_f64() * 1e3,
                    "page fetched"
                );
                since_seq = page.latest_seq;
                let more = page.has_more;
                // A closed channel means the writer stopped on an error, which the join below reports.
                if pages_tx.send(page).await.is_err() || !more {
                    return Ok::<(), SyncError>(());
                }
            }
        };
        let started = Instant::now();
        let mut last_emit: Option<Instant> = None;
        let writer = async {
            // The writer owns the receiver: when it stops on an error, the channel closes and the fetcher, which
            // may be waiting to hand over a prefetched page, stops too instead of waiting forever.
            let mut pages_rx = pages_rx;
            let mut holding = false;
            loop {
                let next = match tokio::time::timeout(HOLD_WAIT, pages_rx.recv()).await {
                    Ok(next) => next,
                    Err(_) => {
                        // The network is slower than the writes, or a request is being retried: commit what is
                        // held instead of keeping the file's write lock while waiting.
                        if std::mem::take(&mut holding) {
                            self.store.flush().await?;
                        }
                        pages_rx.recv().await
                    }
                };
                let Some(mut page) = next else { break };
                if cancel.is_cancelled() {
                    return Err(SyncError::Cancelled);
                }
                // Group commit: pages that arrived while the last one was written go into one transaction. The
                // cursor still lands on a page boundary, and each commit rewrites fewer B-tree pages.
                let mut merged = 1;
                while page.rows.len() < self.config.max_rows_per_transaction {
                    let Ok(next) = pages_rx.try_recv() else { break };
                    merge(&mut page, next);
                    merged += 1;
                }
                let (bytes, more) = (page.bytes as u64, page.has_more);
                let apply_started = Instant::now();
                let outcome = if cursor == 0 {
                    holding = true;
                    self.store.apply_page_held(scope, page).await?
                } else {
                    self.store.apply_page(scope, page).await?
                };
                tracing::debug!(
                    collection = %collection.name, cursor = outcome.cursor,
                    apply_ms = apply_started.elapsed().as_secs_f64() * 1e3, "page applied"
                );
                report.upserted += outcome.upserted;
                report.deleted += outcome.deleted;
                report.skipped += outcome.skipped;
                report.pages += merged;
                report.bytes += bytes;
                report.cursor_after = outcome.cursor;
                progress.applied = report.upserted + report.deleted;
                progress.pages = report.pages;
                progress.bytes = report.bytes;
                progress.cursor = outcome.cursor;
                let elapsed = started.elapsed().as_secs_f64();
                progress.rows_per_sec = if elapsed > 0.0 { progress.applied as f64 / elapsed } else { 0.0 };
                let due = last_emit.is_none_or(|t| t.elapsed() >= self.config.progress_interval);
                if due && more {
                    last_emit = Some(Instant::now());
                    run.emit(progress.clone());
                }
            }
            Ok::<(), SyncError>(())
        };
        let (fetched, written) = tokio::join!(fetcher, writer);
        // Whatever happened, what was applied stays applied: commit pages the store held open. Only a sync from
        // cursor 0 applies pages as held, so an incremental sync skips the store round trip.
        let flushed = if cursor == 0 { self.store.flush().await } else { Ok(()) };
        written?;
        fetched?;
        flushed?;
        progress.stage = Stage::CollectionDone;
        run.emit(progress);
        Ok(report)
    }

    /// Runs `call` under the request timeout, retrying retryable failures with exponential backoff and jitter;
    /// a server's `Retry-After` is honoured (never retried sooner, capped by the configured maximum).
    async fn with_retry<T, F, Fut>(&self, what: &str, cancel: &CancellationToken, mut call: F) -> Result<T, SyncError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, TransportError>>,
    {
        let c = &self.config;
        let mut backoff = ExponentialBuilder::default()
            .with_min_delay(c.initial_backoff)
            .with_max_delay(c.max_backoff)
            .with_max_times(c.max_retries)
            .with_jitter()
            .build();
        loop {
            // Biased: a cancelled token wins over a call that is ready at once.
            let attempt = tokio::select! {
                biased;
                _ = cancel.cancelled() => return Err(SyncError::Cancelled),
                r = tokio::time::timeout(c.request_timeout, call()) => r,
            };
            let error = match attempt {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(error)) => error,
                Err(_) => TransportError::Timeout(c.request_timeout),
            };
            let delay = match backoff.next() {
                Some(delay) if error.is_retryable() => {
                    error.retry_after().map_or(delay, |asked| asked.min(c.max_retry_after).max(delay))
                }
                _ => return Err(SyncError::Transport { what: what.to_owned(), cause: error }),
            };
            tracing::warn!(%error, ?delay, "{what} failed; retrying");
            tokio::select! {
                biased;
                _ = cancel.cancelled() => return Err(SyncError::Cancelled),
                _ = tokio::time::sleep(delay) => {}
            }
        }
    }
}

/// Appends `next` (the page that followed `page`) to `page`.
fn merge(page: &mut Page, next: Page) {
    page.rows.extend(next.rows);
    page.latest_seq = next.latest_seq;
    page.has_more = next.has_more;
    page.total_count = next.total_count;
    page.bytes += next.bytes;
}

struct Run<'a> {
    scope: &'a str,
    options: &'a SyncOptions,
    report: SyncReport,
}

impl Run<'_> {
    fn emit(&self, progress: Progress) {
        if let Some(callback) = &self.options.progress {
            callback(&progress);
        }
    }
}

impl Progress {
    fn new(scope: &str, stage: Stage, collection: Option<&str>) -> Self {
        Progress {
            scope: scope.to_owned(),
            stage,
            collection: collection.map(str::to_owned),
            applied: 0,
            total: None,
            pages: 0,
            bytes: 0,
            start_cursor: 0,
            cursor: 0,
            target_seq: 0,
            rows_per_sec: 0.0,
        }
    }
}

#[cfg(test)]
mod tests;
