//! Client pushes against the embedded SQLite server store over real loopback HTTP (the PostgreSQL store runs the
//! same checks in `tests/postgres/push.rs`).

pub mod hostile;

use std::sync::Arc;

use server_example::hook::WhatsAppHook;
use server_example::whatsapp;
use sync_sqlite::SqliteServerStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_pushes_change_nothing_on_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteServerStore::open(dir.path().join("server.db"), whatsapp::schema()).expect("open");
    hostile::hostile_pushes_change_nothing(Arc::new(store.with_hook(Arc::new(WhatsAppHook)))).await;
}
