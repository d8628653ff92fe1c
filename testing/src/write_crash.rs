//! Crash trials of client writes: `sync-cli write` killed with SIGKILL at a random instant between its first local
//! write and the push's answer, or the `sync-cli pull` that pushes writes left pending. After each kill every write
//! the client reported is in its replica; now and then, and at the end, a full pull pushes what is left and the
//! replica must equal the server, with every mutation the client ever made applied by the server exactly once (a
//! counting hook sees each mutation id once: a retried push after a lost answer must be `already_applied`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use async_trait::async_trait;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use server_example::generate::{Sizes, generate};
use server_example::hook::WhatsAppHook;
use server_example::serve::{access, start};
use server_example::whatsapp;
use sync_core::{CheckedMutation, ClientStore, FeedError, PushHook, RowReader, ServerStore, Verdict, verify_scope};
use sync_http::ServerConfig;
use sync_sqlite::{SqliteServerStore, SqliteStore};

use crate::procs::{Binaries, ClientKind, SCOPE, TOKEN, kill_client_after, run_client};

/// Local writes per `sync-cli write` run (each its own local transaction), then one push.
const WRITES_PER_RUN: usize = 25;

/// Counts of a series of write trials.
#[derive(Clone, Debug, Default)]
pub struct WriteReport {
    /// Kills that landed while the client was writing or pushing.
    pub kills: usize,
    /// Runs that ended before their kill was due (not counted as trials).
    pub missed: usize,
    /// Writes the killed clients had reported committed (all found in the replica and, at the end, on the server).
    pub reported: usize,
    /// Mutations the server applied, each exactly once.
    pub applied: usize,
    /// Row-for-row verifications of the replica against the server, all exact.
    pub exact: usize,
}

/// The server's hook, counting how often it is asked about each (client, mutation id) before WhatsAppHook decides.
#[derive(Default)]
struct CountingHook {
    seen: Mutex<BTreeMap<(String, u64), usize>>,
}

#[async_trait]
impl PushHook for CountingHook {
    async fn review(
        &self,
        rows: &mut dyn RowReader,
        scope: &str,
        client_id: &str,
        mutation: &CheckedMutation,
    ) -> Result<Verdict, FeedError> {
        {
            let mut seen = self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            *seen.entry((client_id.to_owned(), mutation.mutation_id)).or_default() += 1;
        }
        WhatsAppHook.review(rows, scope, client_id, mutation).await
    }
}

/// `trials` kills of `sync-cli write` (and of the pull that pushes pending writes) against an in-process server on
/// an embedded store; see the module's documentation for what is checked.
pub async fn write_kills(bins: &Binaries, trials: usize, seed: u64) -> anyhow::Result<WriteReport> {
    let dir = tempfile::tempdir()?;
    let hook = Arc::new(CountingHook::default());
    let store = SqliteServerStore::open(dir.path().join("server.db"), whatsapp::schema())?.with_hook(hook.clone());
    let store = Arc::new(store);
    generate(store.as_ref(), SCOPE, Sizes { conversations: 5, messages: 50, contacts: 5 }, seed, |_| {}).await?;
    let tokens = [(TOKEN.to_owned(), vec![SCOPE.to_owned()])];
    let server = start(store.clone(), ServerConfig::new(access(&tokens)), "127.0.0.1:0").await?;
    let url = server.url();
    let (db, log, out) = (dir.path().join("client.db"), dir.path().join("client.log"), dir.path().join("out.txt"));
    run_client(bins.client(ClientKind::Cli, &db, &url, &log)?, &log)?;
    let conversation = first_conversation(&db)?;
    let write = |run: usize, offline: bool| -> anyhow::Result<Command> {
        let fields = format!(
            r#"{{"conversation_id":"{conversation}","wa_message_id":"w{run}","from_me":true,"message_type":"text","status":"sent","sent_at":1700000000000,"body":"trial {run}"}}"#
        );
        let mut c = Command::new(&bins.sync_cli);
        c.args(["write", "--integration", SCOPE, "--token", TOKEN, "--url", &url, "--collection", "messages"])
            .arg("--db")
            .arg(&db)
            .args(["--id", &format!("w{run}"), "--repeat", &WRITES_PER_RUN.to_string(), "--fields", &fields]);
        if offline {
            c.arg("--offline");
        }
        c.stdin(Stdio::null()).stdout(std::fs::File::create(&out)?).stderr(std::fs::File::create(&log)?);
        Ok(c)
    };

    // One uninterrupted run sets the range of the kill instants.
    let started = Instant::now();
    run_client(write(0, false)?, &log)?;
    let full = started.elapsed();
    let mut report = WriteReport::default();
    let mut reported: BTreeSet<String> = written(&out)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut run = 1;
    while report.kills < trials {
        // A kill of the write run itself (local writes, then the push), or of the pull that pushes offline writes.
        let push_only = rng.random_bool(0.3);
        let mut command = write(run, push_only)?;
        if push_only {
            run_client(command, &log)?;
            reported.extend(written(&out)?);
            command = bins.client(ClientKind::Cli, &db, &url, &log)?;
        }
        run += 1;
        if kill_client_after(command, full.mul_f64(rng.random_range(0.0..1.0)), &log).await? {
            report.kills += 1;
        } else {
            report.missed += 1;
        }
        if !push_only {
            reported.extend(written(&out)?);
        }
        let local = local_messages(&db)?;
        let lost: Vec<_> = reported.difference(&local).collect();
        ensure!(lost.is_empty(), "after a kill, writes reported committed are missing from the replica: {lost:?}");
        if rng.random_bool(0.15) {
            settle(bins, &db, &url, &log, store.as_ref(), &hook, &mut report).await?;
        }
    }
    settle(bins, &db, &url, &log, store.as_ref(), &hook, &mut report).await?;
    report.reported = reported.len();
    server.stop().await?;
    Ok(report)
}

