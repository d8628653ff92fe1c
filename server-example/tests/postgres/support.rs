//! The example served over HTTP from a PostgreSQL store in a schema of its own (`sync_postgres::testing`: where
//! PostgreSQL is found, and what happens when it is unreachable), and clients syncing from it.

use std::path::Path;
use std::sync::Arc;

use server_example::serve::{RunningServer, access, start};
use sync_cli::Client;
use sync_http::ServerConfig;
use sync_postgres::PostgresStore;
pub use sync_postgres::testing::{TOKEN, TestDb as Db, available, tempdir, url, verify};

/// The store served over HTTP on loopback, with one token that reads everything.
pub async fn serve(store: Arc<PostgresStore>) -> RunningServer {
    start(store, ServerConfig::new(access(&[(TOKEN.into(), vec!["*".into()])])), "127.0.0.1:0").await.expect("start")
}

/// A client syncing the integration `name` from `server` ([`sync_postgres::testing::client`]).
pub fn client(server: &RunningServer, dir: &Path, name: &str, page_sizes: Vec<(String, usize)>) -> Client {
    sync_postgres::testing::client(&server.url(), dir, name, page_sizes)
}
