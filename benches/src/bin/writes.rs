//! Client writes, on both server stores over HTTP on loopback: `writes` messages written offline into a client's
//! replica, then pushed on reconnect, against a plain multi-row insert of the same rows into the server store (the
//! limit a push cannot beat); and a write by one following client, timed until another following client's replica
//! has it (the push, the server's commit, its live wake-up, the other client's pull). Writes Markdown to stdout.
//!
//! `cargo run --release -p sync-benches --bin writes -- [writes] [follow writes]` (defaults 10000 and 300), with
//! PostgreSQL at `SEQSYNC_TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};
use server_example::generate::{Sizes, generate};
use server_example::serve::{RunningServer, access, start};
use server_example::whatsapp;
use sync_benches::{ms, percentile, wait_for};
use sync_core::live::{ChangeEvent, FollowOptions, NotifyingStore};
use sync_core::outbox::{LocalWrite, decode_value};
use sync_core::{ClientStore, Collection, MutationOp, ServerStore, SyncConfig, SyncEngine, SyncOptions, Write};
use sync_http::{HttpTransport, ServerConfig};
use sync_postgres::PostgresStore;
use sync_sqlite::{SqliteServerStore, SqliteStore};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

const SCOPE: &str = "wa-bench";
const TOKEN: &str = "bench";

struct Server {
    name: &'static str,
    store: Arc<dyn ServerStore>,
    running: RunningServer,
}

async fn serve(name: &'static str, store: Arc<dyn ServerStore>) -> Server {
    generate(store.as_ref(), SCOPE, Sizes { conversations: 3, messages: 10, contacts: 3 }, 1, |_| {})
        .await
        .expect("seed");
    let config = ServerConfig::new(access(&[(TOKEN.into(), vec![SCOPE.into()])]));
    let running = start(store.clone(), config, "127.0.0.1:0").await.expect("serve");
    Server { name, store, running }
}

struct Client {
    engine: Arc<SyncEngine>,
    events: broadcast::Receiver<ChangeEvent>,
    conversation: String,
}

async fn client(dir: &tempfile::TempDir, name: &str, server: &Server) -> Client {
    let local = Arc::new(SqliteStore::open(dir.path().join(format!("{name}.db"))).expect("client db"));
    let store = Arc::new(NotifyingStore::new(local.clone(), 4096));
    let events = store.subscribe();
    let transport = HttpTransport::new(&server.running.url(), Some(TOKEN)).expect("transport");
    let engine = Arc::new(SyncEngine::new(store, Arc::new(transport), SyncConfig::default()));
    engine.sync(SCOPE, SyncOptions::default()).await.expect("first sync");
    let rows = local.read_rows(SCOPE, "conversations", None, 1).await.expect("read");
    Client { engine, events, conversation: rows[0].id.clone() }
}

fn message(conversation: &str, i: usize) -> BTreeMap<String, Json> {
    let fields = json!({
        "conversation_id": conversation, "wa_message_id": format!("bench-{i}"), "from_me": true,
        "body": format!("bench message {i}"), "message_type": "text", "status": "sent", "sent_at": 1_700_000_000_000i64,
    });
    serde_json::from_value(fields).expect("an object")
}

/// The same message as a server-side write: its fields decoded as a page row's are, in the schema's column order.
fn message_write(messages: &Collection, conversation: &str, id: String, i: usize) -> Write {
    let mut fields = message(conversation, i);
    fields.insert("wa_message_id".into(), json!(format!("plain-{i}")));
    let values = messages
        .columns
        .iter()
        .enumerate()
        .map(|(c, column)| decode_value(messages, c, fields.get(&column.name).unwrap_or(&Json::Null)))
        .collect::<Result<_, _>>()
        .expect("a valid message");
    Write::Upsert { collection: "messages".into(), id, values }
}

fn insert(collection: &str, id: String, fields: BTreeMap<String, Json>) -> LocalWrite {
    LocalWrite { collection: collection.into(), id, op: MutationOp::Insert, fields }
}

