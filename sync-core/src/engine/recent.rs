//! A recent-first sync ([`SyncEngine::sync_recent_first`]): the chat list, then the newest rows of each
//! conversation, then the ordinary seq-ordered pull as a background backfill, with conversations the app opens
//! ([`Priorities`]) pulled whole ahead of it.
//!
//! Why it stays exact: heads and prioritized histories are applied by [`ClientStore::apply_rows`] (heads of a
//! scope that syncs everything by [`ClientStore::apply_rows_held`]), under the same per-row seq rule as pages and
//! moving no cursor; the backfill sets a cursor only when the rows it fetched add up ([`older`] says why that is
//! exact), and otherwise is the ordinary pull, so when it ends the replica is exactly what a plain sync makes, and
//! the rows delivered twice are no-ops (PROTOCOL.md invariant 5).
//!
//! Why it costs little more than a plain sync: held heads let the store treat heads and backfill as one initial
//! sync (the SQLite replica defers its indexes from the first head to the backfill's last page, keeping the one
//! that reads a conversation's rows), and in a scope that syncs everything the backfill fetches each row once
//! ([`older`]); what remains is reading rows conversation by conversation instead of in seq order
//! (BENCHMARKS.md).

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use super::collection::CollectionSync;
use super::{Run, SyncEngine, SyncOptions};
use crate::error::SyncError;
use crate::filter::{DEFAULT_HEAD_ROWS, MAX_HEAD_PER_VALUE};
use crate::progress::SyncReport;
use crate::schema::{Collection, Schema};
use crate::store::ClientStore;
use crate::subscription::Subscription;

mod heads;
mod older;

/// What a recent-first sync reports as it goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecentEvent {
    /// The collections without a filter column and the one filtered by `id` (contacts, conversations) are
    /// current: the app can show the chat list. `values`: the conversations it holds.
    ChatListReady {
        /// Rows of the collection filtered by `id`.
        values: usize,
    },
    /// The newest rows of `value` (a conversation) in every filtered collection have landed.
    HeadLanded {
        /// The filter value.
        value: String,
    },
    /// The whole history of a prioritized value has landed (ahead of the backfill).
    HistoryLanded {
        /// The filter value.
        value: String,
    },
}

/// Called with each [`RecentEvent`], on the sync's task: keep it short.
pub type RecentFn = Arc<dyn Fn(&RecentEvent) + Send + Sync>;

/// Values (conversations) whose history a running recent-first sync pulls ahead of its backfill: the ones the
/// user opens. Cloning shares the queue.
#[derive(Clone, Default)]
pub struct Priorities {
    queue: Arc<Mutex<VecDeque<String>>>,
    added: Arc<Notify>,
}

impl Priorities {
    /// Moves `value`'s history to the front of the backfill (the next one it starts, if one runs now).
    pub fn prioritize(&self, value: impl Into<String>) {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).push_back(value.into());
        self.added.notify_one();
    }

    async fn next(&self) -> String {
        loop {
            if let Some(value) = self.queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front() {
                return value;
            }
            self.added.notified().await;
        }
    }
}

/// Options of [`SyncEngine::sync_recent_first`].
#[derive(Clone)]
pub struct RecentFirstOptions {
    /// Progress and cancellation, as for [`SyncEngine::sync`] (`collections` is ignored: all are synced).
    pub sync: SyncOptions,
    /// The newest rows fetched per conversation before the backfill (1 to 1,000; default 50).
    pub per_value: usize,
    /// Readiness events.
    pub events: Option<RecentFn>,
    /// Conversations to pull whole ahead of the backfill, also while it runs.
    pub priorities: Priorities,
}

impl Default for RecentFirstOptions {
    fn default() -> Self {
        RecentFirstOptions {
            sync: SyncOptions::default(),
            per_value: DEFAULT_HEAD_ROWS,
            events: None,
            priorities: Priorities::default(),
        }
    }
}

impl RecentFirstOptions {
    fn emit(&self, event: RecentEvent) {
        if let Some(callback) = &self.events {
            callback(&event);
        }
    }
}

