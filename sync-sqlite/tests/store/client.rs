//! `SqliteStore`, the client replica.

use sync_core::testing::{page, post, test_schema, thread};
use sync_core::{ClientStore, Collection, Column, ColumnType, Row, Schema, StoreError, Value};
use sync_sqlite::{Error, SqliteServerStore, SqliteStore};

use crate::{Dirs, raw};

async fn cursor(store: &SqliteStore, scope: &str, collection: &str) -> i64 {
    let state = store.sync_state(scope).await.expect("sync_state");
    state.iter().find(|c| c.collection == collection).map_or(0, |c| c.last_seq)
}

async fn prepared(dirs: &Dirs) -> SqliteStore {
    let store = SqliteStore::open(dirs.path("client.db")).expect("open");
    store.prepare(&test_schema()).await.expect("prepare");
    store
}

fn columns(path: &std::path::Path, table: &str) -> Vec<(String, String, bool)> {
    let conn = raw(path);
    let mut stmt = conn.prepare("SELECT name, type, \"notnull\" FROM pragma_table_info(?1)").expect("prepare");
    let rows = stmt.query_map([table], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).expect("query");
    rows.collect::<Result<_, _>>().expect("rows")
}

/// The client store contracts, each on a new file.
mod contracts {
    use std::sync::Arc;

    use sync_core::ClientStore;
    use sync_sqlite::SqliteStore;
    use tempfile::TempDir;

    async fn make() -> Option<(TempDir, Arc<dyn ClientStore>)> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = SqliteStore::open(dir.path().join("client.db")).expect("open");
        Some((dir, Arc::new(store)))
    }
    sync_core::client_store_contracts!(make);
    sync_core::client_subscription_contracts!(make);
}

#[tokio::test]
async fn reopening_keeps_rows_cursors_and_schema() {
    let dirs = Dirs::default();
    let store = prepared(&dirs).await;
    let path = store.path().to_path_buf();
    let rows = vec![Row::upsert("t1", 3, thread("one")), Row::upsert("t2", 4, thread("two"))];
    store.apply_page("s", page("threads", 0, rows, false)).await.expect("apply");
    store.apply_page("s", page("posts", 0, vec![Row::upsert("p1", 9, post("t1", "hi"))], false)).await.expect("apply");
    let before = store.read_rows("s", "posts", None, 10).await.expect("read");
    drop(store);
    assert!(!wal(&path).exists(), "dropping the store closes the file (the last connection removes the WAL)");

    let store = SqliteStore::open(&path).expect("reopen");
    assert_eq!(store.stats().await.expect("stats").counts.get("threads"), Some(&2), "the schema is remembered");
    assert_eq!(store.read_rows("s", "posts", None, 10).await.expect("read"), before);
    assert_eq!((cursor(&store, "s", "threads").await, cursor(&store, "s", "posts").await), (4, 9));
    store.prepare(&test_schema()).await.expect("prepare again");
    let outcome = store.apply_page("s", page("threads", 4, vec![Row::tombstone("t1", 5)], false)).await.expect("apply");
    assert_eq!((outcome.deleted, outcome.cursor), (1, 5));
}

fn wal(path: &std::path::Path) -> std::path::PathBuf {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    wal.into()
}

#[tokio::test]
async fn user_version_counts_the_migrations() {
    let dirs = Dirs::default();
    let store = prepared(&dirs).await;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/client");
    let files = std::fs::read_dir(dir).expect("migrations dir").filter_map(Result::ok);
    let count = files.filter(|f| f.path().extension().is_some_and(|e| e == "sql")).count();
    let version: i64 = raw(store.path()).query_row("PRAGMA user_version", [], |r| r.get(0)).expect("user_version");
    assert_eq!(usize::try_from(version).expect("positive"), count);
    assert!(count >= 1);
    let mode: String = raw(store.path()).query_row("PRAGMA journal_mode", [], |r| r.get(0)).expect("journal_mode");
    assert_eq!(mode, "wal");
    drop(store);
    SqliteStore::open(dirs.path("other.db")).expect("a second file");
}

