//! The writing side: write batches with cascading deletes, and tombstone pruning.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use anyhow::Context as _;
use deadpool_postgres::Transaction;
use futures::future::try_join_all;
use sync_core::{FeedError, Value, Write, WriteReceipt, check_write};
use tokio_postgres::Statement;

use super::convert::{Param, refs};
use super::{PostgresStore, db, sql};

/// What [`PostgresStore::prune`] removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Tombstones deleted, all collections and integrations.
    pub removed: u64,
    /// Per integration and collection that lost tombstones: (integration, collection, horizon). A cursor of that
    /// collection below the horizon must re-sync from scratch.
    pub horizons: Vec<(String, String, i64)>,
}

/// Statements sent before the first answer is read. PostgreSQL runs them one after the other, in order, as if
/// sent one by one; only the round trips overlap.
const PIPELINE: usize = 16;

/// Rows per upsert statement (fewer when a row has so many columns that this would pass PostgreSQL's limit of
/// 65,535 placeholders a statement).
const ROWS_PER_UPSERT: usize = 200;

/// Consecutive upserts of one collection with distinct ids, sent as one statement.
#[derive(Default)]
struct Run {
    collection: String,
    ids: HashSet<String>,
    params: Vec<Param>,
}

/// Upserts queued in a transaction: each run of rows becomes one statement, and [`PIPELINE`] statements go out
/// before the first answer is read. Whoever reads rows must [`Upserts::flush`] first.
#[derive(Default)]
pub(super) struct Upserts {
    run: Run,
    statements: Vec<(Statement, Vec<Param>)>,
}

