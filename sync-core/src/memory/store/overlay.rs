//! The outbox and the kept server versions of [`super::MemoryStore`] (the model is in `outbox.rs`).

use std::collections::{BTreeMap, HashMap};

use super::Table;
use crate::error::StoreError;
use crate::mutation::{Mutation, MutationOutcome, MutationResult};
use crate::outbox::{self, LocalWrite, PendingWrite, TouchedRow, WriteState};
use crate::schema::{Collection, Schema};
use crate::value::{Change, Row, Value};

type Key = (String, String, String);

/// One outbox entry: the mutation, and the seq it was acknowledged with.
struct Entry {
    scope: String,
    mutation: Mutation,
    acked: Option<i64>,
}

/// Every local write not settled yet, and the server version of each row they touch.
#[derive(Default)]
pub(super) struct Writes {
    last_id: u64,
    entries: BTreeMap<u64, Entry>,
    /// (scope, collection, id) → the server's last version of the row: its seq (0: never seen) and values.
    server: HashMap<Key, (i64, Option<Vec<Value>>)>,
}

fn key(scope: &str, collection: &str, id: &str) -> Key {
    (scope.to_owned(), collection.to_owned(), id.to_owned())
}

impl Writes {
    pub(super) fn has_server_version(&self, scope: &str, collection: &str, id: &str) -> bool {
        !self.server.is_empty() && self.server.contains_key(&key(scope, collection, id))
    }

    pub(super) fn mutate(
        &mut self,
        collection: &Collection,
        scope: &str,
        table: &mut Table,
        write: LocalWrite,
    ) -> Result<Mutation, StoreError> {
        let current = table.get(&write.id).cloned();
        let visible =
            outbox::apply_mutation(collection, current.as_ref().map(|(_, v)| v.clone()), write.op, &write.fields)
                .map_err(StoreError::InvalidWrite)?;
        let server = self
            .server
            .entry(key(scope, &collection.name, &write.id))
            .or_insert_with(|| current.as_ref().map_or((0, None), |(seq, v)| (*seq, Some(v.clone()))));
        let seq = server.0;
        self.last_id += 1;
        let mutation = Mutation {
            mutation_id: self.last_id,
            collection: write.collection,
            id: write.id,
            op: write.op,
            fields: write.fields,
            base_seq: current.map(|(seq, _)| seq),
        };
        match visible {
            Some(values) => table.insert(mutation.id.clone(), (seq, values)),
            None => table.remove(&mutation.id),
        };
        let entry = Entry { scope: scope.to_owned(), mutation: mutation.clone(), acked: None };
        self.entries.insert(mutation.mutation_id, entry);
        Ok(mutation)
    }

    /// A pulled row of a row with local writes: the server version moves (if newer), the writes stay on top.
    pub(super) fn apply_server_row(&mut self, collection: &Collection, scope: &str, table: &mut Table, row: Row) {
        let Some(server) = self.server.get_mut(&key(scope, &collection.name, &row.id)) else { return };
        if row.seq > server.0 {
            *server = match row.change {
                Change::Upsert(values) => (row.seq, Some(values)),
                Change::Delete => (row.seq, None),
            };
        }
        self.refresh(collection, scope, table, &row.id);
    }

    /// Drops the acknowledged mutations of the collection whose seq the cursor has reached.
    pub(super) fn settle_by_cursor(&mut self, collection: &Collection, scope: &str, table: &mut Table, cursor: i64) {
        let done = |e: &Entry| {
            e.scope == scope && e.mutation.collection == collection.name && e.acked.is_some_and(|s| s <= cursor)
        };
        for id in self.remove_where(done) {
            self.refresh(collection, scope, table, &id.1);
        }
    }

