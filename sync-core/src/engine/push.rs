//! Local writes through the engine: [`SyncEngine::mutate`] (optimistic, into the store's outbox),
//! [`SyncEngine::push`] (the outbox to the server, in mutation id order), and the settling of acknowledged writes
//! after a pull. The pull loop itself knows nothing of writes: `sync` pushes, pulls, then settles.

use tokio::sync::{Mutex, broadcast, watch};
use tokio_util::sync::CancellationToken;

use super::{SyncEngine, SyncOptions};
use crate::error::{FeedError, StoreError, SyncError, TransportError};
use crate::mutation::{Mutation, MutationOutcome, PushRequest, PushResponse};
use crate::outbox::{LocalWrite, PendingWrite, WriteState};
use crate::progress::SyncReport;
use crate::schema::Schema;

/// Mutations per push request, below the server's maximum ([`crate::MAX_PUSH_MUTATIONS`]).
pub const PUSH_BATCH: usize = 500;

/// Bytes of mutations per push request, well below the server's maximum body ([`crate::MAX_PUSH_BYTES`]).
const PUSH_BATCH_BYTES: usize = crate::MAX_PUSH_BYTES / 2;

/// Write events kept for a listener that has not read them yet.
const EVENT_BACKLOG: usize = 4096;

/// What became of one pushed local write, told to [`SyncEngine::write_events`] listeners after the store
/// recorded it.
#[derive(Clone, Debug, PartialEq)]
pub struct WriteEvent {
    /// The integration.
    pub scope: String,
    /// The mutation.
    pub mutation_id: u64,
    /// Its collection.
    pub collection: String,
    /// Its row.
    pub id: String,
    /// Applied (with its seq), already applied by an earlier push, or rejected (with a code and message; the
    /// row was rolled back to the server's version and the other pending writes).
    pub outcome: MutationOutcome,
}

/// What one [`SyncEngine::push`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PushReport {
    /// Mutations sent and answered.
    pub pushed: u64,
    /// Of those, applied now or by an earlier push.
    pub applied: u64,
    /// Of those, rejected (rolled back locally).
    pub rejected: u64,
    /// Requests made.
    pub requests: u64,
}

/// The engine's write state: one push at a time, the event channel, and a counter of local writes that wakes
/// the live loop.
pub(super) struct Writes {
    pushing: Mutex<()>,
    events: broadcast::Sender<WriteEvent>,
    written: watch::Sender<u64>,
}

impl Default for Writes {
    fn default() -> Self {
        Writes { pushing: Mutex::new(()), events: broadcast::channel(EVENT_BACKLOG).0, written: watch::channel(0).0 }
    }
}

/// The server's checks ([`crate::check_mutation`]), before the write touches the replica: a write the server
/// would refuse as a whole is refused here, at once and offline.
fn check(schema: &Schema, write: &LocalWrite) -> Result<(), StoreError> {
    let mutation = Mutation {
        mutation_id: 0,
        collection: write.collection.clone(),
        id: write.id.clone(),
        op: write.op,
        fields: write.fields.clone(),
        base_seq: None,
    };
    match crate::check_mutation(schema, &mutation) {
        Ok(_) => Ok(()),
        // Its message names "mutation 0": this one has no id yet.
        Err(FeedError::InvalidPush { message, .. }) => {
            Err(StoreError::InvalidWrite(message.replacen("mutation 0 (", "(", 1)))
        }
        Err(other) => Err(StoreError::InvalidWrite(other.to_string())),
    }
}

impl SyncEngine {
    /// Writes a row locally: the replica shows it at once, and the mutation waits in the outbox (same
    /// transaction) until a push delivers it. Works offline. The collection must be writable in the schema (the
    /// configured one, the one the store was prepared with, or else the server's, fetched once); a write that
    /// does not fit is [`StoreError::InvalidWrite`] and changes nothing.
    pub async fn mutate(&self, scope: &str, write: LocalWrite) -> Result<Mutation, SyncError> {
        let schema = match (self.schema.get(), &self.config.schema) {
            (Some(schema), _) => schema.clone(),
            // Configured: preparing the store needs no network.
            (None, Some(_)) => self.schema(&CancellationToken::new()).await?.clone(),
            // Offline after a restart: the schema the store was prepared with has the tables.
            (None, None) => match self.store.saved_schema().await? {
                Some(schema) => schema,
                None => self.schema(&CancellationToken::new()).await?.clone(),
            },
        };
        check(&schema, &write)?;
        let mutation = self.store.mutate(scope, write).await?;
        self.writes.written.send_modify(|n| *n += 1);
        Ok(mutation)
    }

