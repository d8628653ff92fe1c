//! The uniffi bindings of the sync engine: one cdylib from which `uniffi-bindgen` generates Kotlin (Android),
//! Swift (iOS) and Python, in library mode.
//!
//! A thin layer, the twin of `bindings-node`: every method forwards to a [`sync_client::Client`] and converts
//! values and errors; no sync logic lives here. Async methods run on the binding's
//! own tokio runtime (see the `runtime` module), so the foreign side's executor (asyncio, Kotlin coroutines, Swift
//! concurrency) only awaits a handle and never drives the engine. Failures are one flat [`SeqsyncError`] whose
//! variants are the Node addon's error codes.
//!
//! No panic crosses the boundary: async work runs in a tokio task, whose panic becomes
//! [`SeqsyncError::Internal`]; a panicking progress, change or write listener (a foreign exception) is caught where it
//! is called; the synchronous methods cannot panic (they only clone handles and cancel tokens).
//!
//! # Layout
//! - `engine.rs`: [`SyncEngine`] (`open_engine`, syncs, stats, state, reset, reads, shutdown) and [`CancelHandle`].
//! - `live.rs`: `SyncEngine::follow`, the live loop, and [`ChangeListener`], what the foreign side implements to
//!   see each committed change ([`RowChanges`]).
//! - `writes.rs`: `SyncEngine::mutate`, `SyncEngine::pending_writes`, and [`WriteListener`], what the foreign side
//!   implements to hear the outcome of each pushed write ([`WriteOutcome`]).
//! - `media.rs`: the media download calls (`SyncEngine::media_download`, pause, resume, cancel, prioritize,
//!   items, totals) and [`MediaListener`], what the foreign side implements to see [`MediaEvent`]s.
//! - `subscribe.rs`: subscriptions (subscribe, unsubscribe, archive, unarchive) and `sync_recent_first` with a
//!   [`RecentFirstListener`] of its readiness events, `prioritize`.
//! - `types.rs`: the records the foreign side sees, and their conversions from the core's types.
//! - `error.rs`: [`SeqsyncError`] and the conversions into it.

mod engine;
mod error;
mod live;
mod media;
mod subscribe;
mod types;
mod writes;

use std::future::Future;
use std::sync::OnceLock;

pub use engine::{CancelHandle, ProgressListener, SyncEngine, open_engine};
pub use error::SeqsyncError;
pub use live::{ChangeListener, RowChanges};
pub use media::{AutoDownloadRule, MediaEvent, MediaItem, MediaListener, MediaSettings, MediaState, MediaTotals};
pub use subscribe::{RecentFirstEvent, RecentFirstListener, SubscribedValue, SubscriptionInfo};
pub use types::{
    CollectionState, CollectionSyncReport, DatabaseStats, ListRowsOptions, OpenOptions, QueryRows, Row, SqlValue,
    SyncProgress, SyncResult,
};
pub use writes::{Mutation, PendingWrite, WriteInput, WriteListener, WriteOp, WriteOutcome, WriteState, WriteStatus};

uniffi::setup_scaffolding!("seqsync");

/// The binding's tokio runtime, started on first use and kept for the life of the process (like the Node addon's).
/// Two worker threads: the engine's fetcher and writer futures, and the store's own threads do the heavy work.
fn runtime() -> Result<&'static tokio::runtime::Runtime, SeqsyncError> {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    if let Some(runtime) = RUNTIME.get() {
        return Ok(runtime);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("seqsync")
        .enable_all()
        .build()
        .map_err(|e| SeqsyncError::Internal(format!("could not start the binding's tokio runtime: {e}")))?;
    // A concurrent first call may have won; its runtime is kept and this one dropped.
    Ok(RUNTIME.get_or_init(|| runtime))
}

/// Runs `work` on the binding's runtime and awaits it from whatever executor polls the returned future; a panic
/// in `work` ends as [`SeqsyncError::Internal`] instead of crossing the boundary.
async fn on_runtime<T, F>(work: F) -> Result<T, SeqsyncError>
where
    F: Future<Output = Result<T, SeqsyncError>> + Send + 'static,
    T: Send + 'static,
{
    runtime()?.spawn(work).await.map_err(sync_client::Error::from)?
}
