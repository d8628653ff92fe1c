//! Deferred indexes: an initial sync into an empty table drops its secondary indexes at the first page and builds
//! them at the last, and a store that stopped in between (a crash, an error) gets them back when it is opened.

use std::path::Path;

use sync_core::testing::{page, post, test_schema, thread};
use sync_core::{ClientStore, Row, Value};
use sync_sqlite::{SearchOptions, SqliteStore};

use crate::{Dirs, raw};

/// The secondary indexes of `table` in the file, by name, as another connection sees them (committed state).
fn indexes(path: &Path, table: &str) -> Vec<String> {
    let conn = raw(path);
    let mut stmt = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL ORDER BY name",
        )
        .expect("prepare");
    let names = stmt.query_map([table], |r| r.get(0)).expect("query");
    names.collect::<Result<_, _>>().expect("names")
}

const POSTS_INDEXES: [&str; 2] = ["idx_posts_seq", "idx_posts_thread_id_likes"];

fn posts(from: i64, n: i64) -> Vec<Row> {
    (from..from + n).map(|i| Row::upsert(format!("p{i}"), i, post(&format!("t{}", i % 3), "hi"))).collect()
}

async fn prepared(path: &Path) -> SqliteStore {
    let store = SqliteStore::open(path).expect("open");
    store.prepare(&test_schema()).await.expect("prepare");
    store
}

async fn ids(store: &SqliteStore, scope: &str) -> Vec<String> {
    store.read_rows(scope, "posts", None, 1000).await.expect("read").into_iter().map(|r| r.id).collect()
}

#[tokio::test]
async fn an_initial_sync_builds_the_indexes_at_its_last_page() {
    let dirs = Dirs::default();
    let path = dirs.path("client.db");
    let store = prepared(&path).await;
    assert_eq!(indexes(&path, "posts"), POSTS_INDEXES);

    store.apply_page("s", page("posts", 0, posts(1, 4), true)).await.expect("first page");
    assert!(indexes(&path, "posts").is_empty(), "a first page into an empty table drops the secondary indexes");
    store.apply_page("s", page("posts", 4, posts(5, 4), true)).await.expect("middle page");
    assert!(indexes(&path, "posts").is_empty());
    assert_eq!(indexes(&path, "threads").len(), 1, "other tables keep theirs");
    let outcome = store.apply_page("s", page("posts", 8, posts(9, 2), false)).await.expect("last page");
    assert_eq!((outcome.upserted, outcome.cursor), (2, 10));
    assert_eq!(indexes(&path, "posts"), POSTS_INDEXES, "the last page builds them");
    assert_eq!(ids(&store, "s").await.len(), 10);
    // The built index serves its query.
    let plan: String = raw(&path)
        .query_row("EXPLAIN QUERY PLAN SELECT id FROM posts WHERE integration_id = 's' AND thread_id = 't1'", [], |r| {
            r.get(3)
        })
        .expect("plan");
    assert!(plan.contains("idx_posts_thread_id_likes"), "{plan}");

    // A table that already holds rows (here, another scope's) keeps its indexes during an initial sync.
    store.apply_page("other", page("posts", 0, posts(100, 4), true)).await.expect("other scope");
    assert_eq!(indexes(&path, "posts"), POSTS_INDEXES);
    // A sync that is a single page never drops them.
    store.apply_page("s", page("threads", 0, vec![Row::upsert("t1", 1, thread("a"))], false)).await.expect("one page");
    assert_eq!(indexes(&path, "threads").len(), 1);
}

#[tokio::test]
async fn a_store_stopped_mid_initial_sync_gets_its_indexes_back_when_opened() {
    let dirs = Dirs::default();
    let path = dirs.path("client.db");
    let store = prepared(&path).await;
    store.apply_page("s", page("posts", 0, posts(1, 4), true)).await.expect("first page");
    store.apply_page("s", page("posts", 4, posts(5, 4), true)).await.expect("second page");
    drop(store);
    assert!(indexes(&path, "posts").is_empty(), "stopped between pages: the indexes are still deferred");

    // Opened again (no prepare: an app that only reads): exact at the page boundary, indexes back.
    let store = SqliteStore::open(&path).expect("reopen");
    assert_eq!(indexes(&path, "posts"), POSTS_INDEXES);
    assert_eq!(ids(&store, "s").await.len(), 8);
    // The sync resumes with the indexes maintained, and ends with them.
    store.prepare(&test_schema()).await.expect("prepare");
    store.apply_page("s", page("posts", 8, posts(9, 4), true)).await.expect("resumed page");
    assert_eq!(indexes(&path, "posts"), POSTS_INDEXES, "a resumed sync does not drop them again");
    store.apply_page("s", page("posts", 12, posts(13, 1), false)).await.expect("last page");
    assert_eq!(indexes(&path, "posts"), POSTS_INDEXES);
    assert_eq!(ids(&store, "s").await.len(), 13);
}

