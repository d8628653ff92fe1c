//! SQLite stores for the sync engine: [`SqliteStore`], the client replica, and [`SqliteServerStore`], the
//! embedded server's source of truth.
//!
//! Both keep one thread that owns the write connection and runs every write as one transaction (`BEGIN
//! IMMEDIATE`), so async callers never run rusqlite on a runtime thread, and a page (client) or a batch of
//! writes (server) lands whole or not at all. Files are in WAL mode, so readers run while writes go on.
//!
//! # Layout
//! - `client/mod.rs`: [`SqliteStore`] and its [`ClientStore`](sync_core::ClientStore) impl;
//!   `client/db.rs`: what runs on its thread (prepare, apply a page, cursors, reads, stats);
//!   `client/read.rs`: the reader thread for an app's UI ([`ListRows`], read-only [`QueryResult`] queries);
//!   `client/search.rs`: full-text search on it ([`SearchOptions`], [`SearchHit`]).
//! - `server/mod.rs`: [`SqliteServerStore`] and its [`ChangeFeed`](sync_core::ChangeFeed) and
//!   [`ServerStore`](sync_core::ServerStore) impls; `server/write.rs`: write batches, seqs, cascades and counters
//!   on the writer thread; `server/read.rs`: pages, status and rows on reader threads.
//! - `sql/`: every SQL text, generated from the schema with sea-query or constant; `sql/fts.rs`: the FTS5 index
//!   of a collection's full-text columns and the triggers that keep it current.
//! - `tables.rs`: making existing tables fit a schema (create, add nullable columns, refuse the rest).
//! - `convert.rs`: [`Value`](sync_core::Value) to and from SQLite, typed by column.
//! - `writer.rs`: the database thread and its job channel, shared by both stores.
//! - `connection.rs`: opening connections (WAL, `synchronous = NORMAL`, busy timeout).
//! - `migrations.rs`: the engine's own numbered migrations, from `migrations/client/` and `migrations/server/`.
//! - `error.rs`: [`Error`], what can go wrong when opening a store.
//!
//! # Example
//! ```
//! # use std::sync::Arc;
//! use sync_core::memory::FeedTransport;
//! use sync_core::{ClientStore, Collection, Column, ColumnType, Schema, ServerStore, SyncConfig, SyncEngine, Value, Write};
//! use sync_sqlite::{SqliteServerStore, SqliteStore};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! let schema = Schema::new(vec![Collection::new("notes", vec![Column::new("body", ColumnType::Text)])])?;
//! let server = Arc::new(SqliteServerStore::open(dir.path().join("server.db"), schema)?);
//! let write = Write::Upsert { collection: "notes".into(), id: "n1".into(), values: vec![Value::from("hi")] };
//! server.write("team-1", vec![write]).await?;
//!
//! let client = Arc::new(SqliteStore::open(dir.path().join("client.db"))?);
//! let engine = SyncEngine::new(client.clone(), Arc::new(FeedTransport::new(server)), SyncConfig::default());
//! engine.sync("team-1", Default::default()).await?;
//! assert_eq!(client.stats().await?.counts["notes"], 1);
//! # Ok(())
//! # }
//! ```
// Every public item is documented: the crates are published, and `cargo doc` is their manual.
#![deny(missing_docs)]

mod client;
mod connection;
mod convert;
mod error;
mod migrations;
mod server;
mod sql;
mod tables;
mod writer;

pub use client::{
    Highlight, ListRows, QueryResult, SearchHit, SearchMode, SearchOptions, SearchOrder, SqliteOptions, SqliteStore,
};
pub use error::Error;
pub use server::SqliteServerStore;
