//! Syncs that succeed: initial, incremental, nothing new, schema discovery, collection selection, scopes, report.

use super::*;
use crate::progress::CollectionReport;

fn figures(report: &CollectionReport) -> (u64, u64, u64, u64, i64, i64) {
    (report.upserted, report.deleted, report.skipped, report.pages, report.cursor_before, report.cursor_after)
}

#[tokio::test]
async fn initial_sync_makes_the_client_exact_in_pages_of_the_declared_sizes() {
    let f = Fixture::new(config(), vec![]);
    populate(&f, "s", 7, 10).await; // threads take seqs 1..=7, posts 8..=17
    let report = f.sync("s").await.expect("sync");
    let verification = f.assert_exact("s").await;
    assert_eq!(verification.compared, vec![("threads".to_owned(), 7), ("posts".to_owned(), 10)]);
    // page_size 3: 3 + 3 + 1 threads; page_size 4: 4 + 4 + 2 posts.
    assert_eq!(figures(report.collection("threads").expect("threads")), (7, 0, 0, 3, 0, 7));
    assert_eq!(figures(report.collection("posts").expect("posts")), (10, 0, 0, 3, 0, 17));
    assert_eq!(f.page_calls(), 6);
    assert_eq!(f.cursors("s").await, vec![("posts".to_owned(), 17), ("threads".to_owned(), 7)]);
}

#[tokio::test]
async fn full_last_pages_need_no_extra_request() {
    let f = Fixture::new(config(), vec![]);
    populate(&f, "s", 6, 8).await;
    let report = f.sync("s").await.expect("sync");
    f.assert_exact("s").await;
    assert_eq!((report.collection("threads").expect("t").pages, report.collection("posts").expect("p").pages), (2, 2));
    assert_eq!(f.page_calls(), 4);
}

#[tokio::test]
async fn configured_page_sizes_override_the_declared_ones() {
    let f = Fixture::new(config().with_page_size("posts", 5).with_page_size("threads", 100), vec![]);
    populate(&f, "s", 7, 10).await;
    let report = f.sync("s").await.expect("sync");
    f.assert_exact("s").await;
    assert_eq!((report.collection("threads").expect("t").pages, report.collection("posts").expect("p").pages), (1, 2));
}

#[tokio::test]
async fn an_empty_collection_is_skipped() {
    let f = Fixture::new(config(), vec![]);
    populate(&f, "s", 2, 0).await;
    let report = f.sync("s").await.expect("sync");
    f.assert_exact("s").await;
    assert_eq!(figures(report.collection("posts").expect("posts")), (0, 0, 0, 0, 0, 0));
    assert_eq!(f.page_calls(), 1, "one page of threads, nothing asked for posts");
}

#[tokio::test]
async fn incremental_sync_after_updates_deletes_and_a_cascade_is_exact_and_fetches_only_new_rows() {
    let f = Fixture::new(config(), vec![]);
    populate(&f, "s", 7, 10).await;
    f.sync("s").await.expect("initial sync");
    let calls = f.page_calls();
    // Posts p0 and p7 are in t0; deleting t0 deletes them too.
    f.write(
        "s",
        vec![
            upsert_thread("t1", "renamed"),
            upsert_post("p2", "t2", "edited"),
            delete("posts", "p3"),
            delete("threads", "t0"),
            upsert_thread("t7", "new thread"),
            upsert_post("p10", "t7", "new post"),
        ],
    )
    .await;
    let report = f.sync("s").await.expect("incremental sync");
    f.assert_exact("s").await;
    // Threads: t1, t0 (tombstone), t7: one page of 3. Posts: p2, p3, p0, p7 (tombstones), p10: pages of 4 + 1.
    let (threads_seq, posts_seq) = (f.server_seq("s", "threads").await, f.server_seq("s", "posts").await);
    assert_eq!(figures(report.collection("threads").expect("threads")), (2, 1, 0, 1, 7, threads_seq));
    assert_eq!(figures(report.collection("posts").expect("posts")), (2, 3, 0, 2, 17, posts_seq));
    assert_eq!(f.page_calls() - calls, 3);
    assert_eq!(report.rows(), 8, "only the changed rows travel");
    let posts = f.client.rows("s", "posts");
    assert!(["p0", "p3", "p7"].iter().all(|id| !posts.contains_key(*id)), "deleted posts are gone: {posts:?}");
    assert_eq!(posts["p2"].1, post("t2", "edited"));
    assert_eq!(f.client.rows("s", "threads")["t1"].1, thread("renamed"));
    assert!(!f.client.rows("s", "threads").contains_key("t0"));
}