impl Upserts {
    /// Queues the row `id` of `collection` (values of the declared columns); when the pipeline is full, sends
    /// it and returns the seqs its rows took, in write order.
    pub(super) async fn add(
        &mut self,
        (store, tx, scope): (&PostgresStore, &Transaction<'_>, &str),
        collection: &str,
        id: &str,
        values: &[Value],
    ) -> Result<Vec<i64>, FeedError> {
        let (c, sql) = store.collection(collection)?;
        let full = self.run.ids.len() >= ROWS_PER_UPSERT.min(u16::MAX as usize / sql.upsert_width);
        if self.run.collection != collection || self.run.ids.contains(id) || full {
            self.end_run(store, tx).await?;
            collection.clone_into(&mut self.run.collection);
        }
        self.run.params.extend(c.columns.iter().zip(values).map(|(c, v)| Param::of(c, v)));
        self.run.params.extend([Param::Text(scope.to_owned()), Param::Text(id.to_owned())]);
        self.run.ids.insert(id.to_owned());
        if self.statements.len() < PIPELINE {
            return Ok(Vec::new());
        }
        self.send(tx, scope).await
    }

    /// Sends every queued row; returns the seqs they took, in write order.
    pub(super) async fn flush(
        &mut self,
        (store, tx, scope): (&PostgresStore, &Transaction<'_>, &str),
    ) -> Result<Vec<i64>, FeedError> {
        self.end_run(store, tx).await?;
        self.send(tx, scope).await
    }

    /// Queues the rows of the run (if any) as one upsert statement, and empties it.
    async fn end_run(&mut self, store: &PostgresStore, tx: &Transaction<'_>) -> Result<(), FeedError> {
        let run = &mut self.run;
        if run.ids.is_empty() {
            return Ok(());
        }
        let (_, sql) = store.collection(&run.collection)?;
        let stmt = tx.prepare_cached(&sql.upsert_rows(run.ids.len())).await.map_err(db(format!(
            "preparing the upsert of {} rows of `{}`",
            run.ids.len(),
            run.collection
        )))?;
        self.statements.push((stmt, std::mem::take(&mut run.params)));
        run.ids.clear();
        Ok(())
    }

    /// Runs the queued statements pipelined, in order.
    async fn send(&mut self, tx: &Transaction<'_>, scope: &str) -> Result<Vec<i64>, FeedError> {
        let statements = std::mem::take(&mut self.statements);
        let params: Vec<_> = statements.iter().map(|(_, params)| refs(params)).collect();
        let rows = try_join_all(statements.iter().zip(&params).map(|((stmt, _), params)| tx.query(stmt, params)))
            .await
            .map_err(db(format!("writing to integration {scope:?}")))?;
        Ok(rows.iter().flatten().map(|row| row.get::<_, i64>(0)).collect())
    }
}

fn greatest(seqs: Vec<i64>) -> i64 {
    seqs.into_iter().max().unwrap_or(0)
}

impl PostgresStore {
    pub(super) async fn write_batch(&self, scope: &str, writes: &[Write]) -> Result<WriteReceipt, FeedError> {
        for write in writes {
            check_write(&self.schema, write)?;
        }
        let context = || format!("writing to integration {scope:?}");
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db(context()))?;
        // Lock the counter first: the update-or-insert of each row below then cannot race another writer.
        let lock = tx.prepare_cached(sql::LOCK_SCOPE).await.map_err(db(context()))?;
        tx.execute(&lock, &[&scope]).await.map_err(db(context()))?;
        let mut receipt = WriteReceipt::default();
        let mut last_seq = 0;
        let mut upserts = Upserts::default();
        for write in writes {
            match write {
                Write::Upsert { collection, id, values } => {
                    let sent = upserts.add((self, &tx, scope), collection, id, values).await?;
                    last_seq = last_seq.max(greatest(sent));
                    receipt.upserted += 1;
                }
                Write::Delete { collection, id } => {
                    self.collection(collection)?;
                    // The cascade reads what the upserts before it wrote.
                    last_seq = last_seq.max(greatest(upserts.flush((self, &tx, scope)).await?));
                    let (seq, deleted) = self.delete_cascading(&tx, scope, collection, id).await?;
                    last_seq = last_seq.max(seq);
                    receipt.deleted += deleted;
                }
            }
        }
        last_seq = last_seq.max(greatest(upserts.flush((self, &tx, scope)).await?));
        tx.commit().await.map_err(db(context()))?;
        receipt.last_seq = last_seq;
        Ok(receipt)
    }

    /// Marks the live row `id` of `collection` deleted, then its live children along `Column::references`, in
    /// `tx`; returns the greatest seq the tombstones took (0 if none) and how many rows it deleted.
    pub(super) async fn delete_cascading(
        &self,
        tx: &Transaction<'_>,
        scope: &str,
        collection: &str,
        id: &str,
    ) -> Result<(i64, u64), FeedError> {
        let context = || format!("deleting row {id:?} of `{collection}` in integration {scope:?}");
        let (mut last_seq, mut deleted) = (0, 0);
        // Depth first on an explicit stack; missing and already-deleted rows end the walk (and cycles).
        let mut pending = vec![(collection.to_owned(), id.to_owned())];
        while let Some((collection, id)) = pending.pop() {
            let (_, sql) = self.collection(&collection)?;
            let tombstone = tx.prepare_cached(&sql.tombstone).await.map_err(db(context()))?;
            let Some(row) = tx.query_opt(&tombstone, &[&scope, &id]).await.map_err(db(context()))? else {
                continue;
            };
            last_seq = last_seq.max(row.get::<_, i64>(0));
            deleted += 1;
            for (child, select) in &sql.children {
                let stmt = tx.prepare_cached(select).await.map_err(db(context()))?;
                for row in tx.query(&stmt, &[&scope, &id]).await.map_err(db(context()))? {
                    pending.push((child.clone(), row.get(0)));
                }
            }
        }
        Ok((last_seq, deleted))
    }

    /// Deletes, for real, every tombstone last changed more than `older_than` ago (but the newest of each
    /// integration and collection), in every integration, and raises the horizon of each affected collection of
    /// an integration to the greatest seq removed, in one transaction. A client whose
    /// cursor is below its integration's horizon then gets [`FeedError::ResyncRequired`] and re-syncs from
    /// scratch; clients at or past it, and new clients, are unaffected.
    pub async fn prune(&self, older_than: Duration) -> anyhow::Result<PruneReport> {
        let mut client = self.pool.get().await.context("getting a PostgreSQL connection")?;
        let tx = client.transaction().await?;
        tx.batch_execute("SET LOCAL sync.pruning = 'on'").await?;
        let mut horizons: HashMap<(String, String), i64> = HashMap::new();
        let mut report = PruneReport::default();
        for c in &self.schema.collections {
            let rows = tx
                .query(&sql::prune(&c.name), &[&older_than.as_secs_f64()])
                .await
                .with_context(|| format!("pruning tombstones of `{}`", c.name))?;
            for row in rows {
                let (scope, seq, removed): (String, i64, i64) = (row.get(0), row.get(1), row.get(2));
                let horizon = horizons.entry((scope, c.name.clone())).or_default();
                *horizon = (*horizon).max(seq);
                report.removed += u64::try_from(removed).unwrap_or(0);
            }
        }
        // After every delete: the counter rows are taken last, as writers take them last (at commit).
        for ((scope, collection), horizon) in &horizons {
            tx.execute(sql::RAISE_HORIZON, &[scope, collection, horizon]).await.context("recording the horizon")?;
        }
        tx.commit().await.context("committing the prune")?;
        report.horizons = horizons.into_iter().map(|((s, c), h)| (s, c, h)).collect();
        report.horizons.sort();
        Ok(report)
    }
}
