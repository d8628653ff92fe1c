//! Local writes: `mutate`, `pendingWrites`, and the outcome of each pushed write ([`WriteOutcome`]) for the
//! `onWrite` callback of `syncAll`, `syncCollection` and `follow`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use napi::Env;
use napi::Status;
use napi::bindgen_prelude::PromiseRaw;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use sync_client::{
    ErrorCode, LocalWrite, MutationOp, MutationOutcome, PendingWrite, WriteEvent, WriteListener, WriteState,
};

use crate::engine::NativeEngine;
use crate::error::Failure;

/// A local write as the app asks for it.
#[napi(object)]
pub struct WriteInput {
    /// A collection the schema marks writable.
    pub collection: String,
    /// The row's key.
    pub id: String,
    /// `insert` (the row with these fields, the others null), `update` (only these fields change) or `delete`.
    #[napi(ts_type = "'insert' | 'update' | 'delete'")]
    pub op: String,
    /// Column → value, as `listRows` returns them (timestamps as Unix ms); none for a delete.
    pub fields: Option<HashMap<String, serde_json::Value>>,
}

/// A local write as recorded in the outbox and pushed.
#[napi(object)]
pub struct Mutation {
    /// Its id: per replica file, only growing.
    pub mutation_id: f64,
    /// The collection.
    pub collection: String,
    /// The row's key.
    pub id: String,
    /// `insert`, `update` or `delete`.
    #[napi(ts_type = "'insert' | 'update' | 'delete'")]
    pub op: String,
    /// The fields written.
    pub fields: HashMap<String, serde_json::Value>,
    /// The row's seq in the replica when it was written; absent for a row the server has not sent.
    pub base_seq: Option<f64>,
}

/// A local write not settled yet.
#[napi(object)]
pub struct PendingWriteInfo {
    /// The mutation.
    pub mutation: Mutation,
    /// `pending` (not acknowledged: "sending…") or `acknowledged` (the server applied it: "sent").
    #[napi(ts_type = "'pending' | 'acknowledged'")]
    pub state: String,
    /// For an acknowledged write, the seq its change took on the server (an upper bound after a retried push).
    pub seq: Option<f64>,
}

/// What became of one pushed local write.
#[napi(object)]
pub struct WriteOutcome {
    /// The integration.
    pub integration_id: String,
    /// The mutation.
    pub mutation_id: f64,
    /// Its collection.
    pub collection: String,
    /// Its row.
    pub id: String,
    /// `applied` (now), `already_applied` (by an earlier push whose answer was lost) or `rejected` (rolled back:
    /// the row shows the server's version again).
    #[napi(ts_type = "'applied' | 'already_applied' | 'rejected'")]
    pub status: String,
    /// The seq the change took on the server; absent when it changed nothing or was rejected.
    pub seq: Option<f64>,
    /// Why it was rejected: a stable code (`not_found`, `deleted`, or the server's own, such as
    /// `conversation_missing`).
    pub code: Option<String>,
    /// Why it was rejected, for a person.
    pub message: Option<String>,
}

impl From<sync_client::Mutation> for Mutation {
    fn from(m: sync_client::Mutation) -> Self {
        Mutation {
            mutation_id: m.mutation_id as f64,
            collection: m.collection,
            id: m.id,
            op: op_name(m.op).to_owned(),
            fields: m.fields.into_iter().collect(),
            base_seq: m.base_seq.map(|s| s as f64),
        }
    }
}

impl From<PendingWrite> for PendingWriteInfo {
    fn from(w: PendingWrite) -> Self {
        let (state, seq) = match w.state {
            WriteState::Pending => ("pending", None),
            WriteState::Acknowledged { seq } => ("acknowledged", Some(seq as f64)),
        };
        PendingWriteInfo { mutation: w.mutation.into(), state: state.to_owned(), seq }
    }
}

impl From<WriteEvent> for WriteOutcome {
    fn from(e: WriteEvent) -> Self {
        let (status, seq, code, message) = match e.outcome {
            MutationOutcome::Applied { seq } => ("applied", seq, None, None),
            MutationOutcome::AlreadyApplied { seq } => ("already_applied", Some(seq), None, None),
            MutationOutcome::Rejected { code, message } => ("rejected", None, Some(code), Some(message)),
        };
        WriteOutcome {
            integration_id: e.scope,
            mutation_id: e.mutation_id as f64,
            collection: e.collection,
            id: e.id,
            status: status.to_owned(),
            seq: seq.map(|s| s as f64),
            code,
            message,
        }
    }
}

fn op_name(op: MutationOp) -> &'static str {
    match op {
        MutationOp::Insert => "insert",
        MutationOp::Update => "update",
        MutationOp::Delete => "delete",
    }
}

/// The app's write as the client takes it; an unknown `op` is `invalid_write`.
fn local_write(input: WriteInput) -> Result<LocalWrite, Failure> {
    let op = match input.op.as_str() {
        "insert" => MutationOp::Insert,
        "update" => MutationOp::Update,
        "delete" => MutationOp::Delete,
        other => {
            let message = format!("`op` must be 'insert', 'update' or 'delete', not {other:?}");
            return Err(Failure::new(ErrorCode::InvalidWrite, message));
        }
    };
    let fields: BTreeMap<_, _> =
        input.fields.unwrap_or_default().into_iter().map(|(name, value)| (name, whole_number(value))).collect();
    Ok(LocalWrite { collection: input.collection, id: input.id, op, fields })
}

/// JavaScript has one number type, and napi hands every number over as a float: a whole one becomes an integer
/// again, as an integer or timestamp column wants it (a real column takes either).
fn whole_number(value: serde_json::Value) -> serde_json::Value {
    match value.as_f64() {
        Some(f) if value.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15 => serde_json::Value::from(f as i64),
        _ => value,
    }
}

/// The write callback: called with one outcome, its result ignored.
pub(crate) type WriteCallback = ThreadsafeFunction<WriteOutcome, (), WriteOutcome, Status, false>;

/// The client's write listener over a JavaScript callback, called non-blocking on the event loop.
pub(crate) fn write_listener(callback: Option<WriteCallback>) -> Option<WriteListener> {
    callback.map(|callback| {
        Arc::new(move |event: WriteEvent| {
            callback.call(WriteOutcome::from(event), ThreadsafeFunctionCallMode::NonBlocking);
        }) as WriteListener
    })
}

#[napi]
impl NativeEngine {
    /// Writes a row locally at once (offline too: the replica shows it now) and queues it for the next push
    /// (`syncAll` and `follow` push). Rejects with `invalid_write`, writing nothing, when the schema refuses it.
    #[napi(ts_return_type = "Promise<Mutation>")]
    pub fn mutate<'env>(&self, env: &'env Env, write: WriteInput) -> napi::Result<PromiseRaw<'env, Mutation>> {
        self.run(env, move |client| async move { Ok(client.mutate(local_write(write)?).await?) }, |m| Ok(m.into()))
    }

    /// The integration's local writes not settled yet, oldest first.
    #[napi(ts_return_type = "Promise<PendingWriteInfo[]>")]
    pub fn pending_writes<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, Vec<PendingWriteInfo>>> {
        self.run(
            env,
            |client| async move { Ok(client.pending_writes().await?) },
            |writes| Ok(writes.into_iter().map(PendingWriteInfo::from).collect()),
        )
    }
}
