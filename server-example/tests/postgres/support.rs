//! The example served over HTTP from a PostgreSQL store in a schema of its own (`sync_postgres::testing`: where
//! PostgreSQL is found, and what happens when it is unreachable), and clients syncing from it.

use std::path::Path;
use std::sync::Arc;

use server_example::serve::{RunningServer, access, start};
use sync_cli::{Client, ClientOptions};
use sync_core::{ClientStore, Schema, ServerStore, Verification, verify_scope};
use sync_http::ServerConfig;
use sync_postgres::PostgresStore;
pub use sync_postgres::testing::{TestDb as Db, available, url};
use tempfile::TempDir;

pub const TOKEN: &str = "pg-token";

/// The store served over HTTP on loopback, with one token that reads everything.
pub async fn serve(store: Arc<PostgresStore>) -> RunningServer {
    start(store, ServerConfig::new(access(&[(TOKEN.into(), vec!["*".into()])])), "127.0.0.1:0").await.expect("start")
}

/// An engine over a new SQLite file in `dir`, syncing from `server` over HTTP.
pub fn client(server: &RunningServer, dir: &Path, name: &str, page_sizes: Vec<(String, usize)>) -> Client {
    // The tests sync the scopes they name through `client.engine`.
    let options = ClientOptions {
        scope: name.into(),
        db: dir.join(format!("{name}.db")),
        url: server.url(),
        token: Some(TOKEN.into()),
        page_sizes,
        ..Default::default()
    };
    Client::open(options).expect("open client")
}

pub fn tempdir() -> TempDir {
    tempfile::tempdir().expect("tempdir")
}

pub async fn verify(schema: &Schema, scope: &str, client: &dyn ClientStore, server: &dyn ServerStore) -> Verification {
    verify_scope(schema, scope, client, server).await.expect("verify")
}
