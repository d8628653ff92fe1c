//! Failures: retries, Retry-After, non-retryable errors, timeouts, hostile pages, store failures.
//! Time is paused: backoff and timeouts pass instantly, and elapsed virtual time can be asserted.

use async_trait::async_trait;
use tokio::time::Instant;

use super::*;
use crate::error::{PageError, StoreError, TransportError};
use crate::page::{ApplyOutcome, Page, StoreStats, StoredRow};
use crate::schema::Schema;
use crate::testing::Fault;

type Faulty = FaultyTransport<FeedTransport>;

fn status(code: u16) -> Fault {
    Faulty::status(code, None)
}

#[tokio::test(start_paused = true)]
async fn server_errors_are_retried_until_the_sync_converges() {
    let network = Fault::Fail(TransportError::Network("connection reset".into()));
    let f = Fixture::new(config(), vec![status(503), status(503), network, status(500), status(408)]);
    populate(&f, "s", 7, 10).await;
    let report = f.sync("s").await.expect("sync converges");
    f.assert_exact("s").await;
    assert_eq!(f.page_calls(), 6 + 5, "six pages and five failed attempts");
    assert_eq!((report.rows(), report.pages()), (17, 6), "failed attempts are not pages");
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_waited() {
    let f = Fixture::new(config(), vec![Faulty::status(429, Some(Duration::from_secs(7)))]);
    populate(&f, "s", 2, 2).await;
    let started = Instant::now();
    f.sync("s").await.expect("sync");
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_secs(7), "retried after {elapsed:?}, before the server's Retry-After");
    assert!(elapsed < Duration::from_secs(8), "waited far longer than asked: {elapsed:?}");
    assert_eq!(f.page_calls(), 3);
    f.assert_exact("s").await;
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_capped_by_the_configured_maximum() {
    let config = config().with_max_retry_after(Duration::from_secs(5));
    let f = Fixture::new(config, vec![Faulty::status(503, Some(Duration::from_secs(3600)))]);
    populate(&f, "s", 2, 2).await;
    let started = Instant::now();
    f.sync("s").await.expect("sync");
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_secs(5) && elapsed < Duration::from_secs(60), "{elapsed:?}");
    f.assert_exact("s").await;
}

#[tokio::test(start_paused = true)]
async fn unauthorized_fails_at_once_without_retry() {
    let unauthorized = TransportError::Status {
        status: 401,
        code: Some("unauthorized".into()),
        message: "bad token".into(),
        retry_after: None,
    };
    let f = Fixture::new(config(), vec![Fault::Fail(unauthorized.clone())]);
    populate(&f, "s", 7, 10).await;
    let started = Instant::now();
    let err = f.sync("s").await.expect_err("401 is final");
    assert_eq!(err.code(), ErrorCode::Unauthorized);
    assert!(matches!(&err, SyncError::Transport { cause, .. } if *cause == unauthorized), "{err:?}");
    assert!(err.to_string().contains("token"), "the message helps: {err}");
    assert_eq!(f.page_calls(), 1, "no retry");
    assert_eq!(started.elapsed(), Duration::ZERO, "no backoff either");
    assert_eq!(f.snapshot("s").await, Snapshot { rows: vec![BTreeMap::new(), BTreeMap::new()], cursors: vec![] });
}

#[tokio::test(start_paused = true)]
async fn other_client_errors_are_not_retried() {
    // 409 (`resync_required`) has its own path: see `resync.rs`.
    for (code, name) in [(400, ErrorCode::BadRequest), (403, ErrorCode::Forbidden), (404, ErrorCode::NotFound)] {
        let f = Fixture::new(config(), vec![status(code)]);
        populate(&f, "s", 2, 2).await;
        let err = f.sync("s").await.expect_err("final");
        assert_eq!((err.code(), f.page_calls()), (name, 1));
    }
}

#[tokio::test(start_paused = true)]
async fn exhausted_retries_give_the_last_error() {
    let network = Fault::Fail(TransportError::Network("reset".into()));
    let f = Fixture::new(config().with_max_retries(2), vec![status(503), network, status(502), status(500)]);
    populate(&f, "s", 7, 10).await;
    let err = f.sync("s").await.expect_err("three attempts fail");
    assert!(
        matches!(&err, SyncError::Transport { cause: TransportError::Status { status: 502, .. }, .. }),
        "the last failure is reported: {err:?}"
    );
    assert_eq!((err.code(), f.page_calls()), (ErrorCode::Server, 3), "one attempt and two retries");
    assert!(f.client.rows("s", "threads").is_empty());

    // The remaining fault (500) is retried by the next sync, which converges.
    let report = f.sync("s").await.expect("sync");
    assert_eq!(report.pages(), 6);
    f.assert_exact("s").await;
}

