//! The conformance suite of [`ServerStore`]: PROTOCOL.md invariants 2 and 3 as seen from the server's store.

use std::sync::Arc;

use super::{post, test_schema, thread};
use crate::error::FeedError;
use crate::feed::{ServerStore, Write};
use crate::filter::HeadRead;
use crate::value::{Change, Row, Value};

fn up(collection: &str, id: &str, values: Vec<Value>) -> Write {
    Write::Upsert { collection: collection.into(), id: id.into(), values }
}

fn del(collection: &str, id: &str) -> Write {
    Write::Delete { collection: collection.into(), id: id.into() }
}

/// The store serves [`test_schema`], which the other contracts write and read.
pub async fn serves_the_test_schema(store: Arc<dyn ServerStore>) {
    assert_eq!(store.schema(), &test_schema(), "the contracts expect stores serving testing::test_schema()");
}

/// [`crate::ChangeFeed::wait_for_seq`]: at once when the seq is already past, on a write during the wait, and
/// the known seq after the timeout (0 for a scope with no write yet). Bounds are loose: a store may rely on its
/// periodic re-check.
pub async fn waits_for_a_newer_seq(store: Arc<dyn ServerStore>) {
    use std::time::{Duration, Instant};
    let started = Instant::now();
    assert_eq!(store.wait_for_seq("ghost", 0, Duration::from_millis(100)).await.ok(), Some(0));
    assert!(started.elapsed() >= Duration::from_millis(100), "an unknown scope waits like an empty one");

    let seq = store.write("s", vec![up("threads", "t1", thread("t1"))]).await.expect("write").last_seq;
    let started = Instant::now();
    assert_eq!(store.wait_for_seq("s", seq - 1, Duration::from_secs(30)).await.ok(), Some(seq));
    assert!(started.elapsed() < Duration::from_secs(5), "a seq already past answers at once");

    let writer = store.clone();
    let write = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        writer.write("s", vec![up("threads", "t2", thread("t2"))]).await.expect("write").last_seq
    });
    let started = Instant::now();
    let woke = store.wait_for_seq("s", seq, Duration::from_secs(30)).await.expect("wait");
    assert!(woke > seq, "woke at {woke}, waiting past {seq}");
    assert!(started.elapsed() < Duration::from_secs(5), "a write wakes the wait: {:?}", started.elapsed());
    assert_eq!(write.await.ok(), Some(woke));
    let started = Instant::now();
    assert_eq!(store.wait_for_seq("s", woke, Duration::from_millis(100)).await.ok(), Some(woke), "timeout");
    assert!(started.elapsed() >= Duration::from_millis(100));
}

/// A scope with no write yet is `UnknownScope` to pages and status.
pub async fn unknown_scope(store: Arc<dyn ServerStore>) {
    let store = store.as_ref();
    assert!(matches!(store.page("ghost", "threads", 0, 10).await, Err(FeedError::UnknownScope(_))));
    assert!(matches!(store.status("ghost").await, Err(FeedError::UnknownScope(_))));
    store.write("s", vec![up("threads", "t", thread("t"))]).await.expect("write");
    assert!(matches!(store.page("s", "nope", 0, 10).await, Err(FeedError::UnknownCollection(_))));
}

/// Pages come in seq order, at most `limit` rows, with `has_more` and the live count (PROTOCOL.md invariant 2).
pub async fn pages_in_seq_order(store: Arc<dyn ServerStore>) {
    let store = store.as_ref();
    let writes = (0..5).map(|i| up("threads", &format!("t{i}"), thread(&format!("title {i}")))).collect();
    let receipt = store.write("s", writes).await.expect("write");
    assert_eq!((receipt.upserted, receipt.last_seq), (5, 5));
    let first = store.page("s", "threads", 0, 2).await.expect("page");
    let seqs: Vec<i64> = first.rows.iter().map(|r| r.seq).collect();
    assert_eq!((seqs, first.latest_seq, first.has_more, first.total_count), (vec![1, 2], 2, true, 5));
    let rest = store.page("s", "threads", 2, 10).await.expect("page");
    assert_eq!(rest.rows.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![3, 4, 5]);
    assert!(!rest.has_more);
    assert_eq!(rest.rows[0].change, Change::Upsert(thread("title 2")));
    let empty = store.page("s", "threads", 5, 10).await.expect("page");
    assert_eq!((empty.rows.len(), empty.latest_seq, empty.has_more), (0, 5, false));
    let none = store.page("s", "posts", 0, 10).await.expect("empty collection");
    assert_eq!((none.rows.len(), none.latest_seq), (0, 0));
    let status = store.status("s").await.expect("status");
    assert_eq!(status.latest_seq, 5);
    assert_eq!((status.collections["threads"].latest_seq, status.collections["threads"].count), (5, 5));
    assert_eq!(status.collections["posts"].latest_seq, 0);
}

