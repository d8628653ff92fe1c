//! Client pushes on the embedded server store: [`sync_core::apply_push`] over a write [`Batch`].

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use sync_core::{
    CheckedMutation, FeedError, PushHook, PushResponse, PushTx, RowReader, RowState, Value, WriteReceipt, apply_push,
};

use super::write::{Batch, Writer};
use crate::convert;
use crate::sql;

impl Writer {
    /// Applies checked mutations of `client_id` in one write transaction. The policy is async (a PostgreSQL store
    /// awaits its queries); here every step is a blocking SQLite call on this thread, so it is driven to the end
    /// right here, and the hook runs on this thread too.
    pub(super) fn push(
        &mut self,
        scope: &str,
        client_id: &str,
        mutations: Vec<CheckedMutation>,
        hook: Option<&dyn PushHook>,
    ) -> Result<(PushResponse, WriteReceipt), FeedError> {
        self.batch(scope, |batch| {
            let shared = batch.shared;
            futures::executor::block_on(apply_push(batch, &shared.schema, hook, (scope, client_id), mutations))
        })
    }
}

#[async_trait]
impl RowReader for Batch<'_> {
    async fn row(&mut self, collection: &str, id: &str) -> Result<RowState, FeedError> {
        let (c, sql) = self.shared.collection(collection)?;
        let read = || -> rusqlite::Result<RowState> {
            let deleted: Option<bool> =
                self.conn.prepare_cached(&sql.deleted)?.query_row([self.scope, id], |row| row.get(0)).optional()?;
            Ok(match deleted {
                None => RowState::Missing,
                Some(true) => RowState::Deleted,
                Some(false) => RowState::Live(
                    self.conn
                        .prepare_cached(&sql.get)?
                        .query_row([self.scope, id], |row| convert::read_values(row, 0, &c.columns))?,
                ),
            })
        };
        read().map_err(|e| self.backend(e))
    }
}

#[async_trait]
impl PushTx for Batch<'_> {
    async fn last_mutation(&mut self, client_id: &str) -> Result<Option<(u64, i64)>, FeedError> {
        // BEGIN IMMEDIATE already holds the write lock: no other push of this client can run meanwhile.
        let read = || {
            self.conn
                .prepare_cached(sql::PUSH_CLIENT)?
                .query_row([self.scope, client_id], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?)))
                .optional()
        };
        let last = read().map_err(|e| self.backend(e))?;
        Ok(last.map(|(id, seq)| (u64::try_from(id).unwrap_or(0), seq)))
    }

    async fn put(&mut self, collection: &str, id: &str, values: Vec<Value>) -> Result<i64, FeedError> {
        self.upsert(collection, id, &values).map_err(|e| self.backend(e))?;
        Ok(self.seq)
    }

    async fn delete(&mut self, collection: &str, id: &str) -> Result<i64, FeedError> {
        Batch::delete(self, collection, id).map_err(|e| self.backend(e))?;
        Ok(self.seq)
    }

    async fn save_last_mutation(&mut self, client_id: &str, last: u64, seq: i64) -> Result<(), FeedError> {
        let last = i64::try_from(last).map_err(|_| FeedError::InvalidPush {
            mutation_id: Some(last),
            message: format!("mutation id {last} is too large: ids must fit a signed 64-bit integer"),
        })?;
        let save =
            || self.conn.prepare_cached(sql::SAVE_PUSH_CLIENT)?.execute(params![self.scope, client_id, last, seq]);
        save().map(drop).map_err(|e| self.backend(e))
    }
}
