//! Fixtures, a fresh server store per test, and a served store with a client that syncs it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use server_example::serve::{RunningServer, access, start};
use server_example::whatsapp;
use sync_cli::{Client, ClientOptions};
use sync_core::{ChangeFeed, ClientStore, ServerStore, StoredRow, SyncOptions, verify_scope};
use sync_http::ServerConfig;
use sync_sqlite::SqliteServerStore;
use tempfile::TempDir;

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/whatsapp").join(name)
}

pub fn store() -> (SqliteServerStore, TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteServerStore::open(dir.path().join("server.db"), whatsapp::schema()).expect("open server store");
    (store, dir)
}

/// Live rows per collection.
pub async fn counts(store: &SqliteServerStore, scope: &str) -> BTreeMap<String, u64> {
    let status = store.status(scope).await.expect("status");
    status.collections.into_iter().map(|(name, c)| (name, c.count)).collect()
}

pub async fn rows(store: &SqliteServerStore, scope: &str, collection: &str) -> Vec<StoredRow> {
    store.read_rows(scope, collection, None, 10_000).await.expect("read rows")
}

/// A server store served over loopback HTTP and an SQLite client that syncs it.
pub struct Synced {
    pub server: Arc<SqliteServerStore>,
    running: RunningServer,
    client: Client,
    scope: String,
    _dir: TempDir,
}

impl Synced {
    pub async fn start(scope: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = Arc::new(
            SqliteServerStore::open(dir.path().join("server.db"), whatsapp::schema()).expect("open server store"),
        );
        let token = "import-token";
        let config = ServerConfig::new(access(&[(token.into(), vec![scope.into()])]));
        let running = start(server.clone(), config, "127.0.0.1:0").await.expect("start");
        let options = ClientOptions {
            scope: scope.into(),
            db: dir.path().join("client.db"),
            url: running.url(),
            token: Some(token.into()),
            ..Default::default()
        };
        let client = Client::open(options).expect("open client");
        Synced { server, running, client, scope: scope.into(), _dir: dir }
    }

    /// Syncs the client, checks it exact against the server, and returns the rows the sync applied.
    pub async fn sync_exact(&self) -> u64 {
        let report = self.client.engine.sync(&self.scope, SyncOptions::default()).await.expect("sync");
        let verification =
            verify_scope(&whatsapp::schema(), &self.scope, self.client.store.as_ref(), self.server.as_ref())
                .await
                .expect("verify");
        assert!(verification.is_exact(), "{:?}", verification.differences);
        report.rows()
    }

    /// The client's live rows of `collection`.
    pub async fn client_rows(&self, collection: &str) -> Vec<StoredRow> {
        self.client.store.read_rows(&self.scope, collection, None, 10_000).await.expect("read client rows")
    }

    pub async fn latest_seq(&self) -> i64 {
        self.server.status(&self.scope).await.expect("status").latest_seq
    }

    pub async fn stop(self) {
        self.running.stop().await.expect("stop");
    }
}
