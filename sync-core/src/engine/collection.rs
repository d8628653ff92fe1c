//! One collection's pull: [`CollectionSync`] fetches its pages, writes them, and reports.
//!
//! Who decides each batching step, from the wire to the disk:
//! - rows per page: the engine asks for [`SyncConfig::page_size`](crate::SyncConfig) (the schema's unless
//!   configured); the server clamps it to its maximum.
//! - pages in flight: the engine fetches up to `prefetch_pages` ahead of the writer (the channel in
//!   [`CollectionSync::run`]).
//! - pages per store call: the engine's writer merges the pages that arrived while it wrote the last one, up to
//!   `max_rows_per_transaction` (group commit).
//! - store calls per commit: in a sync from scratch only, the store ([`ClientStore::apply_page_held`]; SQLite
//!   commits every `SqliteOptions::held_commit_rows` rows or `held_commit_age`, and at the last page), except that
//!   the engine makes it commit when the next page is [`HOLD_WAIT`] late and at the end of the collection
//!   ([`ClientStore::flush`]), and a `NotifyingStore` with a listener commits every call. Otherwise every call
//!   commits.

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{HOLD_WAIT, Run, SyncEngine, merge};
use crate::error::SyncError;
use crate::page::{CollectionStatus, Page, PageRequest};
use crate::progress::{CollectionReport, Progress, Stage};
use crate::schema::{Collection, Schema};
use crate::store::ClientStore;

/// The pull of one collection of one scope, from the cursor it had when the sync began.
pub(super) struct CollectionSync<'a> {
    engine: &'a SyncEngine,
    scope: &'a str,
    collection: &'a Collection,
    cancel: &'a CancellationToken,
    cursor: i64,
    /// Decided once, here: the collection syncs from cursor 0. Then the server's count is the progress total,
    /// page requests say `fresh` (nothing held here can need a pruned tombstone), and pages are applied held.
    from_scratch: bool,
    limit: usize,
    /// Selective sync: the subscribed values this pull is for (all at `cursor`), whose own cursors the pages
    /// move ([`ClientStore::apply_filtered_page`]); `None`: the whole collection.
    filter: Option<Vec<String>>,
    /// A prioritized history (`recent.rs`): the values' rows from 0, applied by [`ClientStore::apply_rows`] (no
    /// cursor moves: the backfill brings them again as no-ops).
    loose: bool,
}

/// What the writer has applied so far.
struct Tally {
    report: CollectionReport,
    progress: Progress,
}

impl<'a> CollectionSync<'a> {
    pub(super) fn new(engine: &'a SyncEngine, run: &Run<'a>, schema: &Schema, collection: &'a Collection) -> Self {
        let cursor = run.cursor(&collection.name);
        let limit = engine.config.page_size(schema, &collection.name);
        let (scope, cancel) = (run.scope, &run.options.cancel);
        CollectionSync {
            engine,
            scope,
            collection,
            cancel,
            cursor,
            from_scratch: cursor == 0,
            limit,
            filter: None,
            loose: false,
        }
    }

    /// The pull of the rows of `values` (subscribed values whose cursors in the collection are all `cursor`).
    pub(super) fn filtered(
        engine: &'a SyncEngine,
        run: &Run<'a>,
        schema: &Schema,
        collection: &'a Collection,
        (cursor, values): (i64, Vec<String>),
    ) -> Self {
        let sync = CollectionSync::new(engine, run, schema, collection);
        CollectionSync { cursor, from_scratch: cursor == 0, filter: Some(values), ..sync }
    }

    /// The pull of the whole history of `value`, moving no cursor.
    pub(super) fn history(
        engine: &'a SyncEngine,
        run: &Run<'a>,
        schema: &Schema,
        collection: &'a Collection,
        value: String,
    ) -> Self {
        CollectionSync { loose: true, ..Self::filtered(engine, run, schema, collection, (0, vec![value])) }
    }

    /// Whether pages are applied held (a sync from scratch of the whole collection; a filtered pull's pages land
    /// in a table that holds other values' rows, so they commit one by one).
    fn held(&self) -> bool {
        self.from_scratch && self.filter.is_none()
    }

