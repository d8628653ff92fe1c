//! Progress events: order, figures and throttling.

use super::*;
use crate::error::TransportError;
use crate::page::{PageRequest, ScopeStatus};
use crate::progress::Stage;
use crate::schema::Schema;
use crate::transport::Transport;

fn events_of(events: &Mutex<Vec<Progress>>) -> Vec<Progress> {
    events.lock().expect("lock").clone()
}

/// The events of one collection, in order.
fn of<'a>(events: &'a [Progress], collection: &str) -> Vec<&'a Progress> {
    events.iter().filter(|e| e.collection.as_deref() == Some(collection)).collect()
}

/// Checks the shape every sync's events have: Started first, Finished last, then per collection in `order` a
/// run of Collection events ended by exactly one CollectionDone, with figures that never go down.
fn check_shape(events: &[Progress], scope: &str, order: &[&str]) {
    assert!(events.len() >= 2 + order.len(), "{events:#?}");
    assert_eq!((events[0].stage, events[0].collection.as_deref()), (Stage::Started, None));
    let last = events.last().expect("events");
    assert_eq!((last.stage, last.collection.as_deref()), (Stage::Finished, None));
    assert!(events.iter().all(|e| e.scope == scope));
    let middle = &events[1..events.len() - 1];
    assert!(middle.iter().all(|e| matches!(e.stage, Stage::Collection | Stage::CollectionDone)), "{middle:#?}");
    let visited: Vec<&str> = middle
        .iter()
        .filter(|e| e.stage == Stage::CollectionDone)
        .map(|e| e.collection.as_deref().expect("a collection"))
        .collect();
    assert_eq!(visited, order, "one CollectionDone per collection, in sync order");
    let mut position = 0;
    for name in order {
        let run = of(events, name);
        // A collection's events are contiguous, and its CollectionDone ends them.
        assert!(middle[position..position + run.len()].iter().all(|e| e.collection.as_deref() == Some(name)));
        position += run.len();
        assert_eq!(run.last().expect("done").stage, Stage::CollectionDone);
        for pair in run.windows(2) {
            assert!(pair[0].applied <= pair[1].applied, "applied went down: {pair:#?}");
            assert!(pair[0].pages <= pair[1].pages && pair[0].bytes <= pair[1].bytes, "{pair:#?}");
            assert!(pair[0].cursor <= pair[1].cursor, "{pair:#?}");
        }
    }
    assert_eq!(position, middle.len());
}

#[tokio::test]
async fn events_come_in_order_with_the_report_s_figures() {
    let f = Fixture::new(config().with_progress_interval(Duration::ZERO), vec![]);
    populate(&f, "s", 7, 10).await;
    let (callback, events) = recorder();
    let report = f.sync_with("s", options_with(callback)).await.expect("sync");
    let events = events_of(&events);
    check_shape(&events, "s", &["threads", "posts"]);

    for (name, count, target) in [("threads", 7, 7), ("posts", 10, 17)] {
        let run = of(&events, name);
        let done = run.last().expect("done");
        let r = report.collection(name).expect("report");
        assert_eq!((done.applied, done.pages, done.bytes), (r.upserted + r.deleted, r.pages, r.bytes));
        assert_eq!((done.cursor, done.target_seq), (r.cursor_after, target));
        assert!(run.iter().all(|e| e.total == Some(count)), "a first sync knows the total: {run:#?}");
        // With no throttling every page is reported (the last one by CollectionDone).
        let pages: Vec<u64> = run.iter().map(|e| e.pages).collect();
        assert_eq!(pages, (1..=r.pages).collect::<Vec<_>>(), "{name}");
        assert!(run.iter().all(|e| e.applied <= count));
    }
    let finished = events.last().expect("finished");
    assert_eq!((finished.applied, finished.pages, finished.bytes), (report.rows(), report.pages(), report.bytes()));
}

#[tokio::test]
async fn incremental_and_up_to_date_collections_report_too() {
    let f = Fixture::new(config().with_progress_interval(Duration::ZERO), vec![]);
    populate(&f, "s", 7, 10).await;
    f.sync("s").await.expect("initial sync");
    f.write("s", vec![upsert_post("p1", "t1", "edited"), upsert_post("p2", "t2", "edited")]).await;
    let (callback, events) = recorder();
    f.sync_with("s", options_with(callback)).await.expect("sync");
    let events = events_of(&events);
    check_shape(&events, "s", &["threads", "posts"]);
    let threads = of(&events, "threads");
    assert_eq!(threads.len(), 1, "an up-to-date collection only says it is done: {threads:#?}");
    assert_eq!((threads[0].applied, threads[0].pages, threads[0].cursor), (0, 0, 7));
    let posts = of(&events, "posts");
    let done = posts.last().expect("done");
    assert_eq!((done.applied, done.pages, done.cursor, done.target_seq), (2, 1, 19, 19));
    assert!(posts.iter().all(|e| e.total.is_none()), "an incremental sync does not know a total");
}

#[tokio::test]
async fn a_long_interval_leaves_the_first_page_and_the_end_of_each_collection() {
    let f = Fixture::new(config().with_progress_interval(Duration::from_secs(3600)), vec![]);
    populate(&f, "s", 30, 40).await; // 10 pages of each
    let (callback, events) = recorder();
    let report = f.sync_with("s", options_with(callback)).await.expect("sync");
    assert_eq!(report.pages(), 20);
    let events = events_of(&events);
    check_shape(&events, "s", &["threads", "posts"]);
    let summary: Vec<(Stage, Option<&str>, u64)> =
        events.iter().map(|e| (e.stage, e.collection.as_deref(), e.pages)).collect();
    assert_eq!(
        summary,
        vec![
            (Stage::Started, None, 0),
            (Stage::Collection, Some("threads"), 1),
            (Stage::CollectionDone, Some("threads"), 10),
            (Stage::Collection, Some("posts"), 1),
            (Stage::CollectionDone, Some("posts"), 10),
            (Stage::Finished, None, 20),
        ]
    );
}

/// A transport whose page requests take one second each.
struct Slow(FeedTransport);

#[async_trait::async_trait]
impl Transport for Slow {
    async fn fetch_page(&self, request: &PageRequest) -> Result<Vec<u8>, TransportError> {
        tokio::time::sleep(Duration::from_secs(1)).await;
        self.0.fetch_page(request).await
    }

    async fn fetch_status(&self, scope: &str) -> Result<ScopeStatus, TransportError> {
        self.0.fetch_status(scope).await
    }

    async fn fetch_schema(&self) -> Result<Schema, TransportError> {
        self.0.fetch_schema().await
    }
}

#[tokio::test(start_paused = true)]
async fn the_interval_spaces_events_in_time() {
    let f = Fixture::new(config(), vec![]);
    populate(&f, "s", 30, 0).await; // 10 pages of threads, one a second
    let slow = Arc::new(Slow(FeedTransport::new(f.server.clone())));
    let engine = SyncEngine::new(f.client.clone(), slow, config().with_progress_interval(Duration::from_millis(2500)));
    let (callback, events) = recorder();
    engine.sync("s", options_with(callback)).await.expect("sync");
    let events = events_of(&events);
    check_shape(&events, "s", &["threads", "posts"]);
    let pages: Vec<u64> = of(&events, "threads").iter().map(|e| e.pages).collect();
    // Pages arrive at 1 s, 2 s, ...: reported at 1 s (the first), 4 s and 7 s, then the end.
    assert_eq!(pages, [1, 4, 7, 10]);
    f.assert_exact("s").await;
}
