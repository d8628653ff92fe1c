//! The server pruned tombstones past the client's cursor (HTTP 409 `resync_required`): the engine resets the
//! scope and syncs it from scratch, once, and ends exact.

use super::*;
use crate::error::TransportError;
use crate::testing::page;
use crate::value::Row;

fn resync_required() -> Fault {
    Fault::Fail(TransportError::Status {
        status: 409,
        code: Some("resync_required".into()),
        message: "since_seq is older than the tombstone horizon".into(),
        retry_after: None,
    })
}

/// A client synced to the server, then holding a row the server never had and past the server's next post, as
/// a client would after missing a pruned tombstone: an incremental sync cannot make it exact.
async fn diverged(f: &Fixture) {
    populate(f, "s", 3, 5).await; // threads 1..=3, posts 4..=8
    populate(f, "other", 1, 1).await;
    f.sync("s").await.expect("first sync");
    f.sync("other").await.expect("sync of another scope");
    f.write("s", vec![upsert_post("p5", "t0", "a"), upsert_post("p6", "t1", "b")]).await; // seqs 9, 10
    let ghost = page("posts", 8, vec![Row::upsert("ghost", 9, post("t0", "never on the server"))], false);
    f.client.apply_page("s", ghost).await.expect("apply the ghost");
}

#[tokio::test(start_paused = true)]
async fn resync_required_resets_the_scope_and_syncs_it_from_scratch() {
    let f = Fixture::new(config(), vec![]);
    diverged(&f).await;
    let f = f.again(config(), vec![resync_required()]);
    let report = f.sync("s").await.expect("the sync recovers");
    assert!(report.resynced);
    f.assert_exact("s").await;
    assert!(!f.client.rows("s", "posts").contains_key("ghost"), "the reset dropped what the server no longer has");
    let posts = report.collection("posts").expect("posts");
    assert_eq!((posts.cursor_before, posts.upserted), (0, 7), "every post again, from scratch");
    assert_eq!(f.page_calls(), 1 + 1 + 2, "the refused page, then 3 threads (one page) and 7 posts (two) from seq 0");
    f.assert_exact("other").await;
    assert_eq!(f.cursors("other").await, vec![("posts".to_owned(), 2), ("threads".to_owned(), 1)], "other scopes stay");
}

#[tokio::test(start_paused = true)]
async fn resync_required_twice_in_a_row_is_an_error() {
    let f = Fixture::new(config(), vec![]);
    diverged(&f).await;
    let f = f.again(config(), vec![resync_required(), resync_required()]);
    let err = f.sync("s").await.expect_err("a second 409 is not retried");
    assert_eq!(err.code(), ErrorCode::ResyncRequired);
    assert!(err.to_string().contains("reset the integration"), "{err}");
    assert_eq!(f.page_calls(), 2, "one reset, no loop");
    assert!(f.cursors("s").await.is_empty(), "the scope was reset once");
}

#[tokio::test(start_paused = true)]
async fn a_sync_without_409_reports_no_resync() {
    let f = Fixture::new(config(), vec![]);
    populate(&f, "s", 2, 2).await;
    assert!(!f.sync("s").await.expect("sync").resynced);
}

/// Records the `fresh` flag of every page request.
struct Recording {
    inner: FeedTransport,
    fresh: Mutex<Vec<(String, i64, bool)>>,
}

#[async_trait::async_trait]
impl crate::transport::Transport for Recording {
    async fn fetch_page(&self, request: &crate::page::PageRequest) -> Result<Vec<u8>, TransportError> {
        let seen = (request.collection.clone(), request.since_seq, request.fresh);
        self.fresh.lock().expect("lock").push(seen);
        self.inner.fetch_page(request).await
    }

    async fn fetch_status(&self, scope: &str) -> Result<crate::page::ScopeStatus, TransportError> {
        self.inner.fetch_status(scope).await
    }

    async fn fetch_schema(&self) -> Result<crate::schema::Schema, TransportError> {
        self.inner.fetch_schema().await
    }
}

#[tokio::test(start_paused = true)]
async fn pages_of_a_collection_started_from_scratch_are_marked_fresh() {
    let f = Fixture::new(config(), vec![]);
    populate(&f, "s", 4, 5).await; // threads 1..=4, posts 5..=9
    f.sync_with("s", SyncOptions { collections: Some(vec!["threads".into()]), ..Default::default() })
        .await
        .expect("threads");
    f.write("s", vec![upsert_thread("t9", "new")]).await;
    let recording = Arc::new(Recording { inner: FeedTransport::new(f.server.clone()), fresh: Mutex::default() });
    let engine = SyncEngine::new(f.client.clone(), recording.clone(), config());
    engine.sync("s", SyncOptions::default()).await.expect("sync");
    let seen = recording.fresh.lock().expect("lock").clone();
    let expected: Vec<(String, i64, bool)> = vec![
        ("threads".into(), 4, false), // resumed from a cursor: not fresh
        ("posts".into(), 0, true),    // started from scratch: every page of it is fresh
        ("posts".into(), 8, true),
    ];
    assert_eq!(seen, expected);
}
