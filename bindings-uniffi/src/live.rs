//! `follow`: the engine's live loop, with each committed change passed to a foreign [`ChangeListener`] (the twin
//! of the Node addon's `follow({ onChange, signal, waitMs })`).

use std::sync::Arc;
use std::time::Duration;

use sync_core::live::ChangeEvent;

use crate::engine::{CancelHandle, SyncEngine};
use crate::error::SeqsyncError;
use crate::on_runtime;
use crate::writes::{WriteListener, write_listener};

/// What one committed local transaction changed.
#[derive(uniffi::Record, Clone, Debug, PartialEq)]
pub struct RowChanges {
    /// The integration.
    pub integration_id: String,
    /// The collection; absent when the whole integration was reset (a re-sync from scratch follows).
    pub collection: Option<String>,
    /// Keys inserted or updated.
    pub upserted: Vec<String>,
    /// Keys deleted.
    pub deleted: Vec<String>,
    /// The collection's cursor after the transaction.
    pub cursor: i64,
}

impl From<ChangeEvent> for RowChanges {
    fn from(e: ChangeEvent) -> Self {
        RowChanges {
            integration_id: e.scope,
            collection: e.collection,
            upserted: e.upserted,
            deleted: e.deleted,
            cursor: e.cursor,
        }
    }
}

/// Receives what each local transaction of `follow` changed, after it committed (a read on the call sees it), in
/// commit order, on one of the binding's threads (not the caller's): hand it to the UI thread as the platform
/// wants.
#[uniffi::export(foreign)]
pub trait ChangeListener: Send + Sync {
    /// One committed change.
    fn on_change(&self, change: RowChanges);
}

#[uniffi::export]
impl SyncEngine {
    /// Keeps the database following the server until `cancel` is cancelled, `shutdown()` is called, or the awaiting
    /// side drops the call (a cancelled coroutine or task): syncs, long-polls for changes (each long-poll waits at
    /// most `wait_ms`, default 25,000), syncs again, reconnecting with backoff and resuming from the cursors.
    /// `listener` is called after each local transaction that changed rows (local writes included), on a blocking
    /// thread; one that throws is called again on the next change. Local writes are pushed within a few ms, and
    /// `writes` hears the outcome of each. Returns when cancelled; fails on what retrying cannot fix (a rejected
    /// token, a database failure).
    #[uniffi::method(default(listener = None, cancel = None, wait_ms = None, writes = None))]
    pub async fn follow(
        &self,
        listener: Option<Arc<dyn ChangeListener>>,
        cancel: Option<Arc<CancelHandle>>,
        wait_ms: Option<u32>,
        writes: Option<Arc<dyn WriteListener>>,
    ) -> Result<(), SeqsyncError> {
        let writes = write_listener(writes);
        let client = self.client()?;
        let cancel = cancel.map_or_else(|| client.cancel_token(), |c| c.token.child_token());
        // Dropping this call's future (the foreign side gave up on it) stops the loop, which runs in its own task.
        let _stop_on_drop = cancel.clone().drop_guard();
        let listener = listener.map(|listener| {
            Arc::new(move |event: ChangeEvent| listener.on_change(RowChanges::from(event)))
                as sync_client::ChangeListener
        });
        let wait = wait_ms.map(|ms| Duration::from_millis(ms.into()));
        on_runtime(
            async move { Ok(client.with_write_events(writes, client.follow(listener, Some(cancel), wait)).await?) },
        )
        .await
    }
}
