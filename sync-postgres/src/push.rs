//! Client pushes: [`sync_core::apply_push`] over one PostgreSQL transaction.
//!
//! Locks, always in this order: the client's row in `sync_push_clients` (migration 006), which a second push of
//! the same client waits for, so it then reads the id the first one saved and skips what it applied; then, before
//! the first row is read, the integration's counter row (`sync_lock_scope`, the lock every writer of the
//! integration takes). Holding the counter while reading makes each read-merge-write of a row atomic against
//! every other writer (another client, `ServerStore::write`, `psql`): a field another writer changed in between
//! cannot be overwritten by a stale merge. A push whose mutations are all retries takes no counter lock.

use async_trait::async_trait;
use deadpool_postgres::Transaction;
use sync_core::{
    CheckedMutation, FeedError, MutationOutcome, PushHook, PushResponse, PushTx, RowReader, RowState, Value, apply_push,
};

use super::convert::{Param, read_values, refs};
use super::{PostgresStore, db, sql};

/// One push's transaction.
struct PgPush<'a> {
    store: &'a PostgresStore,
    tx: Transaction<'a>,
    scope: &'a str,
    /// Whether the integration's counter is locked yet.
    locked: bool,
}

impl PgPush<'_> {
    fn context(&self, what: &str) -> String {
        format!("{what} in a push to integration {:?}", self.scope)
    }

    async fn lock_scope(&mut self) -> Result<(), FeedError> {
        if !self.locked {
            let context = self.context("locking the integration's counter");
            let lock = self.tx.prepare_cached(sql::LOCK_SCOPE).await.map_err(db(context.clone()))?;
            self.tx.execute(&lock, &[&self.scope]).await.map_err(db(context))?;
            self.locked = true;
        }
        Ok(())
    }
}

impl PostgresStore {
    /// Applies checked mutations of `client_id` to `scope` in one transaction and commits it; returns the answer
    /// and the greatest seq the push took (0 if none).
    pub(super) async fn push_checked(
        &self,
        scope: &str,
        client_id: &str,
        mutations: Vec<CheckedMutation>,
        hook: Option<&dyn PushHook>,
    ) -> Result<(PushResponse, i64), FeedError> {
        let context = || format!("pushing to integration {scope:?}");
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db(context()))?;
        let mut push = PgPush { store: self, tx, scope, locked: false };
        // On an error the transaction is dropped, which rolls it back: writes and last id together.
        let response = apply_push(&mut push, &self.schema, hook, (scope, client_id), mutations).await?;
        push.tx.commit().await.map_err(db(context()))?;
        let last_seq = response
            .results
            .iter()
            .filter_map(|r| match r.outcome {
                MutationOutcome::Applied { seq } => seq,
                _ => None,
            })
            .max()
            .unwrap_or(0);
        Ok((response, last_seq))
    }
}

#[async_trait]
impl RowReader for PgPush<'_> {
    async fn row(&mut self, collection: &str, id: &str) -> Result<RowState, FeedError> {
        self.lock_scope().await?;
        let (c, sql) = self.store.collection(collection)?;
        let context = self.context(&format!("reading row {id:?} of `{collection}`"));
        let stmt = self.tx.prepare_cached(&sql.state).await.map_err(db(context.clone()))?;
        let Some(row) = self.tx.query_opt(&stmt, &[&self.scope, &id]).await.map_err(db(context.clone()))? else {
            return Ok(RowState::Missing);
        };
        if row.get::<_, bool>(0) {
            return Ok(RowState::Deleted);
        }
        read_values(&row, 1, &c.columns).map(RowState::Live).map_err(db(context))
    }
}

#[async_trait]
impl PushTx for PgPush<'_> {
    async fn last_mutation(&mut self, client_id: &str) -> Result<Option<(u64, i64)>, FeedError> {
        let context = self.context(&format!("locking client {client_id:?}"));
        let stmt = self.tx.prepare_cached(sql::LOCK_PUSH_CLIENT).await.map_err(db(context.clone()))?;
        let row = self.tx.query_one(&stmt, &[&self.scope, &client_id]).await.map_err(db(context))?;
        let (last, seq): (i64, i64) = (row.get(0), row.get(1));
        Ok(Some((u64::try_from(last).unwrap_or(0), seq)))
    }

    async fn put(&mut self, collection: &str, id: &str, values: Vec<Value>) -> Result<i64, FeedError> {
        self.lock_scope().await?;
        let (c, sql) = self.store.collection(collection)?;
        let mut params: Vec<Param> = c.columns.iter().zip(&values).map(|(c, v)| Param::of(c, v)).collect();
        params.extend([Param::Text(self.scope.to_owned()), Param::Text(id.to_owned())]);
        let context = self.context(&format!("writing row {id:?} of `{collection}`"));
        let stmt = self.tx.prepare_cached(&sql.upsert_rows(1)).await.map_err(db(context.clone()))?;
        let row = self.tx.query_one(&stmt, &refs(&params)).await.map_err(db(context))?;
        Ok(row.get(0))
    }

    async fn delete(&mut self, collection: &str, id: &str) -> Result<i64, FeedError> {
        self.lock_scope().await?;
        Ok(self.store.delete_cascading(&self.tx, self.scope, collection, id).await?.0)
    }

    async fn save_last_mutation(&mut self, client_id: &str, last: u64, seq: i64) -> Result<(), FeedError> {
        let last = i64::try_from(last).map_err(|_| FeedError::InvalidPush {
            mutation_id: Some(last),
            message: format!("mutation id {last} is too large: ids must fit a signed 64-bit integer"),
        })?;
        let context = self.context(&format!("saving the last mutation id of client {client_id:?}"));
        let stmt = self.tx.prepare_cached(sql::SAVE_PUSH_CLIENT).await.map_err(db(context.clone()))?;
        self.tx.execute(&stmt, &[&self.scope, &client_id, &last, &seq]).await.map(drop).map_err(db(context))
    }
}
