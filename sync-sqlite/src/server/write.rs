//! The server store's writer thread: write batches, seqs, cascading deletes and the per-collection counters.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use sync_core::{FeedError, Value, Write, WriteReceipt};

use super::Shared;
use crate::convert;
use crate::error::{DbError, Error};
use crate::sql::{self, Flavor};
use crate::{connection, migrations, tables};

/// Statements per collection the writer caches (upsert, deleted flag, tombstone, children), plus the fixed ones.
const STATEMENTS_PER_COLLECTION: usize = 4;
const FIXED_STATEMENTS: usize = 8;

pub(super) struct Writer {
    conn: Connection,
    path: PathBuf,
    shared: Arc<Shared>,
}

/// One batch in its transaction: the scope's counter, the receipt and, per collection, (live delta, latest seq).
struct Batch<'a> {
    tx: &'a Transaction<'a>,
    shared: &'a Shared,
    scope: &'a str,
    seq: i64,
    receipt: WriteReceipt,
    counts: HashMap<String, (i64, i64)>,
}

impl Writer {
    /// Opens and migrates the file and makes its data tables fit the schema, in one transaction.
    pub(super) fn open(path: PathBuf, shared: Arc<Shared>) -> Result<Self, Error> {
        let mut conn = connection::open_writer(&path)?;
        migrations::run(&mut conn, &path, &migrations::SERVER)?;
        let mut tables = || -> Result<(), DbError> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tables::ensure(&tx, &shared.schema, Flavor::Server, None)?;
            Ok(tx.commit()?)
        };
        tables().map_err(|e| e.into_open(path.clone()))?;
        let children: usize = shared.sql.values().map(|s| s.children.len()).sum();
        conn.set_prepared_statement_cache_capacity(
            shared.sql.len() * STATEMENTS_PER_COLLECTION + children + FIXED_STATEMENTS,
        );
        Ok(Writer { conn, path, shared })
    }

    /// Applies a checked batch in one `BEGIN IMMEDIATE` transaction; any error rolls all of it back.
    pub(super) fn write(&mut self, scope: &str, writes: &[Write]) -> Result<WriteReceipt, FeedError> {
        let context = || format!("writing to scope {scope:?} in {}", self.path.display());
        let shared = self.shared.clone();
        let mut run = || -> rusqlite::Result<WriteReceipt> {
            let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let seq = tx.prepare_cached(sql::SCOPE_SEQ)?.query_row([scope], |row| row.get(0)).optional()?;
            let mut batch = Batch {
                tx: &tx,
                shared: &shared,
                scope,
                seq: seq.unwrap_or(0),
                receipt: WriteReceipt::default(),
                counts: HashMap::new(),
            };
            for write in writes {
                match write {
                    Write::Upsert { collection, id, values } => batch.upsert(collection, id, values)?,
                    Write::Delete { collection, id } => batch.delete(collection, id)?,
                }
            }
            let Batch { seq, mut receipt, counts, .. } = batch;
            // Stored even when nothing changed: a scope exists from its first write on.
            tx.prepare_cached(sql::SAVE_SCOPE)?.execute(params![scope, seq])?;
            let mut add = tx.prepare_cached(sql::ADD_COUNTS)?;
            for (collection, (live, latest)) in &counts {
                add.execute(params![scope, collection, live, latest])?;
            }
            drop(add);
            tx.commit()?;
            if receipt.upserted + receipt.deleted > 0 {
                receipt.last_seq = seq;
            }
            Ok(receipt)
        };
        run().map_err(|e| FeedError::backend(context(), e))
    }
}

impl Batch<'_> {
    fn changed(&mut self, collection: &str, live_delta: i64) {
        let entry = self.counts.entry(collection.to_owned()).or_default();
        entry.0 += live_delta;
        entry.1 = self.seq;
    }

    /// Writes a row with a new seq, reviving it if it was a tombstone.
    fn upsert(&mut self, collection: &str, id: &str, values: &[Value]) -> rusqlite::Result<()> {
        let Ok((c, sql)) = self.shared.collection(collection) else { return Ok(()) };
        let deleted: Option<bool> =
            self.tx.prepare_cached(&sql.deleted)?.query_row([self.scope, id], |row| row.get(0)).optional()?;
        self.seq += 1;
        let mut stmt = self.tx.prepare_cached(&sql.upsert)?;
        stmt.raw_bind_parameter(1, id)?;
        stmt.raw_bind_parameter(2, self.scope)?;
        stmt.raw_bind_parameter(3, self.seq)?;
        convert::bind_values(&mut stmt, 4, &c.columns, values)?;
        stmt.raw_execute()?;
        self.changed(collection, if deleted == Some(false) { 0 } else { 1 });
        self.receipt.upserted += 1;
        Ok(())
    }

    /// Turns a live row into a tombstone with a new seq, then the live rows referencing it, recursively (depth
    /// first, on an explicit stack so that deep chains cannot overflow the thread's stack). Missing and
    /// already-deleted rows are skipped, which also ends reference cycles.
    fn delete(&mut self, collection: &str, id: &str) -> rusqlite::Result<()> {
        let mut pending = vec![(collection.to_owned(), id.to_owned())];
        while let Some((collection, id)) = pending.pop() {
            let Ok((_, sql)) = self.shared.collection(&collection) else { continue };
            let changed = self.tx.prepare_cached(&sql.tombstone)?.execute(params![self.seq + 1, self.scope, id])?;
            if changed == 0 {
                continue;
            }
            self.seq += 1;
            self.changed(&collection, -1);
            self.receipt.deleted += 1;
            for (child, select) in &sql.children {
                let mut stmt = self.tx.prepare_cached(select)?;
                let ids = stmt.query_map([self.scope, id.as_str()], |row| row.get::<_, String>(0))?;
                for child_id in ids {
                    pending.push((child.clone(), child_id?));
                }
            }
        }
        Ok(())
    }
}