#[tokio::test(start_paused = true)]
async fn a_hanging_request_times_out_and_is_retried() {
    let f = Fixture::new(config().with_request_timeout(Duration::from_secs(5)), vec![Fault::Hang]);
    populate(&f, "s", 7, 10).await;
    let started = Instant::now();
    f.sync("s").await.expect("sync");
    assert!(started.elapsed() >= Duration::from_secs(5), "{:?}", started.elapsed());
    assert_eq!(f.page_calls(), 7);
    f.assert_exact("s").await;

    let config = config().with_request_timeout(Duration::from_secs(5)).with_max_retries(1);
    let g = Fixture::new(config, vec![Fault::Hang, Fault::Hang]);
    populate(&g, "s", 2, 2).await;
    let err = g.sync("s").await.expect_err("every attempt hangs");
    assert_eq!(err.code(), ErrorCode::Timeout);
    let five = Duration::from_secs(5);
    assert!(matches!(&err, SyncError::Transport { cause: TransportError::Timeout(t), .. } if *t == five), "{err:?}");
}

#[tokio::test(start_paused = true)]
async fn a_hostile_first_page_applies_nothing() {
    let f = Fixture::new(config(), vec![Fault::Body(b"<html>502 Bad Gateway</html>".to_vec())]);
    populate(&f, "s", 7, 10).await;
    let err = f.sync("s").await.expect_err("bad page");
    assert_eq!(err.code(), ErrorCode::BadPage);
    assert!(
        matches!(&err, SyncError::BadPage { collection, since_seq: 0, cause: PageError::Malformed(_) }
            if collection == "threads"),
        "{err:?}"
    );
    assert_eq!(f.page_calls(), 1, "a bad page is not retried");
    assert_eq!(f.snapshot("s").await, Snapshot { rows: vec![BTreeMap::new(), BTreeMap::new()], cursors: vec![] });
    f.sync("s").await.expect("a clean sync");
    f.assert_exact("s").await;
}

#[tokio::test(start_paused = true)]
async fn a_hostile_page_keeps_the_pages_before_it() {
    let setup = Fixture::new(config(), vec![]);
    populate(&setup, "s", 7, 10).await;
    let good = setup.expected_bodies("s", "threads", 0).await.remove(0);
    // The second page claims more rows but has none.
    let hostile = br#"{"threads": [], "latest_seq": 3, "has_more": true, "total_count": 7}"#.to_vec();
    let f = setup.again(config(), vec![Fault::Body(good), Fault::Body(hostile)]);
    let err = f.sync("s").await.expect_err("bad page");
    assert!(matches!(&err, SyncError::BadPage { since_seq: 3, cause: PageError::EmptyWithMore, .. }), "{err:?}");
    let threads = f.client.rows("s", "threads");
    assert_eq!(threads.keys().collect::<Vec<_>>(), ["t0", "t1", "t2"], "the first page stays");
    assert_eq!(f.cursors("s").await, vec![("threads".to_owned(), 3)]);
    assert!(f.client.rows("s", "posts").is_empty());
    let report = f.sync("s").await.expect("the next sync resumes");
    assert_eq!(report.collection("threads").expect("t").cursor_before, 3);
    assert_eq!(report.rows(), 4 + 10);
    f.assert_exact("s").await;
}

#[tokio::test(start_paused = true)]
async fn a_hostile_page_in_an_incremental_sync_leaves_the_client_as_it_was() {
    let setup = Fixture::new(config(), vec![]);
    populate(&setup, "s", 7, 10).await;
    setup.sync("s").await.expect("initial sync");
    setup.write("s", vec![upsert_thread("t1", "renamed"), delete("threads", "t2"), upsert_post("p1", "t1", "x")]).await;
    let before = setup.snapshot("s").await;
    // A row with a string in an integer column, after a valid one.
    let hostile = br#"{"threads": [
        {"id": "t1", "integration_id": "s", "seq": 18, "title": "renamed", "archived": false, "created_at": 1},
        {"id": "t9", "integration_id": "s", "seq": 19, "title": "x", "created_at": "yesterday"}
    ], "latest_seq": 19, "has_more": false}"#;
    let f = setup.again(config(), vec![Fault::Body(hostile.to_vec())]);
    let err = f.sync("s").await.expect_err("bad page");
    assert_eq!(err.code(), ErrorCode::BadPage);
    let bad_row = matches!(&err, SyncError::BadPage { since_seq: 7, cause: PageError::BadRow { row: 1, .. }, .. });
    assert!(bad_row, "{err:?}");
    assert_eq!(f.snapshot("s").await, before, "rows and cursors exactly as before");
    f.sync("s").await.expect("a clean sync");
    f.assert_exact("s").await;
}

