//! Selective sync and the recent-first sync against a plain full sync, over the embedded SQLite server on
//! loopback HTTP into real SQLite replicas: time to "chat list ready" and to a full replica recent first, a
//! subscription of 100 conversations, the cost of one filtered page at the start and at the end of the log, and
//! what opening a conversation costs the app while the recent-first history fills (its 30 newest messages read
//! through `SqliteStore::list_rows`, ten times a second from "chat list ready" to the end).
//! Writes the "Selective sync" figures of BENCHMARKS.md to stdout as Markdown.
//!
//! `cargo run --release -p sync-benches --bin selective-bench -- [messages] [conversations] [rounds]` (defaults
//! 1,000,000, 10,000 and 2: rounds of a plain full sync and a recent-first sync, in alternating order). Each
//! sync's CPU time by thread goes to stderr: where a recent-first sync waits instead of working shows there.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use server_example::generate::{Sizes, generate};
use server_example::serve::{RunningServer, access, start};
use server_example::whatsapp;
use sync_benches::{cpu_between, thread_cpu};
use sync_core::Value;
use sync_core::{
    ChangeFeed, ClientStore, PageRequest, RecentEvent, RecentFirstOptions, RecentFn, SubscriptionChange, SyncConfig,
    SyncEngine, Transport, verify_scope, verify_subset,
};
use sync_http::{HttpTransport, ServerConfig};
use sync_sqlite::{ListRows, SqliteServerStore, SqliteStore};
use tokio_util::sync::CancellationToken;

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

