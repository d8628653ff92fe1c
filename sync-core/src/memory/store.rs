//! An in-memory [`ClientStore`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;

use crate::error::StoreError;
use crate::mutation::{Mutation, MutationResult};
use crate::outbox::{LocalWrite, PendingWrite, TouchedRow};
use crate::page::{ApplyOutcome, CursorState, Page, StoreStats, StoredRow};
use crate::schema::Schema;
use crate::store::ClientStore;
use crate::value::{Change, Value};

mod overlay;

type Table = BTreeMap<String, (i64, Vec<Value>)>;

/// A client store in a `Mutex`: every page and every local write is applied under one lock, which makes it atomic.
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        let client_id = format!("{:032x}", rand::random::<u128>());
        MemoryStore { inner: Mutex::new(Inner { client_id, ..Default::default() }) }
    }
}

#[derive(Default)]
struct Inner {
    schema: Option<Schema>,
    tables: HashMap<(String, String), Table>,
    cursors: HashMap<(String, String), CursorState>,
    /// The local-write state (`overlay.rs`).
    writes: overlay::Writes,
    client_id: String,
}

impl MemoryStore {
    /// An empty store with a new random client id.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The rows of one collection of one scope: id → (seq, values).
    pub fn rows(&self, scope: &str, collection: &str) -> BTreeMap<String, (i64, Vec<Value>)> {
        let inner = self.lock();
        inner.tables.get(&(scope.to_owned(), collection.to_owned())).cloned().unwrap_or_default()
    }
}

#[async_trait]
impl ClientStore for MemoryStore {
    async fn prepare(&self, schema: &Schema) -> Result<(), StoreError> {
        self.lock().schema = Some(schema.clone());
        Ok(())
    }

    async fn sync_state(&self, scope: &str) -> Result<Vec<CursorState>, StoreError> {
        let inner = self.lock();
        let mut out: Vec<CursorState> =
            inner.cursors.iter().filter(|((s, _), _)| s == scope).map(|(_, c)| c.clone()).collect();
        out.sort_by(|a, b| a.collection.cmp(&b.collection));
        Ok(out)
    }

    async fn apply_page(&self, scope: &str, page: Page) -> Result<ApplyOutcome, StoreError> {
        let mut inner = self.lock();
        let known = inner.schema.as_ref().is_some_and(|s| s.collection(&page.collection).is_some());
        if !known {
            return Err(StoreError::UnknownCollection(page.collection));
        }
        let key = (scope.to_owned(), page.collection.clone());
        let cursor = inner.cursors.get(&key).map_or(0, |c| c.last_seq);
        if page.since_seq > cursor {
            return Err(StoreError::CursorGap { collection: page.collection, cursor, since_seq: page.since_seq });
        }
        let mut outcome = ApplyOutcome::default();
        let Inner { tables, writes, schema, .. } = &mut *inner;
        let table = tables.entry(key.clone()).or_default();
        for row in page.rows {
            if row.seq <= cursor {
                outcome.skipped += 1;
                continue;
            }
            if writes.has_server_version(scope, &page.collection, &row.id) {
                // A row with local writes: its server version moves, the writes stay on top.
                let collection = schema.as_ref().and_then(|s| s.collection(&page.collection));
                writes.apply_server_row(collection.expect("checked above"), scope, table, row);
                continue;
            }
            match row.change {
                Change::Delete => {
                    if table.get(&row.id).is_some_and(|(seq, _)| *seq < row.seq) {
                        table.remove(&row.id);
                    }
                    outcome.deleted += 1;
                }
                Change::Upsert(values) => {
                    if table.get(&row.id).is_none_or(|(seq, _)| *seq < row.seq) {
                        table.insert(row.id, (row.seq, values));
                    }
                    outcome.upserted += 1;
                }
            }
        }
        outcome.cursor = cursor.max(page.latest_seq);
        let collection = schema.as_ref().and_then(|s| s.collection(&page.collection)).expect("checked above");
        writes.settle_by_cursor(collection, scope, table, outcome.cursor);
        let state = CursorState { collection: page.collection, last_seq: outcome.cursor, updated_at: super::now_ms() };
        inner.cursors.insert(key, state);
        Ok(outcome)
    }

    /// Local writes survive a reset: their rows are computed again on "no server version" until pages bring it.
    async fn reset(&self, scope: &str) -> Result<(), StoreError> {
        let mut inner = self.lock();
        inner.tables.retain(|(s, _), _| s != scope);
        inner.cursors.retain(|(s, _), _| s != scope);
        let Inner { tables, writes, schema, .. } = &mut *inner;
        if let Some(schema) = schema {
            writes.reset(schema, scope, tables);
        }
        Ok(())
    }

    async fn read_rows(
        &self,
        scope: &str,
        collection: &str,
        after_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StoredRow>, StoreError> {
        let inner = self.lock();
        let Some(table) = inner.tables.get(&(scope.to_owned(), collection.to_owned())) else { return Ok(vec![]) };
        let start = after_id.map_or(std::ops::Bound::Unbounded, |a| std::ops::Bound::Excluded(a.to_owned()));
        Ok(table
            .range((start, std::ops::Bound::Unbounded))
            .take(limit)
            .map(|(id, (seq, values))| StoredRow { id: id.clone(), seq: *seq, values: values.clone() })
            .collect())
    }

    async fn stats(&self) -> Result<StoreStats, StoreError> {
        let inner = self.lock();
        let mut counts = BTreeMap::new();
        if let Some(schema) = &inner.schema {
            for c in &schema.collections {
                counts.insert(c.name.clone(), 0);
            }
        }
        for ((_, collection), table) in &inner.tables {
            *counts.entry(collection.clone()).or_insert(0) += table.len() as u64;
        }
        Ok(StoreStats { path: None, file_size_bytes: 0, counts })
    }

    async fn saved_schema(&self) -> Result<Option<Schema>, StoreError> {
        Ok(self.lock().schema.clone())
    }

    async fn client_id(&self) -> Result<String, StoreError> {
        Ok(self.lock().client_id.clone())
    }

    async fn mutate(&self, scope: &str, write: LocalWrite) -> Result<Mutation, StoreError> {
        let mut inner = self.lock();
        let Inner { tables, writes, schema, .. } = &mut *inner;
        let collection = schema
            .as_ref()
            .and_then(|s| s.collection(&write.collection))
            .ok_or_else(|| StoreError::UnknownCollection(write.collection.clone()))?;
        let table = tables.entry((scope.to_owned(), write.collection.clone())).or_default();
        writes.mutate(collection, scope, table, write)
    }

    async fn outbox(&self, scope: &str, limit: usize) -> Result<Vec<Mutation>, StoreError> {
        Ok(self.lock().writes.outbox(scope, limit))
    }

    async fn acknowledge(&self, scope: &str, results: &[MutationResult]) -> Result<Vec<TouchedRow>, StoreError> {
        let mut inner = self.lock();
        let Inner { tables, writes, schema, .. } = &mut *inner;
        let Some(schema) = schema else { return Ok(vec![]) };
        Ok(writes.acknowledge(schema, scope, tables, results))
    }

    async fn settle(&self, scope: &str, through: u64) -> Result<Vec<TouchedRow>, StoreError> {
        let mut inner = self.lock();
        let Inner { tables, writes, schema, .. } = &mut *inner;
        let Some(schema) = schema else { return Ok(vec![]) };
        Ok(writes.settle(schema, scope, tables, through))
    }

    async fn pending_writes(&self, scope: &str) -> Result<Vec<PendingWrite>, StoreError> {
        Ok(self.lock().writes.pending_writes(scope))
    }
}
