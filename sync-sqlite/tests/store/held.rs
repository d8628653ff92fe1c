//! Held transactions: the pages of an initial sync into an empty table share one transaction
//! (`apply_page_held`), committed at page boundaries only, and never lost by a clean stop.

use std::path::Path;
use std::sync::Arc;

use sync_core::live::NotifyingStore;
use sync_core::testing::{page, post, test_schema};
use sync_core::{ClientStore, Row, Value};
use sync_sqlite::SqliteStore;

use crate::{Dirs, raw};

fn posts(from: i64, n: i64) -> Vec<Row> {
    (from..from + n).map(|i| Row::upsert(format!("p{i}"), i, post("t1", "hi"))).collect()
}

/// What another connection sees: committed rows of `posts` and the committed cursor.
fn committed(path: &Path) -> (i64, i64) {
    let conn = raw(path);
    let rows = conn.query_row("SELECT COUNT(*) FROM posts", [], |r| r.get(0)).expect("count");
    let cursor = conn
        .query_row("SELECT COALESCE(MAX(last_seq), 0) FROM sync_state WHERE collection = 'posts'", [], |r| r.get(0))
        .expect("cursor");
    (rows, cursor)
}

async fn prepared(path: &Path) -> SqliteStore {
    let store = SqliteStore::open(path).expect("open");
    store.prepare(&test_schema()).await.expect("prepare");
    store
}

#[tokio::test]
async fn held_pages_commit_together_at_the_last_page_or_at_flush() {
    let dirs = Dirs::default();
    let path = dirs.path("client.db");
    let store = prepared(&path).await;
    store.apply_page_held("s", page("posts", 0, posts(1, 4), true)).await.expect("first");
    store.apply_page_held("s", page("posts", 4, posts(5, 4), true)).await.expect("second");
    assert_eq!(committed(&path), (0, 0), "held pages are not committed yet");
    // The writer sees its own transaction: a resumed sync reads this cursor.
    let cursors = store.sync_state("s").await.expect("state");
    assert_eq!(cursors.iter().find(|c| c.collection == "posts").map(|c| c.last_seq), Some(8));

    store.flush().await.expect("flush");
    assert_eq!(committed(&path), (8, 8), "flush commits every held page, cursor included");

    // After a flush the table is still loading (its indexes deferred): the next pages are held again, and the
    // last page commits them with the index build.
    store.apply_page_held("s", page("posts", 8, posts(9, 2), true)).await.expect("third");
    assert_eq!(committed(&path), (8, 8));
    store.apply_page_held("s", page("posts", 10, posts(11, 1), false)).await.expect("last");
    assert_eq!(committed(&path), (11, 11), "the last page commits");
}

#[tokio::test]
async fn a_failing_held_page_rolls_back_the_pages_held_with_it() {
    let dirs = Dirs::default();
    let path = dirs.path("client.db");
    let store = prepared(&path).await;
    store.apply_page_held("s", page("posts", 0, posts(1, 4), true)).await.expect("first");
    let mut rows = posts(5, 2);
    let mut bad = post("t1", "x");
    bad[0] = Value::Null; // thread_id is required
    rows.push(Row::upsert("p7", 7, bad));
    store.apply_page_held("s", page("posts", 4, rows, true)).await.expect_err("a bad row fails the page");
    store.flush().await.expect("nothing left to flush");
    assert_eq!(committed(&path), (0, 0), "rows and cursor went back together");
    assert!(store.sync_state("s").await.expect("state").is_empty());

    // The store is usable and not left inside a transaction: the sync starts again from 0 and ends exact, with
    // the indexes built (the rollback also undid their DROP).
    store.apply_page_held("s", page("posts", 0, posts(1, 4), true)).await.expect("again");
    store.apply_page_held("s", page("posts", 4, posts(5, 3), false)).await.expect("last");
    assert_eq!(committed(&path), (7, 7));
    let indexes: i64 = raw(&path)
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'posts' AND sql IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .expect("indexes");
    assert_eq!(indexes, 2);
}

#[tokio::test]
async fn other_writes_and_closing_the_store_commit_held_pages_first() {
    let dirs = Dirs::default();
    let path = dirs.path("client.db");
    let store = prepared(&path).await;
    store.apply_page_held("s", page("posts", 0, posts(1, 4), true)).await.expect("held");
    // An ordinary page (another collection) commits what was held before its own transaction.
    store.apply_page("s", page("threads", 0, vec![], false)).await.expect("plain page");
    assert_eq!(committed(&path), (4, 4));

    store.apply_page_held("s", page("posts", 4, posts(5, 2), true)).await.expect("held again");
    store.prepare(&test_schema()).await.expect("prepare commits first");
    assert_eq!(committed(&path), (6, 6));

    store.apply_page_held("s", page("posts", 6, posts(7, 2), true)).await.expect("held before close");
    drop(store);
    assert_eq!(committed(&path), (8, 8), "a store dropped mid-sync keeps whole pages");
}

#[tokio::test]
async fn a_table_that_holds_rows_is_not_loaded_in_a_held_transaction() {
    let dirs = Dirs::default();
    let path = dirs.path("client.db");
    let store = prepared(&path).await;
    store.apply_page("other", page("posts", 0, posts(100, 2), false)).await.expect("another scope");
    store.apply_page_held("s", page("posts", 0, posts(1, 4), true)).await.expect("first");
    assert_eq!(committed(&path).0, 6, "indexes maintained: every page commits on its own");
}

#[tokio::test]
async fn with_a_listener_every_held_page_is_committed_before_its_event() {
    let dirs = Dirs::default();
    let path = dirs.path("client.db");
    let store = NotifyingStore::new(Arc::new(prepared(&path).await), 16);
    let mut events = store.subscribe();
    store.apply_page_held("s", page("posts", 0, posts(1, 4), true)).await.expect("first");
    let event = events.try_recv().expect("an event");
    assert_eq!(event.cursor, 4);
    assert_eq!(committed(&path), (4, 4), "the event's rows are readable by another connection");

    // Without a listener the pages are held.
    drop(events);
    store.apply_page_held("s", page("posts", 4, posts(5, 4), true)).await.expect("second");
    assert_eq!(committed(&path), (4, 4));
    store.flush().await.expect("flush");
    assert_eq!(committed(&path), (8, 8));
}
