//! The store conformance suite every server store runs, each store in a fresh PostgreSQL schema.

use std::sync::{Arc, Mutex};

use sync_core::ServerStore;
use sync_core::testing::{server_store_suite, test_schema};

use crate::support::{Db, available};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_passes_the_server_store_suite() {
    if !available().await {
        return;
    }
    let dbs: Arc<Mutex<Vec<Db>>> = Arc::default();
    let keep = dbs.clone();
    server_store_suite(move || {
        let db = tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(Db::fresh(test_schema())));
        let store: Arc<dyn ServerStore> = db.store.clone();
        keep.lock().expect("lock").push(db);
        store
    })
    .await;
    drop(dbs);
}
