//! Crash trials of selective sync: `sync-cli pull --recent-first` killed with SIGKILL during head delivery and
//! backfill, and `sync-cli pull --subscribe …` killed around its subscription change. After each kill the file
//! is checked (heads allowed ahead of the cursor, nothing else; the subscription either before or after the
//! change, no row of another conversation); runs to the end must be exact (`verify_scope` / `verify_subset`).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use rand::seq::IndexedRandom as _;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use server_example::changes::{ChangeSet, apply_changes};
use server_example::generate::{Sizes, generate};
use server_example::serve::{access, start};
use server_example::whatsapp;
use sync_core::{ChangeFeed, ClientStore, Value, verify_subset};
use sync_http::ServerConfig;
use sync_sqlite::{SqliteServerStore, SqliteStore};

use crate::History;
use crate::procs::{Binaries, ClientKind, SCOPE, TOKEN, kill_client_after, run_client};

/// Counts of a series of selective-sync trials.
#[derive(Clone, Debug, Default)]
pub struct SelectiveReport {
    /// Kills that landed while `sync-cli` ran.
    pub kills: usize,
    /// Runs that ended before their kill was due.
    pub missed: usize,
    /// Checks after a kill that passed.
    pub checks: usize,
    /// Kills after which head rows were ahead of their cursor (the kill landed in head delivery or backfill).
    pub heads_ahead: usize,
    /// Collections caught half-synced by those checks.
    pub partial: usize,
    /// Kills after which the subscription was still the one before the change.
    pub before: usize,
    /// Kills after which the subscription was the one after the change.
    pub after: usize,
    /// Row-for-row verifications, all exact.
    pub exact: usize,
    /// Rows compared by the checks and verifications.
    pub rows_compared: u64,
}

/// A server on an embedded store in this process, with `sizes` of generated data, and its history.
pub(crate) struct Fixture {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) store: Arc<SqliteServerStore>,
    url: String,
    history: History,
    _server: server_example::serve::RunningServer,
}

pub(crate) async fn fixture(sizes: Sizes, seed: u64) -> anyhow::Result<Fixture> {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(SqliteServerStore::open(dir.path().join("server.db"), whatsapp::schema())?);
    generate(store.as_ref(), SCOPE, sizes, seed, |_| {}).await?;
    let tokens = [(TOKEN.to_owned(), vec![SCOPE.to_owned()])];
    let server = start(store.clone(), ServerConfig::new(access(&tokens)), "127.0.0.1:0").await?;
    let url = server.url();
    let mut history = History::default();
    history.record(store.as_ref(), &whatsapp::schema(), SCOPE).await?;
    Ok(Fixture { dir, store, url, history, _server: server })
}

impl Fixture {
    pub(crate) fn pull(&self, db: &Path, extra: &[String]) -> anyhow::Result<Command> {
        let mut command = Binaries::locate()?.client(ClientKind::Cli, db, &self.url, &self.log())?;
        command.args(extra);
        Ok(command)
    }

    pub(crate) fn log(&self) -> std::path::PathBuf {
        self.dir.path().join("client.log")
    }

    /// The replica at `db` holds exactly the server's rows of `values` (`None`: all).
    pub(crate) async fn verify(
        &self,
        db: &Path,
        values: Option<&BTreeSet<String>>,
        report: &mut SelectiveReport,
    ) -> anyhow::Result<()> {
        let client = SqliteStore::open(db)?;
        let schema = whatsapp::schema();
        let v =
            verify_subset(&schema, SCOPE, &client, self.store.as_ref(), values).await.map_err(anyhow::Error::msg)?;
        ensure!(v.is_exact(), "{} is not exact: {:?}", db.display(), v.differences);
        report.exact += 1;
        report.rows_compared += v.rows();
        Ok(())
    }

    /// Starts `command`, kills it after a random part of `aim`; halves `aim` after a miss. Fails if it failed.
    pub(crate) async fn kill(
        &self,
        command: Command,
        aim: &mut Duration,
        rng: &mut ChaCha8Rng,
        report: &mut SelectiveReport,
    ) -> anyhow::Result<()> {
        if kill_client_after(command, aim.mul_f64(rng.random_range(0.0..1.0)), &self.log()).await? {
            report.kills += 1;
        } else {
            report.missed += 1;
            *aim = aim.mul_f64(0.5).max(Duration::from_millis(20));
        }
        Ok(())
    }
}

fn recent_first() -> Vec<String> {
    ["--recent-first", "--head-rows", "20"].map(String::from).to_vec()
}

