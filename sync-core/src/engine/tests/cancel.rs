//! Cancellation through the token: before a sync, between pages, during a request. Time is paused.

use tokio::time::Instant;

use super::*;
use crate::progress::Stage;
use tokio_util::sync::CancellationToken;

fn cancelled_options() -> SyncOptions {
    let cancel = CancellationToken::new();
    cancel.cancel();
    SyncOptions { cancel, ..Default::default() }
}

/// A token that is cancelled after `delay` of (virtual) time.
fn cancel_after(delay: Duration) -> CancellationToken {
    let cancel = CancellationToken::new();
    let token = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        token.cancel();
    });
    cancel
}

/// Threads seqs are 1..=n in `populate`, so a client at a page boundary holds exactly `cursor` threads.
async fn assert_at_a_page_boundary(f: &Fixture, scope: &str) -> i64 {
    let cursor = f.cursors(scope).await.iter().find(|(c, _)| c == "threads").map_or(0, |(_, s)| *s);
    assert_eq!(cursor % 3, 0, "the cursor stops at a page boundary");
    assert_eq!(f.client.rows(scope, "threads").len() as i64, cursor, "rows and cursor agree");
    cursor
}

#[tokio::test(start_paused = true)]
async fn a_token_cancelled_before_the_sync_stops_it_before_anything_happens() {
    let f = Fixture::new(config(), vec![]);
    populate(&f, "s", 30, 40).await;
    let err = f.sync_with("s", cancelled_options()).await.expect_err("cancelled");
    assert!(matches!(err, SyncError::Cancelled), "{err:?}");
    assert_eq!(err.code(), ErrorCode::Cancelled);
    assert_eq!(f.page_calls(), 0);
    assert!(f.cursors("s").await.is_empty() && f.client.rows("s", "threads").is_empty());
    let report = f.sync("s").await.expect("a later sync");
    assert_eq!(report.rows(), 70);
    f.assert_exact("s").await;
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_token_is_honoured_even_when_nothing_is_new() {
    let f = Fixture::new(config(), vec![]);
    populate(&f, "s", 3, 3).await;
    f.sync("s").await.expect("initial sync");
    // Whatever the scheduling, a cancelled token never yields a successful sync.
    for _ in 0..32 {
        let err = f.sync_with("s", cancelled_options()).await.expect_err("cancelled");
        assert!(matches!(err, SyncError::Cancelled), "{err:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_token_cancelled_without_a_configured_schema_stops_before_the_schema_request() {
    let f = Fixture::new(SyncConfig::default(), vec![]);
    populate(&f, "s", 3, 3).await;
    let err = f.sync_with("s", cancelled_options()).await.expect_err("cancelled");
    assert!(matches!(err, SyncError::Cancelled), "{err:?}");
    f.sync("s").await.expect("a later sync fetches the schema");
    f.assert_exact("s").await;
}

#[tokio::test(start_paused = true)]
async fn cancelling_between_pages_stops_at_a_page_boundary() {
    for cancel_at_page in [1, 2, 5] {
        let f = Fixture::new(config().with_progress_interval(Duration::ZERO), vec![]);
        populate(&f, "s", 30, 40).await; // 10 pages of each
        let cancel = CancellationToken::new();
        let token = cancel.clone();
        // Pages applied when the token was cancelled (group commit may apply several pages in one step).
        let applied_at_cancel = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let seen = applied_at_cancel.clone();
        let progress: ProgressFn = Arc::new(move |p: &Progress| {
            if p.stage == Stage::Collection && p.pages >= cancel_at_page && !token.is_cancelled() {
                seen.store(p.pages, std::sync::atomic::Ordering::SeqCst);
                token.cancel();
            }
        });
        let options = SyncOptions { progress: Some(progress), cancel, collections: None };
        let err = f.sync_with("s", options).await.expect_err("cancelled");
        assert!(matches!(err, SyncError::Cancelled), "{err:?}");
        let cursor = assert_at_a_page_boundary(&f, "s").await;
        let pages = applied_at_cancel.load(std::sync::atomic::Ordering::SeqCst);
        assert!(pages >= cancel_at_page && pages < 10, "cancelled mid-collection at page {pages}");
        assert_eq!(cursor, 3 * pages as i64, "no page is applied after the cancellation");
        assert!(f.client.rows("s", "posts").is_empty(), "posts were not reached");

        let report = f.sync("s").await.expect("a later sync completes");
        assert_eq!(report.collection("threads").expect("t").cursor_before, cursor);
        assert_eq!(report.rows() as i64, 30 - cursor + 40, "it resumes where the cancelled one stopped");
        f.assert_exact("s").await;
    }
}

#[tokio::test(start_paused = true)]
async fn cancelling_during_a_hanging_request_returns_at_once() {
    let f = Fixture::new(config(), vec![Fault::Hang]);
    populate(&f, "s", 7, 10).await;
    let cancel = cancel_after(Duration::from_secs(1));
    let started = Instant::now();
    let err = f.sync_with("s", SyncOptions { cancel, ..Default::default() }).await.expect_err("cancelled");
    assert!(matches!(err, SyncError::Cancelled), "{err:?}");
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_secs(1) && elapsed < Duration::from_secs(30), "{elapsed:?}");
    assert!(f.cursors("s").await.is_empty());
    f.sync("s").await.expect("a later sync completes");
    f.assert_exact("s").await;
}

#[tokio::test(start_paused = true)]
async fn cancelling_during_backoff_returns_without_waiting_it_out() {
    let retry_later = FaultyTransport::<FeedTransport>::status(503, Some(Duration::from_secs(50)));
    let f = Fixture::new(config(), vec![retry_later]);
    populate(&f, "s", 7, 10).await;
    let cancel = cancel_after(Duration::from_secs(2));
    let started = Instant::now();
    let err = f.sync_with("s", SyncOptions { cancel, ..Default::default() }).await.expect_err("cancelled");
    assert!(matches!(err, SyncError::Cancelled), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(50), "{:?}", started.elapsed());
    assert_eq!(f.page_calls(), 1);
    f.sync("s").await.expect("a later sync completes");
    f.assert_exact("s").await;
}