    pub(super) fn acknowledge(
        &mut self,
        schema: &Schema,
        scope: &str,
        tables: &mut HashMap<(String, String), Table>,
        results: &[MutationResult],
    ) -> Vec<TouchedRow> {
        let mut gone = Vec::new();
        for result in results {
            let Some(entry) = self.entries.get_mut(&result.mutation_id).filter(|e| e.scope == scope) else { continue };
            match &result.outcome {
                MutationOutcome::Applied { seq: Some(seq) } | MutationOutcome::AlreadyApplied { seq } => {
                    entry.acked = Some(*seq);
                }
                MutationOutcome::Applied { seq: None } | MutationOutcome::Rejected { .. } => {
                    gone.push(result.mutation_id);
                }
            }
        }
        let rows = self.remove_where(|e| gone.contains(&e.mutation.mutation_id));
        self.refresh_all(schema, scope, tables, rows)
    }

    pub(super) fn settle(
        &mut self,
        schema: &Schema,
        scope: &str,
        tables: &mut HashMap<(String, String), Table>,
        through: u64,
    ) -> Vec<TouchedRow> {
        let rows = self.remove_where(|e| e.scope == scope && e.acked.is_some() && e.mutation.mutation_id <= through);
        self.refresh_all(schema, scope, tables, rows)
    }

    /// The scope's rows are gone: every kept server version becomes "no row" until pages bring it again.
    pub(super) fn reset(&mut self, schema: &Schema, scope: &str, tables: &mut HashMap<(String, String), Table>) {
        let mut rows = Vec::new();
        for ((s, collection, id), version) in &mut self.server {
            if s == scope {
                *version = (0, None);
                rows.push((collection.clone(), id.clone()));
            }
        }
        self.refresh_all(schema, scope, tables, rows);
    }

    pub(super) fn outbox(&self, scope: &str, limit: usize) -> Vec<Mutation> {
        let pending = self.entries.values().filter(|e| e.scope == scope && e.acked.is_none());
        pending.take(limit).map(|e| e.mutation.clone()).collect()
    }

    pub(super) fn pending_writes(&self, scope: &str) -> Vec<PendingWrite> {
        let entries = self.entries.values().filter(|e| e.scope == scope);
        let state = |e: &Entry| e.acked.map_or(WriteState::Pending, |seq| WriteState::Acknowledged { seq });
        entries.map(|e| PendingWrite { mutation: e.mutation.clone(), state: state(e) }).collect()
    }

    /// Removes the entries `done` selects; returns their rows (collection, id), each once.
    fn remove_where(&mut self, done: impl Fn(&Entry) -> bool) -> Vec<(String, String)> {
        let mut rows = Vec::new();
        self.entries.retain(|_, e| {
            let remove = done(e);
            let row = (e.mutation.collection.clone(), e.mutation.id.clone());
            if remove && !rows.contains(&row) {
                rows.push(row);
            }
            !remove
        });
        rows
    }

    fn refresh_all(
        &mut self,
        schema: &Schema,
        scope: &str,
        tables: &mut HashMap<(String, String), Table>,
        rows: Vec<(String, String)>,
    ) -> Vec<TouchedRow> {
        let mut touched = Vec::new();
        for (name, id) in rows {
            let Some(collection) = schema.collection(&name) else { continue };
            let table = tables.entry((scope.to_owned(), name.clone())).or_default();
            touched.push(self.refresh(collection, scope, table, &id));
        }
        touched
    }

    /// Computes a row's visible state again: its server version with its remaining mutations on top. With none
    /// left, the server version is the row and is no longer kept aside.
    fn refresh(&mut self, collection: &Collection, scope: &str, table: &mut Table, id: &str) -> TouchedRow {
        let key = key(scope, &collection.name, id);
        let mine = |e: &&Entry| e.scope == scope && e.mutation.collection == collection.name && e.mutation.id == id;
        let remaining: Vec<&Mutation> = self.entries.values().filter(mine).map(|e| &e.mutation).collect();
        let (seq, server) = if remaining.is_empty() {
            self.server.remove(&key).unwrap_or((0, None))
        } else {
            self.server.get(&key).cloned().unwrap_or((0, None))
        };
        let visible = outbox::fold(collection, server, remaining);
        let exists = visible.is_some();
        match visible {
            Some(values) => table.insert(id.to_owned(), (seq, values)),
            None => table.remove(id),
        };
        TouchedRow { collection: collection.name.clone(), id: id.to_owned(), exists }
    }
}
