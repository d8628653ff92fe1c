//! A ready client: [`SyncEngine`] over an [`SqliteStore`] replica (wrapped in a [`NotifyingStore`] for change
//! events) and an [`HttpTransport`], opened from one [`ClientOptions`] for one integration.
//!
//! Why a crate of its own: `sync-cli`, the Node addon and the uniffi binding all open the same thing from the same
//! options and offer the same calls; here they are written once, with one error type ([`Error`], each failure
//! with its [`ErrorCode`]), and each binding only translates its own types. A new capability is a method here,
//! exposed by each binding in a few lines.
//!
//! # Layout
//! - `lib.rs`: [`ClientOptions`], [`Client`] (open, sync, stats, cursors, reset, query, close).
//! - `live.rs`: [`Client::follow`], the live loop with an optional [`ChangeListener`].
//! - `rows.rs`: [`Client::list_rows`] ([`NamedRow`]s, filter values typed by their column).
//! - `search.rs`: [`Client::search`] (full-text search with highlighted snippets), [`SearchRequest`].
//! - `media.rs`: media downloads ([`Client::media_configure`], [`Client::media_download`], pause, resume, cancel,
//!   prioritize, items, totals, [`Client::media_listen`]) over the [`sync_media`] queue.
//! - `subscribe.rs`: [`Client::subscribe`], unsubscribe, archive, unarchive (selective sync),
//!   [`Client::sync_recent_first`] and [`Client::prioritize`].
//! - `writes.rs`: [`Client::mutate`], [`Client::pending_writes`], [`Client::with_write_events`].
//! - `forward.rs`: events of the engine handed to an app's listener (changes, write outcomes).
//! - `error.rs`: [`OpenError`], [`Error`].

// Every public item is documented: the crates are published, and `cargo doc` is their manual.
#![deny(missing_docs)]

mod error;
mod forward;
mod live;
mod media;
mod rows;
mod search;
mod subscribe;
mod writes;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use error::{Error, OpenError};
pub use live::ChangeListener;
pub use media::{MediaListener, MediaSettings, USER_PRIORITY};
pub use rows::NamedRow;
pub use search::{SearchRequest, search_mode, search_order};
pub use sync_core::ErrorCode;
use sync_core::live::NotifyingStore;
pub use sync_core::outbox::{LocalWrite, PendingWrite, WriteState};
use sync_core::{
    CancellationToken, ClientStore, CursorState, ProgressFn, Schema, StoreStats, SyncConfig, SyncEngine, SyncOptions,
    SyncReport, Value,
};
pub use sync_core::{
    Mutation, MutationOp, MutationOutcome, RecentEvent, RecentFn, SubscribedValue, Subscription, SubscriptionChange,
    WriteEvent,
};
use sync_http::HttpTransport;
pub use sync_media::{
    AutoDownload, ItemState, MediaError, MediaEvent, MediaItem, MediaRecord, QueueTotals, Reconciled,
};
pub use sync_sqlite::{Highlight, ListRows, QueryResult, SearchHit, SearchMode, SearchOptions, SearchOrder};
use sync_sqlite::{SqliteOptions, SqliteStore};
pub use writes::WriteListener;

/// Change events kept for a listener that has not read them yet ([`NotifyingStore::subscribe`]).
pub const CHANGE_BACKLOG: usize = 1024;

/// Where and how to sync. `Default` gives an empty path and URL: set at least `db` and `url`.
#[derive(Clone, Debug, Default)]
pub struct ClientOptions {
    /// The integration (scope) this client syncs; must not be empty.
    pub scope: String,
    /// The SQLite file (created if missing).
    pub db: PathBuf,
    /// The server's base URL.
    pub url: String,
    /// Bearer token.
    pub token: Option<String>,
    /// A schema JSON document; `None` uses the one the server publishes (`GET /schema`).
    pub schema_json: Option<String>,
    /// Page sizes by collection, overriding the schema's.
    pub page_sizes: Vec<(String, usize)>,
    /// Retries of a failed request (default: [`SyncConfig`]'s).
    pub max_retries: Option<usize>,
    /// Time limit of one request.
    pub request_timeout: Option<Duration>,
    /// Least time between two progress events of a collection.
    pub progress_interval: Option<Duration>,
    /// During an initial sync into empty tables, commit at least every this many rows ([`SqliteOptions`]).
    pub commit_rows: Option<u64>,
}

/// A sync engine writing into an SQLite file, for one integration.
pub struct Client {
    /// The engine; it writes through `changes`.
    pub engine: SyncEngine,
    /// The replica (also readable while the engine syncs: `list_rows`, `query`, `stats`).
    pub store: Arc<SqliteStore>,
    /// The replica as the engine sees it: subscribe to learn what each committed transaction changed.
    pub changes: Arc<NotifyingStore>,
    scope: String,
    /// Cancelled by [`Client::close`]; every token of [`Client::cancel_token`] is its child.
    closed: CancellationToken,
    /// The media download queue, opened on first use.
    media: media::MediaSlot,
    /// The conversations [`Client::prioritize`] moved to the front of a recent-first backfill.
    priorities: sync_core::Priorities,
}