    /// Every local write of `scope` not settled yet, oldest first: pending ("sending…") or acknowledged ("sent",
    /// until the pull brings it back).
    pub async fn pending_writes(&self, scope: &str) -> Result<Vec<PendingWrite>, SyncError> {
        Ok(self.store.pending_writes(scope).await?)
    }

    /// A receiver of the outcome of every pushed write from now on.
    pub fn write_events(&self) -> broadcast::Receiver<WriteEvent> {
        self.writes.events.subscribe()
    }

    /// A receiver that changes after each local write (the live loop pushes on it).
    pub(crate) fn local_writes(&self) -> watch::Receiver<u64> {
        self.writes.written.subscribe()
    }

    /// Pushes the outbox of `scope` until it is empty, [`PUSH_BATCH`] mutations per request, each request
    /// retried like a page request (the server applies each mutation at most once, so a retry after a lost
    /// answer is safe). One push runs at a time. Writes made while it runs are pushed too.
    pub async fn push(&self, scope: &str, cancel: &CancellationToken) -> Result<PushReport, SyncError> {
        let _one_at_a_time = self.writes.pushing.lock().await;
        let mut report = PushReport::default();
        let client_id = match self.store.client_id().await {
            Err(StoreError::WritesUnsupported) => return Ok(report),
            other => other?,
        };
        loop {
            let mut mutations = self.store.outbox(scope, PUSH_BATCH).await?;
            if mutations.is_empty() {
                return Ok(report);
            }
            keep_under_bytes(&mut mutations);
            let request = PushRequest { client_id: client_id.clone(), mutations };
            let what = format!("POST /sync/push/{scope}");
            let response = self.with_retry(&what, cancel, || self.transport.push(scope, &request)).await?;
            check_answer(&request, &response).map_err(|cause| SyncError::Transport { what, cause })?;
            self.store.acknowledge(scope, &response.results).await?;
            report.requests += 1;
            for (mutation, result) in request.mutations.into_iter().zip(response.results) {
                report.pushed += 1;
                match result.outcome {
                    MutationOutcome::Rejected { .. } => report.rejected += 1,
                    _ => report.applied += 1,
                }
                let event = WriteEvent {
                    scope: scope.to_owned(),
                    mutation_id: mutation.mutation_id,
                    collection: mutation.collection,
                    id: mutation.id,
                    outcome: result.outcome,
                };
                // No listener: nothing to tell.
                let _ = self.writes.events.send(event);
            }
        }
    }

    /// Push, pull, settle: what [`SyncEngine::sync`] does.
    pub(super) async fn push_pull(&self, scope: &str, options: SyncOptions) -> Result<SyncReport, SyncError> {
        self.push(scope, &options.cancel).await?;
        // Everything acknowledged so far committed before the pull below reads the status, so a complete pull
        // brings it back: then the server's versions include it, and it leaves the outbox.
        let acked = match self.store.pending_writes(scope).await {
            Err(StoreError::WritesUnsupported) => Vec::new(),
            other => other?,
        };
        let through = acked
            .iter()
            .filter(|w| matches!(w.state, WriteState::Acknowledged { .. }))
            .map(|w| w.mutation.mutation_id)
            .max();
        let complete = options.collections.is_none();
        let report = self.pull(scope, options).await?;
        if let (Some(through), true) = (through, complete) {
            self.store.settle(scope, through).await?;
        }
        Ok(report)
    }
}

/// Shortens a batch to the mutations that fit in [`PUSH_BATCH_BYTES`] of JSON (at least one).
fn keep_under_bytes(mutations: &mut Vec<Mutation>) {
    let mut bytes = 0;
    let fits = mutations
        .iter()
        .take_while(|m| {
            bytes += serde_json::to_vec(m).map_or(0, |json| json.len()) + 1;
            bytes <= PUSH_BATCH_BYTES
        })
        .count();
    mutations.truncate(fits.max(1));
}

/// The answer must have one result per mutation, in order: anything else would leave the outbox unsure.
fn check_answer(request: &PushRequest, response: &PushResponse) -> Result<(), TransportError> {
    let sent = request.mutations.iter().map(|m| m.mutation_id);
    let answered = response.results.iter().map(|r| r.mutation_id);
    if sent.eq(answered) {
        Ok(())
    } else {
        Err(TransportError::Protocol(format!(
            "the push's answer has {} results that do not match the {} mutations sent",
            response.results.len(),
            request.mutations.len()
        )))
    }
}