#[tokio::test]
async fn a_sync_with_nothing_new_makes_no_page_request() {
    let f = Fixture::new(config(), vec![]);
    populate(&f, "s", 7, 10).await;
    f.sync("s").await.expect("initial sync");
    let calls = f.page_calls();
    let report = f.sync("s").await.expect("sync");
    assert_eq!(f.page_calls(), calls, "the status says nothing is new");
    assert_eq!((report.rows(), report.pages(), report.bytes()), (0, 0, 0));
    assert_eq!(figures(report.collection("threads").expect("t")), (0, 0, 0, 0, 7, 7));
    assert_eq!(figures(report.collection("posts").expect("p")), (0, 0, 0, 0, 17, 17));

    // Only the collection that changed is asked for.
    f.write("s", vec![upsert_post("p1", "t1", "edited")]).await;
    let report = f.sync("s").await.expect("sync");
    assert_eq!(f.page_calls(), calls + 1);
    assert_eq!(report.collection("threads").expect("t").pages, 0);
    assert_eq!(figures(report.collection("posts").expect("p")), (1, 0, 0, 1, 17, 18));
    f.assert_exact("s").await;
}

#[tokio::test]
async fn the_schema_is_fetched_from_the_transport_when_not_configured() {
    let f = Fixture::new(SyncConfig::default(), vec![]);
    populate(&f, "s", 4, 5).await;
    let report = f.sync("s").await.expect("sync");
    f.assert_exact("s").await;
    assert_eq!(report.rows(), 9);
    let names: Vec<&str> = report.collections.iter().map(|c| c.collection.as_str()).collect();
    assert_eq!(names, ["threads", "posts"], "the server's collections in the server's order");
    let schema = f.engine.schema(&Default::default()).await.expect("schema");
    assert_eq!(schema, &test_schema());
    let stats = f.client.stats().await.expect("stats");
    assert_eq!(stats.counts.keys().collect::<Vec<_>>(), ["posts", "threads"], "the store was prepared with it");
}

#[tokio::test]
async fn options_collections_limits_the_sync() {
    let f = Fixture::new(config(), vec![]);
    populate(&f, "s", 7, 10).await;
    let only_posts = SyncOptions { collections: Some(vec!["posts".into()]), ..Default::default() };
    let report = f.sync_with("s", only_posts).await.expect("sync");
    let names: Vec<&str> = report.collections.iter().map(|c| c.collection.as_str()).collect();
    assert_eq!(names, ["posts"]);
    assert_eq!(report.rows(), 10);
    assert!(f.client.rows("s", "threads").is_empty(), "threads were not synced");
    assert_eq!(f.client.rows("s", "posts").len(), 10);
    assert_eq!(f.cursors("s").await, vec![("posts".to_owned(), 17)]);
    assert_eq!(f.page_calls(), 3);

    // Named in any order, collections are synced in schema order.
    let both = SyncOptions { collections: Some(vec!["posts".into(), "threads".into()]), ..Default::default() };
    let report = f.sync_with("s", both).await.expect("sync");
    let names: Vec<&str> = report.collections.iter().map(|c| c.collection.as_str()).collect();
    assert_eq!(names, ["threads", "posts"]);
    let (threads, posts) = (report.collection("threads").expect("t"), report.collection("posts").expect("p"));
    assert_eq!((threads.upserted, posts.pages), (7, 0), "threads catch up, posts are up to date");
    f.assert_exact("s").await;
}

