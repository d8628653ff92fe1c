//! Local writes: [`Client::mutate`], [`Client::pending_writes`], and the outcome of each pushed write
//! ([`Client::with_write_events`]), for a "sending… / sent / failed" display.

use std::future::Future;

use sync_core::outbox::{LocalWrite, PendingWrite};
use sync_core::{Mutation, WriteEvent};

use crate::forward::{Forwarder, Listener};
use crate::{Client, Error};

/// Called with the outcome of each pushed local write (acknowledged with the server's seq, or rejected with a code
/// and message and rolled back), in push order, on a blocking thread; one that panics is called again on the next.
pub type WriteListener = Listener<WriteEvent>;

impl Client {
    /// Writes a row of the integration locally at once (offline too) and queues it for the next push
    /// ([`sync_core::SyncEngine::mutate`]); `sync` and `follow` push it. `invalid_write` when the schema refuses
    /// it (an unknown or read-only collection, an unknown field, a wrong type), and nothing is written.
    pub async fn mutate(&self, write: LocalWrite) -> Result<Mutation, Error> {
        Ok(self.engine.mutate(self.scope(), write).await?)
    }

    /// The integration's local writes not settled yet, oldest first: pending ("sending…") or acknowledged
    /// ("sent", until the pull brings the server's version back).
    pub async fn pending_writes(&self) -> Result<Vec<PendingWrite>, Error> {
        Ok(self.engine.pending_writes(self.scope()).await?)
    }

    /// Runs `work` (a `sync` or `follow` of this client), calling `listener`, when given, with the outcome of every
    /// write pushed meanwhile (by any call of this client); returns after the listener has had the last of them.
    pub async fn with_write_events<T>(&self, listener: Option<WriteListener>, work: impl Future<Output = T>) -> T {
        let forwarder = listener.map(|listener| Forwarder::start(self.engine.write_events(), listener));
        let result = work.await;
        if let Some(forwarder) = forwarder {
            forwarder.finish().await;
        }
        result
    }
}
