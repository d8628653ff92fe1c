//! The Node-API addon behind the npm package `@seqsync/node`: the sync engine over an SQLite file and an HTTP
//! server, for Electron's main process and Node.
//!
//! A thin layer: every method forwards to a [`sync_client::Client`] and converts values and errors; no sync logic
//! lives here. Work runs on the addon's tokio runtime and the store's own threads (the writer,
//! and a reader for the UI's reads), never on the JavaScript thread, so the event loop keeps running while a large
//! sync writes. Every method returns a Promise; failures reject with an `Error` whose `code` is stable (see
//! `error.rs`) and whose message says what went wrong and what to do.
//!
//! The package's `sync.js` wraps this addon in the public class (options objects, `AbortSignal`).
//!
//! # Layout
//! - `engine.rs`: [`NativeEngine`], the class wrapping `Option<Arc<Client>>` with `close()`.
//! - `live.rs`: `follow`, the live loop, with a callback per committed change ([`live::RowChanges`]).
//! - `writes.rs`: `mutate`, `pendingWrites`, and [`WriteOutcome`]s for the `onWrite` callbacks.
//! - `media.rs`: `mediaConfigure`, `mediaDownload`, `mediaControl`, ... and their [`MediaItem`]s and
//!   [`MediaEvent`]s (`engine.media.*` in `sync.js`).
//! - `subscribe.rs`: subscriptions (subscribe, unsubscribe, archive, unarchive) and `syncRecentFirst` with its
//!   readiness events ([`RecentFirstEvent`]), `prioritize`.
//! - `cancel.rs`: [`CancelToken`], what an `AbortSignal` cancels.
//! - `types.rs`: the `#[napi(object)]` options and results, and their conversions from the core's types.
//! - `values.rs`: JSON values of JavaScript to and from [`sync_core::Value`].
//! - `error.rs`: failures as JavaScript errors with a `code`, and the Promise helper that rejects with them.

// Exports are registered with Node when the addon loads; a test build has no JavaScript caller, so its
// compiler sees them as unused.
#![cfg_attr(test, allow(dead_code))]

mod cancel;
mod engine;
mod error;
mod live;
mod media;
mod subscribe;
mod types;
mod values;
mod writes;

pub use cancel::CancelToken;
pub use engine::NativeEngine;
pub use live::RowChanges;
pub use media::{AutoDownloadRule, JsMediaSettings, MediaEvent, MediaItem, MediaTotals};
pub use subscribe::{RecentFirstEvent, SubscribedValue, SubscriptionInfo};
pub use writes::{Mutation, PendingWriteInfo, WriteInput, WriteOutcome};
