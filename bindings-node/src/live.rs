//! `follow`: the engine's live loop, with each committed change passed to a JavaScript callback.

use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::PromiseRaw;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Status};
use napi_derive::napi;
use sync_client::ChangeListener;
use sync_core::live::ChangeEvent;

use crate::cancel::CancelToken;
use crate::engine::NativeEngine;
use crate::writes::{WriteCallback, write_listener};

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
    /// local transaction that changed rows (local writes included), and `onWrite` with the outcome of each local
    /// write it pushes (within a few ms of the write). Resolves when cancelled; rejects on what retrying cannot fix (a
    /// rejected token, a database failure).
    #[napi(ts_return_type = "Promise<void>")]
    pub fn follow<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "((change: RowChanges) => void) | undefined | null")] on_change: Option<ChangeCallback>,
        cancel: Option<&CancelToken>,
        wait_ms: Option<u32>,
        #[napi(ts_arg_type = "((outcome: WriteOutcome) => void) | undefined | null")] on_write: Option<WriteCallback>,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let writes = write_listener(on_write);
        let cancel = cancel.map(|c| c.inner.clone());
        let listener = on_change.map(|callback| {
            Arc::new(move |event: ChangeEvent| {
                callback.call(RowChanges::from(event), ThreadsafeFunctionCallMode::NonBlocking);
            }) as ChangeListener
        });
        let wait = wait_ms.map(|ms| Duration::from_millis(ms.into()));
        self.run(
            env,
            move |client| async move { Ok(client.with_write_events(writes, client.follow(listener, cancel, wait)).await?) },
            Ok,
        )
    }
}