/// Every update and delete takes a new seq; deletes leave tombstones (PROTOCOL.md invariant 3).
pub async fn updates_and_deletes_take_new_seqs(store: Arc<dyn ServerStore>) {
    let store = store.as_ref();
    store.write("s", vec![up("threads", "a", thread("a")), up("threads", "b", thread("b"))]).await.expect("write");
    store.write("s", vec![up("threads", "a", thread("a2"))]).await.expect("update");
    let receipt = store.write("s", vec![del("threads", "b"), del("threads", "missing")]).await.expect("delete");
    assert_eq!((receipt.deleted, receipt.last_seq), (1, 4));
    let page = store.page("s", "threads", 0, 10).await.expect("page");
    let got: Vec<(String, i64, bool)> = page.rows.iter().map(|r| (r.id.clone(), r.seq, r.is_delete())).collect();
    assert_eq!(got, vec![("a".into(), 3, false), ("b".into(), 4, true)], "each row once, at its latest seq");
    assert_eq!(page.total_count, 1);
    assert_eq!(store.get("s", "threads", "a").await.expect("get"), Some(thread("a2")));
    assert_eq!(store.get("s", "threads", "b").await.expect("get"), None);
    let live = store.read_rows("s", "threads", None, 10).await.expect("rows");
    assert_eq!(live.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), vec!["a"]);
    // Writing the row again after its delete revives it with a new seq.
    store.write("s", vec![up("threads", "b", thread("b again"))]).await.expect("revive");
    assert_eq!(store.status("s").await.expect("status").collections["threads"].count, 2);
}

/// A delete cascades along references, each deleted row leaving a tombstone.
pub async fn deletes_cascade(store: Arc<dyn ServerStore>) {
    let store = store.as_ref();
    let writes = vec![
        up("threads", "t1", thread("one")),
        up("threads", "t2", thread("two")),
        up("posts", "p1", post("t1", "x")),
        up("posts", "p2", post("t1", "y")),
        up("posts", "p3", post("t2", "z")),
    ];
    store.write("s", writes).await.expect("write");
    let receipt = store.write("s", vec![del("threads", "t1")]).await.expect("delete");
    assert_eq!(receipt.deleted, 3, "the thread and its two posts");
    let page = store.page("s", "posts", 5, 10).await.expect("page");
    let mut gone: Vec<&str> = page.rows.iter().filter(|r| r.is_delete()).map(|r| r.id.as_str()).collect();
    gone.sort_unstable();
    assert_eq!(gone, vec!["p1", "p2"]);
    assert_eq!(store.status("s").await.expect("status").collections["posts"].count, 1);
}

/// A batch with an invalid write fails whole and changes nothing.
pub async fn invalid_batches_change_nothing(store: Arc<dyn ServerStore>) {
    let store = store.as_ref();
    store.write("s", vec![up("threads", "a", thread("a"))]).await.expect("write");
    let bad = vec![
        up("threads", "b", thread("b")),
        up("threads", "c", vec![Value::Null, Value::Bool(true), Value::Integer(1)]),
    ];
    let err = store.write("s", bad).await.expect_err("a required column is null");
    assert!(matches!(err, FeedError::InvalidWrite(_)), "{err}");
    assert!(matches!(store.write("s", vec![up("nope", "x", vec![])]).await, Err(FeedError::UnknownCollection(_))));
    let wrong_type = vec![up("threads", "d", vec![Value::Integer(5), Value::Null, Value::Null])];
    assert!(store.write("s", wrong_type).await.is_err());
    let status = store.status("s").await.expect("status");
    assert_eq!((status.latest_seq, status.collections["threads"].count), (1, 1), "nothing of a failed batch lands");
}

/// Scopes have their own seqs, rows and counts (PROTOCOL.md invariant 6).
pub async fn scopes_are_independent(store: Arc<dyn ServerStore>) {
    let store = store.as_ref();
    store.write("x", vec![up("threads", "same", thread("x"))]).await.expect("write");
    store.write("y", vec![up("threads", "same", thread("y")), up("threads", "more", thread("y"))]).await.expect("w");
    store.write("x", vec![del("threads", "same")]).await.expect("delete");
    assert_eq!(store.get("y", "threads", "same").await.expect("get"), Some(thread("y")));
    assert_eq!(store.status("x").await.expect("status").latest_seq, 2, "each scope counts its own seqs");
    assert_eq!(store.status("y").await.expect("status").latest_seq, 2);
}

