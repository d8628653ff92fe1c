//! Local writes: `SyncEngine::mutate`, `SyncEngine::pending_writes`, and [`WriteListener`], what the foreign side
//! implements to hear the outcome of each pushed write (the twin of the Node addon's `onWrite`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::Value as Json;
use sync_client::{LocalWrite, MutationOp, MutationOutcome, WriteEvent};
use sync_core::Value;
use sync_core::outbox::value_to_json;

use crate::engine::SyncEngine;
use crate::error::SeqsyncError;
use crate::on_runtime;
use crate::types::SqlValue;

/// What a write does to its row.
#[derive(uniffi::Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteOp {
    /// Create the row with the given fields (the others null); on an existing row, change the given fields.
    Insert,
    /// Change only the given fields of the row (a patch).
    Update,
    /// Delete the row.
    Delete,
}

/// A local write as the app asks for it.
#[derive(uniffi::Record, Clone, Debug, PartialEq)]
pub struct WriteInput {
    /// A collection the schema marks writable.
    pub collection: String,
    /// The row's key.
    pub id: String,
    /// Insert, update or delete.
    pub op: WriteOp,
    /// Column → value (timestamps as Unix ms integers); none for a delete.
    #[uniffi(default = None)]
    pub fields: Option<HashMap<String, SqlValue>>,
}

/// A local write as recorded in the outbox and pushed.
#[derive(uniffi::Record, Clone, Debug, PartialEq)]
pub struct Mutation {
    /// Its id: per replica file, only growing.
    pub mutation_id: u64,
    /// The collection.
    pub collection: String,
    /// The row's key.
    pub id: String,
    /// Insert, update or delete.
    pub op: WriteOp,
    /// The fields written.
    pub fields: HashMap<String, SqlValue>,
    /// The row's seq in the replica when it was written; `None` for a row the server has not sent.
    pub base_seq: Option<i64>,
}

/// Where a local write is.
#[derive(uniffi::Enum, Clone, Debug, PartialEq, Eq)]
pub enum WriteState {
    /// Not acknowledged by the server yet ("sending…").
    Pending,
    /// Applied by the server; its change took `seq` ("sent"). It leaves the list when the pull brings it back.
    Acknowledged {
        /// The seq of its change (an upper bound after a retried push).
        seq: i64,
    },
}

/// A local write not settled yet.
#[derive(uniffi::Record, Clone, Debug, PartialEq)]
pub struct PendingWrite {
    /// The mutation.
    pub mutation: Mutation,
    /// Pending or acknowledged.
    pub state: WriteState,
}

/// What the server did with a pushed write.
#[derive(uniffi::Enum, Clone, Debug, PartialEq, Eq)]
pub enum WriteStatus {
    /// Applied now; `seq` is the seq its change took (`None`: it changed nothing).
    Applied {
        /// The seq of the change, if any.
        seq: Option<i64>,
    },
    /// Applied by an earlier push whose answer was lost; its change is at or below `seq`.
    AlreadyApplied {
        /// An upper bound of the seq of its change.
        seq: i64,
    },
    /// Refused: the row was rolled back to the server's version.
    Rejected {
        /// A stable code: `not_found`, `deleted`, or the server's own (such as `conversation_missing`).
        code: String,
        /// What went wrong, for a person.
        message: String,
    },
}

/// What became of one pushed local write.
#[derive(uniffi::Record, Clone, Debug, PartialEq)]
pub struct WriteOutcome {
    /// The integration.
    pub integration_id: String,
    /// The mutation.
    pub mutation_id: u64,
    /// Its collection.
    pub collection: String,
    /// Its row.
    pub id: String,
    /// Applied, already applied or rejected.
    pub status: WriteStatus,
}

/// Hears the outcome of each local write a sync or `follow` pushes, in push order, on one of the binding's
/// threads (not the caller's); one that throws is called again on the next outcome.
#[uniffi::export(foreign)]
pub trait WriteListener: Send + Sync {
    /// One outcome.
    fn on_write(&self, outcome: WriteOutcome);
}

/// The client's write listener over a foreign one.
pub(crate) fn write_listener(listener: Option<Arc<dyn WriteListener>>) -> Option<sync_client::WriteListener> {
    listener.map(|listener| {
        Arc::new(move |event: WriteEvent| listener.on_write(WriteOutcome::from(event))) as sync_client::WriteListener
    })
}

