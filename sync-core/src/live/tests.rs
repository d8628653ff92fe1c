//! The live loop and the change stream over the in-memory server, with a transport that can go down.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::broadcast;

use super::{ChangeEvent, FollowOptions, NotifyingStore};
use crate::config::SyncConfig;
use crate::engine::SyncEngine;
use crate::error::TransportError;
use crate::feed::{ServerStore, Write};
use crate::memory::{FeedTransport, MemoryFeed, MemoryStore};
use crate::page::{PageRequest, ScopeStatus};
use crate::schema::Schema;
use crate::testing::{test_schema, thread};
use crate::transport::Transport;

/// A [`FeedTransport`] that fails every call while `down`, and counts status requests (a live client must
/// not poll the status while nothing changes).
struct Switch {
    inner: FeedTransport,
    down: AtomicBool,
    status_calls: AtomicUsize,
}

impl Switch {
    fn check(&self) -> Result<(), TransportError> {
        if self.down.load(Ordering::SeqCst) {
            Err(TransportError::Network("connection refused".into()))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl Transport for Switch {
    async fn fetch_page(&self, request: &PageRequest) -> Result<Vec<u8>, TransportError> {
        self.check()?;
        self.inner.fetch_page(request).await
    }
    async fn fetch_status(&self, scope: &str) -> Result<ScopeStatus, TransportError> {
        self.check()?;
        self.status_calls.fetch_add(1, Ordering::SeqCst);
        self.inner.fetch_status(scope).await
    }
    async fn fetch_schema(&self) -> Result<Schema, TransportError> {
        self.inner.fetch_schema().await
    }
    async fn wait_for_change(&self, scope: &str, after: i64, wait: Duration) -> Result<ScopeStatus, TransportError> {
        self.check()?;
        self.inner.wait_for_change(scope, after, wait).await
    }
}

struct Live {
    server: Arc<MemoryFeed>,
    transport: Arc<Switch>,
    events: broadcast::Receiver<ChangeEvent>,
    client: Arc<MemoryStore>,
    cancel: tokio_util::sync::CancellationToken,
    task: tokio::task::JoinHandle<Result<(), crate::SyncError>>,
}

async fn start() -> Live {
    let server = Arc::new(MemoryFeed::new(test_schema()));
    server.write("s", vec![upsert("t0")]).await.ok();
    let transport = Arc::new(Switch {
        inner: FeedTransport::new(server.clone()),
        down: AtomicBool::new(false),
        status_calls: AtomicUsize::new(0),
    });
    let client = Arc::new(MemoryStore::new());
    let store = Arc::new(NotifyingStore::new(client.clone(), 64));
    let events = store.subscribe();
    let config = SyncConfig::default()
        .with_schema(test_schema())
        .with_backoff(Duration::from_millis(5), Duration::from_millis(20))
        .with_max_retries(1);
    let engine = SyncEngine::new(store, transport.clone(), config);
    let options = FollowOptions { wait: Duration::from_secs(30), ..Default::default() };
    let cancel = options.cancel.clone();
    let task = tokio::spawn(async move { engine.follow("s", options).await });
    Live { server, transport, events, client, cancel, task }
}

fn upsert(id: &str) -> Write {
    Write::Upsert { collection: "threads".into(), id: id.into(), values: thread(id) }
}

async fn next(events: &mut broadcast::Receiver<ChangeEvent>) -> ChangeEvent {
    match tokio::time::timeout(Duration::from_secs(5), events.recv()).await {
        Ok(Ok(event)) => event,
        other => panic!("no change event within 5 s: {other:?}"),
    }
}

async fn client_ids(client: &MemoryStore) -> Vec<String> {
    use crate::store::ClientStore as _;
    client.read_rows("s", "threads", None, 100).await.unwrap_or_default().into_iter().map(|r| r.id).collect()
}

#[tokio::test]
async fn a_write_reaches_a_following_client_as_a_change_event_without_polling() {
    let mut live = start().await;
    assert_eq!(next(&mut live.events).await.upserted, vec!["t0"], "the first sync");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let polls = live.transport.status_calls.load(Ordering::SeqCst);

    live.server.write("s", vec![upsert("t1")]).await.ok();
    let event = next(&mut live.events).await;
    assert_eq!((event.collection.as_deref(), event.upserted.clone()), (Some("threads"), vec!["t1".to_owned()]));
    assert_eq!(client_ids(&live.client).await, ["t0", "t1"], "the event comes after the commit");

    live.server.write("s", vec![Write::Delete { collection: "threads".into(), id: "t0".into() }]).await.ok();
    let event = next(&mut live.events).await;
    assert_eq!(event.deleted, vec!["t0"]);
    // Per wakeup: the long-poll answers with the status, and the sync reads it once more; nothing in between.
    let per_change = live.transport.status_calls.load(Ordering::SeqCst) - polls;
    assert!(per_change <= 4, "{per_change} status requests for two changes: the client is polling");

    live.cancel.cancel();
    assert!(matches!(live.task.await, Ok(Ok(()))), "cancelling ends the loop cleanly");
}

#[tokio::test]
async fn an_outage_delays_changes_and_loses_none() {
    let mut live = start().await;
    next(&mut live.events).await;
    live.transport.down.store(true, Ordering::SeqCst);
    for i in 1..=5 {
        live.server.write("s", vec![upsert(&format!("t{i}"))]).await.ok();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(client_ids(&live.client).await, ["t0"], "nothing arrives while the server is unreachable");
    assert!(!live.task.is_finished(), "the loop keeps retrying through the outage");

    live.transport.down.store(false, Ordering::SeqCst);
    let mut seen = Vec::new();
    while seen.len() < 5 {
        seen.extend(next(&mut live.events).await.upserted);
    }
    assert_eq!(client_ids(&live.client).await, ["t0", "t1", "t2", "t3", "t4", "t5"]);
    live.cancel.cancel();
    assert!(matches!(live.task.await, Ok(Ok(()))));
}