/// Selective sync (PROTOCOL.md, "Selective sync"): a filtered page holds the rows of its values only, in seq
/// order, with tombstones for deletes and for rows that left a value; a row that moved between two requested
/// values comes as itself; paging by `latest_seq` ends with the collection's greatest seq; a head holds each
/// value's newest live rows. Values are deduplicated; an unfiltered collection is refused.
pub async fn filtered_pages_and_heads(store: Arc<dyn ServerStore>) {
    use crate::feed::FilteredRead;
    let threads: Vec<Write> = ["a", "b", "c"].iter().map(|t| up("threads", t, thread(t))).collect();
    store.write("s", threads).await.expect("threads");
    let posts = (0..12).map(|i| up("posts", &format!("p{i}"), post(["a", "b", "c"][i % 3], "x"))).collect();
    store.write("s", posts).await.expect("posts");
    // p0 a→b (between requested values), p3 a→c (out), p2 c→a (in), p6 deleted.
    for (id, to) in [("p0", "b"), ("p3", "c"), ("p2", "a")] {
        store.write("s", vec![up("posts", id, post(to, "moved"))]).await.expect("move");
    }
    store.write("s", vec![del("posts", "p6")]).await.expect("delete");
    let values = vec!["a".to_owned(), "b".to_owned(), "a".to_owned()];
    let (mut since_seq, mut seen) = (0, Vec::new());
    loop {
        let read = FilteredRead { values: values.clone(), since_seq, limit: 4, fresh: false };
        let page = store.page_filtered("s", "posts", &read).await.expect("a filtered page");
        assert!(page.rows.iter().all(|r| r.seq > since_seq) && page.rows.windows(2).all(|w| w[0].seq < w[1].seq));
        seen.extend(page.rows.iter().map(|r| (r.id.clone(), r.change == Change::Delete)));
        since_seq = page.latest_seq;
        if !page.has_more {
            break;
        }
    }
    let mut live: Vec<String> = Vec::new();
    for (id, deleted) in &seen {
        live.retain(|l| l != id);
        if !deleted {
            live.push(id.clone());
        }
    }
    live.sort();
    let want = ["p0", "p1", "p10", "p2", "p4", "p7", "p9"];
    assert_eq!(live, want, "a and b's live posts, from pages alone: {seen:?}");
    assert!(seen.contains(&("p3".to_owned(), true)), "p3 left a: a tombstone {seen:?}");
    assert!(!seen.contains(&("p0".to_owned(), true)), "p0 moved a→b, both requested: the row only {seen:?}");
    assert_eq!(since_seq, store.status("s").await.expect("status").collections["posts"].latest_seq);

    let head = store.head("s", "posts", &HeadRead::newest(&["a".to_owned(), "c".to_owned()], 2)).await.expect("a head");
    let mut ids: Vec<&str> = head.rows.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["p11", "p2", "p3", "p9"], "the newest two live posts of a and of c (moves are new writes)");
    heads_page_backwards(store.as_ref()).await;
    let unfiltered = FilteredRead { values: vec!["a".into()], since_seq: 0, limit: 4, fresh: false };
    assert!(matches!(store.page_filtered("s", "nope", &unfiltered).await, Err(FeedError::UnknownCollection(_))));
    let empty = FilteredRead { values: vec![], ..unfiltered };
    assert!(matches!(store.page_filtered("s", "posts", &empty).await, Err(FeedError::BadFilter(_))));
}

/// A bounded head pages a value's history backwards: the newest row, then every live row below it, make the
/// value's whole head; a bound below 1 is refused.
async fn heads_page_backwards(store: &dyn ServerStore) {
    let head = |values: Vec<(String, i64)>, per_value| HeadRead { values, per_value };
    let all = store.head("s", "posts", &head(vec![("a".into(), i64::MAX)], 100)).await.expect("a's head");
    let newest = store.head("s", "posts", &head(vec![("a".into(), i64::MAX)], 1)).await.expect("a's newest");
    let [top] = newest.rows.as_slice() else { panic!("one row: {newest:?}") };
    let below = store.head("s", "posts", &head(vec![("a".into(), top.seq), ("a".into(), 1)], 100)).await;
    let below = below.expect("a's rows below its newest (the repeated value keeps its first bound)");
    assert!(below.rows.iter().all(|r| r.seq < top.seq), "{below:?}");
    let ids = |rows: &[Row]| rows.iter().map(|r| (r.id.clone(), r.seq)).collect::<Vec<_>>();
    assert_eq!(ids(&[below.rows.clone(), newest.rows.clone()].concat()), ids(&all.rows), "pages add up");
    assert!(all.rows.len() >= 2, "a has history below its newest row: {all:?}");
    let refused = store.head("s", "posts", &head(vec![("a".into(), 0)], 1)).await;
    assert!(matches!(refused, Err(FeedError::BadFilter(_))), "{refused:?}");
}
