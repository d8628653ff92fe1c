//! The engine over an SQLite file and an HTTP server.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use sync_core::{Schema, SyncConfig, SyncEngine};
use sync_http::HttpTransport;
use sync_sqlite::{SqliteOptions, SqliteStore};

/// Where and how to sync.
#[derive(Clone, Debug, Default)]
pub struct ClientOptions {
    /// The SQLite file (created if missing).
    pub db: PathBuf,
    /// The server's base URL.
    pub url: String,
    /// Bearer token.
    pub token: Option<String>,
    /// The schema; `None` uses the one the server publishes.
    pub schema: Option<Schema>,
    /// Page sizes by collection, overriding the schema's.
    pub page_sizes: Vec<(String, usize)>,
    /// During an initial sync into empty tables, commit at least every this many rows (default: the store's).
    pub commit_rows: Option<u64>,
}

/// A sync engine writing into an SQLite file.
pub struct Client {
    /// The engine.
    pub engine: SyncEngine,
    /// The store the engine writes (also readable while it syncs).
    pub store: Arc<SqliteStore>,
}

impl Client {
    /// Opens the database and prepares the engine; nothing is fetched yet.
    pub fn open(options: ClientOptions) -> anyhow::Result<Client> {
        let mut store_options = SqliteOptions::default();
        if let Some(rows) = options.commit_rows {
            store_options.held_commit_rows = rows.max(1);
        }
        let store = Arc::new(
            SqliteStore::open_with(&options.db, store_options)
                .with_context(|| format!("opening {}", options.db.display()))?,
        );
        let transport = HttpTransport::new(&options.url, options.token.as_deref())?;
        let mut config = SyncConfig::default();
        if let Some(schema) = options.schema {
            config = config.with_schema(schema);
        }
        for (collection, rows) in &options.page_sizes {
            config = config.with_page_size(collection, *rows);
        }
        let engine = SyncEngine::new(store.clone(), Arc::new(transport), config);
        Ok(Client { engine, store })
    }
}
