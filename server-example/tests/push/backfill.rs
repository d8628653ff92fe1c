//! The backfill of a recent-first sync from scratch fetches each row once (the rows below each conversation's
//! head, then the changes since the status read before the heads), on both stores over loopback HTTP: it ends
//! exact with writes racing it (an insert, deletes above and below a head's oldest row, an edit and a move below
//! it), without a page from cursor 0; and a row no conversation names makes the counts differ, so the collection
//! is pulled from 0 and still ends exact.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use server_example::whatsapp;
use sync_core::{
    ErrorCode, HeadRead, PageRequest, Progress, RecentFirstOptions, Schema, ScopeStatus, SyncConfig, SyncEngine,
    SyncOptions, Transport, TransportError, Write, verify_scope,
};
use sync_http::HttpTransport;
use sync_sqlite::SqliteStore;

use crate::selective::{Served, delete, message, seeded};
use crate::support::{Kind, SCOPE};

/// HTTP to the test server, writing `racing` to the server store just before the first head with bounds (the
/// first request for older rows), and noting the `since_seq` of every page of `messages`.
struct Racing {
    http: HttpTransport,
    store: Arc<dyn sync_core::ServerStore>,
    racing: Mutex<Option<Vec<Write>>>,
    message_pages: Mutex<Vec<i64>>,
    /// A hostile server: answers a head with bounds as if it had none.
    ignores_bounds: bool,
}

#[async_trait]
impl Transport for Racing {
    async fn fetch_page(&self, request: &PageRequest) -> Result<Vec<u8>, TransportError> {
        if request.collection == "messages" {
            self.message_pages.lock().expect("pages").push(request.since_seq);
        }
        self.http.fetch_page(request).await
    }

    async fn fetch_head(&self, scope: &str, collection: &str, read: &HeadRead) -> Result<Vec<u8>, TransportError> {
        let bounded = read.values.iter().any(|(_, bound)| *bound != i64::MAX);
        let racing = if bounded { self.racing.lock().expect("racing").take() } else { None };
        if let Some(writes) = racing {
            self.store.write(SCOPE, writes).await.expect("racing writes");
        }
        if self.ignores_bounds {
            return self.http.fetch_head(scope, collection, &HeadRead::newest(&read.names(), read.per_value)).await;
        }
        self.http.fetch_head(scope, collection, read).await
    }

    async fn fetch_status(&self, scope: &str) -> Result<ScopeStatus, TransportError> {
        self.http.fetch_status(scope).await
    }

    async fn fetch_schema(&self) -> Result<Schema, TransportError> {
        self.http.fetch_schema().await
    }
}

/// A recent-first sync (3 rows per head, pages of 7) into a fresh replica; returns the `since_seq` of every page
/// of `messages` it fetched and whether the racing writes ran.
async fn recent_first(h: &Served, racing: Vec<Write>) -> (Vec<i64>, bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SqliteStore::open(dir.path().join("replica.db")).expect("replica"));
    let transport = Arc::new(Racing {
        http: h.transport(),
        store: h.store.clone(),
        racing: Mutex::new(Some(racing)),
        message_pages: Mutex::default(),
        ignores_bounds: false,
    });
    let config = SyncConfig::default().with_page_size("messages", 7);
    let engine = SyncEngine::new(store.clone(), transport.clone(), config);
    let progress: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let seen = progress.clone();
    let sync = SyncOptions {
        progress: Some(Arc::new(move |p: &Progress| seen.lock().expect("progress").push(p.clone()))),
        ..Default::default()
    };
    let options = RecentFirstOptions { per_value: 3, sync, ..Default::default() };
    let report = engine.sync_recent_first(SCOPE, options).await.expect("recent-first sync");
    let messages = report.collections.iter().find(|c| c.collection == "messages").expect("a line for messages");
    assert!(messages.upserted >= 100 && messages.cursor_before == 0, "the report counts every message: {messages:?}");
    // The older rows report progress as a plain sync's pages do: 17 of each conversation's 20 messages.
    let older = progress
        .lock()
        .expect("progress")
        .iter()
        .filter(|p| p.collection.as_deref() == Some("messages"))
        .map(|p| p.applied)
        .max();
    assert!(older >= Some(5 * 17 - 5), "progress of the older messages: {older:?}");
    let schema = whatsapp::schema();
    let verification = verify_scope(&schema, SCOPE, store.as_ref(), h.store.as_ref()).await.expect("verify");
    assert!(verification.is_exact(), "{:?}", verification.differences);
    let pages = transport.message_pages.lock().expect("pages").clone();
    (pages, transport.racing.lock().expect("racing").is_none())
}

pub async fn the_backfill_fetches_each_row_once_with_writes_racing_it(kind: Kind) {
    let Some(h) = seeded(kind).await else { return };
    // Heads hold m{c}-17..19: m2-18 is in c2's head, the others lie below a head.
    let mut moved = message("m4-2", "c5", "moved");
    if let Write::Upsert { values, .. } = &mut moved {
        values[4] = "moved to c5".into();
    }
    let racing = vec![
        message("new1", "c1", "new"),
        delete("messages", "m2-18"),
        message("m3-5", "c3", "edited"),
        moved,
        delete("messages", "m1-3"),
    ];
    let (pages, raced) = recent_first(&h, racing).await;
    assert!(raced, "the writes ran while the older rows were fetched");
    assert!(!pages.is_empty(), "the changes since the status were pulled");
    assert!(pages.iter().all(|since| *since > 0), "no page from cursor 0: every row came once ({pages:?})");
}

pub async fn a_row_no_conversation_names_makes_the_backfill_pull_from_zero(kind: Kind) {
    let Some(h) = seeded(kind).await else { return };
    h.write(vec![message("orphan", "c9", "no such conversation")]).await;
    let (pages, _) = recent_first(&h, Vec::new()).await;
    assert!(pages.contains(&0), "the counts differ, so messages are pulled from 0 ({pages:?})");
}

pub async fn a_server_ignoring_the_bound_is_refused_and_a_plain_sync_then_ends_exact(kind: Kind) {
    let Some(h) = seeded(kind).await else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SqliteStore::open(dir.path().join("replica.db")).expect("replica"));
    let transport = Arc::new(Racing {
        http: h.transport(),
        store: h.store.clone(),
        racing: Mutex::new(None),
        message_pages: Mutex::default(),
        ignores_bounds: true,
    });
    let engine = SyncEngine::new(store.clone(), transport, SyncConfig::default());
    let options = RecentFirstOptions { per_value: 3, ..Default::default() };
    let refused = engine.sync_recent_first(SCOPE, options).await.expect_err("rows at or above the bound");
    assert_eq!(refused.code(), ErrorCode::BadPage, "{refused}");
    assert!(refused.to_string().contains("not below the request's `before`"), "{refused}");
    // What was applied stays, moving no cursor: a plain sync ends exact.
    let plain = SyncEngine::new(store.clone(), Arc::new(h.transport()), SyncConfig::default());
    plain.sync(SCOPE, SyncOptions::default()).await.expect("plain sync");
    let verification = verify_scope(&whatsapp::schema(), SCOPE, store.as_ref(), h.store.as_ref()).await.expect("v");
    assert!(verification.is_exact(), "{:?}", verification.differences);
}