#[tokio::test]
async fn a_failing_first_page_keeps_the_indexes() {
    let dirs = Dirs::default();
    let path = dirs.path("client.db");
    let store = prepared(&path).await;
    let mut rows = posts(1, 3);
    let mut bad = post("t1", "x");
    bad[0] = Value::Null; // thread_id is required
    rows.push(Row::upsert("p4", 4, bad));
    store.apply_page("s", page("posts", 0, rows, true)).await.expect_err("a bad row fails the page");
    assert_eq!(indexes(&path, "posts"), POSTS_INDEXES, "the rolled-back page rolled back the DROP INDEX too");
    assert!(ids(&store, "s").await.is_empty());

    // The store did not count the indexes as deferred: a good first page defers, and the last builds them.
    store.apply_page("s", page("posts", 0, posts(1, 4), true)).await.expect("first page");
    assert!(indexes(&path, "posts").is_empty());
    store.apply_page("s", page("posts", 4, posts(5, 1), false)).await.expect("last page");
    assert_eq!(indexes(&path, "posts"), POSTS_INDEXES);
}

/// Rows of `posts` in the file as another connection sees them (committed state), and its full-text triggers.
fn committed(path: &Path) -> (i64, i64) {
    let conn = raw(path);
    let rows = conn.query_row("SELECT COUNT(*) FROM posts", [], |r| r.get(0)).expect("count");
    let triggers = conn
        .query_row("SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'posts'", [], |r| r.get(0))
        .expect("triggers");
    (rows, triggers)
}

async fn searched(store: &SqliteStore, word: &str) -> usize {
    store.search("s", word, SearchOptions { limit: 100, ..Default::default() }).await.expect("search").len()
}

#[tokio::test]
async fn recent_first_heads_defer_all_but_the_filter_index_until_the_pull_builds_them() {
    let dirs = Dirs::default();
    let path = dirs.path("client.db");
    let store = prepared(&path).await;
    // The heads of a recent-first sync from scratch: held (not committed) until flushed.
    let outcome = store.apply_rows_held("s", page("posts", 0, posts(8, 2), false)).await.expect("head");
    assert_eq!((outcome.upserted, outcome.cursor), (2, 0));
    assert_eq!(committed(&path).0, 0, "held: not committed yet");
    store.apply_rows_held("s", page("posts", 0, posts(6, 1), false)).await.expect("another head");
    store.flush().await.expect("flush");
    assert_eq!(committed(&path), (3, 0), "the heads are committed; the full-text triggers are off");
    assert_eq!(indexes(&path, "posts"), ["idx_posts_thread_id_likes"], "what reads a thread's posts stays");
    let plan: String = raw(&path)
        .query_row(
            "EXPLAIN QUERY PLAN SELECT id FROM posts WHERE integration_id = 's' AND thread_id = 't1' LIMIT 30",
            [],
            |r| r.get(3),
        )
        .expect("plan");
    assert!(plan.contains("idx_posts_thread_id_likes"), "{plan}");

    // The pull from scratch joins the deferral, re-delivers the heads as no-ops and builds everything at its end.
    store.apply_page_held("s", page("posts", 0, posts(1, 4), true)).await.expect("first page");
    assert_eq!(indexes(&path, "posts"), ["idx_posts_thread_id_likes"]);
    let last = store.apply_page_held("s", page("posts", 4, posts(5, 5), false)).await.expect("last page");
    assert_eq!(last.cursor, 9);
    assert_eq!(indexes(&path, "posts"), POSTS_INDEXES);
    assert_eq!(committed(&path), (9, 3));
    assert_eq!(searched(&store, "hi").await, 9, "the full-text index holds every row, heads included");
}

#[tokio::test]
async fn heads_defer_nothing_into_a_table_that_holds_rows_or_for_a_subscription() {
    let dirs = Dirs::default();
    let path = dirs.path("client.db");
    let store = prepared(&path).await;
    let change = sync_core::SubscriptionChange::Subscribe(vec!["t1".into()]);
    store.change_subscription("s", change).await.expect("subscribe");
    // A filtered pull never builds deferred indexes: a subscription's heads keep them, committed one by one.
    store.apply_rows_held("s", page("posts", 0, vec![Row::upsert("p1", 1, post("t1", "hi"))], false)).await.expect("h");
    assert_eq!(committed(&path), (1, 3));
    assert_eq!(indexes(&path, "posts"), POSTS_INDEXES);
    // Another scope that syncs everything: the table holds rows already.
    store.apply_rows_held("other", page("posts", 0, posts(1, 2), false)).await.expect("head of another scope");
    assert_eq!(committed(&path), (3, 3));
    assert_eq!(indexes(&path, "posts"), POSTS_INDEXES);
}

#[tokio::test]
async fn a_store_stopped_after_the_heads_gets_its_indexes_back_when_opened() {
    let dirs = Dirs::default();
    let path = dirs.path("client.db");
    let store = prepared(&path).await;
    store.apply_rows_held("s", page("posts", 0, posts(8, 2), false)).await.expect("head");
    store.apply_page_held("s", page("posts", 0, posts(1, 4), true)).await.expect("first page");
    drop(store);
    assert_eq!(committed(&path), (6, 0), "closing commits what was held, at a call boundary");
    let store = SqliteStore::open(&path).expect("reopen");
    assert_eq!(indexes(&path, "posts"), POSTS_INDEXES);
    assert_eq!(committed(&path), (6, 3));
    assert_eq!(searched(&store, "hi").await, 6);
}
