//! Tests of [`SyncEngine`] against the in-memory server, transport and client store.
//!
//! The server is a [`MemoryFeed`] written through [`ServerStore::write`]; the client a [`MemoryStore`]; requests
//! go through a [`FaultyTransport`] over a [`FeedTransport`], so faults can be scripted and page requests counted.
//! Every sync runs under a long timeout: with paused time a hung sync fails the test at once instead of hanging.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{SyncEngine, SyncOptions};
use crate::code::ErrorCode;
use crate::config::SyncConfig;
use crate::error::SyncError;
use crate::feed::{ChangeFeed, ServerStore, Write};
use crate::memory::{FeedTransport, MemoryFeed, MemoryStore};
use crate::page::CursorState;
use crate::progress::{Progress, ProgressFn, SyncReport};
use crate::store::ClientStore;
use crate::testing::{Fault, FaultyTransport, post, test_schema, thread};
use crate::value::Value;
use crate::verify::{Verification, verify_scope};
use crate::wire::encode_page;

mod cancel;
mod faults;
mod progress;
mod resync;
mod sync;
mod writes;

/// The default test configuration: the test schema, so no schema request is needed.
/// Page-by-page application, so tests can watch every page; group commit has its own test in `sync.rs`.
fn config() -> SyncConfig {
    SyncConfig::default().with_schema(test_schema()).with_max_rows_per_transaction(1)
}

/// A server, a client store, a fault-injecting transport and an engine over them.
struct Fixture {
    server: Arc<MemoryFeed>,
    client: Arc<MemoryStore>,
    transport: Arc<FaultyTransport<FeedTransport>>,
    engine: SyncEngine,
}

/// Everything a client holds for one scope: rows (id → seq, values) per collection and the cursors.
#[derive(Debug, PartialEq)]
struct Snapshot {
    rows: Vec<BTreeMap<String, (i64, Vec<Value>)>>,
    cursors: Vec<CursorState>,
}

impl Fixture {
    fn new(config: SyncConfig, faults: Vec<Fault>) -> Self {
        Self::over(Arc::new(MemoryFeed::new(test_schema())), Arc::new(MemoryStore::new()), config, faults)
    }

    /// A new engine and transport over an existing server and client (e.g. to inject faults in a later sync).
    fn over(server: Arc<MemoryFeed>, client: Arc<MemoryStore>, config: SyncConfig, faults: Vec<Fault>) -> Self {
        let transport = Arc::new(FaultyTransport::new(FeedTransport::writable(server.clone()), faults));
        let engine = SyncEngine::new(client.clone(), transport.clone(), config);
        Fixture { server, client, transport, engine }
    }

    /// The same server and client, a fresh engine with `config` and `faults`.
    fn again(&self, config: SyncConfig, faults: Vec<Fault>) -> Self {
        Self::over(self.server.clone(), self.client.clone(), config, faults)
    }

    async fn sync(&self, scope: &str) -> Result<SyncReport, SyncError> {
        self.sync_with(scope, SyncOptions::default()).await
    }

    async fn sync_with(&self, scope: &str, options: SyncOptions) -> Result<SyncReport, SyncError> {
        tokio::time::timeout(Duration::from_secs(24 * 3600), self.engine.sync(scope, options))
            .await
            .expect("the sync hung")
    }

    async fn write(&self, scope: &str, writes: Vec<Write>) {
        self.server.write(scope, writes).await.expect("server write");
    }

    fn page_calls(&self) -> usize {
        self.transport.page_calls()
    }

    /// Asserts the client holds exactly the server's rows of `scope`.
    async fn assert_exact(&self, scope: &str) -> Verification {
        let verification =
            verify_scope(&test_schema(), scope, self.client.as_ref(), self.server.as_ref()).await.expect("verify");
        assert!(verification.is_exact(), "client differs from server in {scope}: {:#?}", verification.differences);
        verification
    }

    /// The client's cursors of `scope` as (collection, last_seq), sorted by collection.
    async fn cursors(&self, scope: &str) -> Vec<(String, i64)> {
        let state = self.client.sync_state(scope).await.expect("sync_state");
        let mut state: Vec<(String, i64)> = state.into_iter().map(|c| (c.collection, c.last_seq)).collect();
        state.sort();
        state
    }

    async fn snapshot(&self, scope: &str) -> Snapshot {
        let rows = ["threads", "posts"].iter().map(|c| self.client.rows(scope, c)).collect();
        Snapshot { rows, cursors: self.client.sync_state(scope).await.expect("sync_state") }
    }

    /// The server's latest seq of `collection` in `scope`.
    async fn server_seq(&self, scope: &str, collection: &str) -> i64 {
        self.server.status(scope).await.expect("status").collections[collection].latest_seq
    }

    /// The bodies a client with the test schema's page sizes receives for `collection` from `since_seq` on,
    /// computed straight from the server.
    async fn expected_bodies(&self, scope: &str, collection: &str, mut since_seq: i64) -> Vec<Vec<u8>> {
        let schema = test_schema();
        let c = schema.collection(collection).expect("collection");
        let limit = c.page_size.expect("the test schema declares page sizes");
        let mut bodies = Vec::new();
        // A client whose status says nothing is new does not ask.
        if self.server_seq(scope, collection).await <= since_seq {
            return bodies;
        }
        loop {
            let page = self.server.page(scope, collection, since_seq, limit).await.expect("page");
            bodies.push(encode_page(c, scope, &page));
            if !page.has_more {
                return bodies;
            }
            since_seq = page.latest_seq;
        }
    }
}

fn upsert_thread(id: &str, title: &str) -> Write {
    Write::Upsert { collection: "threads".into(), id: id.into(), values: thread(title) }
}

fn upsert_post(id: &str, thread_id: &str, body: &str) -> Write {
    Write::Upsert { collection: "posts".into(), id: id.into(), values: post(thread_id, body) }
}

fn delete(collection: &str, id: &str) -> Write {
    Write::Delete { collection: collection.into(), id: id.into() }
}

/// Writes `threads` threads `t0..` and then `posts` posts `p0..` (post `i` in thread `t{i % threads}`) in one
/// batch, so threads take seqs `1..=threads` and posts the seqs after them.
async fn populate(fixture: &Fixture, scope: &str, threads: usize, posts: usize) {
    let threads_rows = (0..threads).map(|i| upsert_thread(&format!("t{i}"), &format!("thread {i}")));
    let posts_rows =
        (0..posts).map(|i| upsert_post(&format!("p{i}"), &format!("t{}", i % threads), &format!("post {i} ✓")));
    fixture.write(scope, threads_rows.chain(posts_rows).collect()).await;
}

/// A progress callback that records every event.
fn recorder() -> (ProgressFn, Arc<Mutex<Vec<Progress>>>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let callback: ProgressFn = Arc::new(move |p: &Progress| sink.lock().expect("lock").push(p.clone()));
    (callback, events)
}

fn options_with(progress: ProgressFn) -> SyncOptions {
    SyncOptions { progress: Some(progress), ..Default::default() }
}
