//! `follow`: the engine's live loop, with each committed change passed to a foreign [`ChangeListener`] (the twin
//! of the Node addon's `follow({ onChange, signal, waitMs })`).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use sync_core::live::{ChangeEvent, FollowOptions};
use tokio::sync::broadcast::error::RecvError;

use crate::engine::{CancelHandle, SyncEngine};
use crate::error::SeqsyncError;
use crate::on_runtime;

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

/// Calls `listener` with `change` on a blocking thread, so a slow listener never holds up the runtime's workers
/// (the engine's fetcher and writer). A listener that throws (a panic on this side) is caught here and reported
/// on stderr by the panic hook; unlike a sync's progress listener it is called again on the next change: the
/// stream lasts as long as the app, and one bad event must not silence its UI.
async fn deliver(listener: &Arc<dyn ChangeListener>, change: RowChanges) {
    let listener = listener.clone();
    let call = tokio::task::spawn_blocking(move || catch_unwind(AssertUnwindSafe(|| listener.on_change(change))));
    // Both failures (the listener threw; the call's thread ended) are the listener's, never the loop's.
    let _ = call.await;
}

#[uniffi::export]
impl SyncEngine {
    /// Keeps the database following the server until `cancel` is cancelled, `shutdown()` is called, or the awaiting
    /// side drops the call (a cancelled coroutine or task): syncs, long-polls for changes (each long-poll waits at
    /// most `wait_ms`, default 25,000), syncs again, reconnecting with backoff and resuming from the cursors.
    /// `listener` is called after each local transaction that changed rows. Returns when cancelled; fails on what
    /// retrying cannot fix (a rejected token, a database failure).
    #[uniffi::method(default(listener = None, cancel = None, wait_ms = None))]
    pub async fn follow(
        &self,
        listener: Option<Arc<dyn ChangeListener>>,
        cancel: Option<Arc<CancelHandle>>,
        wait_ms: Option<u32>,
    ) -> Result<(), SeqsyncError> {
        let inner = self.inner()?;
        let cancel = cancel.map_or_else(|| inner.closed.child_token(), |c| c.token.child_token());
        // Dropping this call's future (the foreign side gave up on it) stops the loop, which runs in its own task.
        let _stop_on_drop = cancel.clone().drop_guard();
        on_runtime(async move {
            // Keys are collected only while someone listens (see `NotifyingStore`): no listener, no subscription.
            let forwarder = listener.map(|listener| {
                let mut events = inner.changes.subscribe();
                tokio::spawn(async move {
                    loop {
                        match events.recv().await {
                            Ok(event) => deliver(&listener, RowChanges::from(event)).await,
                            // The backlog overflowed: later events still come; a UI re-reads what it shows.
                            Err(RecvError::Lagged(_)) => {}
                            Err(RecvError::Closed) => break,
                        }
                    }
                })
            });
            let mut options = FollowOptions { cancel, ..Default::default() };
            if let Some(ms) = wait_ms {
                options.wait = Duration::from_millis(ms.into());
            }
            let result = inner.engine.follow(&inner.scope, options).await;
            if let Some(forwarder) = forwarder {
                forwarder.abort();
            }
            Ok(result?)
        })
        .await
    }
}