/// Runs a pull to its end (it pushes whatever is pending first), then checks the replica against the server and
/// the server's count of every mutation id the client ever made.
async fn settle(
    bins: &Binaries,
    db: &Path,
    url: &str,
    log: &Path,
    server: &dyn ServerStore,
    hook: &CountingHook,
    report: &mut WriteReport,
) -> anyhow::Result<()> {
    run_client(bins.client(ClientKind::Cli, db, url, log)?, log)?;
    let store = SqliteStore::open(db)?;
    ensure!(store.pending_writes(SCOPE).await?.is_empty(), "writes still pending after a complete pull");
    let v = verify_scope(&whatsapp::schema(), SCOPE, &store, server).await.map_err(anyhow::Error::msg)?;
    ensure!(v.is_exact(), "the replica is not the server's after the writes: {:?}", v.differences);
    report.exact += 1;
    let (client_id, last) = client_identity(db)?;
    let seen = hook.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
    let times = |id: u64| seen.get(&(client_id.clone(), id)).copied();
    let wrong: Vec<_> = (1..=last).map(|id| (id, times(id))).filter(|(_, n)| *n != Some(1)).collect();
    ensure!(wrong.is_empty(), "mutations not applied exactly once (id, times): {wrong:?}");
    ensure!(seen.len() as u64 == last, "the server saw mutations the client never made: {seen:?}");
    report.applied = seen.len();
    Ok(())
}

/// The ids the client printed as committed (`wrote <id>`), up to the kill.
fn written(out: &Path) -> anyhow::Result<BTreeSet<String>> {
    let text = std::fs::read_to_string(out).with_context(|| format!("reading {}", out.display()))?;
    Ok(text.lines().filter_map(|l| l.strip_prefix("wrote ")).map(str::to_owned).collect())
}

fn open(db: &Path) -> anyhow::Result<rusqlite::Connection> {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
    let conn = rusqlite::Connection::open_with_flags(db, flags).with_context(|| format!("opening {}", db.display()))?;
    conn.busy_timeout(Duration::from_secs(5))?;
    Ok(conn)
}

fn first_conversation(db: &Path) -> anyhow::Result<String> {
    let sql = "SELECT id FROM conversations WHERE integration_id = ?1 ORDER BY id LIMIT 1";
    Ok(open(db)?.query_row(sql, [SCOPE], |row| row.get(0))?)
}

fn local_messages(db: &Path) -> anyhow::Result<BTreeSet<String>> {
    let conn = open(db)?;
    let mut statement = conn.prepare("SELECT id FROM messages WHERE integration_id = ?1")?;
    let ids = statement.query_map([SCOPE], |row| row.get(0))?.collect::<Result<_, _>>()?;
    Ok(ids)
}

fn client_identity(db: &Path) -> anyhow::Result<(String, u64)> {
    let sql = "SELECT client_id, last_mutation_id FROM sync_client";
    let (client_id, last): (String, i64) = open(db)?.query_row(sql, [], |row| Ok((row.get(0)?, row.get(1)?)))?;
    Ok((client_id, u64::try_from(last)?))
}
