//! `follow`: the engine's live loop, with each committed change passed to a JavaScript callback.

use std::time::Duration;

use napi::bindgen_prelude::PromiseRaw;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Status};
use napi_derive::napi;
use sync_core::live::{ChangeEvent, FollowOptions};
use tokio::sync::broadcast::error::RecvError;

use crate::cancel::CancelToken;
use crate::engine::NativeEngine;

/// What one committed local transaction changed.
#[napi(object)]
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

/// The change callback: called with one event, its result ignored.
type ChangeCallback = ThreadsafeFunction<RowChanges, (), RowChanges, Status, false>;

#[napi]
impl NativeEngine {
    /// Keeps the database following the server until `cancel` (or `close()`): syncs, long-polls for changes,
    /// syncs again, reconnecting with backoff. `onChange` is called (non-blocking, on the event loop) after each
    /// local transaction that changed rows. Resolves when cancelled; rejects on what retrying cannot fix (a
    /// rejected token, a database failure).
    #[napi(ts_return_type = "Promise<void>")]
    pub fn follow<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "((change: RowChanges) => void) | undefined | null")] on_change: Option<ChangeCallback>,
        cancel: Option<&CancelToken>,
        wait_ms: Option<u32>,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let token = cancel.map(|c| c.inner.clone());
        self.run(
            env,
            move |inner| async move {
                let cancel = token.unwrap_or_else(|| inner.closed.child_token());
                let mut events = inner.changes.subscribe();
                let forwarder = tokio::spawn(async move {
                    loop {
                        match events.recv().await {
                            Ok(event) => {
                                if let Some(callback) = &on_change {
                                    callback.call(RowChanges::from(event), ThreadsafeFunctionCallMode::NonBlocking);
                                }
                            }
                            // The backlog overflowed: later events still come; a UI re-reads what it shows.
                            Err(RecvError::Lagged(_)) => {}
                            Err(RecvError::Closed) => break,
                        }
                    }
                });
                let mut options = FollowOptions { cancel, ..Default::default() };
                if let Some(ms) = wait_ms {
                    options.wait = Duration::from_millis(ms.into());
                }
                let result = inner.engine.follow(&inner.scope, options).await;
                forwarder.abort();
                Ok(result?)
            },
            Ok,
        )
    }
}
