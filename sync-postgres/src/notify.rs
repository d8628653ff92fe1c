//! Live updates on PostgreSQL: learning of commits with `LISTEN/NOTIFY`.
//!
//! Migration 002 makes every transaction that wrote to an integration send, at commit, one `NOTIFY` on
//! `seqsync_<schema>` with `<seq> <integration_id>`. [`PostgresStore::spawn_listener`] holds one dedicated
//! connection that `LISTEN`s and publishes each notification to the store's waiters ([`PostgresStore::hints`])
//! and to a callback (the NATS fan-out). With `leader_only`, it first takes a session advisory lock, so one
//! process per database listens and the others only wait for the lock (it frees when the leader's session
//! ends). Any failure reconnects after a second; after each (re)connect every waiter re-reads the store,
//! since notifications sent while nobody listened are lost. Waiters also re-read it every [`RECHECK`]: a lost
//! hint only delays.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use sync_core::live::SeqWatch;
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, NoTls};
use tokio_util::sync::CancellationToken;

use super::PostgresStore;

/// How often a waiting long-poll re-reads the status when no hint came (the most a lost hint delays).
pub const RECHECK: Duration = Duration::from_secs(2);
/// How often a process that is not the listening leader tries to become it.
const LEADER_RETRY: Duration = Duration::from_secs(2);
/// Pause before reconnecting the `LISTEN` connection.
const RECONNECT: Duration = Duration::from_secs(1);

/// Called with `(integration, seq)` for each commit notification.
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

    /// Starts the live-update machinery of `serve` until `cancel`: with `nats_url`, the NATS fan-out and a
    /// leader-only `LISTEN` that publishes to it; without, a `LISTEN` in this process.
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

    /// The `NOTIFY` channel of this store's schema.
    pub fn notify_channel(&self) -> String {
        format!("seqsync_{}", self.namespace)
    }

    /// Spawns the `LISTEN` task (see the module docs) until `cancel`. Each notification wakes this store's
    /// waiters, then goes to `on_hint`.
    pub fn spawn_listener(
        &self,
        leader_only: bool,
        on_hint: HintFn,
        cancel: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let listener = Listener {
            config: self.config.clone(),
            channel: self.notify_channel(),
            leader_only,
            live: self.live.clone(),
            on_hint,
            cancel,
        };
        tokio::spawn(async move {
            while !listener.cancel.is_cancelled() {
                if let Err(e) = listener.listen().await {
                    tracing::warn!(error = %e, "live: the LISTEN connection failed; reconnecting (waiters re-check meanwhile)");
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
    channel: String,
    leader_only: bool,
    live: Arc<SeqWatch>,
    on_hint: HintFn,
    cancel: CancellationToken,
}

impl Listener {
    /// One connection's life: returns when it closes or fails, or on cancel.
    async fn listen(&self) -> Result<(), tokio_postgres::Error> {
        let (client, mut connection) = self.config.connect(NoTls).await?;
        let (tx, mut notifications) = mpsc::unbounded_channel();
        // The connection delivers notifications only while polled, alongside the client's queries.
        let driver = tokio::spawn(async move {
            let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
            while let Some(message) = messages.next().await {
                match message {
                    Ok(AsyncMessage::Notification(n)) => {
                        if tx.send(n).is_err() {
                            break;
                        }
                    }
                    Ok(_) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        });
        if self.leader_only {
            let lock = client.prepare("SELECT pg_try_advisory_lock(hashtext($1))").await?;
            while !client.query_one(&lock, &[&self.channel]).await?.get::<_, bool>(0) {
                tokio::select! {
                    _ = self.cancel.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(LEADER_RETRY) => {}
                }
            }
            tracing::info!(channel = %self.channel, "live: this process listens for commits");
        }
        client.batch_execute(&format!("LISTEN \"{}\"", self.channel)).await?;
        self.live.publish_all();
        loop {
            tokio::select! {
                _ = self.cancel.cancelled() => return Ok(()),
                n = notifications.recv() => match n {
                    Some(n) => self.hint(n.payload()),
                    None => break,
                },
            }
        }
        drop(client);
        driver.await.unwrap_or(Ok(()))
    }

    fn hint(&self, payload: &str) {
        let parsed = payload.split_once(' ').and_then(|(seq, scope)| Some((scope, seq.parse::<i64>().ok()?)));
        match parsed {
            Some((scope, seq)) => {
                self.live.publish(scope, seq);
                (self.on_hint)(scope, seq);
            }
            None => tracing::warn!(payload, "live: ignoring a notification that is not `<seq> <integration>`"),
        }
    }
}
