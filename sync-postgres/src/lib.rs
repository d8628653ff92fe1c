//! [`PostgresStore`]: the sync engine's server store in PostgreSQL, implementing [`ServerStore`] and so
//! [`ChangeFeed`] for any [`Schema`]: the backend a Rust service links to serve its own tables (with
//! `sync_http::router`), and that `server-example serve --database-url` runs.
//!
//! # Seq scheme: a per-integration counter row, taken by triggers
//! Every data table has a `BEFORE INSERT OR UPDATE` row trigger that sets `seq` to the next value of the
//! integration's counter in `sync_scopes`. The first write of a transaction to an integration locks that counter
//! row (an `UPDATE` that reserves the next seq, creating the row on first use) until the transaction ends, so a second transaction
//! writing the same integration waits at its first write, then reads the counter its predecessor saved, takes
//! greater seqs, and commits later: **commit order equals seq order within an integration** (PROTOCOL.md invariant
//! 2). A reader that sees seq `S` committed also sees every smaller seq of the integration, so a cursor can never
//! move past a row that commits later, the seed's BIGSERIAL bug. Within the transaction the counter lives in a
//! transaction-local setting, and a deferred constraint trigger on the counter row, queued by that lock, adds the
//! pending live counts at commit (migration 007) and saves the counter if the transaction took another number of
//! seqs than the one the lock reserved (migration 009), in one update, and only if either is needed: updating the
//! counter row per written row would leave a row version per write, each update walking all of them (quadratic:
//! 8,000 rows in one transaction took 2.7 s that way, 0.4 s this way). The live counts are in the counter row too
//! (migration 010): the lock's reservation adds the delta of the row that takes it (+1 for an insert) and books
//! it; the per-statement count (over the statement's transition tables) consumes the booking, so a single-row
//! write updates the counter row once and nothing else. A `BEFORE DELETE` trigger turns a plain `DELETE` into
//! `UPDATE … SET deleted = true`, which takes a new seq like any update: deletes leave tombstones (invariant 3).
//! Because all this lives in triggers, it holds for every writer: [`ServerStore::write`], another service, or
//! `psql`.
//!
//! Why this scheme rather than `pg_current_xact_id()` per row with a `pg_snapshot_xmin` watermark: the counter
//! keeps `seq` a plain gap-free-in-practice number that the wire protocol, the seed's clients and the SQLite
//! store already use, the reading side stays one index range scan with no watermark to compute or hold back, and
//! a long transaction in one integration cannot hold back the feeds of the others.
//!
//! What it costs: writes of one integration serialize on its counter row (one writer at a time per integration;
//! different integrations write in parallel); a long transaction that wrote a row of an integration blocks every
//! other writer of that integration until it ends (keep write transactions short; `lock_timeout` bounds the wait).
//! Under `REPEATABLE READ` or `SERIALIZABLE`, a writer that waited gets a serialization failure and must retry.
//! A transaction writing two integrations must take them in a consistent order or risk a deadlock, which
//! PostgreSQL detects and breaks by aborting one. Reads never block and are never blocked: pages, status and
//! counts are MVCC reads. Each written row costs one trigger call, each statement one count over its transition
//! tables; each transaction one update of the counter row per integration (at its first write), and a second one
//! at commit when it took more than one seq or its counts differ from the first row's delta.
//!
//! The reading side is O(page): `WHERE integration_id = $1 AND seq > $2 ORDER BY seq LIMIT $3 + 1` on the
//! `(integration_id, seq)` index. `total_count` and the status counts come from the counter row
//! (`sync_scopes.live`), kept by the triggers in the writing transaction; a collection's latest seq is one probe of
//! the same index.
//!
//! Tombstone retention: [`PostgresStore::prune`] deletes tombstones older than an age for real (all but the
//! newest of each integration and collection) and raises that collection's `horizon`; a page request whose
//! cursor is below it gets [`FeedError::ResyncRequired`] (HTTP 409 `resync_required`), and the engine re-syncs
//! that integration from scratch.
//!
//! # Driver: tokio-postgres with a deadpool pool
//! tokio-postgres over sqlx: the SQL is generated at run time from a schema known only then (sea-query), so
//! sqlx's compile-time checked queries would not apply; tokio-postgres is the smaller dependency, gives
//! per-connection prepared statement caches through deadpool-postgres, and lets a test hold a transaction open
//! on its own connection to force an interleaving.
//!
//! # Layout
//! - `lib.rs`: [`PostgresStore`], connecting, the trait impls.
//! - `schema.rs`: migrations (`migrations/*.sql`), data tables, indexes and triggers from the schema.
//! - `sql.rs`: every statement, generated with sea-query once per collection.
//! - `feed.rs`: pages, status, rows; `write.rs`: write batches with cascading deletes, and prune.
//! - `push.rs`: client pushes, [`sync_core::apply_push`] over a transaction (migration 006 keeps each client's
//!   last mutation id).
//! - `poll.rs`: live updates: the task polling the integrations' heads (one leader per database when NATS fans
//!   out) and the re-check.
//! - `fanout.rs`: [`fanout::Fanout`], commit hints between instances over NATS core pub/sub.
//! - `convert.rs`: [`Value`] to and from PostgreSQL types.
//! - `testing.rs` (feature `testing`): a store in a throwaway PostgreSQL schema, and clients syncing from it.

