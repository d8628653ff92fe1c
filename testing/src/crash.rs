//! Crash trials: a client process killed with SIGKILL at random instants of its syncs, or the server process
//! killed and restarted under a syncing client; the client database is checked against the server after every
//! kill (at a page boundary, cursor never ahead of the rows) and row for row at the end.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use server_example::changes::{ChangeSet, apply_changes};
use server_example::generate::{Sizes, generate};
use server_example::serve::{access, start};
use server_example::whatsapp;
use sync_core::{ClientStore, ServerStore, SyncConfig, SyncEngine, SyncOptions, verify_scope};
use sync_http::{HttpTransport, ServerConfig};
use sync_postgres::PostgresStore;
use sync_sqlite::{SqliteServerStore, SqliteStore};

use crate::History;
use crate::procs::{
    Binaries, ClientKind, SCOPE, ServerProcess, StoreLocation, TOKEN, drop_postgres_database, fresh_postgres_database,
    kill_client_after, run_client,
};
use crate::search_oracle::{self, Oracle};

/// Counts of a series of trials.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Kills that landed while the victim was syncing.
    pub kills: usize,
    /// Runs that ended before their kill was due (not counted as trials).
    pub missed: usize,
    /// Checks that the client database was at a page boundary.
    pub boundary_checks: usize,
    /// Collections caught half-synced by those checks.
    pub partial: usize,
    /// Checks that found secondary indexes missing (a kill during an initial sync, which defers them) before
    /// opening the file built them again.
    pub deferred_indexes: usize,
    /// Row-for-row verifications, all exact (a difference fails the run).
    pub exact: usize,
    /// Rows compared by the boundary checks and verifications.
    pub rows_compared: u64,
    /// Batches of server writes (new, edited, deleted rows) made between syncs.
    pub change_batches: usize,
    /// Full-text indexes found current and equal to the table right after a kill (before any repair).
    pub index_current: usize,
    /// Full-text indexes found mid-load after a kill (an initial sync builds them at its end; opening did).
    pub index_deferred: usize,
    /// Searches compared with the oracle after a kill.
    pub searches: usize,
}

fn changes() -> ChangeSet {
    ChangeSet { new_messages: 300, edits: 60, deletes: 40, deleted_conversations: 1 }
}

async fn verify(client: &Path, server: &dyn ServerStore, report: &mut Report) -> anyhow::Result<()> {
    let store = SqliteStore::open(client)?;
    let v = verify_scope(&whatsapp::schema(), SCOPE, &store, server).await.map_err(anyhow::Error::msg)?;
    ensure!(v.is_exact(), "{} is not exact: {:?}", client.display(), v.differences);
    report.exact += 1;
    report.rows_compared += v.rows();
    Ok(())
}

/// Secondary indexes (named `idx_…`) in the file, counted by a connection of its own, as an app would see them.
fn index_count(db: &Path) -> anyhow::Result<usize> {
    let conn = rusqlite::Connection::open(db)?;
    let sql = "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE 'idx_%'";
    Ok(usize::try_from(conn.query_row(sql, [], |r| r.get::<_, i64>(0))?)?)
}

/// Every secondary index of a WhatsApp replica: those of a fresh file prepared for the schema, so the count
/// follows whatever the store creates (declared indexes, seq indexes, filter indexes for evictions). Counted
/// once per process: every check after a kill compares with it.
async fn all_indexes() -> anyhow::Result<usize> {
    static COUNT: tokio::sync::OnceCell<usize> = tokio::sync::OnceCell::const_new();
    let count = COUNT.get_or_try_init(|| async {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("fresh.db");
        SqliteStore::open(&path)?.prepare(&whatsapp::schema()).await?;
        index_count(&path)
    });
    Ok(*count.await?)
}

/// The queries run on a client after each kill.
const QUERIES_PER_CHECK: usize = 12;

