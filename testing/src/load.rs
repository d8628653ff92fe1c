//! Load: many clients full-syncing one `server-example serve` process on PostgreSQL at once, then a sustained
//! mix of writers and incremental pullers; every client verified row for row at the end, the server's memory and
//! the page latencies recorded.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use async_trait::async_trait;
use server_example::changes::{ChangeSet, apply_changes};
use server_example::generate::{Sizes, generate};
use server_example::whatsapp;
use sync_core::{
    PageRequest, Schema, ScopeStatus, ServerStore, SyncConfig, SyncEngine, SyncOptions, Transport, TransportError,
    verify_scope,
};
use sync_http::HttpTransport;
use sync_postgres::PostgresStore;
use sync_sqlite::SqliteStore;

use crate::procs::{
    Binaries, SCOPE, ServerProcess, StoreLocation, TOKEN, drop_postgres_database, fresh_postgres_database, rss_kib,
};

/// What a load run does.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// The PostgreSQL server (`postgres://user@host:port`); the run creates the database
    /// `seqsync_load_PID`, dropped after.
    pub postgres: String,
    /// Clients full-syncing at once.
    pub clients: usize,
    /// The integration's size.
    pub sizes: Sizes,
    /// How long the mixed phase lasts.
    pub mixed: Duration,
    /// Writer tasks in the mixed phase, each writing a batch of changes after another.
    pub writers: usize,
    /// Incremental pullers in the mixed phase, each syncing again and again.
    pub pullers: usize,
}

/// Page latencies and failed requests of one phase, as the clients saw them.
#[derive(Debug, Default)]
pub struct Requests {
    latencies: Mutex<Vec<Duration>>,
    failures: Mutex<BTreeMap<String, u64>>,
}

impl Requests {
    /// Pages fetched.
    pub fn pages(&self) -> usize {
        self.latencies.lock().map(|l| l.len()).unwrap_or(0)
    }

    /// The latency below which `fraction` of the pages were fetched.
    pub fn percentile(&self, fraction: f64) -> Duration {
        let Ok(mut latencies) = self.latencies.lock() else { return Duration::ZERO };
        latencies.sort_unstable();
        let index = ((latencies.len() as f64 * fraction).ceil() as usize).saturating_sub(1);
        latencies.get(index).copied().unwrap_or_default()
    }

    /// Failed requests by error code (each was retried by the engine).
    pub fn failures(&self) -> BTreeMap<String, u64> {
        self.failures.lock().map(|f| f.clone()).unwrap_or_default()
    }
}

/// An [`HttpTransport`] that times every page request and counts failures.
struct Timed {
    inner: HttpTransport,
    requests: Arc<Requests>,
}

#[async_trait]
impl Transport for Timed {
    async fn fetch_page(&self, request: &PageRequest) -> Result<Vec<u8>, TransportError> {
        let started = Instant::now();
        let result = self.inner.fetch_page(request).await;
        match &result {
            Ok(_) => self.requests.latencies.lock().map(|mut l| l.push(started.elapsed())).unwrap_or_default(),
            Err(e) => self
                .requests
                .failures
                .lock()
                .map(|mut f| *f.entry(e.code().as_str().to_owned()).or_default() += 1)
                .unwrap_or_default(),
        }
        result
    }

    async fn fetch_status(&self, scope: &str) -> Result<ScopeStatus, TransportError> {
        self.inner.fetch_status(scope).await
    }

    async fn fetch_schema(&self) -> Result<Schema, TransportError> {
        self.inner.fetch_schema().await
    }
}

/// The figures of a load run.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Rows in the integration after seeding.
    pub seeded_rows: u64,
    /// The concurrent full syncs: requests, and how long until the last client finished.
    pub full: Arc<Requests>,
    /// Wall time of the concurrent full syncs.
    pub full_time: Duration,
    /// The mixed phase's requests.
    pub mixed: Arc<Requests>,
    /// Batches of changes written in the mixed phase, and incremental syncs done.
    pub write_batches: u64,
    /// Incremental syncs in the mixed phase.
    pub incremental_syncs: u64,
    /// Clients verified exact at the end, and the rows compared.
    pub exact_clients: usize,
    /// Rows compared by the verifications.
    pub rows_compared: u64,
    /// The server's resident memory at the end and at its peak, KiB.
    pub server_rss_kib: (u64, u64),
}

