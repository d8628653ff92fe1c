//! The server side: a change feed that serves pages, and a server store that takes writes.

use std::time::Duration;

use async_trait::async_trait;

use crate::error::FeedError;
use crate::filter::HeadRead;
use crate::page::{FeedPage, ScopeStatus, StoredRow};
use crate::schema::{Column, Schema};
use crate::value::Value;

/// What a server reads pages from.
///
/// Contract (PROTOCOL.md invariants 2 and 3): once a page with a row of seq `S` has been returned, no row with a
/// smaller seq may become visible later; every insert, update and delete takes a new seq; deletes leave
/// tombstones.
#[async_trait]
pub trait ChangeFeed: Send + Sync {
    /// The schema of every collection the feed serves.
    fn schema(&self) -> &Schema;

    /// Rows (and tombstones) of `collection` in `scope` with `seq > since_seq`, in seq order, at most `limit`.
    /// Must cost O(limit), whatever `since_seq` is. Unknown scope: [`FeedError::UnknownScope`].
    async fn page(&self, scope: &str, collection: &str, since_seq: i64, limit: usize) -> Result<FeedPage, FeedError>;

    /// [`ChangeFeed::page`] for a client whose sync of this collection started from scratch (cursor 0) in the
    /// same session (wire: `&fresh=1`). Such a client cannot hold rows whose tombstones were pruned before it
    /// started, so a store that prunes tombstones serves it below its horizon instead of answering
    /// [`FeedError::ResyncRequired`] (its cursors pass below the horizon while it pages through the older rows).
    /// Sound as long as such a sync takes less time than the store keeps tombstones. Default: `page`.
    async fn page_fresh(
        &self,
        scope: &str,
        collection: &str,
        since_seq: i64,
        limit: usize,
    ) -> Result<FeedPage, FeedError> {
        self.page(scope, collection, since_seq, limit).await
    }

    /// Selective sync (PROTOCOL.md, "Selective sync"): the rows (and tombstones) of `collection` in `scope` whose
    /// filter column ([`crate::Collection::filter`]) holds one of `values`, with `seq > since_seq`, in seq order,
    /// at most `limit`; plus, as tombstones, the rows that left one of `values` (their filter value changed) at
    /// that seq, unless the row's new value is also in `values` (then the row itself is sent). When `has_more` is
    /// false, `latest_seq` is the collection's greatest seq the answer covers (at least the last row's): every
    /// row of `values` at or below it was sent, so it is the values' next cursor. `fresh` as in
    /// [`ChangeFeed::page_fresh`].
    ///
    /// Must cost O(limit + values) index reads, whatever `since_seq` is (a merge of one range scan per value).
    /// Default: [`FeedError::BadFilter`] (a feed without filtered reads).
    async fn page_filtered(&self, scope: &str, collection: &str, read: &FilteredRead) -> Result<FeedPage, FeedError> {
        let _ = (scope, read);
        Err(FeedError::BadFilter(format!("this server does not serve filtered pages of `{collection}`")))
    }

    /// The newest `read.per_value` live rows of each value below its bound (recent-first initial sync; checked
    /// by [`crate::check_head`]): a page in seq order with `has_more` false and `latest_seq` its last row's seq,
    /// which is not a cursor (rows below it are missing). Default: [`FeedError::BadFilter`].
    async fn head(&self, scope: &str, collection: &str, read: &HeadRead) -> Result<FeedPage, FeedError> {
        let _ = (scope, read);
        Err(FeedError::BadFilter(format!("this server does not serve heads of `{collection}`")))
    }

    /// Latest seq and live row count per collection of `scope`.
    async fn status(&self, scope: &str) -> Result<ScopeStatus, FeedError>;

    /// Waits until the latest seq of `scope` (over all its collections) is greater than `after_seq`, and returns
    /// that seq; after `timeout` without one, returns the latest seq it knows (`<= after_seq`).
    ///
    /// Contract: this is a hint for live clients, never the data path (they read pages by cursor after it), so
    /// it may return a seq that is already stale, and an implementation that misses a wakeup only delays a
    /// client, up to its periodic re-check. It must not return a seq greater than the one committed. A change
    /// committed before the call is seen (implementations read the store after subscribing to wakeups). An
    /// unknown scope waits like an empty one (seq 0): a client may wait on an integration before its first
    /// write. Cancel-safe: dropping the future (a client hung up) stops the wait.
    ///
    /// Default: re-reads [`ChangeFeed::status`] every [`crate::watch::DEFAULT_RECHECK`]; stores with a wakeup
    /// (in-process, `LISTEN/NOTIFY`) answer within milliseconds instead.
    async fn wait_for_seq(&self, scope: &str, after_seq: i64, timeout: Duration) -> Result<i64, FeedError> {
        crate::watch::SeqWatch::new()
            .wait(scope, after_seq, timeout, crate::watch::DEFAULT_RECHECK, || crate::watch::latest_seq(self, scope))
            .await
    }
}

