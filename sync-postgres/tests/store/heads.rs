//! Live hints by polling the heads: a commit by plain SQL, with no write through the store, reaches the hint
//! callback and wakes the store's waiters well before the 2 s re-check, also when it committed after a poll
//! whose snapshot saw it in progress (the next poll's xmin bound covers it).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sync_core::testing::{test_schema, thread};
use sync_core::{ChangeFeed, ServerStore, Write};
use tokio_util::sync::CancellationToken;

use crate::support::{Db, available};

const SCOPE: &str = "wa-heads";
const OTHER: &str = "wa-heads-other";
/// Well under the 2 s re-check: a hint that arrives within this came from the poll.
const HINTED: Duration = Duration::from_millis(1_000);

const INSERT: &str =
    "INSERT INTO threads (id, integration_id, title, archived, created_at) VALUES ($1, $2, $1, false, 0)";

/// Waits until the hints hold `scope` at `seq` or more; returns how long that took.
async fn hinted(hints: &Mutex<Vec<(String, i64)>>, scope: &str, seq: i64) -> Duration {
    let started = Instant::now();
    loop {
        if hints.lock().expect("hints").iter().any(|(s, n)| s == scope && *n >= seq) {
            return started.elapsed();
        }
        assert!(started.elapsed() < Duration::from_secs(10), "no hint for {scope} at seq {seq}: {hints:?}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_sql_commits_reach_waiters_through_the_heads_poll() {
    if !available().await {
        return;
    }
    let db = Db::fresh(test_schema()).await;
    for scope in [SCOPE, OTHER] {
        let first = Write::Upsert { collection: "threads".into(), id: "t0".into(), values: thread("first") };
        db.store.write(scope, vec![first]).await.expect("first write");
    }
    let hints: Arc<Mutex<Vec<(String, i64)>>> = Arc::default();
    let collect = hints.clone();
    let stop = CancellationToken::new();
    let on_hint = Arc::new(move |scope: &str, seq| collect.lock().expect("hints").push((scope.to_owned(), seq)));
    let task = db.store.spawn_listener(false, on_hint, stop.clone());

    // A transaction takes its seq and stays open across many polls; meanwhile another integration commits.
    let mut held_conn = db.raw(true).await;
    let held = held_conn.transaction().await.expect("begin");
    held.execute(INSERT, &[&"held", &SCOPE]).await.expect("insert");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let other = db.raw(false).await;
    let table = db.table("threads");
    other.execute(&INSERT.replace("threads", &table), &[&"other", &OTHER]).await.expect("other insert");
    assert!(hinted(&hints, OTHER, 2).await < HINTED, "the other integration's commit was hinted");

    // The held transaction commits after polls that saw it in progress: still hinted, and a waiter wakes.
    let store = db.store.clone();
    let waiter = tokio::spawn(async move {
        let started = Instant::now();
        let seq = store.wait_for_seq(SCOPE, 1, Duration::from_secs(10)).await.expect("wait");
        (seq, started.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    held.commit().await.expect("commit");
    assert!(hinted(&hints, SCOPE, 2).await < HINTED, "the held transaction's commit was hinted");
    let (seq, waited) = waiter.await.expect("waiter");
    assert_eq!(seq, 2);
    assert!(waited < Duration::from_millis(100) + HINTED, "the waiter woke on the hint, not the re-check: {waited:?}");

    // Hinted once, however many polls returned the head while the xmin was held back.
    let again = hints.lock().expect("hints").iter().filter(|(s, n)| s == SCOPE && *n == 2).count();
    assert_eq!(again, 1, "{hints:?}");
    stop.cancel();
    task.await.expect("listener task");
}
