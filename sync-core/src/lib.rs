//! The core of a seq-cursor sync engine: it keeps a client store an exact, crash-safe replica of what a server
//! holds, pulling changes page by page in the order of a server-assigned `seq`.
//!
//! This crate does no I/O. It defines the protocol types, the collection schema, the traits that storage and
//! transport implement, the page codec and its validation, and the sync loop (pipelined fetch and apply,
//! retries with backoff, timeouts, progress, cancellation). Tokio is used for timers and channels only.
//!
//! # Layout
//! - `schema.rs`: [`Schema`], [`Collection`], [`Column`]: declared once, serialisable.
//! - `value.rs`: [`Value`], [`Row`], [`Change`].
//! - `page.rs`: [`PageRequest`], [`Page`], [`FeedPage`], [`ScopeStatus`], [`CursorState`], [`StoreStats`].
//! - `mutation.rs`: [`Mutation`], [`PushRequest`], [`PushResponse`]: client writes on the wire.
//! - `push/`: client writes on the server: [`check_push`], the conflict policy [`apply_push`] over a store's
//!   [`PushTx`], and the [`PushHook`] a service plugs in.
//! - `outbox.rs`: local writes in a client store: [`outbox::LocalWrite`], the overlay of pending mutations.
//! - `wire.rs`: the page codec of wire protocol v1 and the checks of PROTOCOL.md invariant 7.
//! - `transport.rs`, `store.rs`, `feed.rs`: the [`Transport`], [`ClientStore`], [`ChangeFeed`] and
//!   [`ServerStore`] traits and their contracts.
//! - `engine.rs`: [`SyncEngine`]; `config.rs`: [`SyncConfig`]; `progress.rs`: [`Progress`], [`SyncReport`].
//! - `verify.rs`: row-for-row comparison of a client with a server.
//! - `watch.rs`: [`watch::SeqWatch`], the server's wakeups of live requests.
//! - `live/`: the client's live updates: [`SyncEngine::follow`] (the client's live loop),
//!   [`live::NotifyingStore`] (a change stream for UIs).
//! - `memory/`: in-memory store, feed and transport.
//! - `testing/` (feature `testing`): conformance suites every store runs, and fault-injecting helpers.
//! - `error.rs`: one error type per concern, each with a stable `code()` ([`ErrorCode`], `code.rs`) where a user
//!   sees it.
//!
//! # Example
//! ```
//! # use std::sync::Arc;
//! use sync_core::memory::{FeedTransport, MemoryFeed, MemoryStore};
//! use sync_core::{Collection, Column, ColumnType, Schema, ServerStore, SyncConfig, SyncEngine, Value, Write};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let schema = Schema::new(vec![Collection::new("notes", vec![Column::new("body", ColumnType::Text)])]).unwrap();
//! let server = Arc::new(MemoryFeed::new(schema.clone()));
//! let write = Write::Upsert { collection: "notes".into(), id: "n1".into(), values: vec![Value::from("hi")] };
//! server.write("team-1", vec![write]).await.unwrap();
//!
//! let client = Arc::new(MemoryStore::new());
//! let engine = SyncEngine::new(client.clone(), Arc::new(FeedTransport::new(server)), SyncConfig::default());
//! let report = engine.sync("team-1", Default::default()).await.unwrap();
//! assert_eq!(report.rows(), 1);
//! # }
//! ```
// Every public item is documented: the crates are published, and `cargo doc` is their manual.
#![deny(missing_docs)]

mod code;
mod config;
mod engine;
mod error;
mod feed;
mod filter;
pub mod live;
pub mod memory;
mod mutation;
pub mod outbox;
mod page;
mod progress;
mod push;
mod schema;
mod store;
pub mod subscription;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod transport;
mod value;
mod verify;
pub mod watch;
pub mod wire;

pub use code::ErrorCode;
pub use config::SyncConfig;
pub use engine::{
    PUSH_BATCH, Priorities, PushReport, RecentEvent, RecentFirstOptions, RecentFn, SyncEngine, SyncOptions, WriteEvent,
};
pub use error::{FeedError, PageError, SchemaError, StoreError, SyncError, TransportError};
pub use feed::{ChangeFeed, FilteredRead, ServerStore, Write, WriteReceipt, check_write};
pub use filter::{
    DEFAULT_HEAD_ROWS, HeadRead, MAX_FILTER_VALUES, MAX_HEAD_PER_VALUE, check_filter, check_head, merge_filtered,
};
pub use mutation::{Mutation, MutationOp, MutationOutcome, MutationResult, PushRequest, PushResponse};
pub use page::{
    ApplyOutcome, CollectionStatus, CursorState, FeedPage, Page, PageRequest, ScopeStatus, StoreStats, StoredRow,
};
pub use progress::{CollectionReport, Progress, ProgressFn, Stage, SyncReport};
pub use push::{
    CheckedMutation, MAX_PUSH_BYTES, MAX_PUSH_MUTATIONS, PushHook, PushTx, RowReader, RowState, Verdict, apply_push,
    check_mutation, check_push,
};
pub use schema::{Collection, Column, ColumnType, DEFAULT_PAGE_SIZE, Index, RESERVED_COLUMNS, Schema};
pub use store::ClientStore;
pub use subscription::{SubscribedValue, Subscription, SubscriptionChange};
pub use tokio_util::sync::CancellationToken;
pub use transport::Transport;
pub use value::{Change, Row, Value};
pub use verify::{Verification, same_values, verify_scope, verify_subset};