impl Client {
    /// Opens (creating and migrating) the database and prepares the engine; nothing is fetched yet.
    ///
    /// Blocks while the file is opened: from async code, call [`Client::open_async`].
    pub fn open(options: ClientOptions) -> Result<Client, OpenError> {
        if options.scope.is_empty() {
            return Err(OpenError::InvalidArgument("the integration id must not be empty".into()));
        }
        let config = config(&options)?;
        let transport = HttpTransport::new(&options.url, options.token.as_deref())?;
        let mut store_options = SqliteOptions::default();
        if let Some(rows) = options.commit_rows {
            store_options.held_commit_rows = rows.max(1);
        }
        let store = Arc::new(SqliteStore::open_with(&options.db, store_options)?);
        let changes = Arc::new(NotifyingStore::new(store.clone(), CHANGE_BACKLOG));
        let engine = SyncEngine::new(changes.clone(), Arc::new(transport), config);
        let media = media::MediaSlot::new(
            options.db.clone(),
            &options.url,
            options.token.as_deref(),
            options.progress_interval,
        );
        let (scope, closed, priorities) = (options.scope, CancellationToken::new(), Default::default());
        Ok(Client { engine, store, changes, scope, closed, media, priorities })
    }

    /// [`Client::open`] on a blocking thread (it may migrate the file).
    pub async fn open_async(options: ClientOptions) -> Result<Client, Error> {
        Ok(tokio::task::spawn_blocking(move || Client::open(options)).await??)
    }

    /// The integration this client syncs.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// A token that cancels the calls it is passed to; [`Client::close`] cancels it too.
    pub fn cancel_token(&self) -> CancellationToken {
        self.closed.child_token()
    }

    /// `cancel`, or a token that [`Client::close`] cancels.
    fn cancel_or_close(&self, cancel: Option<CancellationToken>) -> CancellationToken {
        cancel.unwrap_or_else(|| self.cancel_token())
    }

    /// Syncs `collections` (default: all, in schema order) until each is up to date, calling `progress` with
    /// throttled events; `cancel` (default: [`Client::close`]) stops it between pages. When the media queue is open,
    /// it is reconciled with the synced media rows afterwards ([`Client::media_reconcile`]).
    pub async fn sync(
        &self,
        collections: Option<Vec<String>>,
        progress: Option<ProgressFn>,
        cancel: Option<CancellationToken>,
    ) -> Result<SyncReport, Error> {
        let options = SyncOptions { progress, cancel: self.cancel_or_close(cancel), collections };
        let report = self.engine.sync(&self.scope, options).await?;
        self.reconcile_after_sync().await;
        Ok(report)
    }

    /// Row counts per collection, file size and path.
    pub async fn stats(&self) -> Result<StoreStats, Error> {
        Ok(self.store.stats().await?)
    }

    /// The cursor of every collection of the integration that has one.
    pub async fn sync_state(&self) -> Result<Vec<CursorState>, Error> {
        Ok(self.store.sync_state(&self.scope).await?)
    }

    /// Deletes every row and cursor of the integration, so that the next sync starts from scratch; `follow`
    /// listeners get a reset event.
    pub async fn reset(&self) -> Result<(), Error> {
        Ok(self.changes.reset(&self.scope).await?)
    }

    /// Runs one read-only SQL statement with positional parameters on the reader connection.
    pub async fn query(&self, sql: &str, params: Vec<Value>) -> Result<QueryResult, Error> {
        Ok(self.store.query(sql, params).await?)
    }

    /// Cancels running syncs and `follow` loops, stops the media downloads (they resume from their partial files
    /// on the next run), and closes the database once they have stopped (if no other handle still holds it);
    /// dropping the last handle joins the store's threads, so it happens on a blocking thread.
    pub async fn close(client: Arc<Client>) -> Result<(), Error> {
        client.closed.cancel();
        client.media.stop().await;
        Ok(tokio::task::spawn_blocking(move || drop(client)).await?)
    }
}

fn config(options: &ClientOptions) -> Result<SyncConfig, OpenError> {
    let mut config = SyncConfig::default();
    if let Some(text) = &options.schema_json {
        config = config.with_schema(Schema::from_json(text).map_err(|e| OpenError::Schema(e.to_string()))?);
    }
    for (collection, rows) in &options.page_sizes {
        config = config.with_page_size(collection, *rows);
    }
    if let Some(retries) = options.max_retries {
        config = config.with_max_retries(retries);
    }
    if let Some(timeout) = options.request_timeout {
        config = config.with_request_timeout(timeout);
    }
    if let Some(interval) = options.progress_interval {
        config = config.with_progress_interval(interval);
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_options_are_refused_with_what_is_wrong() {
        let dir = tempfile::tempdir().expect("dir");
        let db = dir.path().join("client.db");
        let base =
            ClientOptions { scope: "s".into(), db: db.clone(), url: "http://127.0.0.1:9".into(), ..Default::default() };

        let bad_schema = ClientOptions { schema_json: Some("{\"collections\": 7}".into()), ..base.clone() };
        let e = Client::open(bad_schema).err().expect("refused");
        assert!(matches!(e, OpenError::Schema(_)) && e.code() == ErrorCode::Schema, "{e}");
        let no_scope = ClientOptions { scope: String::new(), ..base.clone() };
        assert_eq!(Client::open(no_scope).err().map(|e| e.code()), Some(ErrorCode::InvalidArgument));
        let bad_url = ClientOptions { url: "not a url".into(), ..base.clone() };
        let e = Client::open(bad_url).err().expect("refused");
        assert!(matches!(e, OpenError::Transport(_)) && e.code() == ErrorCode::InvalidArgument, "{e}");
        assert!(!db.exists(), "nothing is created before the options are checked");
        let bad_file = ClientOptions { db: dir.path().join("missing-dir").join("client.db"), ..base.clone() };
        assert!(matches!(Client::open(bad_file), Err(OpenError::Store(_))));

        let client = Client::open(ClientOptions { commit_rows: Some(10), ..base }).expect("open");
        assert_eq!(client.store.path(), db);
    }
}
