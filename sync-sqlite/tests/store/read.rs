//! The client replica's reader: paged, filtered rows checked against the schema, and read-only queries.

use sync_core::testing::{page, post, test_schema, thread};
use sync_core::{ClientStore, ErrorCode, Row, StoreError, Value};
use sync_sqlite::{ListRows, SqliteStore};

use crate::Dirs;

/// Threads t1..t3 and posts p1..p5 (p1..p3 in t1, p4..p5 in t2) in scope `s`, and one post of another scope.
async fn store(dirs: &Dirs) -> SqliteStore {
    let store = SqliteStore::open(dirs.path("client.db")).expect("open");
    store.prepare(&test_schema()).await.expect("prepare");
    let threads = (1..=3).map(|i| Row::upsert(format!("t{i}"), i, thread(&format!("thread {i}")))).collect();
    store.apply_page("s", page("threads", 0, threads, false)).await.expect("threads");
    let posts = (1..=5)
        .map(|i| Row::upsert(format!("p{i}"), 10 + i, post(if i <= 3 { "t1" } else { "t2" }, &format!("body {i}"))))
        .collect();
    store.apply_page("s", page("posts", 0, posts, false)).await.expect("posts");
    store
        .apply_page("other", page("posts", 0, vec![Row::upsert("x1", 1, post("t1", "elsewhere"))], false))
        .await
        .expect("other");
    store
}

fn ids(rows: &[sync_core::StoredRow]) -> Vec<&str> {
    rows.iter().map(|r| r.id.as_str()).collect()
}

#[tokio::test]
async fn list_rows_filters_sorts_and_pages_within_the_scope() {
    let dirs = Dirs::default();
    let store = store(&dirs).await;
    let in_t1 = |limit, offset| ListRows {
        filter: vec![("thread_id".into(), Value::from("t1"))],
        order_by: Some(("seq".into(), true)),
        limit,
        offset,
    };
    let first = store.list_rows("s", "posts", in_t1(2, 0)).await.expect("first page");
    assert_eq!(ids(&first), ["p3", "p2"]);
    assert_eq!(first[0].values, post("t1", "body 3"), "values come back typed by the schema");
    let second = store.list_rows("s", "posts", in_t1(2, 2)).await.expect("second page");
    assert_eq!(ids(&second), ["p1"]);

    assert_eq!(store.schema().expect("prepared").collection("posts").map(|c| c.columns.len()), Some(5));
    let all = ListRows { limit: 100, ..Default::default() };
    assert_eq!(ids(&store.list_rows("s", "posts", all.clone()).await.expect("all")), ["p1", "p2", "p3", "p4", "p5"]);
    assert_eq!(ids(&store.list_rows("other", "posts", all.clone()).await.expect("other scope")), ["x1"]);
    let null_body = ListRows { filter: vec![("body".into(), Value::Null)], limit: 10, ..Default::default() };
    assert!(store.list_rows("s", "posts", null_body).await.expect("IS NULL").is_empty());
}

#[tokio::test]
async fn list_rows_refuses_unknown_columns_and_collections() {
    let dirs = Dirs::default();
    let store = store(&dirs).await;
    let bad_filter = ListRows { filter: vec![("nope".into(), Value::from(1))], limit: 1, ..Default::default() };
    let e = store.list_rows("s", "posts", bad_filter).await.expect_err("unknown filter column");
    assert!(matches!(&e, StoreError::InvalidQuery(m) if m.contains("nope")), "{e}");
    let injection =
        ListRows { order_by: Some(("seq; DROP TABLE posts".into(), false)), limit: 1, ..Default::default() };
    let e = store.list_rows("s", "posts", injection).await.expect_err("unknown sort column");
    assert_eq!(e.code(), ErrorCode::InvalidQuery);
    let e = store.list_rows("s", "nothing", ListRows::default()).await.expect_err("unknown collection");
    assert!(matches!(e, StoreError::UnknownCollection(_)), "{e}");
    assert_eq!(store.stats().await.expect("stats").counts["posts"], 6, "nothing was dropped");
}

#[tokio::test]
async fn query_reads_with_parameters_and_refuses_anything_else() {
    let dirs = Dirs::default();
    let store = store(&dirs).await;
    let result = store
        .query(
            "SELECT thread_id, COUNT(*) AS n, MAX(seq) FROM posts WHERE integration_id = ? AND seq > ? \
             GROUP BY thread_id ORDER BY thread_id",
            vec![Value::from("s"), Value::Integer(11)],
        )
        .await
        .expect("query");
    assert_eq!(result.columns, ["thread_id", "n", "MAX(seq)"]);
    assert_eq!(
        result.rows,
        vec![
            vec![Value::from("t1"), Value::Integer(2), Value::Integer(13)],
            vec![Value::from("t2"), Value::Integer(2), Value::Integer(15)]
        ]
    );
    let cursor = store
        .query(
            "SELECT last_seq FROM sync_state WHERE collection = ?1 AND integration_id = ?2",
            vec![Value::from("posts"), Value::from("s")],
        )
        .await
        .expect("cursor");
    assert_eq!(cursor.rows, vec![vec![Value::Integer(15)]]);

    for write in [
        "DELETE FROM posts",
        "INSERT INTO threads (id, integration_id, seq, title) VALUES ('z', 's', 99, 'z')",
        "UPDATE sync_state SET last_seq = 0",
        "DROP TABLE posts",
        "CREATE TABLE evil (x)",
        "PRAGMA user_version = 7",
        "SELECT 1; DELETE FROM posts",
        "BEGIN",
    ] {
        let e = store.query(write, vec![]).await.expect_err(write);
        assert_eq!(e.code(), ErrorCode::InvalidQuery, "{write}: {e}");
    }
    // SQLite counts ATTACH as a read; the reader allows no attached database, so it fails when it runs.
    let e = store.query("ATTACH DATABASE ':memory:' AS other", vec![]).await.expect_err("ATTACH");
    assert!(e.to_string().contains("attached"), "{e}");
    assert_eq!(
        store.query("SELECT 1", vec![]).await.expect("a read after a refused BEGIN").rows,
        vec![vec![Value::Integer(1)]]
    );
    let e = store.query("SELECT ?", vec![]).await.expect_err("missing parameter");
    assert_eq!(e.code(), ErrorCode::InvalidQuery);
    assert_eq!(store.stats().await.expect("stats").counts["posts"], 6, "nothing changed");
    assert_eq!(store.sync_state("s").await.expect("state").iter().map(|c| c.last_seq).max(), Some(15));
}
