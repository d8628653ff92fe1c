//! An in-memory [`ClientStore`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;

use crate::error::StoreError;
use crate::page::{ApplyOutcome, CursorState, Page, StoreStats, StoredRow};
use crate::schema::Schema;
use crate::store::ClientStore;
use crate::value::{Change, Value};

type Table = BTreeMap<String, (i64, Vec<Value>)>;

/// A client store in a `Mutex`: every page is applied under one lock, which makes it atomic.
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    schema: Option<Schema>,
    tables: HashMap<(String, String), Table>,
    cursors: HashMap<(String, String), CursorState>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The rows of one collection of one scope: id → (seq, values).
    pub fn rows(&self, scope: &str, collection: &str) -> BTreeMap<String, (i64, Vec<Value>)> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.tables.get(&(scope.to_owned(), collection.to_owned())).cloned().unwrap_or_default()
    }
}

#[async_trait]
impl ClientStore for MemoryStore {
    async fn prepare(&self, schema: &Schema) -> Result<(), StoreError> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).schema = Some(schema.clone());
        Ok(())
    }

    async fn sync_state(&self, scope: &str) -> Result<Vec<CursorState>, StoreError> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<CursorState> =
            inner.cursors.iter().filter(|((s, _), _)| s == scope).map(|(_, c)| c.clone()).collect();
        out.sort_by(|a, b| a.collection.cmp(&b.collection));
        Ok(out)
    }

    async fn apply_page(&self, scope: &str, page: Page) -> Result<ApplyOutcome, StoreError> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
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
        let table = inner.tables.entry(key.clone()).or_default();
        for row in page.rows {
            if row.seq <= cursor {
                outcome.skipped += 1;
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
        let state = CursorState { collection: page.collection, last_seq: outcome.cursor, updated_at: super::now_ms() };
        inner.cursors.insert(key, state);
        Ok(outcome)
    }

    async fn reset(&self, scope: &str) -> Result<(), StoreError> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.tables.retain(|(s, _), _| s != scope);
        inner.cursors.retain(|(s, _), _| s != scope);
        Ok(())
    }

    async fn read_rows(
        &self,
        scope: &str,
        collection: &str,
        after_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StoredRow>, StoreError> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let Some(table) = inner.tables.get(&(scope.to_owned(), collection.to_owned())) else { return Ok(vec![]) };
        let start = after_id.map_or(std::ops::Bound::Unbounded, |a| std::ops::Bound::Excluded(a.to_owned()));
        Ok(table
            .range((start, std::ops::Bound::Unbounded))
            .take(limit)
            .map(|(id, (seq, values))| StoredRow { id: id.clone(), seq: *seq, values: values.clone() })
            .collect())
    }

    async fn stats(&self) -> Result<StoreStats, StoreError> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
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
}