#[tokio::test]
async fn an_unknown_collection_is_an_error_before_anything_happens() {
    let f = Fixture::new(config(), vec![]);
    populate(&f, "s", 2, 2).await;
    let options = SyncOptions { collections: Some(vec!["threads".into(), "nope".into()]), ..Default::default() };
    let err = f.sync_with("s", options).await.expect_err("unknown collection");
    assert!(matches!(&err, SyncError::UnknownCollection(name) if name == "nope"), "{err:?}");
    assert_eq!(err.code(), ErrorCode::Schema);
    assert_eq!(f.page_calls(), 0);
    assert!(f.client.rows("s", "threads").is_empty());
}

#[tokio::test]
async fn two_scopes_in_one_client_store_stay_independent() {
    let f = Fixture::new(config(), vec![]);
    f.write("a", vec![upsert_thread("t1", "a one"), upsert_thread("t2", "a two"), upsert_post("p1", "t1", "a")]).await;
    f.write("b", vec![upsert_thread("t1", "b one"), upsert_post("p1", "t1", "b"), upsert_post("p2", "t1", "b")]).await;
    f.sync("a").await.expect("sync a");
    f.assert_exact("a").await;
    assert!(f.client.rows("b", "threads").is_empty() && f.cursors("b").await.is_empty(), "b untouched");

    f.sync("b").await.expect("sync b");
    f.assert_exact("b").await;
    assert_eq!(f.client.rows("b", "threads")["t1"].1, thread("b one"));
    assert_eq!(f.client.rows("a", "threads")["t1"].1, thread("a one"));

    // Deleting t1 (and its post) in a leaves b's t1 and posts alone.
    f.write("a", vec![delete("threads", "t1")]).await;
    let report = f.sync("a").await.expect("sync a");
    assert_eq!(report.rows(), 2);
    f.assert_exact("a").await;
    f.assert_exact("b").await;
    assert_eq!(f.client.rows("b", "posts").len(), 2);
    assert_eq!(f.cursors("a").await, vec![("posts".to_owned(), 5), ("threads".to_owned(), 4)]);
    assert_eq!(f.cursors("b").await, vec![("posts".to_owned(), 3), ("threads".to_owned(), 1)]);
}

#[tokio::test]
async fn the_report_counts_rows_pages_and_bytes() {
    let f = Fixture::new(config(), vec![]);
    populate(&f, "s", 7, 10).await;
    // Rows deleted before the first sync still travel as tombstones: t6 and its post p6.
    f.write("s", vec![delete("threads", "t6")]).await;
    let (threads, posts) = (f.expected_bodies("s", "threads", 0).await, f.expected_bodies("s", "posts", 0).await);
    let report = f.sync("s").await.expect("sync");
    f.assert_exact("s").await;
    let t = report.collection("threads").expect("threads");
    let p = report.collection("posts").expect("posts");
    assert_eq!((t.upserted, t.deleted, t.pages), (6, 1, threads.len() as u64));
    assert_eq!((p.upserted, p.deleted, p.pages), (9, 1, posts.len() as u64));
    assert_eq!(t.bytes, threads.iter().map(|b| b.len() as u64).sum::<u64>());
    assert_eq!(p.bytes, posts.iter().map(|b| b.len() as u64).sum::<u64>());
    assert_eq!(report.rows(), 17);
    assert_eq!(report.pages(), (threads.len() + posts.len()) as u64);
    assert_eq!(report.bytes(), t.bytes + p.bytes);
    assert_eq!(report.scope, "s");
    assert_eq!(report.pages() as usize, f.page_calls());

    // An incremental sync counts only what it fetched.
    f.write("s", vec![upsert_thread("t1", "again")]).await;
    let threads = f.expected_bodies("s", "threads", t.cursor_after).await;
    let report = f.sync("s").await.expect("sync");
    assert_eq!((report.rows(), report.pages()), (1, 1));
    assert_eq!(report.bytes(), threads[0].len() as u64);
}