#[tokio::test(start_paused = true)]
async fn an_oversized_page_is_a_bad_page() {
    let f = Fixture::new(config().with_max_page_bytes(100), vec![]);
    populate(&f, "s", 7, 10).await;
    let err = f.sync("s").await.expect_err("pages are larger than 100 bytes");
    assert!(matches!(&err, SyncError::BadPage { cause: PageError::TooLarge(_), .. }), "{err:?}");
    assert_eq!(err.code(), ErrorCode::BadPage);
    assert!(f.cursors("s").await.is_empty());
}

/// A client store whose `fail_at`-th page (1-based) fails, and which counts the pages applied as held (by the
/// default `apply_page_held`, which commits each) and the calls of `flush`.
struct FailingStore {
    inner: MemoryStore,
    applied: Mutex<usize>,
    fail_at: usize,
    flushes: Mutex<usize>,
}

#[async_trait]
impl ClientStore for FailingStore {
    async fn prepare(&self, schema: &Schema) -> Result<(), StoreError> {
        self.inner.prepare(schema).await
    }

    async fn sync_state(&self, scope: &str) -> Result<Vec<CursorState>, StoreError> {
        self.inner.sync_state(scope).await
    }

    async fn apply_page(&self, scope: &str, page: Page) -> Result<ApplyOutcome, StoreError> {
        let n = {
            let mut applied = self.applied.lock().expect("lock");
            *applied += 1;
            *applied
        };
        if n == self.fail_at {
            return Err(StoreError::backend("writing a page", std::io::Error::other("disk full")));
        }
        self.inner.apply_page(scope, page).await
    }

    async fn flush(&self) -> Result<(), StoreError> {
        *self.flushes.lock().expect("lock") += 1;
        Ok(())
    }

    async fn reset(&self, scope: &str) -> Result<(), StoreError> {
        self.inner.reset(scope).await
    }

    async fn read_rows(
        &self,
        scope: &str,
        collection: &str,
        after_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StoredRow>, StoreError> {
        self.inner.read_rows(scope, collection, after_id, limit).await
    }

    async fn stats(&self) -> Result<StoreStats, StoreError> {
        self.inner.stats().await
    }
}

#[tokio::test(start_paused = true)]
async fn a_store_failure_stops_the_sync_at_a_page_boundary() {
    let setup = Fixture::new(config(), vec![]);
    populate(&setup, "s", 30, 0).await; // 10 pages: the fetcher runs ahead of the failed writer
    let store = Arc::new(FailingStore {
        inner: MemoryStore::new(),
        applied: Mutex::new(0),
        fail_at: 2,
        flushes: Mutex::new(0),
    });
    let transport = Arc::new(FaultyTransport::new(FeedTransport::new(setup.server.clone()), vec![]));
    // Two pages of prefetch: at most the two applied, the two waiting and the one being handed over are fetched.
    let engine = SyncEngine::new(store.clone(), transport.clone(), config().with_prefetch_pages(2));
    let sync = engine.sync("s", SyncOptions::default());
    let err = tokio::time::timeout(Duration::from_secs(3600), sync).await.expect("the sync must not hang");
    let err = err.expect_err("disk full");
    assert_eq!(err.code(), ErrorCode::Store);
    assert!(err.to_string().contains("disk full"), "{err}");
    assert_eq!(store.inner.rows("s", "threads").len(), 3, "the first page stays");
    assert_eq!(store.sync_state("s").await.expect("state")[0].last_seq, 3);
    assert!(transport.page_calls() <= 2 + 1 + 2, "prefetch is bounded: {}", transport.page_calls());
    assert_eq!(*store.flushes.lock().expect("lock"), 1, "held pages are committed even when the sync fails");
}
