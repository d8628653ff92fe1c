//! An in-memory [`ServerStore`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use tokio::sync::Mutex;

use async_trait::async_trait;

use crate::error::FeedError;
use crate::feed::{ChangeFeed, FilteredRead, ServerStore, Write, WriteReceipt, check_write};
use crate::filter::HeadRead;
use crate::mutation::{PushRequest, PushResponse};
use crate::page::{CollectionStatus, FeedPage, ScopeStatus, StoredRow};
use crate::push::{PushHook, apply_push, check_push};
use crate::schema::Schema;
use crate::value::{Change, Row, Value};
use crate::watch::{DEFAULT_RECHECK, SeqWatch, latest_seq};

/// A server store in a `Mutex`. Writes are serialised, so commit order is seq order.
pub struct MemoryFeed {
    schema: Schema,
    inner: Mutex<HashMap<String, Scope>>,
    live: SeqWatch,
    hook: Option<Arc<dyn PushHook>>,
}

#[derive(Clone, Default)]
pub(super) struct Scope {
    pub(super) seq: i64,
    pub(super) collections: HashMap<String, Log>,
    /// Client id → (last mutation id processed, the greatest seq its pushes took).
    pub(super) clients: HashMap<String, (u64, i64)>,
}

/// One collection of one scope: the latest change of every row, indexed by id and by seq.
#[derive(Clone, Default)]
pub(super) struct Log {
    pub(super) by_id: HashMap<String, (i64, Option<Vec<Value>>)>,
    pub(super) by_seq: BTreeMap<i64, String>,
    pub(super) live: u64,
    /// Selective sync: each row's filter value (kept for tombstones), and (old value, seq, id) of every move.
    pub(super) filter_of: HashMap<String, String>,
    pub(super) moves: Vec<(String, i64, String)>,
}

impl MemoryFeed {
    /// An empty feed serving `schema`.
    pub fn new(schema: Schema) -> Self {
        MemoryFeed { schema, inner: Mutex::new(HashMap::new()), live: SeqWatch::new(), hook: None }
    }

    pub(super) fn schema_ref(&self) -> &Schema {
        &self.schema
    }

    /// Runs `read` over the log of `collection` in `scope` (`None`: nothing written to it yet).
    pub(super) async fn with_log<T>(
        &self,
        scope: &str,
        collection: &str,
        read: impl FnOnce(Option<&Log>) -> T,
    ) -> Result<T, FeedError> {
        if self.schema.collection(collection).is_none() {
            return Err(FeedError::UnknownCollection(collection.to_owned()));
        }
        let inner = self.inner.lock().await;
        let s = inner.get(scope).ok_or_else(|| FeedError::UnknownScope(scope.to_owned()))?;
        Ok(read(s.collections.get(collection)))
    }

    /// The same feed with `hook` reviewing every pushed mutation.
    pub fn with_hook(mut self, hook: Arc<dyn PushHook>) -> Self {
        self.hook = Some(hook);
        self
    }
}

impl Scope {
    /// Writes a row with the next seq, recording a move when a live row's filter value changes; returns the seq.
    pub(super) fn upsert(&mut self, schema: &Schema, collection: &str, id: &str, values: Vec<Value>) -> i64 {
        self.seq += 1;
        let log = self.collections.entry(collection.to_owned()).or_default();
        let filter = schema.collection(collection).and_then(|c| c.filter.as_deref().map(|f| (c, f)));
        if let Some((c, column)) = filter {
            let value = match column {
                "id" => Some(id.to_owned()),
                column => match c.column_index(column).map(|i| &values[i]) {
                    Some(Value::Text(text)) => Some(text.clone()),
                    _ => None,
                },
            };
            let live = log.by_id.get(id).is_some_and(|(_, v)| v.is_some());
            match (log.filter_of.remove(id), value) {
                (Some(old), new) if live && new.as_ref() != Some(&old) => {
                    log.moves.push((old, self.seq, id.to_owned()));
                    log.filter_of.extend(new.map(|new| (id.to_owned(), new)));
                }
                (_, new) => log.filter_of.extend(new.map(|new| (id.to_owned(), new))),
            }
        }
        log.put(id, self.seq, Some(values));
        self.seq
    }

    /// Tombstones a live row and, recursively, the live rows referencing it; returns how many.
    pub(super) fn delete(&mut self, schema: &Schema, collection: &str, id: &str) -> u64 {
        let mut pending = vec![(collection.to_owned(), id.to_owned())];
        let mut deleted = 0;
        while let Some((collection, id)) = pending.pop() {
            let log = self.collections.entry(collection.clone()).or_default();
            if !log.by_id.get(&id).is_some_and(|(_, v)| v.is_some()) {
                continue;
            }
            self.seq += 1;
            log.put(&id, self.seq, None);
            deleted += 1;
            for child in &schema.collections {
                for (i, column) in child.columns.iter().enumerate() {
                    if column.references.as_deref() != Some(collection.as_str()) {
                        continue;
                    }
                    let Some(log) = self.collections.get(&child.name) else { continue };
                    for (child_id, (_, values)) in &log.by_id {
                        if values.as_ref().is_some_and(|v| v[i] == Value::Text(id.clone())) {
                            pending.push((child.name.clone(), child_id.clone()));
                        }
                    }
                }
            }
        }
        deleted
    }
}

impl Log {
    fn put(&mut self, id: &str, seq: i64, values: Option<Vec<Value>>) {
        let was_live = match self.by_id.get(id) {
            Some((old, old_values)) => {
                self.by_seq.remove(old);
                old_values.is_some()
            }
            None => false,
        };
        match (was_live, values.is_some()) {
            (false, true) => self.live += 1,
            (true, false) => self.live -= 1,
            _ => {}
        }
        self.by_seq.insert(seq, id.to_owned());
        self.by_id.insert(id.to_owned(), (seq, values));
    }
}

