//! The server store contracts every server store keeps, one test each, each store in a fresh PostgreSQL schema.

use std::sync::Arc;

use sync_core::ServerStore;
use sync_core::testing::test_schema;

use crate::support::{Db, available};

async fn make() -> Option<(Db, Arc<dyn ServerStore>)> {
    if !available().await {
        return None;
    }
    let db = Db::fresh(test_schema()).await;
    let store: Arc<dyn ServerStore> = db.store.clone();
    Some((db, store))
}

sync_core::server_store_contracts!(make);
