//! Live updates on PostgreSQL: learning of commits by polling the integrations' heads.
//!
//! Every transaction that wrote to an integration stamps its head row in `sync_scopes` with its transaction id
//! (`changed_by`, migration 005; since 009 by the lock at its first write, visible from its commit), which costs
//! the writer nothing it did not already pay: the lock updates that row anyway. [`PostgresStore::spawn_listener`] holds one dedicated connection
//! that asks every [`POLL`] for the heads changed by transactions at or above the `xmin` of its previous poll's
//! snapshot (every transaction not yet visible then has an id at least that), one index range scan, and
//! publishes each head that moved to the store's waiters ([`PostgresStore::hints`]) and to a callback (the NATS
//! fan-out). With `leader_only`, it first takes a session advisory lock, so one process per database polls and
//! the others only wait for the lock (it frees when the leader's session ends). Any failure reconnects after a
//! second, and after each (re)connect every waiter re-reads the store. Waiters also re-read it every
//! [`RECHECK`]: a lost hint only delays.
//!
//! Why polling rather than `LISTEN/NOTIFY`, which this replaced: `pg_notify` makes every committing
//! transaction take one cluster-wide lock, held across its WAL flush, so writers of different integrations
//! committed one at a time (ARCHITECTURE.md, "Live updates", has the measurements). A poll costs the database
//! one small query per interval per database, whatever the write rate.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use sync_core::watch::SeqWatch;
use tokio_postgres::NoTls;
use tokio_util::sync::CancellationToken;

use super::PostgresStore;

/// How often a waiting long-poll re-reads the status when no hint came (the most a lost hint delays).
pub const RECHECK: Duration = Duration::from_secs(2);
/// How often the listener asks for the heads that moved: the most it adds to a commit's way to a live client.
pub const POLL: Duration = Duration::from_millis(5);
/// How often a process that is not the polling leader tries to become it.
const LEADER_RETRY: Duration = Duration::from_secs(2);
/// Pause before reconnecting the polling connection.
const RECONNECT: Duration = Duration::from_secs(1);

/// Binds the previous poll's xmin (text): that xmin of this snapshot, then each head changed by a transaction at
/// or above the bound (none: one row of NULLs).
const CHANGED_HEADS: &str = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text, s.integration_id, s.seq \
     FROM (SELECT 1) AS one LEFT JOIN sync_scopes s ON s.changed_by >= $1::text::xid8";

/// Called with `(integration, seq)` for each head that moved.
pub type HintFn = Arc<dyn Fn(&str, i64) + Send + Sync>;

impl PostgresStore {
    /// The hub that wakes this store's live waiters: a hint source (NATS) publishes `(integration, seq)` here.
    pub fn hints(&self) -> &Arc<SeqWatch> {
        &self.live
    }

    /// The NATS subject prefix of this store's database and schema (`seqsync.<database>.<schema>`): instances
    /// over another database or schema on the same NATS never wake each other.
    pub fn nats_prefix(&self) -> String {
        let database = self.config.get_dbname().unwrap_or("postgres");
        crate::fanout::subject(&crate::fanout::subject("seqsync", database), &self.namespace)
    }

    /// Starts the live-update machinery until `cancel`: with `nats_url`, the NATS fan-out and a leader-only
    /// poller that publishes to it; without, a poller in this process.
    pub async fn start_live(&self, nats_url: Option<&str>, cancel: CancellationToken) -> anyhow::Result<()> {
        match nats_url {
            Some(url) => {
                let fanout =
                    crate::fanout::Fanout::start(url, &self.nats_prefix(), self.live.clone(), cancel.clone()).await?;
                self.spawn_listener(true, Arc::new(move |scope, seq| fanout.publish(scope, seq)), cancel);
            }
            None => {
                self.spawn_listener(false, Arc::new(|_, _| {}), cancel);
            }
        }
        Ok(())
    }

    /// Spawns the polling task (see the module docs) until `cancel`. Each head that moved wakes this store's
    /// waiters, then goes to `on_hint`.
    pub fn spawn_listener(
        &self,
        leader_only: bool,
        on_hint: HintFn,
        cancel: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let listener = Listener {
            config: self.config.clone(),
            lock: format!("seqsync-poll:{}", self.namespace),
            leader_only,
            live: self.live.clone(),
            on_hint,
            cancel,
        };
        tokio::spawn(async move {
            while !listener.cancel.is_cancelled() {
                if let Err(e) = listener.poll().await {
                    tracing::warn!(error = %e, "live: the polling connection failed; reconnecting (waiters re-check meanwhile)");
                }
                tokio::select! {
                    _ = listener.cancel.cancelled() => {}
                    _ = tokio::time::sleep(RECONNECT) => {}
                }
            }
        })
    }
}

struct Listener {
    config: tokio_postgres::Config,
    lock: String,
    leader_only: bool,
    live: Arc<SeqWatch>,
    on_hint: HintFn,
    cancel: CancellationToken,
}

impl Listener {
    /// One connection's life: returns when it fails, or on cancel.
    async fn poll(&self) -> Result<(), tokio_postgres::Error> {
        let (client, connection) = self.config.connect(NoTls).await?;
        let driver = tokio::spawn(connection);
        if self.leader_only {
            let lock = client.prepare("SELECT pg_try_advisory_lock(hashtext($1))").await?;
            while !client.query_one(&lock, &[&self.lock]).await?.get::<_, bool>(0) {
                tokio::select! {
                    _ = self.cancel.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(LEADER_RETRY) => {}
                }
            }
            tracing::info!(lock = %self.lock, "live: this process polls for commits");
        }
        let changed = client.prepare(CHANGED_HEADS).await?;
        // From the current snapshot on: what committed before it, every waiter re-reads now.
        let mut since: String =
            client.query_one("SELECT pg_snapshot_xmin(pg_current_snapshot())::text", &[]).await?.get(0);
        self.live.publish_all();
        // The last head published per integration: a long transaction holds the xmin back, and the heads
        // changed since come back on every poll until it ends.
        let mut published: HashMap<String, i64> = HashMap::new();
        let mut ticks = tokio::time::interval(POLL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = self.cancel.cancelled() => break,
                _ = ticks.tick() => {}
            }
            let rows = client.query(&changed, &[&since]).await?;
            for row in &rows {
                let (Some(scope), Some(seq)) = (row.get::<_, Option<String>>(1), row.get::<_, Option<i64>>(2)) else {
                    continue;
                };
                if published.get(&scope).is_some_and(|&known| known >= seq) {
                    continue;
                }
                self.live.publish(&scope, seq);
                (self.on_hint)(&scope, seq);
                published.insert(scope, seq);
            }
            if let Some(row) = rows.first() {
                since = row.get(0);
            }
        }
        drop(client);
        driver.abort();
        Ok(())
    }
}