#[tokio::test]
async fn a_new_nullable_column_is_added_to_existing_tables() {
    let dirs = Dirs::default();
    let store = prepared(&dirs).await;
    store.apply_page("s", page("threads", 0, vec![Row::upsert("t1", 1, thread("old"))], false)).await.expect("apply");

    let mut schema = test_schema();
    schema.collections[0].columns.push(Column::new("pinned", ColumnType::Boolean));
    schema.collections[0] = schema.collections[0].clone().index(&["pinned"]);
    store.prepare(&schema).await.expect("a nullable column can be added");
    assert!(columns(store.path(), "threads").contains(&("pinned".into(), "INTEGER".into(), false)));

    let mut old = thread("old");
    old.push(Value::Null);
    assert_eq!(store.read_rows("s", "threads", None, 10).await.expect("read")[0].values, old);
    let mut new = thread("new");
    new.push(Value::Bool(true));
    store.apply_page("s", page("threads", 1, vec![Row::upsert("t2", 2, new.clone())], false)).await.expect("apply");
    assert_eq!(store.read_rows("s", "threads", Some("t1"), 10).await.expect("read")[0].values, new);

    drop(store);
    let store = SqliteStore::open(dirs_path(&dirs)).expect("reopen");
    store.prepare(&schema).await.expect("preparing the same schema again is a no-op");
}

fn dirs_path(dirs: &Dirs) -> std::path::PathBuf {
    dirs.0.lock().expect("lock")[0].path().join("client.db")
}

#[tokio::test]
async fn an_incompatible_schema_is_refused_and_changes_nothing() {
    let dirs = Dirs::default();
    let store = prepared(&dirs).await;
    store.apply_page("s", page("threads", 0, vec![Row::upsert("t1", 1, thread("a"))], false)).await.expect("apply");
    let before = columns(store.path(), "threads");
    let posts_before = columns(store.path(), "posts");

    // A new required column, along with a nullable one in another table that must not be added either.
    let mut required = test_schema();
    required.collections[1].columns.push(Column::new("extra", ColumnType::Text));
    required.collections[0].columns.push(Column::new("rank", ColumnType::Integer).required());
    let err = store.prepare(&required).await.expect_err("a new NOT NULL column cannot be added");
    assert!(matches!(&err, StoreError::Schema(m) if m.contains("threads.rank") && m.contains("nullable")), "{err}");

    // A type change SQLite can see (INTEGER to TEXT), and one only the stored schema shows (timestamp to boolean).
    for (column, ty) in [(2, ColumnType::Text), (2, ColumnType::Boolean)] {
        let mut changed = test_schema();
        changed.collections[0].columns[column].ty = ty;
        let err = store.prepare(&changed).await.expect_err("a column cannot change type");
        assert!(matches!(&err, StoreError::Schema(m) if m.contains("threads.created_at")), "{err}");
    }

    // A column the schema now allows null in, while the table does not.
    let mut loosened = test_schema();
    loosened.collections[0].columns[0].nullable = true;
    assert!(matches!(store.prepare(&loosened).await, Err(StoreError::Schema(_))));

    assert_eq!(columns(store.path(), "threads"), before);
    assert_eq!(columns(store.path(), "posts"), posts_before);
    let outcome = store.apply_page("s", page("threads", 1, vec![Row::upsert("t2", 2, thread("b"))], false)).await;
    assert_eq!(outcome.expect("the store keeps working with its schema").cursor, 2);
}

