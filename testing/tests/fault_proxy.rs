//! Full syncs through the fault proxy, over real loopback HTTP into real SQLite files: every fault kind is
//! survived and the client ends exact; a permanent fault ends the sync after its bounded retries with a clear
//! error.

use std::sync::Arc;
use std::time::{Duration, Instant};

use server_example::changes::{ChangeSet, apply_changes};
use server_example::generate::{Sizes, generate};
use server_example::serve::{RunningServer, access, start};
use server_example::whatsapp;
use sync_core::{ErrorCode, SyncConfig, SyncEngine, SyncError, SyncOptions, verify_scope};
use sync_http::{HttpTransport, ServerConfig};
use sync_sqlite::{SqliteServerStore, SqliteStore};
use sync_testing::{Fault, FaultProxy, History, Plan};
use tempfile::TempDir;

const SCOPE: &str = "wa-faults";
const TOKEN: &str = "token-faults";
/// How long a stalled answer holds its connection: well past the clients' request timeout.
const STALL: Duration = Duration::from_secs(5);

struct Server {
    store: Arc<SqliteServerStore>,
    running: RunningServer,
    dir: TempDir,
}

async fn server() -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let store =
        Arc::new(SqliteServerStore::open(dir.path().join("server.db"), whatsapp::schema()).expect("server store"));
    generate(store.as_ref(), SCOPE, Sizes { conversations: 20, messages: 1_500, contacts: 20 }, 3, |_| {})
        .await
        .expect("seed");
    let tokens = [(TOKEN.to_owned(), vec![SCOPE.to_owned()])];
    let running = start(store.clone(), ServerConfig::new(access(&tokens)), "127.0.0.1:0").await.expect("serve");
    Server { store, running, dir }
}

/// Short timeouts and backoffs, so faults cost little time; enough retries to outlast a run of faults.
fn config(retries: usize) -> SyncConfig {
    SyncConfig::default()
        .with_page_size("messages", 100)
        .with_page_size("conversations", 5)
        .with_page_size("contacts", 5)
        .with_page_size("message_media", 50)
        .with_max_retries(retries)
        .with_backoff(Duration::from_millis(5), Duration::from_millis(50))
        .with_max_retry_after(Duration::from_secs(2))
        .with_request_timeout(Duration::from_millis(700))
}

fn client(server: &Server, proxy: &FaultProxy, db: &str, retries: usize) -> (SyncEngine, Arc<SqliteStore>) {
    let store = Arc::new(SqliteStore::open(server.dir.path().join(db)).expect("client store"));
    let transport = Arc::new(HttpTransport::new(&proxy.url(), Some(TOKEN)).expect("transport"));
    (SyncEngine::new(store.clone(), transport, config(retries)), store)
}

async fn assert_exact(server: &Server, store: &SqliteStore) -> u64 {
    let v = verify_scope(&whatsapp::schema(), SCOPE, store, server.store.as_ref()).await.expect("verify");
    assert!(v.is_exact(), "{:?}", v.differences);
    v.rows()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_sync_converges_exactly_under_every_fault_kind() {
    let server = server().await;
    for fault in Fault::every_kind(Duration::from_millis(300)) {
        // Every fourth request is faulted, the first one included (the schema request).
        let plan = Plan::Schedule(vec![Some(fault), None, None, None]);
        let proxy = FaultProxy::start(server.running.addr, plan, STALL).await.expect("proxy");
        let (engine, store) = client(&server, &proxy, &format!("{}.db", fault.name()), 4);
        let report = engine.sync(SCOPE, SyncOptions::default()).await;
        assert!(report.is_ok(), "{fault:?}: {:?}", report.err());
        let rows = assert_exact(&server, &store).await;
        let injected = proxy.stats().faults().get(&fault.name()).copied().unwrap_or(0);
        assert!(injected >= 5, "{fault:?} was injected {injected} times over {} requests", proxy.stats().requests());
        assert!(rows > 1_500, "{rows} rows compared");
        eprintln!(
            "{}: {injected} injected over {} requests, {rows} rows compared, exact",
            fault.name(),
            proxy.stats().requests()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_syncs_through_random_faults_stay_at_page_boundaries_and_end_exact() {
    let server = server().await;
    let schema = whatsapp::schema();
    let mut history = History::default();
    history.record(server.store.as_ref(), &schema, SCOPE).await.expect("record");
    let kinds = Fault::every_kind(Duration::from_millis(100));
    let plan = Plan::Random { seed: 0x5eed, rate: 0.3, kinds };
    let proxy = FaultProxy::start(server.running.addr, plan, STALL).await.expect("proxy");
    let (engine, store) = client(&server, &proxy, "random.db", 8);
    let db = server.dir.path().join("random.db");
    for round in 0..3u64 {
        engine.sync(SCOPE, SyncOptions::default()).await.unwrap_or_else(|e| panic!("round {round}: {e}"));
        history.check(&db, &schema, SCOPE).await.expect("at a page boundary");
        assert_exact(&server, &store).await;
        let set = ChangeSet { new_messages: 200, edits: 50, deletes: 30, deleted_conversations: 1 };
        apply_changes(server.store.as_ref(), SCOPE, set, round).await.expect("changes");
        history.record(server.store.as_ref(), &schema, SCOPE).await.expect("record");
    }
    engine.sync(SCOPE, SyncOptions::default()).await.expect("last sync");
    assert_exact(&server, &store).await;
    let faults = proxy.stats().faults();
    assert!(faults.len() >= 6, "most fault kinds were drawn: {faults:?}");
    eprintln!(
        "random: {} requests, faults {faults:?}, exact after 4 syncs and 3 change batches",
        proxy.stats().requests()
    );
}

/// A sync through a proxy that always injects `fault` fails with `code`, after exactly `retries` retries.
async fn fails_after_retries(fault: Fault, code: ErrorCode, message: &str) -> Duration {
    let server = server().await;
    let proxy = FaultProxy::start(server.running.addr, Plan::Always(fault), STALL).await.expect("proxy");
    let retries = 3;
    let (engine, _) = client(&server, &proxy, "permanent.db", retries);
    let started = Instant::now();
    let error = engine.sync(SCOPE, SyncOptions::default()).await.expect_err("a permanent fault fails the sync");
    assert_eq!(error.code(), code, "{error}");
    assert!(matches!(error, SyncError::Transport { .. }), "{error:?}");
    let text = error.to_string();
    assert!(text.contains(message) && text.contains("GET /schema"), "the message says what failed: {text}");
    assert_eq!(proxy.stats().requests(), 1 + retries as u64, "one attempt and {retries} retries, then it stops");
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_fault_stops_after_the_bounded_retries_with_a_clear_error() {
    fails_after_retries(Fault::Status(503), ErrorCode::Server, "HTTP 503").await;
    fails_after_retries(Fault::Status(502), ErrorCode::Server, "retry later").await;
    fails_after_retries(Fault::Reset, ErrorCode::Network, "check the server URL").await;
    fails_after_retries(Fault::Truncate, ErrorCode::Network, "could not reach the server").await;
    fails_after_retries(Fault::Stall, ErrorCode::Timeout, "did not answer within").await;
    let waited = fails_after_retries(Fault::RateLimited { seconds: 1 }, ErrorCode::RateLimited, "HTTP 429").await;
    assert!(waited >= Duration::from_secs(3), "Retry-After: 1 was honoured before each of 3 retries ({waited:?})");
}