/// The one check after a kill: the database is at a page boundary (PROTOCOL.md invariant 4, [`History::check`]),
/// opening it built every index a kill during an initial sync left dropped, and its full-text index searches as
/// the oracle does. `killed_client`: the client's process is dead, so its indexes are first checked as the kill
/// left them; after a server kill the client is alive and may be writing, so they are not.
async fn check(history: &History, db: &Path, report: &mut Report, killed_client: bool) -> anyhow::Result<()> {
    // Before any store opens the file: opening repairs an index left mid-load.
    let before = if killed_client && db.exists() {
        match search_oracle::index_as_left(db).with_context(|| format!("after a kill, {}", db.display()))? {
            true => report.index_current += 1,
            false => report.index_deferred += 1,
        }
        Some(index_count(db)?)
    } else {
        None
    };
    let boundary = history
        .check(db, &whatsapp::schema(), SCOPE)
        .await
        .with_context(|| format!("after a kill, {}", db.display()))?;
    if let Some(before) = before {
        let (after, all) = (index_count(db)?, all_indexes().await?);
        ensure!(after == all, "{}: {after} of {all} indexes after opening", db.display());
        // A kill before the first commit leaves no tables (no index either): nothing was deferred.
        report.deferred_indexes += usize::from(before > 0 && before < all);
    }
    report.boundary_checks += 1;
    report.partial += boundary.partial;
    report.rows_compared += boundary.rows;
    // The index (repaired by opening, if it was mid-load) finds exactly what the oracle finds in the rows.
    let store = SqliteStore::open(db)?;
    search_oracle::check_index(&rusqlite::Connection::open(db)?, "messages")?;
    let oracle = Oracle::load(&store, SCOPE).await?;
    let queries = oracle.queries(QUERIES_PER_CHECK, report.boundary_checks as u64);
    let checked =
        oracle.check(&store, SCOPE, &queries).await.with_context(|| format!("after a kill, {}", db.display()))?;
    report.searches += checked.queries;
    Ok(())
}

/// `trials` kills of a `kind` client syncing from an in-process server on an embedded store, which also takes
/// writes between syncs. After each kill the database must be at a page boundary; now and then the client runs
/// to its end and must be exact, then either the server changes (an incremental sync is killed next) or the
/// client starts over with a new file (a full sync is).
pub async fn client_kills(
    bins: &Binaries,
    kind: ClientKind,
    trials: usize,
    sizes: Sizes,
    seed: u64,
) -> anyhow::Result<Report> {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(SqliteServerStore::open(dir.path().join("server.db"), whatsapp::schema())?);
    generate(store.as_ref(), SCOPE, sizes, seed, |_| {}).await?;
    let tokens = [(TOKEN.to_owned(), vec![SCOPE.to_owned()])];
    let server = start(store.clone(), ServerConfig::new(access(&tokens)), "127.0.0.1:0").await?;
    let url = server.url();
    let mut history = History::default();
    history.record(store.as_ref(), &whatsapp::schema(), SCOPE).await?;
    let log = dir.path().join("client.log");
    let mut report = Report::default();

    // One uninterrupted run sets the range of the kill instants.
    let started = Instant::now();
    let timing = dir.path().join("timing.db");
    run_client(bins.client(kind, &timing, &url, &log)?, &log)?;
    let full = started.elapsed();
    verify(&timing, store.as_ref(), &mut report).await?;

    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut files = 0;
    let mut db = dir.path().join("client-0.db");
    // Incremental syncs are much shorter than a full one: after a miss, kills aim at a shorter span.
    let mut aim = full;
    while report.kills < trials {
        let after = aim.mul_f64(rng.random_range(0.0..1.0));
        if kill_client_after(bins.client(kind, &db, &url, &log)?, after, &log).await? {
            report.kills += 1;
        } else {
            report.missed += 1;
            aim = aim.mul_f64(0.5).max(Duration::from_millis(20));
        }
        check(&history, &db, &mut report, true).await?;
        if rng.random_bool(0.2) {
            run_client(bins.client(kind, &db, &url, &log)?, &log)?;
            verify(&db, store.as_ref(), &mut report).await?;
            if rng.random_bool(0.5) {
                apply_changes(store.as_ref(), SCOPE, changes(), rng.random()).await?;
                history.record(store.as_ref(), &whatsapp::schema(), SCOPE).await?;
                report.change_batches += 1;
            } else {
                files += 1;
                db = dir.path().join(format!("client-{files}.db"));
                aim = full;
            }
        }
    }
    run_client(bins.client(kind, &db, &url, &log)?, &log)?;
    verify(&db, store.as_ref(), &mut report).await?;
    server.stop().await?;
    Ok(report)
}