    /// Pulls the collection until the server says `has_more: false` (or skips it when `server`, its line of the
    /// scope's status, says nothing is newer), emitting progress through `run`.
    pub(super) async fn run(
        self,
        run: &Run<'_>,
        server: Option<&CollectionStatus>,
    ) -> Result<CollectionReport, SyncError> {
        let name = &self.collection.name;
        let report = CollectionReport {
            collection: name.clone(),
            cursor_before: self.cursor,
            cursor_after: self.cursor,
            ..Default::default()
        };
        let mut progress = Progress::new(self.scope, Stage::Collection, Some(name));
        progress.start_cursor = self.cursor;
        progress.cursor = self.cursor;
        progress.target_seq = server.map_or(0, |s| s.latest_seq);
        // The server counts the collection's rows, not the values'.
        progress.total = if self.held() { server.map(|s| s.count) } else { None };
        let mut tally = Tally { report, progress };
        if server.is_some_and(|s| s.latest_seq <= self.cursor) {
            // The status says nothing is newer than our cursor: skip the round trip.
            return Ok(self.done(run, tally));
        }
        let (pages_tx, pages_rx) = mpsc::channel::<Page>(self.engine.config.prefetch_pages);
        let (fetched, written) = tokio::join!(self.fetch_pages(pages_tx), self.write_pages(pages_rx, run, &mut tally));
        // Whatever happened, what was applied stays applied: commit the pages the store holds open (only a sync
        // from scratch applies pages held, so an incremental one skips the store round trip).
        let flushed = if self.held() { self.engine.store.flush().await } else { Ok(()) };
        written?;
        fetched?;
        flushed?;
        Ok(self.done(run, tally))
    }

    fn done(&self, run: &Run<'_>, mut tally: Tally) -> CollectionReport {
        tally.progress.stage = Stage::CollectionDone;
        run.emit(tally.progress);
        tally.report
    }

    /// Fetches and checks pages in order, each from the last one's `latest_seq`, handing them to the writer.
    async fn fetch_pages(&self, pages: mpsc::Sender<Page>) -> Result<(), SyncError> {
        let mut since_seq = self.cursor;
        loop {
            let request = PageRequest {
                scope: self.scope.to_owned(),
                collection: self.collection.name.clone(),
                since_seq,
                limit: self.limit,
                fresh: self.from_scratch,
                filter: self.filter.clone(),
            };
            let page = self.engine.page(self.collection, &request, self.cancel).await?;
            since_seq = page.latest_seq;
            let more = page.has_more;
            // A closed channel means the writer stopped on an error, which the caller reports.
            if pages.send(page).await.is_err() || !more {
                return Ok(());
            }
        }
    }

    /// Applies the fetched pages in order. It owns the receiver: when it stops on an error the channel closes,
    /// and the fetcher, which may be waiting to hand over a prefetched page, stops too.
    async fn write_pages(
        &self,
        mut pages: mpsc::Receiver<Page>,
        run: &Run<'_>,
        tally: &mut Tally,
    ) -> Result<(), SyncError> {
        let (store, config) = (self.engine.store.as_ref(), &self.engine.config);
        let started = Instant::now();
        let mut last_emit: Option<Instant> = None;
        let mut holding = false;
        loop {
            let next = match tokio::time::timeout(HOLD_WAIT, pages.recv()).await {
                Ok(next) => next,
                Err(_) => {
                    // The network is slower than the writes, or a request is being retried: commit what is held
                    // instead of keeping the file's write lock while waiting.
                    if std::mem::take(&mut holding) {
                        store.flush().await?;
                    }
                    pages.recv().await
                }
            };
            let Some(mut page) = next else { return Ok(()) };
            if self.cancel.is_cancelled() {
                return Err(SyncError::Cancelled);
            }
            let mut merged = 1;
            while page.rows.len() < config.max_rows_per_transaction {
                let Ok(next) = pages.try_recv() else { break };
                merge(&mut page, next);
                merged += 1;
            }
            let (bytes, more) = (page.bytes as u64, page.has_more);
            holding |= self.held();
            let outcome = self.apply(store, page).await?;
            let (report, progress) = (&mut tally.report, &mut tally.progress);
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
            if more && last_emit.is_none_or(|t| t.elapsed() >= config.progress_interval) {
                last_emit = Some(Instant::now());
                run.emit(progress.clone());
            }
        }
    }

    async fn apply(&self, store: &dyn ClientStore, page: Page) -> Result<crate::page::ApplyOutcome, SyncError> {
        let apply_started = Instant::now();
        let outcome = if self.loose {
            store.apply_rows(self.scope, page).await?
        } else if let Some(values) = &self.filter {
            store.apply_filtered_page(self.scope, values, page).await?
        } else if self.from_scratch {
            store.apply_page_held(self.scope, page).await?
        } else {
            store.apply_page(self.scope, page).await?
        };
        let apply_ms = apply_started.elapsed().as_secs_f64() * 1e3;
        tracing::debug!(collection = %self.collection.name, cursor = outcome.cursor, apply_ms, "page applied");
        Ok(outcome)
    }
}
