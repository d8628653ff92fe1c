//! A ready client: [`SyncEngine`] over an [`SqliteStore`] replica (wrapped in a [`NotifyingStore`] for change
//! events) and an [`HttpTransport`], opened from one [`ClientOptions`].
//!
//! Why a crate of its own: `sync-cli`, the Node addon and the uniffi binding all open the same thing from the same
//! options; here it is written once, and each of them only translates its own types and errors.
// Every public item is documented: the crates are published, and `cargo doc` is their manual.
#![deny(missing_docs)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sync_core::live::NotifyingStore;
use sync_core::outbox::{LocalWrite, PendingWrite};
use sync_core::{Mutation, Schema, SyncConfig, SyncEngine, SyncError, TransportError};
use sync_http::HttpTransport;
use sync_sqlite::{SqliteOptions, SqliteStore};

/// Change events kept for a listener that has not read them yet ([`NotifyingStore::subscribe`]).
pub const CHANGE_BACKLOG: usize = 1024;

/// Where and how to sync. `Default` gives an empty path and URL: set at least `db` and `url`.
#[derive(Clone, Debug, Default)]
pub struct ClientOptions {
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

/// Why [`Client::open`] failed; nothing was created but possibly the empty file.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The schema JSON does not parse or is not a valid schema.
    #[error("the schema is not valid: {0}")]
    Schema(String),
    /// The server URL or token cannot be used.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The database file cannot be opened or migrated.
    #[error(transparent)]
    Store(#[from] sync_sqlite::Error),
}

/// A sync engine writing into an SQLite file.
pub struct Client {
    /// The engine; it writes through `changes`.
    pub engine: SyncEngine,
    /// The replica (also readable while the engine syncs: `list_rows`, `query`, `stats`).
    pub store: Arc<SqliteStore>,
    /// The replica as the engine sees it: subscribe to learn what each committed transaction changed.
    pub changes: Arc<NotifyingStore>,
}

impl Client {
    /// Opens (creating and migrating) the database and prepares the engine; nothing is fetched yet.
    ///
    /// Blocks while the file is opened: from async code, call it in `spawn_blocking`.
    pub fn open(options: ClientOptions) -> Result<Client, OpenError> {
        let config = config(&options)?;
        let transport = HttpTransport::new(&options.url, options.token.as_deref())?;
        let mut store_options = SqliteOptions::default();
        if let Some(rows) = options.commit_rows {
            store_options.held_commit_rows = rows.max(1);
        }
        let store = Arc::new(SqliteStore::open_with(&options.db, store_options)?);
        let changes = Arc::new(NotifyingStore::new(store.clone(), CHANGE_BACKLOG));
        let engine = SyncEngine::new(changes.clone(), Arc::new(transport), config);
        Ok(Client { engine, store, changes })
    }

    /// Writes a row locally at once (offline too) and queues it for the next push ([`SyncEngine::mutate`]);
    /// `sync` and `follow` push it. `invalid_write` when the schema refuses it.
    pub async fn mutate(&self, scope: &str, write: LocalWrite) -> Result<Mutation, SyncError> {
        self.engine.mutate(scope, write).await
    }

    /// The local writes of `scope` not settled yet: pending ("sending…") or acknowledged ("sent").
    pub async fn pending_writes(&self, scope: &str) -> Result<Vec<PendingWrite>, SyncError> {
        self.engine.pending_writes(scope).await
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
        let base = ClientOptions { db: db.clone(), url: "http://127.0.0.1:9".into(), ..Default::default() };

        let bad_schema = ClientOptions { schema_json: Some("{\"collections\": 7}".into()), ..base.clone() };
        assert!(matches!(Client::open(bad_schema), Err(OpenError::Schema(_))));
        let bad_url = ClientOptions { url: "not a url".into(), ..base.clone() };
        assert!(matches!(Client::open(bad_url), Err(OpenError::Transport(_))));
        assert!(!db.exists(), "nothing is created before the options are checked");
        let bad_file = ClientOptions { db: dir.path().join("missing-dir").join("client.db"), ..base.clone() };
        assert!(matches!(Client::open(bad_file), Err(OpenError::Store(_))));

        let client = Client::open(ClientOptions { commit_rows: Some(10), ..base }).expect("open");
        assert_eq!(client.store.path(), db);
    }
}