#[async_trait]
impl ChangeFeed for MemoryFeed {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn page(&self, scope: &str, collection: &str, since_seq: i64, limit: usize) -> Result<FeedPage, FeedError> {
        if self.schema.collection(collection).is_none() {
            return Err(FeedError::UnknownCollection(collection.to_owned()));
        }
        let inner = self.inner.lock().await;
        let s = inner.get(scope).ok_or_else(|| FeedError::UnknownScope(scope.to_owned()))?;
        let Some(log) = s.collections.get(collection) else {
            return Ok(FeedPage { rows: vec![], latest_seq: since_seq, has_more: false, total_count: 0 });
        };
        let mut rows = Vec::new();
        let mut has_more = false;
        for (seq, id) in log.by_seq.range(since_seq.saturating_add(1)..) {
            if rows.len() == limit {
                has_more = true;
                break;
            }
            let change = match &log.by_id[id].1 {
                Some(values) => Change::Upsert(values.clone()),
                None => Change::Delete,
            };
            rows.push(Row { id: id.clone(), seq: *seq, change });
        }
        let latest_seq = rows.last().map_or(since_seq, |r| r.seq);
        Ok(FeedPage { rows, latest_seq, has_more, total_count: log.live })
    }

    async fn page_filtered(&self, scope: &str, collection: &str, read: &FilteredRead) -> Result<FeedPage, FeedError> {
        self.filtered(scope, collection, read).await
    }

    async fn head(&self, scope: &str, collection: &str, read: &HeadRead) -> Result<FeedPage, FeedError> {
        self.newest(scope, collection, read).await
    }

    async fn status(&self, scope: &str) -> Result<ScopeStatus, FeedError> {
        let inner = self.inner.lock().await;
        let s = inner.get(scope).ok_or_else(|| FeedError::UnknownScope(scope.to_owned()))?;
        let collections = self
            .schema
            .collections
            .iter()
            .map(|c| {
                let log = s.collections.get(&c.name);
                let latest_seq = log.and_then(|l| l.by_seq.keys().next_back().copied()).unwrap_or(0);
                (c.name.clone(), CollectionStatus { latest_seq, count: log.map_or(0, |l| l.live) })
            })
            .collect();
        Ok(ScopeStatus { integration_id: scope.to_owned(), latest_seq: s.seq, collections })
    }

    /// Woken in-process by [`ServerStore::write`].
    async fn wait_for_seq(&self, scope: &str, after_seq: i64, timeout: std::time::Duration) -> Result<i64, FeedError> {
        self.live.wait(scope, after_seq, timeout, DEFAULT_RECHECK, || latest_seq(self, scope)).await
    }
}

#[async_trait]
impl ServerStore for MemoryFeed {
    async fn write(&self, scope: &str, writes: Vec<Write>) -> Result<WriteReceipt, FeedError> {
        for w in &writes {
            check_write(&self.schema, w)?;
        }
        let mut inner = self.inner.lock().await;
        let s = inner.entry(scope.to_owned()).or_default();
        let mut receipt = WriteReceipt::default();
        for w in writes {
            match w {
                Write::Upsert { collection, id, values } => {
                    s.upsert(&self.schema, &collection, &id, values);
                    receipt.upserted += 1;
                }
                Write::Delete { collection, id } => receipt.deleted += s.delete(&self.schema, &collection, &id),
            }
        }
        receipt.last_seq = if receipt.upserted + receipt.deleted > 0 { s.seq } else { 0 };
        if receipt.last_seq > 0 {
            self.live.publish(scope, s.seq);
        }
        Ok(receipt)
    }

    async fn read_rows(
        &self,
        scope: &str,
        collection: &str,
        after_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StoredRow>, FeedError> {
        let inner = self.inner.lock().await;
        let Some(log) = inner.get(scope).and_then(|s| s.collections.get(collection)) else { return Ok(vec![]) };
        let mut rows: Vec<StoredRow> = log
            .by_id
            .iter()
            .filter(|(id, (_, values))| values.is_some() && after_id.is_none_or(|a| id.as_str() > a))
            .map(|(id, (seq, values))| StoredRow {
                id: id.clone(),
                seq: *seq,
                values: values.clone().unwrap_or_default(),
            })
            .collect();
        rows.sort_by(|a, b| a.id.cmp(&b.id));
        rows.truncate(limit);
        Ok(rows)
    }

    async fn get(&self, scope: &str, collection: &str, id: &str) -> Result<Option<Vec<Value>>, FeedError> {
        let inner = self.inner.lock().await;
        Ok(inner
            .get(scope)
            .and_then(|s| s.collections.get(collection))
            .and_then(|l| l.by_id.get(id))
            .and_then(|(_, v)| v.clone()))
    }

    /// Runs the policy on a copy of the scope and keeps the copy only if the whole push succeeded: an error
    /// leaves the scope as it was.
    async fn push(&self, scope: &str, push: PushRequest) -> Result<PushResponse, FeedError> {
        let mutations = check_push(&self.schema, &push)?;
        let mut inner = self.inner.lock().await;
        let before = inner.get(scope).cloned().unwrap_or_default();
        let mut tx = super::push::MemoryTx { scope: before.clone(), schema: &self.schema };
        let response =
            apply_push(&mut tx, &self.schema, self.hook.as_deref(), (scope, &push.client_id), mutations).await?;
        let changed = tx.scope.seq > before.seq;
        let seq = tx.scope.seq;
        inner.insert(scope.to_owned(), tx.scope);
        drop(inner);
        if changed {
            self.live.publish(scope, seq);
        }
        Ok(response)
    }
}
