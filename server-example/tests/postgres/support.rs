//! A fresh PostgreSQL schema per store, raw connections for writing plain SQL, and HTTP clients.
//!
//! PostgreSQL is found at `SEQSYNC_TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`). When
//! it is unreachable a test prints a notice and passes, unless `CI=true`: then it fails.

use std::path::Path;
use std::sync::Arc;

use server_example::postgres::PostgresStore;
use server_example::serve::{RunningServer, access, start};
use sync_cli::{Client, ClientOptions};
use sync_core::{ClientStore, Schema, ServerStore, Verification, verify_scope};
use sync_http::ServerConfig;
use tempfile::TempDir;
use tokio_postgres::{Client as PgClient, NoTls};

pub const TOKEN: &str = "pg-token";

pub fn url() -> String {
    std::env::var("SEQSYNC_TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// Whether PostgreSQL is reachable; panics when it is not and `CI=true`.
pub async fn available() -> bool {
    match tokio_postgres::connect(&url(), NoTls).await {
        Ok(_) => true,
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("PostgreSQL is unreachable at {} and CI=true: {e}", url())
        }
        Err(e) => {
            eprintln!("NOTICE: skipping, PostgreSQL is unreachable at {} ({e}); set CI=true to fail instead", url());
            false
        }
    }
}

/// A store in its own PostgreSQL schema, dropped (with everything in it) when this is dropped.
pub struct Db {
    pub store: Arc<PostgresStore>,
    pub namespace: String,
}

impl Db {
    pub async fn fresh(schema: Schema) -> Db {
        let namespace = format!("t_{:016x}", rand::random::<u64>());
        match PostgresStore::connect_in(&url(), &namespace, schema).await {
            Ok(store) => Db { store: Arc::new(store), namespace },
            Err(e) => {
                drop_schema(namespace);
                panic!("connect the store: {e:?}")
            }
        }
    }

    /// A connection of its own, as another program would open one; its search_path is the store's schema when
    /// `in_schema`, else the default (then tables must be qualified, see [`Db::table`]).
    pub async fn raw(&self, in_schema: bool) -> PgClient {
        let mut config: tokio_postgres::Config = url().parse().expect("url");
        if in_schema {
            config.options(format!("-c search_path={}", self.namespace));
        }
        let (client, connection) = config.connect(NoTls).await.expect("raw connection");
        tokio::spawn(connection);
        client
    }

    /// `"namespace"."table"`.
    pub fn table(&self, table: &str) -> String {
        format!("\"{}\".\"{table}\"", self.namespace)
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        drop_schema(std::mem::take(&mut self.namespace));
    }
}

fn drop_schema(namespace: String) {
    {
        let sql = format!("DROP SCHEMA IF EXISTS \"{namespace}\" CASCADE");
        // A runtime of its own: this also runs while a failed test unwinds.
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                if let Ok((client, connection)) = tokio_postgres::connect(&url(), NoTls).await {
                    tokio::spawn(connection);
                    let _ = client.batch_execute(&sql).await;
                }
            });
        });
        let _ = done.join();
    }
}

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
