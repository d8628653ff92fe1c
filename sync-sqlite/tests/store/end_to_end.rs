//! Both stores together under the core's sync engine.

use std::sync::Arc;

use sync_core::memory::FeedTransport;
use sync_core::testing::{post, test_schema, thread};
use sync_core::{ServerStore, SyncConfig, SyncEngine, Write, verify_scope};
use sync_sqlite::{SqliteServerStore, SqliteStore};

use crate::Dirs;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_makes_an_exact_replica() {
    let dirs = Dirs::default();
    let server = Arc::new(SqliteServerStore::open(dirs.path("server.db"), test_schema()).expect("server"));
    let mut writes = Vec::new();
    for t in 0..10 {
        writes.push(Write::Upsert {
            collection: "threads".into(),
            id: format!("t{t}"),
            values: thread(&format!("{t}")),
        });
        for p in 0..7 {
            let values = post(&format!("t{t}"), &format!("post {p}"));
            writes.push(Write::Upsert { collection: "posts".into(), id: format!("t{t}-p{p}"), values });
        }
    }
    server.write("s", writes).await.expect("write");
    let client = Arc::new(SqliteStore::open(dirs.path("client.db")).expect("client"));
    let engine = SyncEngine::new(client.clone(), Arc::new(FeedTransport::new(server.clone())), SyncConfig::default());
    engine.sync("s", Default::default()).await.expect("first sync");

    let delete = Write::Delete { collection: "threads".into(), id: "t3".into() };
    let edit = Write::Upsert { collection: "posts".into(), id: "t4-p1".into(), values: post("t4", "edited") };
    server.write("s", vec![delete, edit]).await.expect("write");
    engine.sync("s", Default::default()).await.expect("second sync");

    let verification = verify_scope(&test_schema(), "s", client.as_ref(), server.as_ref()).await.expect("verify");
    assert!(verification.is_exact(), "{:?}", verification.differences);
    assert_eq!(verification.compared, vec![("threads".to_owned(), 9), ("posts".to_owned(), 63)]);
}
