//! The conformance suite of [`ClientStore`] subscriptions (selective sync, `subscription.rs`): what a change
//! keeps, evicts and refuses, and how filtered pages and heads move cursors. Run through
//! [`client_subscription_contracts!`](crate::client_subscription_contracts) by the stores that keep
//! subscriptions.

use std::sync::Arc;

use super::{page, post, test_schema, thread};
use crate::error::StoreError;
use crate::store::ClientStore;
use crate::subscription::{Subscription, SubscriptionChange};
use crate::value::Row;

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| (*v).to_owned()).collect()
}

async fn ids(store: &dyn ClientStore, collection: &str) -> Vec<String> {
    let rows = store.read_rows("s", collection, None, 10_000).await.expect("read_rows");
    rows.into_iter().map(|r| r.id).collect()
}

async fn change(store: &dyn ClientStore, change: SubscriptionChange) -> Subscription {
    store.change_subscription("s", change).await.expect("change")
}

/// Three threads with a post each, synced whole: threads t1..t3 at seqs 1..3, posts p1..p3 at 4..6.
async fn synced_whole(store: &dyn ClientStore) {
    store.prepare(&test_schema()).await.expect("prepare");
    let threads = (1..=3).map(|i| Row::upsert(format!("t{i}"), i, thread("x"))).collect();
    store.apply_page("s", page("threads", 0, threads, false)).await.expect("threads");
    let posts = (1..=3).map(|i| Row::upsert(format!("p{i}"), i + 3, post(&format!("t{i}"), "hi"))).collect();
    store.apply_page("s", page("posts", 0, posts, false)).await.expect("posts");
}

/// Subscribing from "everything" keeps the values' rows with the collection's cursor (nothing to fetch again)
/// and evicts every other value's rows; further values start at cursor 0.
pub async fn subscribing_keeps_the_values_and_evicts_the_rest(store: Arc<dyn ClientStore>) {
    let store = store.as_ref();
    synced_whole(store).await;
    assert!(store.subscription("s").await.expect("subscription").is_everything());
    let s = change(store, SubscriptionChange::Subscribe(strings(&["t1", "t3"]))).await;
    assert_eq!(s.values.iter().flatten().map(|v| v.value.as_str()).collect::<Vec<_>>(), ["t1", "t3"]);
    assert_eq!((s.get("t1").map(|v| v.cursor("threads")), s.get("t3").map(|v| v.cursor("posts"))), (Some(3), Some(6)));
    assert_eq!(
        (ids(store, "threads").await, ids(store, "posts").await),
        (strings(&["t1", "t3"]), strings(&["p1", "p3"]))
    );
    let state = store.sync_state("s").await.expect("state");
    assert!(state.is_empty(), "filtered collections keep per-value cursors only: {state:?}");
    let s = change(store, SubscriptionChange::Subscribe(strings(&["t2"]))).await;
    assert_eq!(s.get("t2").map(|v| v.cursor("posts")), Some(0));
    assert_eq!(ids(store, "posts").await, strings(&["p1", "p3"]), "a new value's rows come with the next pull");
}

/// A filtered page moves its values' cursors only; a gap is refused; a tombstone deletes a row held under one
/// of the page's values, not one held under another value.
pub async fn filtered_pages_move_their_values_cursors(store: Arc<dyn ClientStore>) {
    let store = store.as_ref();
    store.prepare(&test_schema()).await.expect("prepare");
    change(store, SubscriptionChange::Subscribe(strings(&["t1", "t2"]))).await;
    let (t1, t2) = (strings(&["t1"]), strings(&["t2"]));
    let rows = vec![Row::upsert("p1", 3, post("t1", "a")), Row::upsert("p9", 5, post("t1", "b"))];
    let outcome = store.apply_filtered_page("s", &t1, page("posts", 0, rows, false)).await.expect("t1");
    assert_eq!((outcome.upserted, outcome.cursor), (2, 5));
    let moved = vec![Row::upsert("p9", 8, post("t2", "moved")), Row::upsert("p2", 9, post("t2", "c"))];
    store.apply_filtered_page("s", &t2, page("posts", 0, moved, false)).await.expect("t2");
    // t1's page says p1 was deleted, and p9 left t1 (seq 11: the client holds it under t2, at seq 8, whose own
    // pull brings its changes).
    let gone = vec![Row::tombstone("p1", 10), Row::tombstone("p9", 11)];
    let err = store.apply_filtered_page("s", &t1, page("posts", 6, gone.clone(), false)).await.expect_err("gap");
    assert!(matches!(err, StoreError::CursorGap { cursor: 5, since_seq: 6, .. }), "{err}");
    store.apply_filtered_page("s", &t1, page("posts", 5, gone, false)).await.expect("t1 again");
    assert_eq!(ids(store, "posts").await, strings(&["p2", "p9"]));
    let s = store.subscription("s").await.expect("subscription");
    assert_eq!((s.get("t1").map(|v| v.cursor("posts")), s.get("t2").map(|v| v.cursor("posts"))), (Some(11), Some(9)));
    let rows = vec![Row::upsert("p2", 4, post("t2", "older"))];
    let applied = store.apply_filtered_page("s", &t2, page("posts", 0, rows, false)).await.expect("twice");
    assert_eq!(applied.cursor, 9, "a cursor never moves back");
    let p2 = store.read_rows("s", "posts", Some("p1"), 1).await.expect("read");
    assert_eq!(p2[0].seq, 9, "a row held at a newer seq stays");
}