/// `trials` kills of `sync-cli pull --recent-first` (a head of 20 messages per conversation) on fresh files and,
/// after server writes, on synced ones. After each kill the file must pass [`History::check_with_heads`]; now and
/// then the run goes to its end and must be exact. The last file ends with an ordinary pull, exact.
pub async fn recent_kills(trials: usize, sizes: Sizes, seed: u64) -> anyhow::Result<SelectiveReport> {
    let mut f = fixture(sizes, seed).await?;
    let mut report = SelectiveReport::default();
    let started = Instant::now();
    let timing = f.dir.path().join("timing.db");
    run_client(f.pull(&timing, &recent_first())?, &f.log())?;
    let full = started.elapsed();
    f.verify(&timing, None, &mut report).await?;

    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut files, mut aim) = (0, full);
    let mut db = f.dir.path().join("client-0.db");
    while report.kills < trials {
        f.kill(f.pull(&db, &recent_first())?, &mut aim, &mut rng, &mut report).await?;
        let boundary = f
            .history
            .check_with_heads(&db, &whatsapp::schema(), SCOPE)
            .await
            .with_context(|| format!("after a kill, {}", db.display()))?;
        report.checks += 1;
        report.heads_ahead += usize::from(boundary.ahead > 0);
        report.partial += boundary.partial;
        report.rows_compared += boundary.rows;
        if rng.random_bool(0.25) {
            run_client(f.pull(&db, &recent_first())?, &f.log())?;
            f.verify(&db, None, &mut report).await?;
            if rng.random_bool(0.3) {
                let changes = ChangeSet { new_messages: 200, edits: 40, deletes: 30, deleted_conversations: 1 };
                apply_changes(f.store.as_ref(), SCOPE, changes, rng.random()).await?;
                f.history.record(f.store.as_ref(), &whatsapp::schema(), SCOPE).await?;
            } else {
                files += 1;
                db = f.dir.path().join(format!("client-{files}.db"));
                aim = full;
            }
        }
    }
    run_client(f.pull(&db, &[])?, &f.log())?;
    f.verify(&db, None, &mut report).await?;
    Ok(report)
}

/// The subscribed values of the replica at `db` (`None`: everything).
async fn subscribed(db: &Path) -> anyhow::Result<Option<BTreeSet<String>>> {
    let store = SqliteStore::open(db)?;
    let subscription = store.subscription(SCOPE).await?;
    Ok(subscription.values.map(|values| values.into_iter().map(|v| v.value).collect()))
}

/// No row of a filtered collection in `db` belongs to a conversation outside `values`.
async fn only_subscribed(db: &Path, values: &BTreeSet<String>) -> anyhow::Result<u64> {
    let store = SqliteStore::open(db)?;
    let mut rows = 0;
    for collection in &whatsapp::schema().collections {
        let Some(column) = collection.filter.as_deref() else { continue };
        for row in store.read_rows(SCOPE, &collection.name, None, 100_000_000).await? {
            let value = match (column, collection.column_index(column).map(|i| &row.values[i])) {
                ("id", _) => Some(row.id.as_str()),
                (_, Some(Value::Text(value))) => Some(value.as_str()),
                _ => None,
            };
            ensure!(
                value.is_some_and(|v| values.contains(v)),
                "{}: row {} of an unsubscribed conversation",
                collection.name,
                row.id
            );
            rows += 1;
        }
    }
    Ok(rows)
}

/// `trials` kills of `sync-cli pull --subscribe c…` (1 to 3 conversations not yet subscribed), each on the file the
/// last one left, starting from a full replica ("everything"). After each kill the subscription must be the one
/// before the change or the one after, and no row of another conversation may be there; now and then the pull
/// runs to its end and must be exact for exactly the subscribed conversations, as must a final plain pull.
pub async fn subscription_kills(trials: usize, sizes: Sizes, seed: u64) -> anyhow::Result<SelectiveReport> {
    let f = fixture(sizes, seed).await?;
    let mut report = SelectiveReport::default();
    let page = f.store.page(SCOPE, "conversations", 0, 100_000).await?;
    let conversations: Vec<String> = page.rows.iter().filter(|r| !r.is_delete()).map(|r| r.id.clone()).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut files, mut db) = (0, f.dir.path().join("client-0.db"));
    let started = Instant::now();
    run_client(f.pull(&db, &[])?, &f.log())?;
    let mut aim = started.elapsed().mul_f64(0.5);
    while report.kills < trials {
        let before = subscribed(&db).await?;
        let held = before.clone().unwrap_or_default();
        let fresh: Vec<&String> = conversations.iter().filter(|c| !held.contains(*c)).collect();
        let n = rng.random_range(1..=3);
        let added: BTreeSet<String> = fresh.choose_multiple(&mut rng, n).map(|c| (*c).clone()).collect();
        let args: Vec<String> = added.iter().flat_map(|c| ["--subscribe".to_owned(), c.clone()]).collect();
        f.kill(f.pull(&db, &args)?, &mut aim, &mut rng, &mut report).await?;
        let now = subscribed(&db).await?;
        let after: BTreeSet<String> = held.union(&added).cloned().collect();
        match &now {
            n if *n == before => report.before += 1,
            Some(n) if *n == after => report.after += 1,
            n => bail!("after a kill the subscription is {n:?}: neither {before:?} nor {after:?}"),
        }
        if let Some(values) = &now {
            report.rows_compared += only_subscribed(&db, values).await?;
        }
        report.checks += 1;
        if rng.random_bool(0.3) {
            run_client(f.pull(&db, &[])?, &f.log())?;
            f.verify(&db, subscribed(&db).await?.as_ref(), &mut report).await?;
            if rng.random_bool(0.3) || conversations.len() - after.len() < 3 {
                files += 1;
                db = f.dir.path().join(format!("client-{files}.db"));
                run_client(f.pull(&db, &[])?, &f.log())?;
            }
        }
    }
    run_client(f.pull(&db, &[])?, &f.log())?;
    f.verify(&db, subscribed(&db).await?.as_ref(), &mut report).await?;
    Ok(report)
}
