//! A recent-first sync ([`SyncEngine::sync_recent_first`]): the chat list, then the newest rows of each
//! conversation, then the ordinary seq-ordered pull as a background backfill, with conversations the app opens
//! ([`Priorities`]) pulled whole ahead of it.
//!
//! Why it stays exact: heads and prioritized histories are applied by [`ClientStore::apply_rows`], under the same
//! per-row seq rule as pages and moving no cursor; the backfill is the ordinary pull, so when it ends the replica
//! is exactly what a plain sync makes, and the rows delivered twice are no-ops (PROTOCOL.md invariant 5).

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::collection::CollectionSync;
use super::{Run, SyncEngine, SyncOptions};
use crate::error::SyncError;
use crate::filter::{DEFAULT_HEAD_ROWS, MAX_FILTER_VALUES, MAX_HEAD_PER_VALUE};
use crate::page::PageRequest;
use crate::progress::SyncReport;
use crate::schema::{Collection, Schema};
use crate::store::ClientStore;
use crate::subscription::Subscription;
use crate::wire::decode_page;

/// Rows a head request asks for at most (values per request × rows per value), so a head page stays small.
const HEAD_REQUEST_ROWS: usize = 5_000;

/// How often heads applied held are committed and reported landed (the first batch, the newest conversations,
/// at once): each commit of the random-keyed tables rewrites the pages it touched, so one per batch would cost
/// more than the heads themselves.
const HEADS_LANDED_EVERY: Duration = Duration::from_secs(1);

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
    /// history and gets no head); (3) the ordinary pull of every collection ([`SyncEngine::sync`]), during which
    /// prioritized conversations are pulled whole ([`RecentEvent::HistoryLanded`]). Ends as exact as a plain sync;
    /// the report is the backfill's. Honours the scope's subscription.
    pub async fn sync_recent_first(&self, scope: &str, options: RecentFirstOptions) -> Result<SyncReport, SyncError> {
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
        let heads = self.heads(scope, &schema, &values, per_value, &options).await;
        // Whatever happened, the heads applied stay applied (and the file's write lock is not kept).
        let flushed = self.store.flush().await;
        heads?;
        flushed?;
        let backfill = self.sync(scope, options.sync.clone());
        let state = Mutex::new(Prioritized::default());
        let report = tokio::select! {
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
        Ok(report)
    }

    /// Fetches and applies the heads of `values` (newest first), batch by batch. A scope that syncs everything
    /// gets heads only for collections at cursor 0, which the backfill then pulls from scratch: they are applied
    /// held ([`ClientStore::apply_rows_held`]), and committed ([`ClientStore::flush`]) after the first batch and
    /// then every [`HEADS_LANDED_EVERY`], before their [`RecentEvent::HeadLanded`].
    async fn heads(
        &self,
        scope: &str,
        schema: &Schema,
        values: &[String],
        per_value: usize,
        options: &RecentFirstOptions,
    ) -> Result<(), SyncError> {
        let children: Vec<&Collection> =
            schema.collections.iter().filter(|c| c.filter.as_deref().is_some_and(|f| f != "id")).collect();
        let subscription = self.store.subscription(scope).await?;
        let cursors = self.store.sync_state(scope).await?;
        let synced = |c: &Collection, value: &str| match &subscription.values {
            None => cursors.iter().any(|s| s.collection == c.name && s.last_seq > 0),
            Some(_) => subscription.get(value).is_none_or(|v| v.archived || v.cursor(&c.name) > 0),
        };
        let held = subscription.values.is_none();
        let batch = (HEAD_REQUEST_ROWS / per_value).clamp(1, MAX_FILTER_VALUES);
        let mut landed: Vec<&String> = Vec::new();
        let mut committed: Option<Instant> = None;
        let chunks = values.chunks(batch);
        let last = chunks.len();
        for (i, chunk) in chunks.enumerate() {
            for collection in &children {
                let wanted: Vec<String> = chunk.iter().filter(|v| !synced(collection, v)).cloned().collect();
                if !wanted.is_empty() {
                    self.head(scope, collection, wanted, per_value, (held, &options.sync)).await?;
                }
            }
            landed.extend(chunk);
            if !held || i + 1 == last || committed.is_none_or(|t| t.elapsed() >= HEADS_LANDED_EVERY) {
                self.store.flush().await?;
                committed = Some(Instant::now());
                landed.drain(..).for_each(|value| options.emit(RecentEvent::HeadLanded { value: value.clone() }));
            }
        }
        Ok(())
    }

    async fn head(
        &self,
        scope: &str,
        collection: &Collection,
        values: Vec<String>,
        per_value: usize,
        (held, options): (bool, &SyncOptions),
    ) -> Result<(), SyncError> {
        let name = &collection.name;
        let what = format!("GET /sync/{name}/{scope}/head ({} values)", values.len());
        let fetch = || self.transport.fetch_head(scope, name, &values, per_value);
        let body = self.with_retry(&what, &options.cancel, fetch).await?;
        let request = PageRequest {
            scope: scope.to_owned(),
            collection: name.clone(),
            since_seq: 0,
            limit: values.len() * per_value,
            fresh: false,
            filter: Some(values),
        };
        let page = decode_page(collection, &request, &body, self.config.max_page_bytes)
            .map_err(|cause| SyncError::BadPage { collection: name.clone(), since_seq: 0, cause })?;
        if held {
            self.store.apply_rows_held(scope, page).await?;
        } else {
            self.store.apply_rows(scope, page).await?;
        }
        Ok(())
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