fn engine(db: &Path, url: &str, requests: &Arc<Requests>) -> anyhow::Result<SyncEngine> {
    let store = Arc::new(SqliteStore::open(db)?);
    let transport = Arc::new(Timed { inner: HttpTransport::new(url, Some(TOKEN))?, requests: requests.clone() });
    Ok(SyncEngine::new(store, transport, SyncConfig::default()))
}

/// Runs the load and returns its figures; fails when a client fails or is not exact at the end.
pub async fn run(bins: &Binaries, options: &LoadOptions) -> anyhow::Result<LoadReport> {
    let dir = tempfile::tempdir()?;
    let database = format!("seqsync_load_{}", std::process::id());
    let url = fresh_postgres_database(&options.postgres, &database).await?;
    let store = Arc::new(PostgresStore::connect(&url, whatsapp::schema()).await?);
    let totals = generate(store.as_ref(), SCOPE, options.sizes, 11, |_| {}).await?;
    let server =
        ServerProcess::start(&bins.server_example, StoreLocation::Postgres(url), &dir.path().join("server.log"))?;
    let mut report = LoadReport { seeded_rows: totals.rows(), ..LoadReport::default() };

    // Phase 1: every client syncs from scratch at once.
    let dbs: Vec<PathBuf> = (0..options.clients).map(|i| dir.path().join(format!("client-{i}.db"))).collect();
    let started = Instant::now();
    let mut syncs = Vec::new();
    for db in &dbs {
        let engine = engine(db, &server.url(), &report.full)?;
        syncs.push(tokio::spawn(async move { engine.sync(SCOPE, SyncOptions::default()).await }));
    }
    for sync in syncs {
        sync.await?.context("a full sync under load failed")?;
    }
    report.full_time = started.elapsed();

    // Phase 2: writers and incremental pullers at once, for a while.
    let stop = Arc::new(AtomicBool::new(false));
    let (batches, syncs) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut tasks = Vec::new();
    for writer in 0..options.writers {
        let (store, stop, batches) = (store.clone(), stop.clone(), batches.clone());
        tasks.push(tokio::spawn(async move {
            let set = ChangeSet { new_messages: 20, edits: 5, deletes: 3, deleted_conversations: 0 };
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                apply_changes(store.as_ref(), SCOPE, set, (writer as u64) << 32 | n).await?;
                batches.fetch_add(1, Ordering::Relaxed);
                n += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            anyhow::Ok(())
        }));
    }
    for db in dbs.iter().take(options.pullers) {
        let (engine, stop, syncs) = (engine(db, &server.url(), &report.mixed)?, stop.clone(), syncs.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                engine.sync(SCOPE, SyncOptions::default()).await.context("an incremental sync under load failed")?;
                syncs.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            anyhow::Ok(())
        }));
    }
    tokio::time::sleep(options.mixed).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await??;
    }
    report.write_batches = batches.load(Ordering::Relaxed);
    report.incremental_syncs = syncs.load(Ordering::Relaxed);

    // The end: every client catches up and must equal the server.
    for db in &dbs {
        engine(db, &server.url(), &report.mixed)?.sync(SCOPE, SyncOptions::default()).await?;
        let client = SqliteStore::open(db)?;
        let v = verify_scope(&whatsapp::schema(), SCOPE, &client, store.as_ref() as &dyn ServerStore)
            .await
            .map_err(anyhow::Error::msg)?;
        ensure!(v.is_exact(), "{} is not exact: {:?}", db.display(), v.differences);
        report.exact_clients += 1;
        report.rows_compared += v.rows();
    }
    report.server_rss_kib = server.pid().and_then(rss_kib).unwrap_or_default();
    drop((server, store));
    drop_postgres_database(&options.postgres, &database).await;
    Ok(report)
}
