//! The conformance suite of [`ClientStore`]: PROTOCOL.md invariants 4 and 5 as seen from the store.

use std::sync::Arc;

use super::{page, post, test_schema, thread};
use crate::error::StoreError;
use crate::store::ClientStore;
use crate::value::{Row, Value};

async fn cursor(store: &dyn ClientStore, scope: &str, collection: &str) -> i64 {
    let state = store.sync_state(scope).await.expect("sync_state");
    state.iter().find(|c| c.collection == collection).map_or(0, |c| c.last_seq)
}

async fn ids(store: &dyn ClientStore, scope: &str, collection: &str) -> Vec<(String, i64)> {
    let rows = store.read_rows(scope, collection, None, 10_000).await.expect("read_rows");
    rows.into_iter().map(|r| (r.id, r.seq)).collect()
}

async fn prepared(store: &dyn ClientStore) {
    store.prepare(&test_schema()).await.expect("prepare");
    store.prepare(&test_schema()).await.expect("prepare is idempotent");
}

/// A page applies its rows with every value type intact and moves the cursor to its `latest_seq`.
pub async fn apply_advances_cursor_and_keeps_values(store: Arc<dyn ClientStore>) {
    let store = store.as_ref();
    prepared(store).await;
    let mut odd = post("t1", "naïve café 🚀 \"quoted\"");
    odd[1] = Value::Null;
    odd[2] = Value::Real(-1.25e-3);
    let rows = vec![Row::upsert("t1", 2, thread("one")), Row::upsert("t2", 5, thread("two"))];
    let outcome = store.apply_page("s", page("threads", 0, rows, true)).await.expect("apply");
    assert_eq!((outcome.upserted, outcome.cursor), (2, 5));
    assert_eq!(cursor(store, "s", "threads").await, 5);
    store.apply_page("s", page("posts", 0, vec![Row::upsert("p1", 7, odd.clone())], false)).await.expect("apply");
    let stored = store.read_rows("s", "posts", None, 10).await.expect("read");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].values, odd, "values must round-trip exactly");
    let stats = store.stats().await.expect("stats");
    assert_eq!(stats.counts.get("threads"), Some(&2));
    assert_eq!(stats.counts.get("posts"), Some(&1));
}

/// Applying the same page twice changes nothing (PROTOCOL.md invariant 5).
pub async fn applying_twice_changes_nothing(store: Arc<dyn ClientStore>) {
    let store = store.as_ref();
    prepared(store).await;
    let p = page("threads", 0, vec![Row::upsert("a", 1, thread("a")), Row::tombstone("b", 2)], false);
    store.apply_page("s", p.clone()).await.expect("first");
    let before = store.read_rows("s", "threads", None, 100).await.expect("read");
    let again = store.apply_page("s", p).await.expect("second");
    assert_eq!((again.upserted, again.deleted, again.skipped, again.cursor), (0, 0, 2, 2));
    assert_eq!(store.read_rows("s", "threads", None, 100).await.expect("read"), before);
}

/// An upsert never replaces a row that holds a greater seq (PROTOCOL.md invariant 5).
pub async fn older_never_overwrites_newer(store: Arc<dyn ClientStore>) {
    let store = store.as_ref();
    prepared(store).await;
    // A store must not rely on the decoder: even inside one page an older change loses.
    let rows = vec![Row::upsert("a", 9, thread("new")), Row::upsert("a", 4, thread("old")), Row::tombstone("a", 6)];
    store.apply_page("s", page("threads", 0, rows, false)).await.expect("apply");
    let stored = store.read_rows("s", "threads", None, 10).await.expect("read");
    assert_eq!(stored.len(), 1, "an older tombstone must not delete a newer row");
    assert_eq!((stored[0].seq, &stored[0].values), (9, &thread("new")));
}

/// A tombstone deletes its row and advances the cursor.
pub async fn tombstones_delete(store: Arc<dyn ClientStore>) {
    let store = store.as_ref();
    prepared(store).await;
    let rows = vec![Row::upsert("a", 1, thread("a")), Row::upsert("b", 2, thread("b"))];
    store.apply_page("s", page("threads", 0, rows, false)).await.expect("apply");
    let rows = vec![Row::tombstone("a", 3), Row::tombstone("never-seen", 4)];
    let outcome = store.apply_page("s", page("threads", 2, rows, false)).await.expect("apply");
    assert_eq!(outcome.deleted, 2);
    assert_eq!(ids(store, "s", "threads").await, vec![("b".to_owned(), 2)]);
    assert_eq!(store.stats().await.expect("stats").counts.get("threads"), Some(&1));
}

/// A page that starts above the stored cursor is refused and changes nothing (PROTOCOL.md invariant 5).
pub async fn gaps_are_refused(store: Arc<dyn ClientStore>) {
    let store = store.as_ref();
    prepared(store).await;
    store.apply_page("s", page("threads", 0, vec![Row::upsert("a", 1, thread("a"))], true)).await.expect("apply");
    let err = store
        .apply_page("s", page("threads", 5, vec![Row::upsert("b", 6, thread("b"))], false))
        .await
        .expect_err("a page starting after the cursor must be refused");
    assert!(matches!(err, StoreError::CursorGap { cursor: 1, since_seq: 5, .. }), "{err}");
    assert_eq!(ids(store, "s", "threads").await, vec![("a".to_owned(), 1)]);
    assert_eq!(cursor(store, "s", "threads").await, 1);
}

/// The cursor never moves backwards.
pub async fn cursor_never_moves_back(store: Arc<dyn ClientStore>) {
    let store = store.as_ref();
    prepared(store).await;
    store.apply_page("s", page("threads", 0, vec![Row::upsert("a", 8, thread("a"))], false)).await.expect("apply");
    let outcome = store.apply_page("s", page("threads", 0, vec![], false)).await.expect("empty page");
    assert_eq!(outcome.cursor, 8);
    assert_eq!(cursor(store, "s", "threads").await, 8);
}

/// Scopes keep their own rows and cursors, and a reset clears one scope only (PROTOCOL.md invariant 6).
pub async fn scopes_are_independent_and_reset(store: Arc<dyn ClientStore>) {
    let store = store.as_ref();
    prepared(store).await;
    for scope in ["x", "y"] {
        let rows = vec![Row::upsert("same-id", 3, thread(scope))];
        store.apply_page(scope, page("threads", 0, rows, false)).await.expect("apply");
    }
    store.apply_page("x", page("threads", 3, vec![Row::tombstone("same-id", 4)], false)).await.expect("apply");
    assert!(ids(store, "x", "threads").await.is_empty());
    let y = store.read_rows("y", "threads", None, 10).await.expect("read");
    assert_eq!(y.len(), 1, "a tombstone in one scope must not touch another");
    assert_eq!(y[0].values, thread("y"));

    store.apply_page("x", page("threads", 4, vec![Row::upsert("other", 5, thread("o"))], false)).await.expect("apply");
    store.reset("x").await.expect("reset");
    assert!(ids(store, "x", "threads").await.is_empty());
    assert!(store.sync_state("x").await.expect("state").is_empty());
    assert_eq!(cursor(store, "y", "threads").await, 3);
    assert_eq!(ids(store, "y", "threads").await.len(), 1);
}

/// A page of a collection the schema does not have is an error.
pub async fn unknown_collection_is_an_error(store: Arc<dyn ClientStore>) {
    let store = store.as_ref();
    prepared(store).await;
    let err = store.apply_page("s", page("nope", 0, vec![], false)).await.expect_err("unknown collection");
    assert!(matches!(err, StoreError::UnknownCollection(_)), "{err}");
}
