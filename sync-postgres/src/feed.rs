//! The reading side: pages, status, live rows. Every read is MVCC: it never waits for a writer.

use std::collections::BTreeMap;

use deadpool_postgres::{Object, Transaction};
use sync_core::{Change, CollectionStatus, FeedError, FeedPage, Row, ScopeStatus, StoredRow, Value};

use tokio_postgres::IsolationLevel;

use super::convert::read_values;
use super::{PostgresStore, db, sql};

/// A read-only repeatable-read transaction: its statements all see one snapshot.
pub(super) async fn snapshot(client: &mut Object) -> Result<Transaction<'_>, tokio_postgres::Error> {
    client.build_transaction().isolation_level(IsolationLevel::RepeatableRead).read_only(true).start().await
}

impl PostgresStore {
    pub(super) async fn read_page(
        &self,
        scope: &str,
        collection: &str,
        since_seq: i64,
        limit: usize,
        fresh: bool,
    ) -> Result<FeedPage, FeedError> {
        let (c, sql) = self.collection(collection)?;
        let context = || format!("reading a page of `{collection}` in integration {scope:?}");
        let mut client = self.client().await?;
        // Repeatable read: the horizon, the rows and the count come from one snapshot, so a prune between two
        // statements cannot slip in.
        let tx = snapshot(&mut client).await.map_err(db(context()))?;
        let head = tx.prepare_cached(sql::SCOPE_AND_COUNT).await.map_err(db(context()))?;
        let Some(head) = tx.query_opt(&head, &[&scope, &collection]).await.map_err(db(context()))? else {
            return Err(FeedError::UnknownScope(scope.to_owned()));
        };
        let (horizon, live): (i64, i64) = (head.get(0), head.get(1));
        // A cursor below the horizon may have missed pruned deletes, unless it belongs to a sync that started from
        // scratch (cursor 0) after them (PROTOCOL.md invariant 9).
        if !fresh && since_seq > 0 && since_seq < horizon {
            return Err(FeedError::ResyncRequired { since_seq, horizon });
        }
        let stmt = tx.prepare_cached(&sql.page).await.map_err(db(context()))?;
        let fetch = i64::try_from(limit).unwrap_or(i64::MAX - 1).saturating_add(1);
        let found = tx.query(&stmt, &[&scope, &since_seq, &fetch]).await.map_err(db(context()))?;
        tx.commit().await.map_err(db(context()))?;
        let has_more = found.len() > limit;
        let mut rows = Vec::with_capacity(found.len().min(limit));
        for row in found.iter().take(limit) {
            let change = if row.get::<_, bool>(2) {
                Change::Delete
            } else {
                Change::Upsert(read_values(row, 3, &c.columns).map_err(db(context()))?)
            };
            rows.push(Row { id: row.get(0), seq: row.get(1), change });
        }
        let latest_seq = rows.last().map_or(since_seq, |r| r.seq);
        Ok(FeedPage { rows, latest_seq, has_more, total_count: u64::try_from(live).unwrap_or(0) })
    }

    pub(super) async fn read_status(&self, scope: &str) -> Result<ScopeStatus, FeedError> {
        let context = || format!("reading the status of integration {scope:?}");
        let mut client = self.client().await?;
        let tx = snapshot(&mut client).await.map_err(db(context()))?;
        let exists = tx.prepare_cached(sql::SCOPE_EXISTS).await.map_err(db(context()))?;
        if tx.query_opt(&exists, &[&scope]).await.map_err(db(context()))?.is_none() {
            return Err(FeedError::UnknownScope(scope.to_owned()));
        }
        let mut collections = BTreeMap::new();
        for c in &self.schema.collections {
            let stmt = tx.prepare_cached(&self.sql[&c.name].latest_seq).await.map_err(db(context()))?;
            let latest_seq: i64 = tx.query_one(&stmt, &[&scope]).await.map_err(db(context()))?.get(0);
            collections.insert(c.name.clone(), CollectionStatus { latest_seq, count: 0 });
        }
        let counts = tx.prepare_cached(sql::SCOPE_COUNTS).await.map_err(db(context()))?;
        for row in tx.query(&counts, &[&scope]).await.map_err(db(context()))? {
            // Collections no longer in the schema keep their counters but are not reported.
            if let Some(status) = collections.get_mut(&row.get::<_, String>(0)) {
                status.count = u64::try_from(row.get::<_, i64>(1)).unwrap_or(0);
                // Pruned tombstones may have held the greatest seqs: a client below the horizon must still ask
                // (and be told to re-sync), not skip the collection as up to date.
                status.latest_seq = status.latest_seq.max(row.get(2));
            }
        }
        tx.commit().await.map_err(db(context()))?;
        // The greatest committed seq of the scope: seqs taken by rolled-back writes are not reported.
        let latest_seq = collections.values().map(|s| s.latest_seq).max().unwrap_or(0);
        Ok(ScopeStatus { integration_id: scope.to_owned(), latest_seq, collections })
    }

    pub(super) async fn read_live_rows(
        &self,
        scope: &str,
        collection: &str,
        after_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StoredRow>, FeedError> {
        let (c, sql) = self.collection(collection)?;
        let context = || format!("reading rows of `{collection}` in integration {scope:?}");
        let client = self.client().await?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = match after_id {
            None => {
                let stmt = client.prepare_cached(&sql.rows_first).await.map_err(db(context()))?;
                client.query(&stmt, &[&scope, &limit]).await
            }
            Some(after) => {
                let stmt = client.prepare_cached(&sql.rows_after).await.map_err(db(context()))?;
                client.query(&stmt, &[&scope, &after, &limit]).await
            }
        }
        .map_err(db(context()))?;
        rows.iter()
            .map(|row| Ok(StoredRow { id: row.get(0), seq: row.get(1), values: read_values(row, 2, &c.columns)? }))
            .collect::<Result<_, tokio_postgres::Error>>()
            .map_err(db(context()))
    }

    pub(super) async fn read_one(
        &self,
        scope: &str,
        collection: &str,
        id: &str,
    ) -> Result<Option<Vec<Value>>, FeedError> {
        let (c, sql) = self.collection(collection)?;
        let context = || format!("reading row {id:?} of `{collection}` in integration {scope:?}");
        let client = self.client().await?;
        let stmt = client.prepare_cached(&sql.get).await.map_err(db(context()))?;
        let row = client.query_opt(&stmt, &[&scope, &id]).await.map_err(db(context()))?;
        row.map(|row| read_values(&row, 0, &c.columns)).transpose().map_err(db(context()))
    }
}
