//! Live mode over loopback HTTP: long-polls answer on a write, time out with nothing, and drive the live loop.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sync_core::live::{FollowOptions, NotifyingStore};
use sync_core::memory::{MemoryFeed, MemoryStore};
use sync_core::testing::thread;
use sync_core::{ChangeFeed, ServerStore, SyncConfig, SyncEngine, Transport, Write};
use sync_http::HttpTransport;

use super::{feed, get, spawn_server};

fn thread_write(id: &str) -> Write {
    Write::Upsert { collection: "threads".into(), id: id.into(), values: thread(id) }
}

/// Writes `id` to alpha after `delay`.
fn write_later(feed: &Arc<MemoryFeed>, id: &'static str, delay: Duration) {
    let feed = feed.clone();
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        feed.write("alpha", vec![thread_write(id)]).await.expect("write");
    });
}

async fn page(url: &str, query: &str) -> serde_json::Value {
    let response = reqwest::Client::new()
        .get(format!("{url}/sync/threads/alpha?{query}"))
        .bearer_auth("alpha-token")
        .send()
        .await
        .expect("request");
    assert!(response.status().is_success(), "{}", response.status());
    serde_json::from_slice(&response.bytes().await.expect("body")).expect("json")
}

#[tokio::test]
async fn a_live_page_answers_when_a_row_arrives_or_empty_after_the_timeout() {
    let feed = feed().await;
    let (url, _stop) = spawn_server(feed.clone()).await;
    let latest = feed.status("alpha").await.expect("status").latest_seq;

    // A write to another collection wakes the wait but is not a row of this one: it keeps waiting.
    let posts = feed.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let write = Write::Upsert {
            collection: "posts".into(),
            id: "p-new".into(),
            values: sync_core::testing::post("t0", "x"),
        };
        posts.write("alpha", vec![write]).await.expect("write");
    });
    write_later(&feed, "t-new", Duration::from_millis(300));
    let started = Instant::now();
    let body = page(&url, &format!("since_seq={latest}&live=true&timeout=10")).await;
    let waited = started.elapsed();
    assert_eq!(body["threads"][0]["id"], "t-new", "{body}");
    assert!(waited >= Duration::from_millis(250) && waited < Duration::from_secs(5), "{waited:?}");

    let latest = body["latest_seq"].as_i64().expect("latest_seq");
    let started = Instant::now();
    let body = page(&url, &format!("since_seq={latest}&live=true&timeout=0.3")).await;
    assert_eq!(body["threads"].as_array().map(Vec::len), Some(0), "{body}");
    assert_eq!(body["has_more"], false);
    assert!(started.elapsed() >= Duration::from_millis(300), "the empty page comes after the timeout");

    // Rows already there: no wait at all.
    let started = Instant::now();
    let body = page(&url, "since_seq=0&live=true&timeout=30").await;
    assert_eq!(body["threads"].as_array().map(Vec::len), Some(4), "{body}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn live_requests_check_their_parameters() {
    for query in ["live=true&timeout=soon", "live=true&timeout=-1", "live=true&since_seq=x"] {
        let (status, body) = get(&format!("/sync/status/alpha?{query}"), Some("alpha-token")).await;
        assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (400, Some("bad_request")), "{query}");
        assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains('`')), "{query}: {body}");
    }
    let (status, _) = get("/sync/status/beta?live=true&timeout=30", Some("alpha-token")).await;
    assert_eq!(status.as_u16(), 403, "auth is checked before waiting");
}

#[tokio::test]
async fn the_status_long_poll_wakes_on_a_write() {
    let feed = feed().await;
    let (url, _stop) = spawn_server(feed.clone()).await;
    let transport = HttpTransport::new(&url, Some("alpha-token")).expect("transport");
    let latest = feed.status("alpha").await.expect("status").latest_seq;
    write_later(&feed, "t-live", Duration::from_millis(100));
    let started = Instant::now();
    let status = transport.wait_for_change("alpha", latest, Duration::from_secs(10)).await.expect("long-poll");
    assert_eq!(status.latest_seq, latest + 1);
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());

    let status = transport.wait_for_change("alpha", latest + 1, Duration::from_millis(200)).await.expect("timeout");
    assert_eq!(status.latest_seq, latest + 1, "after the timeout: the status as it is");
}