impl SyncEngine {
    /// Syncs `scope` recent first: (1) the collections without a filter column and the one filtered by `id`
    /// (contacts and conversations), then [`RecentEvent::ChatListReady`]; (2) the newest `per_value` rows of each
    /// conversation in every other filtered collection (`GET …/head`), newest conversations (greatest seq) first,
    /// each followed by [`RecentEvent::HeadLanded`] (a collection whose cursor is past 0 already holds its
    /// history and gets no head); (3) in a scope that syncs everything, the rest of each history below its head
    /// and the changes since, each row once (PROTOCOL.md, "A recent-first sync"); (4) the ordinary pull of every collection
    /// ([`SyncEngine::sync`]). During (3) and (4) prioritized conversations are pulled whole
    /// ([`RecentEvent::HistoryLanded`]). Ends as exact as a plain sync; the report counts every row applied, the
    /// heads', the backfill's and the final pull's (a prioritized history's not included), over the whole time.
    /// Honours the scope's subscription.
    pub async fn sync_recent_first(&self, scope: &str, options: RecentFirstOptions) -> Result<SyncReport, SyncError> {
        let started = std::time::Instant::now();
        let per_value = options.per_value.clamp(1, MAX_HEAD_PER_VALUE);
        let schema = self.schema(&options.sync.cancel).await?.clone();
        let list: Vec<&Collection> =
            schema.collections.iter().filter(|c| c.filter.as_deref().is_none_or(|f| f == "id")).collect();
        let names = list.iter().map(|c| c.name.clone()).collect();
        self.sync(scope, SyncOptions { collections: Some(names), ..options.sync.clone() }).await?;
        let values = match list.iter().find(|c| c.filter.as_deref() == Some("id")) {
            Some(chats) => newest_first(self.store.as_ref(), scope, &chats.name).await?,
            None => Vec::new(),
        };
        options.emit(RecentEvent::ChatListReady { values: values.len() });
        // What the older rows and the tail are measured from (read before any head).
        let status = self.status(scope, &options.sync.cancel).await?;
        let heads = self.heads(scope, &schema, &values, per_value, &options).await;
        // Whatever happened, the heads applied stay applied (and the file's write lock is not kept).
        let flushed = self.store.flush().await;
        let (backlog, mut applied) = heads?;
        flushed?;
        let backfill = async {
            let older = self.older(scope, &schema, backlog, &status, &options, &mut applied).await;
            let flushed = self.store.flush().await;
            older?;
            flushed?;
            let mut report = self.sync(scope, options.sync.clone()).await?;
            merge(&mut report, applied);
            Ok::<SyncReport, SyncError>(report)
        };
        let state = Mutex::new(Prioritized::default());
        let mut report = tokio::select! {
            report = backfill => report?,
            Err(e) = self.prioritized(scope, &schema, &options, &state) => return Err(e),
        };
        // The backfill brought every history: those prioritized and not landed yet (one being pulled when it
        // ended, or still queued) have landed now.
        let subscription = self.store.subscription(scope).await?;
        let Prioritized { taken, landed } = state.into_inner().unwrap_or_else(|e| e.into_inner());
        let queued = std::mem::take(&mut *options.priorities.queue.lock().unwrap_or_else(|e| e.into_inner()));
        let mut seen = landed;
        for value in taken.into_iter().chain(queued) {
            if pulled(&subscription, &value) && seen.insert(value.clone()) {
                options.emit(RecentEvent::HistoryLanded { value });
            }
        }
        report.elapsed = started.elapsed();
        Ok(report)
    }

    /// Pulls the whole history of each prioritized value as it comes; returns only on error.
    async fn prioritized(
        &self,
        scope: &str,
        schema: &Schema,
        options: &RecentFirstOptions,
        state: &Mutex<Prioritized>,
    ) -> Result<std::convert::Infallible, SyncError> {
        let run = Run { scope, options: &options.sync, cursors: Vec::new(), report: SyncReport::default() };
        let lock = || state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let value = options.priorities.next().await;
            // An unsubscribed or archived value's rows would stay in the replica, unsynced.
            if !pulled(&self.store.subscription(scope).await?, &value) || lock().landed.contains(&value) {
                continue;
            }
            lock().taken.push(value.clone());
            for collection in schema.collections.iter().filter(|c| c.filter.as_deref().is_some_and(|f| f != "id")) {
                CollectionSync::history(self, &run, schema, collection, value.clone()).run(&run, None).await?;
            }
            let mut state = lock();
            state.taken.retain(|v| *v != value);
            state.landed.insert(value.clone());
            drop(state);
            options.emit(RecentEvent::HistoryLanded { value });
        }
    }
}

/// The prioritized values of one recent-first sync: taken from the queue and not landed yet, and landed.
#[derive(Default)]
struct Prioritized {
    taken: Vec<String>,
    landed: HashSet<String>,
}

/// The rows of `collection` (filtered by `id`: the values themselves) held for `scope`, greatest seq first.
async fn newest_first(store: &dyn ClientStore, scope: &str, collection: &str) -> Result<Vec<String>, SyncError> {
    let mut rows: Vec<(i64, String)> = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let chunk = store.read_rows(scope, collection, after.as_deref(), 5_000).await?;
        let Some(last) = chunk.last() else { break };
        after = Some(last.id.clone());
        rows.extend(chunk.into_iter().map(|r| (r.seq, r.id)));
    }
    rows.sort_unstable_by(|a, b| b.cmp(a));
    Ok(rows.into_iter().map(|(_, id)| id).collect())
}

/// Whether `subscription` lets `value` be pulled (everything, or an active subscribed value).
fn pulled(subscription: &Subscription, value: &str) -> bool {
    subscription.values.is_none() || subscription.get(value).is_some_and(|v| !v.archived)
}

/// Adds what the heads and the backfill from scratch applied to the final pull's report, so that the report counts
/// every row the sync applied (as the pull that re-delivered the heads used to).
fn merge(report: &mut SyncReport, applied: heads::Applied) {
    for earlier in applied.into_values() {
        match report.collections.iter_mut().find(|c| c.collection == earlier.collection) {
            Some(line) => {
                line.upserted += earlier.upserted;
                line.deleted += earlier.deleted;
                line.skipped += earlier.skipped;
                line.pages += earlier.pages;
                line.bytes += earlier.bytes;
                line.cursor_before = line.cursor_before.min(earlier.cursor_before);
            }
            None => report.collections.push(earlier),
        }
    }
}