/// Unsubscribe evicts a value's rows (its children by filter column too) and cursors; archive keeps them and
/// unarchive resumes from them; a change that cannot apply changes nothing; "everything" drops the filtered rows.
pub async fn unsubscribe_archive_and_everything(store: Arc<dyn ClientStore>) {
    let store = store.as_ref();
    synced_whole(store).await;
    change(store, SubscriptionChange::Subscribe(strings(&["t1", "t2", "t3"]))).await;
    let s = change(store, SubscriptionChange::Archive(strings(&["t2"]))).await;
    assert_eq!(s.active().map(|v| v.value.as_str()).collect::<Vec<_>>(), ["t1", "t3"]);
    assert_eq!(s.get("t2").map(|v| (v.archived, v.cursor("posts"))), Some((true, 6)));
    change(store, SubscriptionChange::Unsubscribe(strings(&["t1"]))).await;
    assert_eq!(
        (ids(store, "threads").await, ids(store, "posts").await),
        (strings(&["t2", "t3"]), strings(&["p2", "p3"]))
    );
    for bad in [
        SubscriptionChange::Archive(strings(&["t3", "t1"])),
        SubscriptionChange::Unsubscribe(strings(&["nope"])),
        SubscriptionChange::Subscribe(strings(&[""])),
    ] {
        let err = store.change_subscription("s", bad.clone()).await.expect_err("refused");
        assert!(matches!(err, StoreError::InvalidSubscription(_)), "{bad:?}: {err}");
    }
    let s = change(store, SubscriptionChange::Unarchive(strings(&["t2"]))).await;
    assert_eq!(s.get("t2").map(|v| (v.archived, v.cursor("posts"))), Some((false, 6)));
    assert!(!s.get("t3").is_some_and(|v| v.archived), "the refused archive of t3 changed nothing");
    let s = change(store, SubscriptionChange::Everything).await;
    assert!(s.is_everything());
    assert!(ids(store, "posts").await.is_empty() && ids(store, "threads").await.is_empty());
    let err = store.change_subscription("s", SubscriptionChange::Archive(strings(&["t2"]))).await.expect_err("all");
    assert!(matches!(err, StoreError::InvalidSubscription(_)), "{err}");
}

/// Rows applied outside a cursor (a head) follow the per-row rule and move no cursor; the pull that delivers
/// them again changes nothing.
pub async fn heads_move_no_cursor(store: Arc<dyn ClientStore>) {
    let store = store.as_ref();
    store.prepare(&test_schema()).await.expect("prepare");
    let head = vec![Row::upsert("p5", 5, post("t1", "new")), Row::upsert("p7", 7, post("t1", "newer"))];
    let outcome = store.apply_rows("s", page("posts", 0, head, false)).await.expect("head");
    assert_eq!((outcome.upserted, outcome.cursor), (2, 0));
    assert!(store.sync_state("s").await.expect("state").is_empty());
    let pull = vec![Row::upsert("p1", 1, post("t1", "old")), Row::upsert("p5", 4, post("t1", "stale"))];
    store.apply_page("s", page("posts", 0, pull, false)).await.expect("pull");
    let rows = store.read_rows("s", "posts", None, 10).await.expect("read");
    let seqs: Vec<(String, i64)> = rows.into_iter().map(|r| (r.id, r.seq)).collect();
    assert_eq!(seqs, [("p1".to_owned(), 1), ("p5".to_owned(), 5), ("p7".to_owned(), 7)]);
}