/// `n` writes made offline (nothing pushes them), then one push on reconnect; then the plain insert.
async fn offline_then_push(server: &Server, n: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let c = client(&dir, "offline", server).await;
    let started = Instant::now();
    for i in 0..n {
        c.engine
            .mutate(SCOPE, insert("messages", format!("offline-{i}"), message(&c.conversation, i)))
            .await
            .expect("write");
    }
    let local = started.elapsed();
    let started = Instant::now();
    let report = c.engine.push(SCOPE, &CancellationToken::new()).await.expect("push");
    let push = started.elapsed();
    assert_eq!((report.pushed, report.applied, report.rejected), (n as u64, n as u64, 0), "{report:?}");
    let schema = whatsapp::schema();
    let messages = schema.collection("messages").expect("the WhatsApp schema has messages");
    let writes = (0..n).map(|i| message_write(messages, &c.conversation, format!("plain-{i}"), i)).collect();
    let started = Instant::now();
    server.store.write(SCOPE, writes).await.expect("plain insert");
    let plain = started.elapsed();
    println!(
        "| {} | {n} | {:.2} s ({:.0}/s) | {:.2} s ({:.0}/s, {} requests) | {:.2} s | {:.0} % |",
        server.name,
        local.as_secs_f64(),
        n as f64 / local.as_secs_f64(),
        push.as_secs_f64(),
        n as f64 / push.as_secs_f64(),
        report.requests,
        plain.as_secs_f64(),
        100.0 * plain.as_secs_f64() / push.as_secs_f64()
    );
}

/// Two following clients; each write by the first is timed until the second's replica has it.
async fn follow_latency(server: &Server, writes: usize) -> Vec<Duration> {
    let dir = tempfile::tempdir().expect("tempdir");
    let writer = client(&dir, "writer", server).await;
    let mut reader = client(&dir, "reader", server).await;
    let mut follows = Vec::new();
    for engine in [writer.engine.clone(), reader.engine.clone()] {
        let options = FollowOptions::default();
        follows.push((options.cancel.clone(), tokio::spawn(async move { engine.follow(SCOPE, options).await })));
    }
    // Both long-polls established.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut samples = Vec::with_capacity(writes);
    for i in 0..writes {
        let id = format!("live-{i}");
        writer
            .engine
            .mutate(SCOPE, insert("messages", id.clone(), message(&writer.conversation, i)))
            .await
            .expect("write");
        let written = Instant::now();
        wait_for(&mut reader.events, &id).await;
        samples.push(written.elapsed());
    }
    for (cancel, task) in follows {
        cancel.cancel();
        task.await.ok();
    }
    samples.sort();
    samples
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let writes: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let follows: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(300);
    let url =
        std::env::var("SEQSYNC_TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let namespace = format!("bench_writes_{:08x}", std::process::id());
    let stop = CancellationToken::new();
    let dir = tempfile::tempdir().expect("tempdir");

    let embedded = SqliteServerStore::open(dir.path().join("server.db"), whatsapp::schema()).expect("embedded store");
    let pg = PostgresStore::connect_in(&url, &namespace, whatsapp::schema()).await.expect("PostgreSQL");
    pg.start_live(None, stop.clone()).await.expect("live");
    let servers = [serve("embedded (SQLite)", Arc::new(embedded)).await, serve("PostgreSQL", Arc::new(pg)).await];

    println!(
        "| server store | writes | local writes (offline) | push on reconnect | plain multi-row insert | push rate / insert rate |"
    );
    println!("|---|--:|--:|--:|--:|--:|");
    for server in &servers {
        offline_then_push(server, writes).await;
    }
    println!("\n| server store | writes | p50 ms | p99 ms | max ms |\n|---|--:|--:|--:|--:|");
    for server in &servers {
        let s = follow_latency(server, follows).await;
        println!(
            "| {} | {follows} | {} | {} | {} |",
            server.name,
            ms(percentile(&s, 0.5)),
            ms(percentile(&s, 0.99)),
            ms(percentile(&s, 1.0))
        );
    }

    stop.cancel();
    if let Ok((client, connection)) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await {
        tokio::spawn(connection);
        let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{namespace}\" CASCADE")).await;
    }
}
