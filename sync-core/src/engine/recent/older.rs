//! The backfill of a recent-first sync from scratch (a scope that syncs everything), each row fetched once: the
//! rows below each conversation's head, a value's history paged backwards with bounded heads
//! ([`HeadRead`] with `before`), then the collection's changes since the status read before the heads (the tail),
//! then the cursor, set only if the rows held add up to the server's count.
//!
//! Why it ends exact: every row live at the end with a seq at or below the status's `latest_seq` (S) was live,
//! unchanged, when its value's head and older rows were read (seqs are taken in commit order, so nothing committed
//! after S takes a seq at or below it): it came in the head if it was among the value's newest rows, or in the
//! older rows otherwise. Every row written after S, and every delete, comes in the tail. What no value names (a
//! row whose filter value is no conversation of the chat list) would be missed: the count catches it, and the
//! collection is then pulled from cursor 0 like a plain sync (the rows held turn into no-ops).

use std::collections::VecDeque;

use futures::StreamExt;
use futures::stream::FuturesOrdered;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::RecentFirstOptions;
use super::heads::{Applied, Backlog, PREFETCH, line, tally};
use crate::engine::SyncEngine;
use crate::error::SyncError;
use crate::filter::HeadRead;
use crate::page::{Page, PageRequest, ScopeStatus};
use crate::progress::{Progress, Stage};
use crate::schema::{Collection, Schema};

/// Rows per value of an older-rows request (at most `MAX_HEAD_PER_VALUE`): a long history takes a few
/// requests, a short one shares a request with others.
const OLDER_PER_VALUE: usize = 500;

const _: () = assert!(OLDER_PER_VALUE <= crate::filter::MAX_HEAD_PER_VALUE);

/// Values per older-rows request: at most 2,500 rows, as for heads.
const OLDER_BATCH: usize = 2_500 / OLDER_PER_VALUE;

impl SyncEngine {
    /// Fetches the rows below each value's head in `backlog`, then the tail from `before` (the status read before
    /// the heads), and sets each collection's cursor when its rows add up. A collection left without a cursor is
    /// pulled from 0 by the ordinary pull that follows.
    pub(super) async fn older(
        &self,
        scope: &str,
        schema: &Schema,
        backlog: Backlog,
        before: &ScopeStatus,
        options: &RecentFirstOptions,
        applied: &mut Applied,
    ) -> Result<(), SyncError> {
        if backlog.is_empty() || self.has_pending_writes(scope).await? {
            // Local rows not on the server yet would make the count differ: the plain pull is exact anyway.
            return Ok(());
        }
        for (name, values) in backlog {
            let (Some(collection), Some(status)) = (schema.collection(&name), before.collections.get(&name)) else {
                continue;
            };
            let mut progress = Progress::new(scope, Stage::Collection, Some(&name));
            progress.total = Some(status.count);
            progress.target_seq = status.latest_seq;
            self.older_rows(scope, collection, values, options, &mut progress, applied).await?;
            self.seal(scope, collection, status.latest_seq, options, applied).await?;
        }
        Ok(())
    }

    async fn has_pending_writes(&self, scope: &str) -> Result<bool, SyncError> {
        match self.store.pending_writes(scope).await {
            Ok(writes) => Ok(!writes.is_empty()),
            Err(crate::StoreError::WritesUnsupported) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Pages each value's history backwards from its bound, several requests ahead of the one applied.
    async fn older_rows(
        &self,
        scope: &str,
        collection: &Collection,
        values: Vec<(String, i64)>,
        options: &RecentFirstOptions,
        progress: &mut Progress,
        applied: &mut Applied,
    ) -> Result<(), SyncError> {
        let (pages, mut received) = mpsc::channel::<Page>(PREFETCH);
        let fetch = async move {
            let mut queue = VecDeque::from(values);
            let mut answers = FuturesOrdered::new();
            loop {
                // Up to PREFETCH requests in flight, as for heads.
                while answers.len() < PREFETCH && !queue.is_empty() {
                    let taken = queue.drain(..OLDER_BATCH.min(queue.len())).collect();
                    let read = HeadRead { values: taken, per_value: OLDER_PER_VALUE };
                    answers.push_back(async move { self.head(scope, collection, &read, options).await });
                }
                let Some(answer) = answers.next().await else { break };
                let (page, full) = answer?;
                // Values sent whole are done; the others go on below the oldest row sent, next.
                full.into_iter().rev().for_each(|value| queue.push_front(value));
                if pages.send(page).await.is_err() {
                    break;
                }
            }
            Ok::<(), SyncError>(())
        };
        let apply = async {
            // Progress as a plain sync reports it, counted against the collection's rows (the heads not included).
            let (started, mut emitted) = (Instant::now(), None::<Instant>);
            while let Some(page) = received.recv().await {
                let (rows, bytes) = (page.rows.len() as u64, page.bytes as u64);
                let outcome = self.store.apply_rows_held(scope, page).await?;
                tally(applied, &collection.name, &outcome, bytes as usize);
                progress.applied += rows;
                progress.pages += 1;
                progress.bytes += bytes;
                progress.rows_per_sec = progress.applied as f64 / started.elapsed().as_secs_f64().max(1e-3);
                if emitted.is_none_or(|t| t.elapsed() >= self.config.progress_interval) {
                    emitted = Some(Instant::now());
                    if let Some(callback) = &options.sync.progress {
                        callback(progress);
                    }
                }
            }
            Ok::<(), SyncError>(())
        };
        let (fetched, applied) = tokio::join!(fetch, apply);
        applied?;
        fetched
    }

    /// Pulls the collection's changes after `from` without moving its cursor, then sets the cursor to the last
    /// page's `latest_seq` if the rows held are as many as that page's `total_count`.
    async fn seal(
        &self,
        scope: &str,
        collection: &Collection,
        from: i64,
        options: &RecentFirstOptions,
        applied: &mut Applied,
    ) -> Result<(), SyncError> {
        let name = &collection.name;
        let schema = self.schema(&options.sync.cancel).await?;
        let limit = self.config.page_size(schema, name);
        let mut since_seq = from;
        let total = loop {
            // `fresh`: this collection began at cursor 0 in this sync.
            let request = PageRequest {
                scope: scope.to_owned(),
                collection: name.clone(),
                since_seq,
                limit,
                fresh: true,
                filter: None,
            };
            let page = self.page(collection, &request, &options.sync.cancel).await?;
            since_seq = page.latest_seq;
            let (more, total, bytes) = (page.has_more, page.total_count, page.bytes);
            let outcome = self.store.apply_rows_held(scope, page).await?;
            tally(applied, name, &outcome, bytes);
            if !more {
                break total;
            }
        };
        self.store.flush().await?;
        let held = self.store.count_rows(scope, name).await?;
        if held.is_none() || held != total {
            tracing::warn!(
                collection = %name, ?held, server = ?total,
                "the rows fetched value by value do not add up to the server's count; pulling the collection from 0"
            );
            return Ok(());
        }
        let seal = Page {
            collection: name.clone(),
            since_seq: 0,
            rows: Vec::new(),
            latest_seq: since_seq,
            has_more: false,
            total_count: total,
            bytes: 0,
        };
        line(applied, name).cursor_after = self.store.apply_page_held(scope, seal).await?.cursor;
        Ok(())
    }
}
