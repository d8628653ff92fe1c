//! The server store's writer thread: write batches, seqs, cascading deletes and the per-collection counters.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
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
/// It holds the connection by `&mut` (not a rusqlite `Transaction`, which is not `Send`) so that a push's async
/// policy can run over it ([`sync_core::PushTx`]).
pub(super) struct Batch<'a> {
    pub(super) conn: &'a mut Connection,
    pub(super) shared: &'a Shared,
    pub(super) scope: &'a str,
    pub(super) seq: i64,
    pub(super) receipt: WriteReceipt,
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
        let ((), receipt) = self.batch(scope, |batch| {
            for write in writes {
                match write {
                    Write::Upsert { collection, id, values } => batch.upsert(collection, id, values),
                    Write::Delete { collection, id } => batch.delete(collection, id).map(drop),
                }
                .map_err(|e| batch.backend(e))?;
            }
            Ok(())
        })?;
        Ok(receipt)
    }

    /// Runs `body` over a [`Batch`] in one `BEGIN IMMEDIATE` transaction, then stores the scope's counter and the
    /// collections' counts and commits; an error anywhere rolls all of it back. The write lock is held from the
    /// counter read to the commit, so commit order is seq order.
    pub(super) fn batch<R>(
        &mut self,
        scope: &str,
        body: impl FnOnce(&mut Batch<'_>) -> Result<R, FeedError>,
    ) -> Result<(R, WriteReceipt), FeedError> {
        let context = format!("writing to scope {scope:?} in {}", self.path.display());
        let backend = |e| FeedError::backend(context.clone(), e);
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(backend)?;
        let shared = self.shared.clone();
        let result = (|| {
            let seq = (self.conn.prepare_cached(sql::SCOPE_SEQ))
                .and_then(|mut stmt| stmt.query_row([scope], |row| row.get(0)).optional())
                .map_err(backend)?;
            let mut batch = Batch {
                conn: &mut self.conn,
                shared: &shared,
                scope,
                seq: seq.unwrap_or(0),
                receipt: WriteReceipt::default(),
                counts: HashMap::new(),
            };
            let out = body(&mut batch)?;
            let receipt = batch.finish().map_err(backend)?;
            self.conn.execute_batch("COMMIT").map_err(backend)?;
            Ok((out, receipt))
        })();
        if result.is_err() && !self.conn.is_autocommit() {
            // Failing to roll back leaves nothing to do but report the first error.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        result
    }
}

impl Batch<'_> {
    /// A database error of this batch, with its scope.
    pub(super) fn backend(&self, e: rusqlite::Error) -> FeedError {
        FeedError::backend(format!("writing to scope {:?}", self.scope), e)
    }

    /// Stores the scope's counter (even when nothing changed: a scope exists from its first write on) and the
    /// collections' counts; the receipt's `last_seq` is the counter when anything changed.
    fn finish(self) -> rusqlite::Result<WriteReceipt> {
        self.conn.prepare_cached(sql::SAVE_SCOPE)?.execute(params![self.scope, self.seq])?;
        let mut add = self.conn.prepare_cached(sql::ADD_COUNTS)?;
        for (collection, (live, latest)) in &self.counts {
            add.execute(params![self.scope, collection, live, latest])?;
        }
        let mut receipt = self.receipt;
        if receipt.upserted + receipt.deleted > 0 {
            receipt.last_seq = self.seq;
        }
        Ok(receipt)
    }

    fn changed(&mut self, collection: &str, live_delta: i64) {
        let entry = self.counts.entry(collection.to_owned()).or_default();
        entry.0 += live_delta;
        entry.1 = self.seq;
    }

    /// Writes a row with a new seq, reviving it if it was a tombstone.
    pub(super) fn upsert(&mut self, collection: &str, id: &str, values: &[Value]) -> rusqlite::Result<()> {
        let shared = self.shared;
        let Ok((c, sql)) = shared.collection(collection) else { return Ok(()) };
        let moving = sql.filter.as_ref().and_then(|f| f.column).is_some();
        let found: Option<(bool, Option<String>)> = self
            .conn
            .prepare_cached(&sql.deleted)?
            .query_row([self.scope, id], |row| Ok((row.get(0)?, if moving { row.get(1)? } else { None })))
            .optional()?;
        let deleted = found.as_ref().map(|(deleted, _)| *deleted);
        self.seq += 1;
        if let (Some((false, Some(old))), Some(column)) = (&found, sql.filter.as_ref().and_then(|f| f.column)) {
            // A live row leaving its filter value: its subscribers get a tombstone at this seq.
            if !matches!(&values[column], Value::Text(new) if new == old) {
                self.conn
                    .prepare_cached(sql::SAVE_MOVE)?
                    .execute(params![self.scope, collection, old, self.seq, id])?;
            }
        }
        {
            let mut stmt = self.conn.prepare_cached(&sql.upsert)?;
            stmt.raw_bind_parameter(1, id)?;
            stmt.raw_bind_parameter(2, self.scope)?;
            stmt.raw_bind_parameter(3, self.seq)?;
            convert::bind_values(&mut stmt, 4, &c.columns, values)?;
            stmt.raw_execute()?;
        }
        self.changed(collection, if deleted == Some(false) { 0 } else { 1 });
        self.receipt.upserted += 1;
        Ok(())
    }

    /// Turns a live row into a tombstone with a new seq, then the live rows referencing it, recursively (depth
    /// first, on an explicit stack so that deep chains cannot overflow the thread's stack). Missing and
    /// already-deleted rows are skipped, which also ends reference cycles. Returns how many it deleted.
    pub(super) fn delete(&mut self, collection: &str, id: &str) -> rusqlite::Result<u64> {
        let shared = self.shared;
        let mut pending = vec![(collection.to_owned(), id.to_owned())];
        let mut deleted = 0;
        while let Some((collection, id)) = pending.pop() {
            let Ok((_, sql)) = shared.collection(&collection) else { continue };
            let changed = self.conn.prepare_cached(&sql.tombstone)?.execute(params![self.seq + 1, self.scope, id])?;
            if changed == 0 {
                continue;
            }
            self.seq += 1;
            self.changed(&collection, -1);
            self.receipt.deleted += 1;
            deleted += 1;
            for (child, select) in &sql.children {
                let mut stmt = self.conn.prepare_cached(select)?;
                let ids = stmt.query_map([self.scope, id.as_str()], |row| row.get::<_, String>(0))?;
                for child_id in ids {
                    pending.push((child.clone(), child_id?));
                }
            }
        }
        Ok(deleted)
    }
}
