//! The sync loop: fetch page N+1 while page N is written, with retries, timeouts, progress and cancellation.

use std::future::Future;
use std::sync::Arc;

use backon::{BackoffBuilder, ExponentialBuilder};
use tokio::sync::OnceCell;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::code::ErrorCode;
use crate::config::SyncConfig;
use crate::error::{SyncError, TransportError};
use crate::filter::MAX_FILTER_VALUES;
use crate::page::{CursorState, Page, PageRequest, ScopeStatus};
use crate::progress::{CollectionReport, Progress, ProgressFn, Stage, SyncReport};
use crate::schema::{Collection, Schema};
use crate::store::ClientStore;
use crate::subscription::pull_groups;
use crate::transport::Transport;
use crate::wire::decode_page;

mod collection;
mod push;
mod recent;
mod subscribe;
use collection::CollectionSync;
pub use push::{PUSH_BATCH, PushReport, WriteEvent};
pub use recent::{Priorities, RecentEvent, RecentFirstOptions, RecentFn};

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
    /// Changes after each subscription change (the live loop pulls the new values on it).
    subscriptions: tokio::sync::watch::Sender<u64>,
}

impl SyncEngine {
    /// An engine over `store` and `transport`. Nothing happens until the first call.
    pub fn new(store: Arc<dyn ClientStore>, transport: Arc<dyn Transport>, config: SyncConfig) -> Self {
        let subscriptions = tokio::sync::watch::channel(0).0;
        SyncEngine { store, transport, config, schema: OnceCell::new(), writes: push::Writes::default(), subscriptions }
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
        let status = self.status(scope, cancel).await?;
        let cursors = self.store.sync_state(scope).await?;
        let subscription = self.store.subscription(scope).await?;
        let mut run =
            Run { scope, options, cursors, report: SyncReport { scope: scope.to_owned(), ..Default::default() } };
        run.emit(Progress::new(scope, Stage::Started, None));
        for collection in collections {
            let server = status.collections.get(&collection.name);
            let report = match (&subscription.values, &collection.filter) {
                (Some(_), Some(_)) => {
                    // One pull per group of subscribed values sharing a cursor, reported as one collection.
                    let groups = pull_groups(&subscription, &collection.name, MAX_FILTER_VALUES);
                    let mut parts = Vec::with_capacity(groups.len());
                    for group in groups {
                        let sync = CollectionSync::filtered(self, &run, schema, collection, group);
                        parts.push(sync.run(&run, server).await?);
                    }
                    sum_reports(&collection.name, parts)
                }
                _ => CollectionSync::new(self, &run, schema, collection).run(&run, server).await?,
            };
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

    /// The scope's status (`GET /sync/status/{scope}`), retried as every request is.
    async fn status(&self, scope: &str, cancel: &CancellationToken) -> Result<ScopeStatus, SyncError> {
        self.with_retry(&format!("GET /sync/status/{scope}"), cancel, || self.transport.fetch_status(scope)).await
    }

    /// Fetches one page of `collection` and checks it whole (PROTOCOL.md invariant 7).
    async fn page(
        &self,
        collection: &Collection,
        request: &PageRequest,
        cancel: &CancellationToken,
    ) -> Result<Page, SyncError> {
        let (name, scope, since_seq) = (&collection.name, &request.scope, request.since_seq);
        let what = format!("GET /sync/{name}/{scope}?since_seq={since_seq}");
        let fetch_started = Instant::now();
        let body = self.with_retry(&what, cancel, || self.transport.fetch_page(request)).await?;
        let fetched_at = Instant::now();
        let page = decode_page(collection, request, &body, self.config.max_page_bytes)
            .map_err(|cause| SyncError::BadPage { collection: name.clone(), since_seq, cause })?;
        tracing::debug!(
            collection = %name, since_seq, rows = page.rows.len(), bytes = body.len(),
            fetch_ms = (fetched_at - fetch_started).as_secs_f64() * 1e3,
            decode_ms = fetched_at.elapsed().as_secs_f64() * 1e3,
            "page fetched"
        );
        Ok(page)
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

/// The report of a collection pulled by several filtered pulls: their sums, the lowest cursor before and the
/// highest after.
fn sum_reports(collection: &str, parts: Vec<CollectionReport>) -> CollectionReport {
    let mut total = CollectionReport {
        collection: collection.to_owned(),
        cursor_before: parts.iter().map(|p| p.cursor_before).min().unwrap_or(0),
        cursor_after: parts.iter().map(|p| p.cursor_after).max().unwrap_or(0),
        ..Default::default()
    };
    for part in parts {
        total.upserted += part.upserted;
        total.deleted += part.deleted;
        total.skipped += part.skipped;
        total.pages += part.pages;
        total.bytes += part.bytes;
    }
    total
}

/// Appends `next` (the page that followed `page`) to `page`.
fn merge(page: &mut Page, next: Page) {
    page.rows.extend(next.rows);
    page.latest_seq = next.latest_seq;
    page.has_more = next.has_more;
    page.total_count = next.total_count;
    page.bytes += next.bytes;
}

/// One sync of a scope: its options, the cursors it started from, and its report so far.
struct Run<'a> {
    scope: &'a str,
    options: &'a SyncOptions,
    cursors: Vec<CursorState>,
    report: SyncReport,
}

impl Run<'_> {
    /// The cursor `collection` had when the sync began (0 when it has none).
    fn cursor(&self, collection: &str) -> i64 {
        self.cursors.iter().find(|c| c.collection == collection).map_or(0, |c| c.last_seq)
    }

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
