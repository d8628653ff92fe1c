//! `SqliteServerStore`, the embedded server's source of truth.

use std::sync::Arc;

use sync_core::testing::{post, test_schema, thread};
use sync_core::{ChangeFeed, Column, ColumnType, FeedError, ServerStore, Write};
use sync_sqlite::{Error, SqliteServerStore, SqliteStore};

use crate::{Dirs, raw};

fn up(collection: &str, id: &str, values: Vec<sync_core::Value>) -> Write {
    Write::Upsert { collection: collection.into(), id: id.into(), values }
}

/// The server store contracts, each on a new file.
mod contracts {
    use std::sync::Arc;

    use sync_core::ServerStore;
    use sync_core::testing::test_schema;
    use sync_sqlite::SqliteServerStore;
    use tempfile::TempDir;

    async fn make() -> Option<(TempDir, Arc<dyn ServerStore>)> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = SqliteServerStore::open(dir.path().join("server.db"), test_schema()).expect("open");
        Some((dir, Arc::new(store)))
    }
    sync_core::server_store_contracts!(make);
}

#[tokio::test]
async fn reopening_keeps_seq_counters_and_counts() {
    let dirs = Dirs::default();
    let path = dirs.path("server.db");
    let store = SqliteServerStore::open(&path, test_schema()).expect("open");
    store.write("s", vec![up("threads", "t1", thread("a")), up("posts", "p1", post("t1", "x"))]).await.expect("w");
    let before = store.status("s").await.expect("status");
    drop(store);

    let store = SqliteServerStore::open(&path, test_schema()).expect("reopen");
    assert_eq!(store.status("s").await.expect("status"), before);
    let receipt = store.write("s", vec![up("threads", "t2", thread("b"))]).await.expect("write");
    assert_eq!(receipt.last_seq, 3, "a write after reopening continues the scope's seqs");
    let receipt = store.write("s", vec![Write::Delete { collection: "threads".into(), id: "t1".into() }]).await;
    assert_eq!(receipt.expect("delete").deleted, 2, "cascades work after reopening");
}

#[tokio::test]
async fn pages_are_served_while_a_write_is_in_progress() {
    let dirs = Dirs::default();
    let store = Arc::new(SqliteServerStore::open(dirs.path("server.db"), test_schema()).expect("open"));
    store.write("s", vec![up("threads", "t0", thread("first"))]).await.expect("write");
    // A big batch holds the write lock for a while; pages read the last committed state meanwhile.
    let big: Vec<Write> = (0..20_000).map(|i| up("posts", &format!("p{i}"), post("t0", "body"))).collect();
    let writer = tokio::spawn({
        let store = store.clone();
        async move { store.write("s", big).await }
    });
    let page = store.page("s", "threads", 0, 10).await.expect("page while writing");
    assert_eq!(page.rows.len(), 1);
    let posts = store.page("s", "posts", 0, 10).await.expect("page");
    assert!(posts.rows.is_empty() || posts.rows.len() == 10, "all or nothing of the batch is visible");
    assert_eq!(writer.await.expect("join").expect("write").upserted, 20_000);
    let posts = store.page("s", "posts", 0, 10).await.expect("page");
    assert_eq!((posts.rows.len(), posts.has_more, posts.total_count), (10, true, 20_000));
}

#[tokio::test]
async fn a_schema_the_file_cannot_hold_is_refused() {
    let dirs = Dirs::default();
    let path = dirs.path("server.db");
    drop(SqliteServerStore::open(&path, test_schema()).expect("open"));

    let mut grown = test_schema();
    grown.collections[0].columns.push(Column::new("pinned", ColumnType::Boolean));
    let store = SqliteServerStore::open(&path, grown.clone()).expect("a nullable column is added");
    let mut values = thread("t");
    values.push(true.into());
    store.write("s", vec![up("threads", "t", values.clone())]).await.expect("write");
    assert_eq!(store.get("s", "threads", "t").await.expect("get"), Some(values));
    drop(store);

    let mut required = grown;
    required.collections[1].columns.push(Column::new("rank", ColumnType::Integer).required());
    let err = SqliteServerStore::open(&path, required).expect_err("a new required column");
    assert!(matches!(&err, Error::Incompatible { message, .. } if message.contains("posts.rank")), "{err}");

    let err = SqliteStore::open(&path).expect_err("a server file is not a client replica");
    assert!(matches!(err, Error::WrongKind { .. }), "{err}");
    let version: u32 = raw(&path).query_row("PRAGMA user_version", [], |r| r.get(0)).expect("user_version");
    assert_eq!(version, 3, "001_scopes, 002_push_clients, 003_moves");
}

#[tokio::test]
async fn deleted_rows_keep_only_their_key() {
    let dirs = Dirs::default();
    let path = dirs.path("server.db");
    let store = SqliteServerStore::open(&path, test_schema()).expect("open");
    store.write("s", vec![up("threads", "t1", thread("a")), up("posts", "p1", post("t1", "x"))]).await.expect("w");
    store.write("s", vec![Write::Delete { collection: "threads".into(), id: "t1".into() }]).await.expect("delete");
    let (deleted, body): (bool, Option<String>) = raw(&path)
        .query_row("SELECT deleted, body FROM posts WHERE id = 'p1'", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("tombstone row");
    assert_eq!((deleted, body), (true, None));
    assert!(store.read_rows("s", "posts", None, 10).await.expect("rows").is_empty());
    assert!(matches!(store.get("s", "nope", "x").await, Err(FeedError::UnknownCollection(_))));
    let status = store.status("s").await.expect("status");
    assert_eq!((status.collections["threads"].count, status.collections["posts"].count), (0, 0));
    assert_eq!(status.latest_seq, 4);
}