#[tokio::test]
async fn a_failing_page_leaves_rows_and_cursor_untouched() {
    let dirs = Dirs::default();
    let store = prepared(&dirs).await;
    store.apply_page("s", page("threads", 0, vec![Row::upsert("t1", 1, thread("a"))], true)).await.expect("apply");
    let rows = store.read_rows("s", "threads", None, 10).await.expect("read");

    let mut null_title = thread("x");
    null_title[0] = Value::Null;
    let mut wrong_type = thread("y");
    wrong_type[2] = Value::Text("yesterday".into());
    for bad in [null_title, wrong_type, vec![Value::from("too short")]] {
        let good = vec![Row::upsert("t2", 2, thread("b")), Row::upsert("t1", 3, thread("a2")), Row::tombstone("t9", 4)];
        let mut all = good;
        all.push(Row::upsert("t3", 5, bad));
        let err = store.apply_page("s", page("threads", 1, all, false)).await.expect_err("a bad row fails the page");
        assert!(matches!(err, StoreError::Backend { .. }), "{err}");
        assert!(err.to_string().contains("\"t3\""), "the error names the row: {err}");
        assert_eq!(store.read_rows("s", "threads", None, 10).await.expect("read"), rows);
        assert_eq!(cursor(&store, "s", "threads").await, 1);
    }
}

#[tokio::test]
async fn reads_and_stats() {
    let dirs = Dirs::default();
    let store = prepared(&dirs).await;
    let rows = (0..5).map(|i| Row::upsert(format!("t{i}"), i + 1, thread(&format!("n{i}")))).collect();
    store.apply_page("s", page("threads", 0, rows, false)).await.expect("apply");
    let ids = |rows: Vec<sync_core::StoredRow>| rows.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(ids(store.read_rows("s", "threads", None, 2).await.expect("read")), ["t0", "t1"]);
    assert_eq!(ids(store.read_rows("s", "threads", Some("t1"), 2).await.expect("read")), ["t2", "t3"]);
    assert!(store.read_rows("other", "threads", None, 2).await.expect("read").is_empty());
    assert!(matches!(store.read_rows("s", "nope", None, 2).await, Err(StoreError::UnknownCollection(_))));
    let stats = store.stats().await.expect("stats");
    assert_eq!(stats.path.as_deref(), store.path().to_str());
    assert!(stats.file_size_bytes > 0);
    assert_eq!(stats.counts.get("posts"), Some(&0));
}

#[tokio::test]
async fn an_unprepared_store_knows_no_collection() {
    let dirs = Dirs::default();
    let store = SqliteStore::open(dirs.path("client.db")).expect("open");
    let err = store.apply_page("s", page("threads", 0, vec![], false)).await.expect_err("not prepared");
    assert!(matches!(err, StoreError::UnknownCollection(_)), "{err}");
    assert!(store.stats().await.expect("stats").counts.is_empty());
}

#[tokio::test]
async fn open_errors_say_what_to_do() {
    let dirs = Dirs::default();
    let server = dirs.path("server.db");
    drop(SqliteServerStore::open(&server, test_schema()).expect("server"));
    let err = SqliteStore::open(&server).expect_err("a server file is not a client replica");
    assert!(matches!(err, Error::WrongKind { .. }), "{err}");
    assert!(err.to_string().contains("new path"), "{err}");

    let missing = dirs.path("no/such/dir/client.db");
    let err = SqliteStore::open(&missing).expect_err("missing directory");
    assert!(matches!(err, Error::Open { .. }) && err.to_string().contains("directory exists"), "{err}");

    let newer = dirs.path("newer.db");
    raw(&newer).pragma_update(None, "user_version", 99).expect("set version");
    let err = SqliteStore::open(&newer).expect_err("a newer file");
    assert!(matches!(err, Error::TooNew { found: 99, .. }), "{err}");
}

#[tokio::test]
async fn schema_json_is_stored() {
    let dirs = Dirs::default();
    let store = prepared(&dirs).await;
    let schema = Schema::new(vec![Collection::new("notes", vec![Column::new("body", ColumnType::Text)])]).expect("ok");
    store.prepare(&schema).await.expect("a different schema");
    let json: String =
        raw(store.path()).query_row("SELECT schema_json FROM sync_schema", [], |r| r.get(0)).expect("row");
    assert_eq!(Schema::from_json(&json).expect("parses"), schema);
}