#[tokio::test]
async fn values_the_wire_normalises_still_verify_exact() {
    let f = Fixture::new(config(), vec![]);
    // JSON as an application may write it (spaces, keys out of order) and a whole number in a real column.
    let values = vec![
        Value::from("t1"),
        Value::from("body"),
        Value::Integer(3),
        Value::Integer(1),
        Value::Json(r#"{ "z": 1, "a": [true, null] }"#.into()),
    ];
    let mut json_null = post("t1", "JSON null travels as null");
    json_null[4] = Value::Json("null".into());
    f.write(
        "s",
        vec![
            upsert_thread("t1", "x"),
            Write::Upsert { collection: "posts".into(), id: "p1".into(), values },
            Write::Upsert { collection: "posts".into(), id: "p2".into(), values: json_null },
        ],
    )
    .await;
    f.sync("s").await.expect("sync");
    f.assert_exact("s").await;
    // The comparison still sees real differences in those columns.
    f.write("s", vec![upsert_post("p1", "t1", "body")]).await;
    let mut stale = verify_scope(&test_schema(), "s", f.client.as_ref(), f.server.as_ref()).await.expect("verify");
    assert_eq!(stale.differences.len(), 1, "{:?}", stale.differences);
    assert!(stale.differences.remove(0).starts_with("posts p1"));
}

/// A client store whose writes take 50 ms (of paused time), counting its transactions.
struct SlowStore {
    inner: MemoryStore,
    transactions: std::sync::atomic::AtomicU64,
}

#[async_trait::async_trait]
impl ClientStore for SlowStore {
    async fn prepare(&self, schema: &crate::Schema) -> Result<(), crate::StoreError> {
        self.inner.prepare(schema).await
    }
    async fn sync_state(&self, scope: &str) -> Result<Vec<crate::CursorState>, crate::StoreError> {
        self.inner.sync_state(scope).await
    }
    async fn apply_page(&self, scope: &str, page: crate::Page) -> Result<crate::ApplyOutcome, crate::StoreError> {
        self.transactions.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.inner.apply_page(scope, page).await
    }
    async fn reset(&self, scope: &str) -> Result<(), crate::StoreError> {
        self.inner.reset(scope).await
    }
    async fn read_rows(
        &self,
        scope: &str,
        c: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<crate::StoredRow>, crate::StoreError> {
        self.inner.read_rows(scope, c, after, limit).await
    }
    async fn stats(&self) -> Result<crate::StoreStats, crate::StoreError> {
        self.inner.stats().await
    }
}

#[tokio::test(start_paused = true)]
async fn a_slow_writer_applies_the_pages_it_fell_behind_on_together() {
    let server = Arc::new(MemoryFeed::new(test_schema()));
    let slow = Arc::new(SlowStore { inner: MemoryStore::new(), transactions: Default::default() });
    let writes = (0..30).map(|i| upsert_thread(&format!("t{i}"), "x")).collect();
    server.write("s", writes).await.expect("write");
    let config =
        SyncConfig::default().with_schema(test_schema()).with_prefetch_pages(4).with_max_rows_per_transaction(9);
    let engine = SyncEngine::new(slow.clone(), Arc::new(FeedTransport::new(server.clone())), config);
    let report = engine.sync("s", SyncOptions::default()).await.expect("sync");
    let threads = report.collection("threads").expect("threads");
    assert_eq!((threads.pages, threads.upserted, threads.cursor_after), (10, 30, 30), "every page counted and applied");
    let transactions = slow.transactions.load(std::sync::atomic::Ordering::SeqCst);
    assert!(transactions < 10, "pages fetched while the writer was busy share a transaction ({transactions})");
    assert!(transactions >= 4, "no transaction holds more than 9 rows (3 pages): {transactions}");
    let verification = verify_scope(&test_schema(), "s", &slow.inner, server.as_ref()).await.expect("verify");
    assert!(verification.is_exact(), "{:?}", verification.differences);
}