fn op(op: WriteOp) -> MutationOp {
    match op {
        WriteOp::Insert => MutationOp::Insert,
        WriteOp::Update => MutationOp::Update,
        WriteOp::Delete => MutationOp::Delete,
    }
}

/// A field's value as it travels (as in a page row); JSON text that does not parse is `InvalidWrite`.
fn field_json(name: &str, value: SqlValue) -> Result<Json, SeqsyncError> {
    match value {
        SqlValue::Json { value } => serde_json::from_str(&value)
            .map_err(|e| SeqsyncError::InvalidWrite(format!("the field `{name}` is not valid JSON text: {e}"))),
        other => Ok(value_to_json(&Value::from(other))),
    }
}

/// A field's value as the foreign side sees it (JSON objects and arrays as their text).
fn field_value(json: Json) -> SqlValue {
    match json {
        Json::Null => SqlValue::Null,
        Json::Bool(value) => SqlValue::Bool { value },
        Json::Number(n) => match n.as_i64() {
            Some(value) => SqlValue::Integer { value },
            None => SqlValue::Real { value: n.as_f64().unwrap_or(f64::NAN) },
        },
        Json::String(value) => SqlValue::Text { value },
        other => SqlValue::Json { value: other.to_string() },
    }
}

impl TryFrom<WriteInput> for LocalWrite {
    type Error = SeqsyncError;

    fn try_from(input: WriteInput) -> Result<Self, SeqsyncError> {
        let mut fields = BTreeMap::new();
        for (name, value) in input.fields.unwrap_or_default() {
            let json = field_json(&name, value)?;
            fields.insert(name, json);
        }
        Ok(LocalWrite { collection: input.collection, id: input.id, op: op(input.op), fields })
    }
}

impl From<sync_client::Mutation> for Mutation {
    fn from(m: sync_client::Mutation) -> Self {
        let op = match m.op {
            MutationOp::Insert => WriteOp::Insert,
            MutationOp::Update => WriteOp::Update,
            MutationOp::Delete => WriteOp::Delete,
        };
        let fields = m.fields.into_iter().map(|(name, json)| (name, field_value(json))).collect();
        Mutation { mutation_id: m.mutation_id, collection: m.collection, id: m.id, op, fields, base_seq: m.base_seq }
    }
}

impl From<sync_client::PendingWrite> for PendingWrite {
    fn from(w: sync_client::PendingWrite) -> Self {
        let state = match w.state {
            sync_client::WriteState::Pending => WriteState::Pending,
            sync_client::WriteState::Acknowledged { seq } => WriteState::Acknowledged { seq },
        };
        PendingWrite { mutation: w.mutation.into(), state }
    }
}

impl From<WriteEvent> for WriteOutcome {
    fn from(e: WriteEvent) -> Self {
        let status = match e.outcome {
            MutationOutcome::Applied { seq } => WriteStatus::Applied { seq },
            MutationOutcome::AlreadyApplied { seq } => WriteStatus::AlreadyApplied { seq },
            MutationOutcome::Rejected { code, message } => WriteStatus::Rejected { code, message },
        };
        WriteOutcome { integration_id: e.scope, mutation_id: e.mutation_id, collection: e.collection, id: e.id, status }
    }
}

#[uniffi::export]
impl SyncEngine {
    /// Writes a row locally at once (offline too: reads show it now) and queues it for the next push
    /// (`sync_all`, `sync_collection` and `follow` push). Fails with `InvalidWrite`, writing nothing, when the
    /// schema refuses it (an unknown or read-only collection, an unknown field, a wrong type).
    pub async fn mutate(&self, write: WriteInput) -> Result<Mutation, SeqsyncError> {
        let client = self.client()?;
        on_runtime(async move { Ok(client.mutate(write.try_into()?).await?.into()) }).await
    }

    /// The integration's local writes not settled yet, oldest first.
    pub async fn pending_writes(&self) -> Result<Vec<PendingWrite>, SeqsyncError> {
        let client = self.client()?;
        on_runtime(async move { Ok(client.pending_writes().await?.into_iter().map(PendingWrite::from).collect()) })
            .await
    }
}