/// A filtered page request ([`ChangeFeed::page_filtered`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilteredRead {
    /// The filter values (at most [`crate::MAX_FILTER_VALUES`], checked by [`crate::check_filter`]).
    pub values: Vec<String>,
    /// The cursor those values share.
    pub since_seq: i64,
    /// Maximum rows.
    pub limit: usize,
    /// As [`ChangeFeed::page_fresh`]: the client began these values from cursor 0 in this session.
    pub fresh: bool,
}

/// One write to a server store.
#[derive(Clone, Debug, PartialEq)]
pub enum Write {
    /// Insert the row, or replace all its values.
    Upsert {
        /// The collection.
        collection: String,
        /// The row's key.
        id: String,
        /// Values of the declared columns, in order.
        values: Vec<Value>,
    },
    /// Delete the row, leaving a tombstone; rows of collections whose columns reference it are deleted too.
    Delete {
        /// The collection.
        collection: String,
        /// The row's key.
        id: String,
    },
}

/// What a committed batch of writes did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteReceipt {
    /// The seq of the batch's last change (0 if it changed nothing).
    pub last_seq: i64,
    /// Rows inserted or updated.
    pub upserted: u64,
    /// Tombstones written, cascades included.
    pub deleted: u64,
}

/// A server's source of truth: a change feed that also takes writes.
#[async_trait]
pub trait ServerStore: ChangeFeed {
    /// Applies `writes` to `scope` in one transaction (creating the scope on first write), giving every changed
    /// row a new seq from the scope's counter. Commit order equals seq order within a scope. Deleting a missing
    /// row is a no-op. An invalid write fails the whole batch.
    async fn write(&self, scope: &str, writes: Vec<Write>) -> Result<WriteReceipt, FeedError>;

    /// Live rows of `collection` in `scope` ordered by id, the first `limit` after `after_id`.
    async fn read_rows(
        &self,
        scope: &str,
        collection: &str,
        after_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StoredRow>, FeedError>;

    /// The current values of one live row, or `None`.
    async fn get(&self, scope: &str, collection: &str, id: &str) -> Result<Option<Vec<Value>>, FeedError>;

    /// Applies a client's push to `scope` (`POST /sync/push/{integration_id}`; the policy is in
    /// [`crate::apply_push`]).
    ///
    /// Contract: the request is checked first ([`crate::check_push`]), and an invalid one is
    /// [`FeedError::InvalidPush`] with nothing applied. Then, in one transaction: the client's stored last
    /// mutation id is read (locked against another push of the same client), the mutations above it are applied
    /// through the store's ordinary writes (each change takes a new seq from the scope's counter, so commit order
    /// stays seq order and the changes reach clients by the ordinary pull and live path), the store's
    /// [`crate::PushHook`] (if any) reviews each of them, and the new last id is stored. Any error rolls all of
    /// it back: a push is applied entirely or not at all, and each mutation at most once.
    ///
    /// Default: refuses every push (a store that takes no client writes).
    async fn push(&self, scope: &str, push: crate::PushRequest) -> Result<crate::PushResponse, FeedError> {
        let _ = (scope, push);
        Err(FeedError::InvalidPush { mutation_id: None, message: "this server takes no client writes".into() })
    }
}

/// Checks a write against the schema: known collection, right number of values, types and nullability.
pub fn check_write(schema: &Schema, write: &Write) -> Result<(), FeedError> {
    let (collection, id) = match write {
        Write::Upsert { collection, id, .. } | Write::Delete { collection, id } => (collection, id),
    };
    let c = schema.collection(collection).ok_or_else(|| FeedError::UnknownCollection(collection.clone()))?;
    if id.is_empty() {
        return Err(FeedError::InvalidWrite(format!("a row of `{collection}` has an empty id")));
    }
    let Write::Upsert { values, .. } = write else { return Ok(()) };
    if values.len() != c.columns.len() {
        return Err(FeedError::InvalidWrite(format!(
            "`{collection}` row {id} has {} values for {} columns",
            values.len(),
            c.columns.len()
        )));
    }
    for (column, value) in c.columns.iter().zip(values) {
        if !fits(column, value) {
            return Err(FeedError::InvalidWrite(format!(
                "`{collection}.{}` of row {id} cannot hold {value:?} (type {:?}, nullable {})",
                column.name, column.ty, column.nullable
            )));
        }
    }
    Ok(())
}

/// Whether `column` may hold `value`: its type (an integer fits a real column), or null when it is nullable.
pub(crate) fn fits(column: &Column, value: &Value) -> bool {
    use crate::schema::ColumnType as T;
    match (column.ty, value) {
        (_, Value::Null) => column.nullable,
        (T::Text, Value::Text(_)) | (T::Integer | T::Timestamp, Value::Integer(_)) | (T::Boolean, Value::Bool(_)) => {
            true
        }
        (T::Real, Value::Real(f)) => f.is_finite(),
        (T::Real, Value::Integer(_)) => true,
        (T::Json, Value::Json(text)) => serde_json::from_str::<serde_json::Value>(text).is_ok(),
        _ => false,
    }
}
