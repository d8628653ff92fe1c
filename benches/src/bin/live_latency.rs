//! Live-update latency: from a server commit to the row being readable in a live client's SQLite file, over
//! real PostgreSQL, HTTP on loopback and (across instances) NATS; then the cost of idle live clients and of one
//! write woken to many of them. Writes "Live updates" figures to stdout as Markdown.
//!
//! `cargo run --release -p sync-benches --bin live_latency -- [writes] [idle clients]` (defaults 1000 and
//! 1000), with PostgreSQL at `SEQSYNC_TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`)
//! and NATS at `SEQSYNC_NATS_URL` (default `nats://127.0.0.1:4222`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use server_example::serve::{RunningServer, access, start};
use server_example::whatsapp::{self, contact};
use sync_benches::{ms, percentile, wait_for};
use sync_core::live::{FollowOptions, NotifyingStore};
use sync_core::{ClientStore, ServerStore, SyncConfig, SyncEngine, Transport};
use sync_http::{HttpTransport, ServerConfig};
use sync_postgres::PostgresStore;
use sync_sqlite::SqliteStore;
use tokio_util::sync::CancellationToken;

const SCOPE: &str = "wa-bench";
const TOKEN: &str = "bench";

async fn instance(
    url: &str,
    namespace: &str,
    nats: Option<&str>,
    stop: &CancellationToken,
) -> (Arc<PostgresStore>, RunningServer) {
    let store = Arc::new(PostgresStore::connect_in(url, namespace, whatsapp::schema()).await.expect("connect"));
    store.start_live(nats, stop.clone()).await.expect("live");
    let config = ServerConfig::new(access(&[(TOKEN.into(), vec!["*".into()])]));
    let server = start(store.clone(), config, "127.0.0.1:0").await.expect("serve");
    (store, server)
}

/// `writes` sequential writes through `writer`; each timed from the commit (the write returned) to the change
/// event of the live client following `reader`, which the store sends after its SQLite transaction committed.
async fn latency(writer: &PostgresStore, reader: &RunningServer, writes: usize, label: &str) -> Vec<Duration> {
    let dir = tempfile::tempdir().expect("tempdir");
    let local = Arc::new(SqliteStore::open(dir.path().join("live.db")).expect("client db"));
    let store = Arc::new(NotifyingStore::new(local.clone(), 4096));
    let mut events = store.subscribe();
    let transport = HttpTransport::new(&reader.url(), Some(TOKEN)).expect("transport");
    let engine = Arc::new(SyncEngine::new(store, Arc::new(transport), SyncConfig::default()));
    let options = FollowOptions::default();
    let cancel = options.cancel.clone();
    let follower = engine.clone();
    let task = tokio::spawn(async move { follower.follow(SCOPE, options).await });
    wait_for(&mut events, "seed").await;
    let mut samples = Vec::with_capacity(writes);
    for i in 0..writes {
        let id = format!("{label}-{i}");
        writer.write(SCOPE, vec![contact(&id)]).await.expect("write");
        let committed = Instant::now();
        wait_for(&mut events, &id).await;
        samples.push(committed.elapsed());
    }
    // Readable in the file: a separate read of the last row.
    let last = format!("{label}-{}", writes - 1);
    let rows = local.read_rows(SCOPE, "contacts", None, usize::MAX).await.expect("read");
    assert!(rows.iter().any(|r| r.id == last), "the last row is in the client's SQLite file");
    cancel.cancel();
    task.await.ok();
    samples.sort();
    samples
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
        .unwrap_or(0)
}

/// `clients` long-polls held on `server`: memory per idle client, then one write woken to all of them.
async fn fan_out(writer: &PostgresStore, server: &RunningServer, clients: usize) {
    let latest = writer.write(SCOPE, vec![contact("fan-base")]).await.expect("write").last_seq;
    let before = rss_kib();
    let transport = Arc::new(HttpTransport::new(&server.url(), Some(TOKEN)).expect("transport"));
    let mut polls = Vec::with_capacity(clients);
    for _ in 0..clients {
        // One connection per client, as separate processes would hold.
        let transport = HttpTransport::new(&server.url(), Some(TOKEN)).expect("transport");
        polls.push(tokio::spawn(async move {
            let status = transport.wait_for_change(SCOPE, latest, Duration::from_secs(60)).await;
            (Instant::now(), status.map(|s| s.latest_seq))
        }));
    }
    // Let every long-poll arrive and settle (their re-checks run meanwhile).
    tokio::time::sleep(Duration::from_secs(5)).await;
    let idle = rss_kib().saturating_sub(before);
    let status_ok = transport.fetch_status(SCOPE).await.is_ok();
    let written = Instant::now();
    writer.write(SCOPE, vec![contact("fan-write")]).await.expect("write");
    let mut woke = Vec::with_capacity(clients);
    for poll in polls {
        let (at, seq) = poll.await.expect("poll task");
        assert!(seq.expect("long-poll") > latest);
        woke.push(at.duration_since(written));
    }
    woke.sort();
    println!(
        "| {clients} idle live clients on one instance | {:.1} KiB per client (process RSS, clients included); \
         the instance still answers: {status_ok} |",
        idle as f64 / clients as f64
    );
    println!(
        "| one write fanned out to {clients} live clients | first woken {} ms, median {} ms, last {} ms after the write began |",
        ms(woke[0]),
        ms(percentile(&woke, 0.5)),
        ms(woke[woke.len() - 1])
    );
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let writes: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000);
    let clients: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000);
    let url =
        std::env::var("SEQSYNC_TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let nats = std::env::var("SEQSYNC_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let namespace = format!("bench_live_{:08x}", std::process::id());
    let stop = CancellationToken::new();

    // Instance A starts first: it holds the polling leadership and publishes commits to NATS.
    let (a_store, a_server) = instance(&url, &namespace, Some(&nats), &stop).await;
    a_store.write(SCOPE, vec![contact("seed")]).await.expect("seed");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_b_store, b_server) = instance(&url, &namespace, Some(&nats), &stop).await;

    println!("| path | writes | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|");
    for (label, reader, path) in [
        ("single", &a_server, "one instance: write and live client on instance A (in-process wakeup)"),
        ("nats", &b_server, "two instances: write through A, live client on B (heads poll on A → NATS → B)"),
    ] {
        let s = latency(&a_store, reader, writes, label).await;
        println!(
            "| {path} | {writes} | {} | {} | {} |",
            ms(percentile(&s, 0.5)),
            ms(percentile(&s, 0.99)),
            ms(s[s.len() - 1])
        );
    }
    println!("\n| load | figure |\n|---|---|");
    fan_out(&a_store, &a_server, clients).await;

    stop.cancel();
    if let Ok((client, connection)) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await {
        tokio::spawn(connection);
        let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{namespace}\" CASCADE")).await;
    }
}