/// Which store the killed server runs on.
#[derive(Clone, Debug)]
pub enum ServerKind {
    /// The embedded SQLite store.
    Embedded,
    /// PostgreSQL: the server URL `postgres://user@host:port`; the run creates its own database.
    Postgres(String),
}

/// Patient retries: the client must outlast a server that is down for a while.
fn patient_config() -> SyncConfig {
    SyncConfig::default()
        .with_page_size("messages", 200)
        .with_page_size("conversations", 10)
        .with_page_size("contacts", 20)
        .with_page_size("message_media", 50)
        .with_max_retries(30)
        .with_backoff(Duration::from_millis(20), Duration::from_millis(500))
        .with_request_timeout(Duration::from_secs(10))
}

/// `trials` kills of a `server-example serve` process while an in-process client syncs from it: the server is
/// restarted after a random pause, the client (retrying) must end exact, and its database is checked at a page
/// boundary while it syncs. The server's data changes between trials.
pub async fn server_kills(
    bins: &Binaries,
    kind: &ServerKind,
    trials: usize,
    sizes: Sizes,
    seed: u64,
) -> anyhow::Result<Report> {
    let dir = tempfile::tempdir()?;
    let database = format!("seqsync_crash_{}", std::process::id());
    let (store, location): (Arc<dyn ServerStore>, StoreLocation) = match kind {
        ServerKind::Embedded => {
            let path = dir.path().join("server.db");
            (Arc::new(SqliteServerStore::open(&path, whatsapp::schema())?), StoreLocation::Embedded(path))
        }
        ServerKind::Postgres(server_url) => {
            let url = fresh_postgres_database(server_url, &database).await?;
            (Arc::new(PostgresStore::connect(&url, whatsapp::schema()).await?), StoreLocation::Postgres(url))
        }
    };
    generate(store.as_ref(), SCOPE, sizes, seed, |_| {}).await?;
    let mut history = History::default();
    history.record(store.as_ref(), &whatsapp::schema(), SCOPE).await?;
    let mut server = ServerProcess::start(&bins.server_example, location, &dir.path().join("server.log"))?;
    let transport = Arc::new(HttpTransport::new(&server.url(), Some(TOKEN))?);
    let engine = |db: &PathBuf| -> anyhow::Result<Arc<SyncEngine>> {
        let client = Arc::new(SqliteStore::open(db)?);
        Ok(Arc::new(SyncEngine::new(client, transport.clone(), patient_config())))
    };
    let mut report = Report::default();

    let timing = dir.path().join("timing.db");
    let started = Instant::now();
    engine(&timing)?.sync(SCOPE, SyncOptions::default()).await?;
    let full = started.elapsed();

    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut trial = 0;
    while report.kills < trials {
        trial += 1;
        let db = dir.path().join(format!("client-{trial}.db"));
        let syncing = engine(&db)?;
        let task = tokio::spawn(async move { syncing.sync(SCOPE, SyncOptions::default()).await });
        tokio::time::sleep(full.mul_f64(rng.random_range(0.05..0.9))).await;
        if task.is_finished() {
            report.missed += 1;
        } else {
            report.kills += 1;
        }
        server.kill()?;
        check(&history, &db, &mut report, false).await?;
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..400))).await;
        server.restart()?;
        task.await?.with_context(|| format!("trial {trial}: the sync did not survive the server's restart"))?;
        verify(&db, store.as_ref(), &mut report).await?;
        if trial % 5 == 0 {
            apply_changes(store.as_ref(), SCOPE, changes(), rng.random()).await?;
            history.record(store.as_ref(), &whatsapp::schema(), SCOPE).await?;
            report.change_batches += 1;
        }
    }
    server.kill()?;
    if let ServerKind::Postgres(server_url) = kind {
        drop(store);
        drop_postgres_database(server_url, &database).await;
    }
    Ok(report)
}
