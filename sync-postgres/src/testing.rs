//! Test support (feature `testing`): a [`PostgresStore`] in a PostgreSQL schema of its own, dropped with
//! everything in it afterwards, so that parallel test runs on one PostgreSQL never collide; and clients syncing
//! from a store served over HTTP (however the test serves it) into SQLite files, checked against the store.
//!
//! PostgreSQL is found at `SEQSYNC_TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`). When
//! it is unreachable, [`available`] prints a notice and returns false (the test then returns early), unless
//! `CI=true`: then it panics.

use std::path::Path;
use std::sync::Arc;

use sync_client::ClientOptions;
use sync_core::{ClientStore, PushHook, Schema, ServerStore, Verification, verify_scope};
use tempfile::TempDir;
use tokio_postgres::{Client, NoTls};

use crate::PostgresStore;

/// The test database's URL.
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

/// A store in its own PostgreSQL schema (`t_<random>`), dropped (with everything in it) when this is dropped.
pub struct TestDb {
    /// The store.
    pub store: Arc<PostgresStore>,
    /// Its PostgreSQL schema.
    pub namespace: String,
}

impl TestDb {
    /// A store for `schema` in a new PostgreSQL schema; panics if it cannot be created.
    pub async fn fresh(schema: Schema) -> TestDb {
        let namespace = format!("t_{:016x}", rand::random::<u64>());
        match PostgresStore::connect_in(&url(), &namespace, schema).await {
            Ok(store) => TestDb { store: Arc::new(store), namespace },
            Err(e) => {
                drop_schema(namespace);
                panic!("connect the store: {e:?}")
            }
        }
    }

    /// A connection of its own, as another program would open one; its search_path is the store's schema when
    /// `in_schema`, else the default (then tables must be qualified, see [`TestDb::table`]).
    pub async fn raw(&self, in_schema: bool) -> Client {
        let mut config: tokio_postgres::Config = url().parse().expect("url");
        if in_schema {
            config.options(format!("-c search_path={}", self.namespace));
        }
        let (client, connection) = config.connect(NoTls).await.expect("raw connection");
        tokio::spawn(connection);
        client
    }

    /// Another store on this schema with `hook` reviewing pushes (`with_hook` takes a store by value, and
    /// [`TestDb::store`] is shared).
    pub async fn store_with_hook(&self, hook: Arc<dyn PushHook>) -> Arc<PostgresStore> {
        let schema = self.store.schema.clone();
        let store = PostgresStore::connect_in(&url(), &self.namespace, schema).await.expect("connect a second store");
        Arc::new(store.with_hook(hook))
    }

    /// Switches this schema to the seed's plain sequence, kept only as a test fixture: `nextval` takes no lock,
    /// so a later seq can commit first (PROTOCOL.md invariant 2 broken). The live-count triggers of `tables` go
    /// too, as they went when they took a row lock that serialised a collection's writers at commit.
    pub async fn install_naive_sequence(&self, tables: &[&str]) {
        let drops: String = tables
            .iter()
            .map(|t| {
                format!("DROP TRIGGER sync_count_inserted ON \"{t}\"; DROP TRIGGER sync_count_updated ON \"{t}\";")
            })
            .collect();
        self.raw(true)
            .await
            .batch_execute(&format!(
                "CREATE SEQUENCE naive_seq START 1000000;
                 CREATE OR REPLACE FUNCTION sync_take_seq() RETURNS trigger LANGUAGE plpgsql
                     SET search_path FROM CURRENT AS $$
                     BEGIN NEW.seq := nextval('naive_seq'); NEW.sync_changed_at := now(); RETURN NEW; END $$;
                 {drops}"
            ))
            .await
            .expect("install the naive sequence");
    }

    /// `"namespace"."table"`.
    pub fn table(&self, table: &str) -> String {
        format!("\"{}\".\"{table}\"", self.namespace)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        drop_schema(std::mem::take(&mut self.namespace));
    }
}

/// The token the tests' servers grant every integration.
pub const TOKEN: &str = "pg-token";

/// A client over a new SQLite file `dir/<name>.db`, syncing the integration `name` from the server at `url` with
/// [`TOKEN`]; `page_sizes` override the schema's per collection.
pub fn client(url: &str, dir: &Path, name: &str, page_sizes: Vec<(String, usize)>) -> sync_client::Client {
    // The tests sync the scopes they name through `client.engine`.
    let options = ClientOptions {
        scope: name.into(),
        db: dir.join(format!("{name}.db")),
        url: url.to_owned(),
        token: Some(TOKEN.into()),
        page_sizes,
        ..Default::default()
    };
    sync_client::Client::open(options).expect("open client")
}

/// A temporary folder for clients' files.
pub fn tempdir() -> TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// Compares `client`'s rows of `scope` with `server`'s.
pub async fn verify(schema: &Schema, scope: &str, client: &dyn ClientStore, server: &dyn ServerStore) -> Verification {
    verify_scope(schema, scope, client, server).await.expect("verify")
}

fn drop_schema(namespace: String) {
    let sql = format!("DROP SCHEMA IF EXISTS \"{namespace}\" CASCADE");
    // A runtime of its own: this also runs while a failed test unwinds, inside or outside a runtime.
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
