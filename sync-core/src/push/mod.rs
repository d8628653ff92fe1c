//! Client writes on the server: validation of a push ([`check_push`]), the conflict policy ([`apply_push`]) that
//! every [`ServerStore`](crate::ServerStore) runs inside its push transaction, and the hook a service plugs in.
//!
//! The policy is written once, here, against [`PushTx`]: a store only supplies its transaction's primitives (read
//! a row, write a whole row taking a new seq, delete with cascades, the client's last mutation id). What it does,
//! in server commit order, per mutation:
//! - `update` of a live row: only the given fields change (last writer wins per field); of a missing row →
//!   rejected `not_found`; of a tombstone → rejected `deleted` (an edit never resurrects a deleted row).
//! - `insert` of a missing key or a tombstone: the row is (re)created with the given fields, the others null; of a
//!   live key: applied as an update of the given fields.
//! - `delete` of a live row: a tombstone, cascading along references; of a missing or deleted row: applied,
//!   nothing changes (`seq: null`).
//! - A mutation that changes no value is applied with `seq: null` and takes no seq.
//! - The [`PushHook`], when the store has one, may then refuse the mutation or rewrite its fields.
//! - A rejection is final and counts as processed: the client's last mutation id advances past it.
//!
//! Each mutation applies at most once, and a push all or nothing (PROTOCOL.md invariant 10): the store keeps the
//! client's last mutation id in the push's own transaction.

mod apply;
mod check;

use std::collections::BTreeMap;

use async_trait::async_trait;

pub use apply::apply_push;
pub use check::{MAX_PUSH_BYTES, MAX_PUSH_MUTATIONS, check_mutation, check_push};

use crate::error::FeedError;
use crate::mutation::MutationOp;
use crate::value::Value;

/// A mutation that passed [`check_mutation`]: its fields typed by the collection's columns.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedMutation {
    /// The client's mutation id.
    pub mutation_id: u64,
    /// A writable collection.
    pub collection: String,
    /// The row's key (non-empty).
    pub id: String,
    /// Insert, update or delete.
    pub op: MutationOp,
    /// Declared column → value; empty for a delete.
    pub fields: BTreeMap<String, Value>,
}

/// A row as a push transaction sees it.
#[derive(Clone, Debug, PartialEq)]
pub enum RowState {
    /// The key was never written.
    Missing,
    /// A tombstone.
    Deleted,
    /// A live row: values of the declared columns, in order.
    Live(Vec<Value>),
}

/// Reads rows inside a push transaction: what a [`PushHook`] sees.
#[async_trait]
pub trait RowReader: Send {
    /// The current state of a row of the push's scope, as of this transaction (its own writes included).
    async fn row(&mut self, collection: &str, id: &str) -> Result<RowState, FeedError>;
}

/// One push's transaction in a server store: what [`apply_push`] needs. Everything happens in one transaction
/// that the store commits after `apply_push` returns `Ok`, and rolls back otherwise.
#[async_trait]
pub trait PushTx: RowReader {
    /// The last mutation id processed for `client_id` in this scope and the seq bound stored with it. Must lock
    /// the client's record until the transaction ends, so that two pushes of one client cannot both apply the
    /// same mutations.
    async fn last_mutation(&mut self, client_id: &str) -> Result<Option<(u64, i64)>, FeedError>;

    /// Writes the whole row (values of the declared columns, in order), reviving a tombstone; returns the seq it
    /// took. The seq comes from the same counter as every other write, so commit order stays seq order.
    async fn put(&mut self, collection: &str, id: &str, values: Vec<Value>) -> Result<i64, FeedError>;

    /// Deletes a live row (a tombstone), cascading along references like [`crate::Write::Delete`]; returns the
    /// greatest seq the tombstones took.
    async fn delete(&mut self, collection: &str, id: &str) -> Result<i64, FeedError>;

    /// Stores the client's last processed mutation id and the greatest seq its pushes took.
    async fn save_last_mutation(&mut self, client_id: &str, last: u64, seq: i64) -> Result<(), FeedError>;
}

/// What a [`PushHook`] decides about one mutation.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Apply it as it is.
    Accept,
    /// Apply it with these fields instead (checked against the schema again).
    Rewrite(BTreeMap<String, Value>),
    /// Refuse it; the client is told the code and message and rolls the mutation back.
    Reject {
        /// A stable code, e.g. `conversation_missing`.
        code: String,
        /// What went wrong, for a person.
        message: String,
    },
}

/// A service's say over client writes (validation, permissions), called by the store inside the push
/// transaction for every mutation the policy would apply, with a reader of the current rows.
///
/// The SQLite server store calls it on its writer thread, outside the tokio runtime: a hook should read through
/// `rows` and decide, not wait on other I/O.
#[async_trait]
pub trait PushHook: Send + Sync {
    /// Decides about `mutation` from client `client_id` in `scope`. An `Err` fails the whole push (nothing is
    /// applied) and is reported to the client as a server error.
    async fn review(
        &self,
        rows: &mut dyn RowReader,
        scope: &str,
        client_id: &str,
        mutation: &CheckedMutation,
    ) -> Result<Verdict, FeedError>;
}

#[cfg(test)]
mod tests;