/// A feed that counts its status reads.
struct CountingFeed {
    inner: Arc<MemoryFeed>,
    status_reads: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl ChangeFeed for CountingFeed {
    fn schema(&self) -> &sync_core::Schema {
        self.inner.schema()
    }

    async fn page(
        &self,
        scope: &str,
        collection: &str,
        since_seq: i64,
        limit: usize,
    ) -> Result<sync_core::FeedPage, sync_core::FeedError> {
        self.inner.page(scope, collection, since_seq, limit).await
    }

    async fn status(&self, scope: &str) -> Result<sync_core::ScopeStatus, sync_core::FeedError> {
        self.status_reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.status(scope).await
    }

    async fn wait_for_seq(&self, scope: &str, after_seq: i64, timeout: Duration) -> Result<i64, sync_core::FeedError> {
        self.inner.wait_for_seq(scope, after_seq, timeout).await
    }
}

#[tokio::test]
async fn one_write_woken_long_polls_share_one_status_read() {
    let inner = feed().await;
    let latest = inner.status("alpha").await.expect("status").latest_seq;
    let counting = Arc::new(CountingFeed { inner: inner.clone(), status_reads: Default::default() });
    let (url, _stop) = spawn_server(counting.clone()).await;
    let transport = Arc::new(HttpTransport::new(&url, Some("alpha-token")).expect("transport"));
    let waits: Vec<_> = (0..40)
        .map(|_| {
            let transport = transport.clone();
            tokio::spawn(async move { transport.wait_for_change("alpha", latest, Duration::from_secs(10)).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    write_later(&inner, "t-fan", Duration::ZERO);
    for wait in waits {
        let status = wait.await.expect("task").expect("long-poll");
        assert_eq!(status.latest_seq, latest + 1, "every waiter sees the write");
    }
    let reads = counting.status_reads.load(std::sync::atomic::Ordering::SeqCst);
    assert!(reads <= 3, "40 woken long-polls made {reads} status reads");

    // A waiter that saw a newer seq does not get the shared, older read.
    inner.write("alpha", vec![thread_write("t-next")]).await.expect("write");
    let status = transport.wait_for_change("alpha", latest, Duration::from_secs(10)).await.expect("long-poll");
    assert_eq!(status.latest_seq, latest + 2);
}

#[tokio::test]
async fn a_following_engine_gets_each_write_as_a_change_event() {
    let feed = feed().await;
    let (url, _stop) = spawn_server(feed.clone()).await;
    let transport = Arc::new(HttpTransport::new(&url, Some("alpha-token")).expect("transport"));
    let client = Arc::new(MemoryStore::new());
    let store = Arc::new(NotifyingStore::new(client.clone(), 256));
    let mut events = store.subscribe();
    let engine = Arc::new(SyncEngine::new(store, transport, SyncConfig::default()));
    let options = FollowOptions::default();
    let cancel = options.cancel.clone();
    let follower = engine.clone();
    let task = tokio::spawn(async move { follower.follow("alpha", options).await });
    let mut recv =
        async || tokio::time::timeout(Duration::from_secs(5), events.recv()).await.expect("an event").expect("open");
    while !recv().await.upserted.contains(&"p2-4".to_owned()) {} // the initial sync ends with the last post

    for i in 0..20 {
        let id = format!("live-{i}");
        feed.write("alpha", vec![thread_write(&id)]).await.expect("write");
        assert_eq!(recv().await.upserted, vec![id]);
    }
    cancel.cancel();
    assert!(matches!(task.await, Ok(Ok(()))));
}
