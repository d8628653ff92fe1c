//! Fixtures and a fresh server store per test.

use std::collections::BTreeMap;
use std::path::PathBuf;

use server_example::whatsapp;
use sync_core::{ChangeFeed, ServerStore, StoredRow};
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
