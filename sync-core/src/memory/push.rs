//! [`MemoryFeed`](super::MemoryFeed)'s push transaction: a copy of the scope the policy works on.

use async_trait::async_trait;

use super::feed::Scope;
use crate::error::FeedError;
use crate::push::{PushTx, RowReader, RowState};
use crate::schema::Schema;
use crate::value::Value;

pub(super) struct MemoryTx<'a> {
    pub(super) scope: Scope,
    pub(super) schema: &'a Schema,
}

#[async_trait]
impl RowReader for MemoryTx<'_> {
    async fn row(&mut self, collection: &str, id: &str) -> Result<RowState, FeedError> {
        Ok(match self.scope.collections.get(collection).and_then(|log| log.by_id.get(id)) {
            None => RowState::Missing,
            Some((_, None)) => RowState::Deleted,
            Some((_, Some(values))) => RowState::Live(values.clone()),
        })
    }
}

#[async_trait]
impl PushTx for MemoryTx<'_> {
    async fn last_mutation(&mut self, client_id: &str) -> Result<Option<(u64, i64)>, FeedError> {
        Ok(self.scope.clients.get(client_id).copied())
    }

    async fn put(&mut self, collection: &str, id: &str, values: Vec<Value>) -> Result<i64, FeedError> {
        Ok(self.scope.upsert(self.schema, collection, id, values))
    }

    async fn delete(&mut self, collection: &str, id: &str) -> Result<i64, FeedError> {
        self.scope.delete(self.schema, collection, id);
        Ok(self.scope.seq)
    }

    async fn save_last_mutation(&mut self, client_id: &str, last: u64, seq: i64) -> Result<(), FeedError> {
        self.scope.clients.insert(client_id.to_owned(), (last, seq));
        Ok(())
    }
}
