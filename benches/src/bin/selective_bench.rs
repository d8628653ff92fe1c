//! Selective sync and the recent-first sync against a plain full sync, over the embedded SQLite server on
//! loopback HTTP into real SQLite replicas: time to "chat list ready" and to a full replica recent first, a
//! subscription of 100 conversations, and the cost of one filtered page at the start and at the end of the log.
//! Writes the "Selective sync" figures of BENCHMARKS.md to stdout as Markdown.
//!
//! `cargo run --release -p sync-benches --bin selective-bench -- [messages] [conversations]` (defaults 1,000,000
//! and 10,000).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use server_example::generate::{Sizes, generate};
use server_example::serve::{RunningServer, access, start};
use server_example::whatsapp;
use sync_core::{
    ChangeFeed, ClientStore, PageRequest, RecentEvent, RecentFirstOptions, RecentFn, SubscriptionChange, SyncConfig,
    SyncEngine, Transport, verify_scope, verify_subset,
};
use sync_http::{HttpTransport, ServerConfig};
use sync_sqlite::{SqliteServerStore, SqliteStore};

const SCOPE: &str = "wa-bench";
const TOKEN: &str = "bench";

fn engine(server: &RunningServer, dir: &std::path::Path, name: &str) -> (Arc<SqliteStore>, SyncEngine) {
    let store = Arc::new(SqliteStore::open(dir.join(name)).expect("client db"));
    let transport = HttpTransport::new(&server.url(), Some(TOKEN)).expect("transport");
    let engine = SyncEngine::new(store.clone(), Arc::new(transport), SyncConfig::default());
    (store, engine)
}

fn secs(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64())
}

/// The median time of `runs` fetches of `request`.
async fn median_fetch(transport: &HttpTransport, request: &PageRequest, runs: usize) -> Duration {
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let body = transport.fetch_page(request).await.expect("page");
        assert!(!body.is_empty());
        samples.push(started.elapsed());
    }
    samples.sort();
    samples[runs / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>().expect("a number"));
    let messages = args.next().unwrap_or(1_000_000);
    let conversations = args.next().unwrap_or(10_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let server_store =
        Arc::new(SqliteServerStore::open(dir.path().join("server.db"), whatsapp::schema()).expect("open"));
    let started = Instant::now();
    let sizes = Sizes { conversations, messages, contacts: conversations / 2 };
    let totals = generate(server_store.as_ref(), SCOPE, sizes, 7, |_| {}).await.expect("generate");
    eprintln!("seeded {} rows in {:.1} s", totals.rows(), started.elapsed().as_secs_f64());
    let config = ServerConfig::new(access(&[(TOKEN.into(), vec!["*".into()])]));
    let server = start(server_store.clone(), config, "127.0.0.1:0").await.expect("serve");
    let schema = whatsapp::schema();

    // A plain full sync.
    let (full_store, full) = engine(&server, dir.path(), "full.db");
    let started = Instant::now();
    full.sync(SCOPE, Default::default()).await.expect("full sync");
    let plain = started.elapsed();
    assert!(verify_scope(&schema, SCOPE, full_store.as_ref(), server_store.as_ref()).await.expect("v").is_exact());

    // Recent first: the chat list, the heads, the backfill.
    let (recent_store, recent) = engine(&server, dir.path(), "recent.db");
    let marks: Arc<Mutex<(Option<Duration>, Option<Duration>)>> = Arc::default();
    let started = Instant::now();
    let seen = marks.clone();
    let events: RecentFn = Arc::new(move |event: &RecentEvent| {
        let mut marks = seen.lock().expect("marks");
        match event {
            RecentEvent::ChatListReady { .. } => marks.0 = Some(started.elapsed()),
            RecentEvent::HeadLanded { .. } => marks.1 = Some(started.elapsed()),
            RecentEvent::HistoryLanded { .. } => {}
        }
    });
    let options = RecentFirstOptions { events: Some(events), ..Default::default() };
    recent.sync_recent_first(SCOPE, options).await.expect("recent first");
    let recent_total = started.elapsed();
    let (ready, heads) = *marks.lock().expect("marks");
    let exact = verify_scope(&schema, SCOPE, recent_store.as_ref(), server_store.as_ref()).await.expect("v");
    assert!(exact.is_exact(), "{:?}", exact.differences);

    // A subscription of the 100 conversations with the most recent activity (greatest seq).
    let mut chats = full_store.read_rows(SCOPE, "conversations", None, usize::MAX).await.expect("read");
    chats.sort_by_key(|r| std::cmp::Reverse(r.seq));
    let hundred: Vec<String> = chats.iter().take(100).map(|r| r.id.clone()).collect();
    let (subset_store, subset) = engine(&server, dir.path(), "subset.db");
    let cancel = Default::default();
    subset.change_subscription(SCOPE, SubscriptionChange::Subscribe(hundred.clone()), &cancel).await.expect("sub");
    let started = Instant::now();
    let report = subset.sync(SCOPE, Default::default()).await.expect("subset sync");
    let subscribed = started.elapsed();
    let values = hundred.iter().cloned().collect();
    let v = verify_subset(&schema, SCOPE, subset_store.as_ref(), server_store.as_ref(), Some(&values)).await;
    assert!(v.expect("v").is_exact());

    // One filtered page of 1,000 messages of those 100 conversations, at the start and at the end of the log.
    let transport = HttpTransport::new(&server.url(), Some(TOKEN)).expect("transport");
    let mut seqs: Vec<i64> = subset_store
        .read_rows(SCOPE, "messages", None, usize::MAX)
        .await
        .expect("read")
        .into_iter()
        .map(|r| r.seq)
        .collect();
    seqs.sort_unstable();
    let request = |since_seq| PageRequest {
        scope: SCOPE.into(),
        collection: "messages".into(),
        since_seq,
        limit: 1_000,
        fresh: false,
        filter: Some(hundred.clone()),
    };
    let end_cursor = seqs.get(seqs.len().saturating_sub(1_001)).copied().unwrap_or(0);
    let at_start = median_fetch(&transport, &request(0), 21).await;
    let at_end = median_fetch(&transport, &request(end_cursor), 21).await;
    let latest = server_store.status(SCOPE).await.expect("status").latest_seq;

    println!("| {messages} messages, {conversations} conversations ({} rows) | seconds |", totals.rows());
    println!("|---|---|");
    println!("| plain full sync | {} |", secs(plain));
    println!("| recent first: chat list ready | {} |", ready.map_or("-".into(), secs));
    println!("| recent first: every conversation's newest 50 messages | {} |", heads.map_or("-".into(), secs));
    println!(
        "| recent first: full replica | {} ({:+.0} %) |",
        secs(recent_total),
        (recent_total.as_secs_f64() / plain.as_secs_f64() - 1.0) * 100.0
    );
    println!("| subscription of 100 conversations ({} rows) | {} |", report.rows(), secs(subscribed));
    println!(
        "| one filtered page (1,000 messages of 100 conversations) from seq 0 / from seq {end_cursor} of {latest} | {:.2} ms / {:.2} ms |",
        at_start.as_secs_f64() * 1e3,
        at_end.as_secs_f64() * 1e3
    );
    server.stop().await.expect("stop");
}