#![deny(missing_docs)]

#[cfg(feature = "testing")]
pub mod before;
mod convert;
pub mod fanout;
mod feed;
mod filtered;
mod poll;
mod push;
mod schema;
mod sql;
#[cfg(feature = "testing")]
pub mod testing;
mod write;

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context as _;
use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use sync_core::watch::{SeqWatch, latest_seq};
use sync_core::{
    ChangeFeed, FeedError, FeedPage, FilteredRead, HeadRead, PushHook, PushRequest, PushResponse, Schema, ScopeStatus,
    ServerStore, StoredRow, Value, Write, WriteReceipt, check_filter, check_head, check_push,
};
use tokio_postgres::NoTls;

pub use poll::{HintFn, POLL, RECHECK};
pub use write::PruneReport;

use sql::CollectionSql;

/// Connections in the pool (requests beyond it wait for a free connection).
const POOL_SIZE: usize = 16;

/// A server store in a PostgreSQL schema (namespace); see the module docs for how seqs are assigned.
pub struct PostgresStore {
    pool: Pool,
    namespace: String,
    schema: Schema,
    sql: Arc<HashMap<String, CollectionSql>>,
    /// Where to open the polling connection (`poll.rs`).
    config: tokio_postgres::Config,
    /// Wakes live waiters: on this store's own writes, and on hints from the heads poll or NATS.
    live: Arc<SeqWatch>,
    /// Reviews every pushed mutation, inside the push's transaction.
    hook: Option<Arc<dyn PushHook>>,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/db`) and prepares the store in the connection's current
    /// schema (normally `public`): runs the missing migrations, creates missing tables, indexes and triggers.
    pub async fn connect(url: &str, schema: Schema) -> anyhow::Result<Self> {
        Self::open(url, None, schema).await
    }

    /// Like [`PostgresStore::connect`], in the PostgreSQL schema `namespace` (created if missing): several stores
    /// can share one database, e.g. one per test.
    pub async fn connect_in(url: &str, namespace: &str, schema: Schema) -> anyhow::Result<Self> {
        Self::open(url, Some(namespace), schema).await
    }

    async fn open(url: &str, namespace: Option<&str>, schema: Schema) -> anyhow::Result<Self> {
        schema.validate()?;
        let mut config: tokio_postgres::Config =
            url.parse().with_context(|| format!("invalid database URL {url:?}"))?;
        if let Some(ns) = namespace {
            let ok = !ns.is_empty() && ns.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            anyhow::ensure!(ok, "schema name {ns:?}: use lowercase ASCII letters, digits and `_`");
            let (mut admin, connection) =
                config.connect(NoTls).await.with_context(|| format!("connecting to {url}"))?;
            tokio::spawn(connection);
            admin.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS \"{ns}\"")).await.or_else(|e| {
                // Two stores creating the same schema at once: one wins, the other finds it there.
                if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) { Ok(()) } else { Err(e) }
            })?;
            drop(admin.transaction().await?);
            config.options(format!("-c search_path={ns}"));
        }
        let manager =
            Manager::from_config(config.clone(), NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager).max_size(POOL_SIZE).build().context("building the connection pool")?;
        let mut client = pool.get().await.with_context(|| format!("connecting to {url}"))?;
        let tx = client.transaction().await?;
        schema::migrate(&tx, &schema).await?;
        tx.commit().await.context("committing the migrations")?;
        let namespace: String = client.query_one("SELECT current_schema()", &[]).await?.get(0);
        let sql = schema.collections.iter().map(|c| (c.name.clone(), CollectionSql::new(c, &schema))).collect();
        Ok(PostgresStore {
            pool,
            namespace,
            schema,
            sql: Arc::new(sql),
            config,
            live: Arc::new(SeqWatch::new()),
            hook: None,
        })
    }

    /// The same store with `hook` reviewing every pushed mutation (inside the push's transaction, on the
    /// caller's task).
    pub fn with_hook(mut self, hook: Arc<dyn PushHook>) -> Self {
        self.hook = Some(hook);
        self
    }

    /// The PostgreSQL schema holding the store's tables.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The connection pool (for tools and tests that run their own SQL against the store's tables).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    fn collection(&self, name: &str) -> Result<(&sync_core::Collection, &CollectionSql), FeedError> {
        match (self.schema.collection(name), self.sql.get(name)) {
            (Some(c), Some(sql)) => Ok((c, sql)),
            _ => Err(FeedError::UnknownCollection(name.to_owned())),
        }
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, FeedError> {
        self.pool.get().await.map_err(|e| FeedError::backend("getting a PostgreSQL connection", e))
    }
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").field("namespace", &self.namespace).finish_non_exhaustive()
    }
}

fn db(context: impl Into<String>) -> impl FnOnce(tokio_postgres::Error) -> FeedError {
    let context = context.into();
    move |e| FeedError::backend(context, e)
}

#[async_trait]
impl ChangeFeed for PostgresStore {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    /// One indexed range read of `limit + 1` rows plus the scope's horizon and live count, in one snapshot.
    async fn page(&self, scope: &str, collection: &str, since_seq: i64, limit: usize) -> Result<FeedPage, FeedError> {
        self.read_page(scope, collection, since_seq, limit, false).await
    }

    /// Skips the horizon check: the client started this collection from scratch in this session.
    async fn page_fresh(
        &self,
        scope: &str,
        collection: &str,
        since_seq: i64,
        limit: usize,
    ) -> Result<FeedPage, FeedError> {
        self.read_page(scope, collection, since_seq, limit, true).await
    }

    /// Two statements in one snapshot (the rows, the rows that left a value), each a Merge Append of one range
    /// scan per value, plus the horizon, the live count and the collection's greatest seq.
    async fn page_filtered(&self, scope: &str, collection: &str, read: &FilteredRead) -> Result<FeedPage, FeedError> {
        let (_, values) = check_filter(&self.schema, collection, &read.values)?;
        self.read_filtered(scope, collection, &FilteredRead { values, ..read.clone() }).await
    }

    /// One statement: a lateral backward range scan per value.
    async fn head(&self, scope: &str, collection: &str, read: &HeadRead) -> Result<FeedPage, FeedError> {
        let read = check_head(&self.schema, collection, read)?;
        self.read_head(scope, collection, &read).await
    }

    async fn status(&self, scope: &str) -> Result<ScopeStatus, FeedError> {
        self.read_status(scope).await
    }

    /// Woken by this store's own writes and by [`PostgresStore::hints`] (fed by the heads poll and NATS,
    /// see `poll.rs`); re-reads the status every [`RECHECK`] in case a hint was lost.
    async fn wait_for_seq(&self, scope: &str, after_seq: i64, timeout: std::time::Duration) -> Result<i64, FeedError> {
        self.live.wait(scope, after_seq, timeout, RECHECK, || latest_seq(self, scope)).await
    }
}

#[async_trait]
impl ServerStore for PostgresStore {
    /// One transaction: checks every write first, locks the integration's counter, updates or inserts each row
    /// (the triggers assign seqs and counts), and cascades deletes along `Column::references`.
    async fn write(&self, scope: &str, writes: Vec<Write>) -> Result<WriteReceipt, FeedError> {
        let receipt = self.write_batch(scope, &writes).await?;
        if receipt.last_seq > 0 {
            self.live.publish(scope, receipt.last_seq);
        }
        Ok(receipt)
    }

    async fn read_rows(
        &self,
        scope: &str,
        collection: &str,
        after_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StoredRow>, FeedError> {
        self.read_live_rows(scope, collection, after_id, limit).await
    }

    async fn get(&self, scope: &str, collection: &str, id: &str) -> Result<Option<Vec<Value>>, FeedError> {
        self.read_one(scope, collection, id).await
    }

    /// Checked before the database is touched; then one transaction that locks the client's push record and
    /// the integration's counter (`push.rs`), writes through the seq triggers and saves the client's last id.
    async fn push(&self, scope: &str, push: PushRequest) -> Result<PushResponse, FeedError> {
        let mutations = check_push(&self.schema, &push)?;
        let (response, last_seq) = self.push_checked(scope, &push.client_id, mutations, self.hook.as_deref()).await?;
        if last_seq > 0 {
            self.live.publish(scope, last_seq);
        }
        Ok(response)
    }
}