/// Opens a conversation (its 30 newest messages, as the Electron example does) ten times a second while the sync
/// runs, from the chat list on, rotating over the 100 newest conversations; returns the latencies, sorted.
async fn open_conversations(
    store: Arc<SqliteStore>,
    ready: Arc<tokio::sync::Notify>,
    done: CancellationToken,
) -> Vec<Duration> {
    tokio::select! { () = ready.notified() => {}, () = done.cancelled() => return Vec::new() }
    let newest = ListRows { order_by: Some(("last_message_at".into(), true)), limit: 100, ..Default::default() };
    let chats = store.list_rows(SCOPE, "conversations", newest).await.expect("chat list");
    let mut samples = Vec::new();
    for chat in chats.iter().cycle() {
        if done.is_cancelled() {
            break;
        }
        let query = ListRows {
            filter: vec![("conversation_id".into(), Value::from(chat.id.as_str()))],
            order_by: Some(("sent_at".into(), true)),
            limit: 30,
            offset: 0,
        };
        let started = Instant::now();
        store.list_rows(SCOPE, "messages", query).await.expect("messages");
        samples.push(started.elapsed());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    samples.sort();
    samples
}

/// A plain full sync into a fresh replica `name`, checked exact; its store and how long it took.
async fn plain_sync(
    server: &RunningServer,
    dir: &std::path::Path,
    name: &str,
    server_store: &SqliteServerStore,
) -> (Arc<SqliteStore>, Duration) {
    let (store, full) = engine(server, dir, name);
    let (started, cpu) = (Instant::now(), thread_cpu());
    full.sync(SCOPE, Default::default()).await.expect("full sync");
    let took = started.elapsed();
    eprintln!("plain sync {:.2} s, {}", took.as_secs_f64(), cpu_between(&cpu, &thread_cpu()));
    let schema = whatsapp::schema();
    assert!(verify_scope(&schema, SCOPE, store.as_ref(), server_store).await.expect("v").is_exact());
    (store, took)
}

/// What one recent-first sync measured.
struct Recent {
    total: Duration,
    ready: Option<Duration>,
    heads: Option<Duration>,
    /// Conversations opened while it ran ([`open_conversations`]).
    reads: Vec<Duration>,
}

/// A recent-first sync into a fresh replica `name` (the chat list, the heads, the backfill), checked exact.
async fn recent_sync(
    server: &RunningServer,
    dir: &std::path::Path,
    name: &str,
    server_store: &SqliteServerStore,
) -> Recent {
    let (recent_store, recent) = engine(server, dir, name);
    let marks: Arc<Mutex<(Option<Duration>, Option<Duration>)>> = Arc::default();
    let started = Instant::now();
    let seen = marks.clone();
    let (ready_signal, done) = (Arc::new(tokio::sync::Notify::new()), CancellationToken::new());
    let reads = tokio::spawn(open_conversations(recent_store.clone(), ready_signal.clone(), done.clone()));
    let events: RecentFn = Arc::new(move |event: &RecentEvent| {
        let mut marks = seen.lock().expect("marks");
        match event {
            RecentEvent::ChatListReady { .. } => {
                marks.0 = Some(started.elapsed());
                ready_signal.notify_one();
            }
            RecentEvent::HeadLanded { .. } => marks.1 = Some(started.elapsed()),
            RecentEvent::HistoryLanded { .. } => {}
        }
    });
    let options = RecentFirstOptions { events: Some(events), ..Default::default() };
    let cpu = thread_cpu();
    recent.sync_recent_first(SCOPE, options).await.expect("recent first");
    let total = started.elapsed();
    eprintln!("recent first {:.2} s, {}", total.as_secs_f64(), cpu_between(&cpu, &thread_cpu()));
    done.cancel();
    let reads = reads.await.expect("reads");
    let (ready, heads) = *marks.lock().expect("marks");
    let exact = verify_scope(&whatsapp::schema(), SCOPE, recent_store.as_ref(), server_store).await.expect("v");
    assert!(exact.is_exact(), "{:?}", exact.differences);
    Recent { total, ready, heads, reads }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>().expect("a number"));
    let messages = args.next().unwrap_or(1_000_000);
    let conversations = args.next().unwrap_or(10_000);
    let rounds = args.next().unwrap_or(2).max(1);
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

    // Plain full syncs and recent-first syncs in alternating order (plain first in odd rounds), so that a change
    // of the machine's load during the run weighs on both.
    let (mut plains, mut recents) = (Vec::new(), Vec::new());
    let mut full_store = None;
    for round in 0..rounds {
        let files = (format!("full-{round}.db"), format!("recent-{round}.db"));
        if round % 2 == 0 {
            let (store, took) = plain_sync(&server, dir.path(), &files.0, &server_store).await;
            plains.push(took);
            full_store.get_or_insert(store);
            recents.push(recent_sync(&server, dir.path(), &files.1, &server_store).await);
        } else {
            recents.push(recent_sync(&server, dir.path(), &files.1, &server_store).await);
            plains.push(plain_sync(&server, dir.path(), &files.0, &server_store).await.1);
        }
    }
    let full_store = full_store.expect("one round at least");
    let first = &recents[0];
    let reads = &first.reads;

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
    let list = |times: &mut dyn Iterator<Item = Duration>| times.map(secs).collect::<Vec<_>>().join(" / ");
    let total = |times: &mut dyn Iterator<Item = Duration>| times.map(|t| t.as_secs_f64()).sum::<f64>();
    let ratio = total(&mut recents.iter().map(|r| r.total)) / total(&mut plains.iter().copied());
    let percent = |a: Duration, b: Duration| format!("{:+.0} %", (a.as_secs_f64() / b.as_secs_f64() - 1.0) * 100.0);
    let each: Vec<String> = recents.iter().zip(&plains).map(|(r, p)| percent(r.total, *p)).collect();
    println!("| plain full sync (each round) | {} |", list(&mut plains.iter().copied()));
    println!("| recent first: chat list ready | {} |", first.ready.map_or("-".into(), secs));
    println!("| recent first: every conversation's newest 50 messages | {} |", first.heads.map_or("-".into(), secs));
    println!(
        "| recent first: full replica (each round; against that round's plain sync) | {} ({}) |",
        list(&mut recents.iter().map(|r| r.total)),
        each.join(" / ")
    );
    println!("| recent first against plain, all rounds | {:+.0} % |", (ratio - 1.0) * 100.0);
    if let (Some(median), Some(max)) = (reads.get(reads.len() / 2), reads.last()) {
        println!(
            "| recent first: opening a conversation while history fills (30 newest messages, {} reads): median / max | {:.2} ms / {:.2} ms |",
            reads.len(),
            median.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3
        );
    }
    println!("| subscription of 100 conversations ({} rows) | {} |", report.rows(), secs(subscribed));
    println!(
        "| one filtered page (1,000 messages of 100 conversations) from seq 0 / from seq {end_cursor} of {latest} | {:.2} ms / {:.2} ms |",
        at_start.as_secs_f64() * 1e3,
        at_end.as_secs_f64() * 1e3
    );
    server.stop().await.expect("stop");
}
