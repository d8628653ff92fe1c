//! The PostgreSQL write path at scale: plain-SQL inserts, as another program would write them, into the
//! project's `messages` table (seqs, counts and live hints kept by triggers), into the same table as it was
//! before migration 011 (010's triggers: every transaction queues the commit-time flush; schema `before`) and
//! into a plain copy of it (the same columns and indexes, an identity `seq`, no triggers), measured with `pgbench` in simple query mode; then the backend's CPU per transaction on each table
//! (one session, read from `/proc/self/stat` by the server: it must run on this machine); then the live latency
//! (commit → long-poll answer) while 8 writers load the project's table. Writes Markdown to stdout.
//!
//! `cargo run --release -p sync-benches --bin pg_writes -- [--seconds 8] [--rounds 1]`, with the PostgreSQL
//! server at `SEQSYNC_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432`; the run creates and drops a
//! database of its own), NATS at `SEQSYNC_NATS_URL` (default `nats://127.0.0.1:4222`), and `pgbench` on the
//! `PATH` or in `/usr/lib/postgresql/*/bin` (Debian's `postgresql` package).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Parser;
use server_example::serve::{RunningServer, access, start};
use server_example::whatsapp;
use sync_benches::percentile;
use sync_core::Transport;
use sync_http::{HttpTransport, ServerConfig};
use sync_postgres::PostgresStore;
use tokio_postgres::NoTls;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
struct Args {
    /// Seconds per pgbench run.
    #[arg(long, default_value_t = 8)]
    seconds: u64,
    /// Rounds of every load on the three tables, every other one in the reverse order (the figures are the
    /// rounds' means).
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// Only set the three tables up, print the database's URL and keep it (for profiling by hand; drop it after).
    #[arg(long)]
    keep: bool,
}

/// One row of the table: writers, rows per transaction, whether each writer has its own integration.
struct Load {
    label: &'static str,
    writers: usize,
    rows: usize,
    own_integration: bool,
}

const LOADS: [Load; 4] = [
    Load { label: "1 writer, single-row inserts", writers: 1, rows: 1, own_integration: true },
    Load { label: "8 writers, each on its own integration, single-row", writers: 8, rows: 1, own_integration: true },
    Load {
        label: "8 writers, each on its own integration, 100-row inserts",
        writers: 8,
        rows: 100,
        own_integration: true,
    },
    Load { label: "8 writers, all on one integration, single-row", writers: 8, rows: 1, own_integration: false },
];

const TOKEN: &str = "bench";
const PROBE_SCOPE: &str = "probe";

/// The pgbench script of `load` on `table`: one transaction of `rows` rows with random ids.
fn script(table: &str, load: &Load) -> String {
    let scope = if load.own_integration { "'bench-' || :client_id" } else { "'bench-0'" };
    format!(
        "INSERT INTO {table} (id, integration_id, conversation_id, wa_message_id, sender_jid, from_me, body, \
         message_type, status, sent_at) SELECT gen_random_uuid()::text, {scope}, 'conversation-1', 'wa-id', \
         'someone@s.whatsapp.net', false, 'a message body of an ordinary length, as people write them', 'text', \
         'sent', 1700000000000 FROM generate_series(1, {});\n",
        load.rows
    )
}

/// `pgbench` on the PATH, else the newest of Debian's.
fn pgbench() -> anyhow::Result<PathBuf> {
    if std::process::Command::new("pgbench").arg("--version").output().is_ok() {
        return Ok("pgbench".into());
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .context("pgbench is not on the PATH and /usr/lib/postgresql is missing: install postgresql")?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin/pgbench")))
        .filter(|p| p.exists())
        .collect();
    found.sort();
    found.pop().context("no pgbench under /usr/lib/postgresql/*/bin")
}

/// Runs pgbench; returns transactions per second.
async fn bench(pgbench: &Path, db_url: &str, file: &Path, writers: usize, seconds: u64) -> anyhow::Result<f64> {
    let out = tokio::process::Command::new(pgbench)
        .args(["-n", "-M", "simple", "-T", &seconds.to_string(), "-c", &writers.to_string()])
        .args(["-j", &writers.to_string(), "-f"])
        .arg(file)
        .arg(db_url)
        .output()
        .await
        .context("running pgbench")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!("pgbench failed: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    }
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .with_context(|| format!("no tps in pgbench's output: {stdout}"))
}

/// Empties the tables and both stores' counters alike (TRUNCATE is refused by the project's triggers: disabled
/// here; the probe's counter is kept, the live servers know its seq), then gives both stores a thousand idle
/// integrations, as a store serving many has: the lock then finds its counter row by the primary key in both.
/// Until 1 December, 15:20 UTC, the project's counter table was only emptied by a DELETE, so it kept the bloat of
/// every earlier load, and, analysed almost empty, was scanned whole with every dead version of the counter row,
/// while the `before` store's was truncated and used its primary key.
async fn empty(db: &tokio_postgres::Client) -> anyhow::Result<()> {
    // One at a time: a multi-statement string is one transaction, which VACUUM refuses.
    for sql in [
        "CREATE TEMP TABLE IF NOT EXISTS kept_scopes AS SELECT * FROM sync_scopes WHERE false",
        "INSERT INTO kept_scopes SELECT * FROM sync_scopes WHERE integration_id = 'probe'",
        "ALTER TABLE messages DISABLE TRIGGER USER",
        "ALTER TABLE before.messages DISABLE TRIGGER USER",
        "TRUNCATE messages, plain_messages, sync_counts, sync_scopes, before.messages, before.sync_counts, \
         before.sync_scopes",
        "ALTER TABLE messages ENABLE TRIGGER USER",
        "ALTER TABLE before.messages ENABLE TRIGGER USER",
        "INSERT INTO sync_scopes SELECT * FROM kept_scopes",
        "TRUNCATE kept_scopes",
        "INSERT INTO sync_scopes (integration_id) SELECT 'idle-' || i FROM generate_series(1, 1000) i",
        "INSERT INTO before.sync_scopes (integration_id) SELECT 'idle-' || i FROM generate_series(1, 1000) i",
        "VACUUM ANALYZE messages, plain_messages, sync_scopes, sync_counts, before.messages, before.sync_scopes",
        "CHECKPOINT",
    ] {
        db.batch_execute(sql).await.with_context(|| format!("emptying the tables: {sql}"))?;
    }
    Ok(())
}

/// The backend's CPU time (user + system) in clock ticks, from `/proc/self/stat` as the server reads it (the
/// server on this machine, Linux, a superuser session).
async fn backend_ticks(db: &tokio_postgres::Client) -> anyhow::Result<i64> {
    let stat: String = db.query_one("SELECT pg_read_file('/proc/self/stat')", &[]).await?.get(0);
    // The fields after the command's closing parenthesis: state is the first, utime the 12th, stime the 13th.
    let fields: Vec<&str> = stat.rsplit_once(") ").context("/proc/self/stat")?.1.split(' ').collect();
    Ok(fields[11].parse::<i64>()? + fields[12].parse::<i64>()?)
}

/// Backend CPU per transaction of `load`'s script on each table (one session, 3,000 single-row or 600 100-row
/// transactions each, `synchronous_commit` off, so that neither the client nor the disk counts), in µs: the
/// triggers' cost without the noise of throughput.
async fn cpu_per_transaction(db_url: &str, load: &Load, tables: &[&str]) -> anyhow::Result<Vec<f64>> {
    let (db, connection) = tokio_postgres::connect(db_url, NoTls).await?;
    tokio::spawn(connection);
    db.batch_execute("SET synchronous_commit = off").await?;
    let mut out = Vec::new();
    for table in tables {
        let insert = script(table, load).replace(":client_id", "1");
        let transactions = if load.rows == 1 { 3000 } else { 600 };
        let before = backend_ticks(&db).await?;
        for _ in 0..transactions {
            db.simple_query(&insert).await?;
        }
        let ticks = backend_ticks(&db).await? - before;
        // Clock ticks of 10 ms (USER_HZ 100 on Linux).
        out.push(ticks as f64 * 10_000.0 / transactions as f64);
    }
    Ok(out)
}

async fn instance(store: Arc<PostgresStore>, nats: &str, stop: &CancellationToken) -> anyhow::Result<RunningServer> {
    store.start_live(Some(nats), stop.clone()).await?;
    start(store, ServerConfig::new(access(&[(TOKEN.into(), vec!["*".into()])])), "127.0.0.1:0").await
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e3)
}

/// During an 8-writer load on the project's table: a plain-SQL insert into the probe integration at a time,
/// timed from its commit to the answer of a long-poll parked on each instance. Returns the samples of A and B.
async fn live_latency(
    db: &tokio_postgres::Client,
    servers: [&RunningServer; 2],
    until: Instant,
) -> anyhow::Result<[Vec<Duration>; 2]> {
    let mut samples = [Vec::new(), Vec::new()];
    let insert = "INSERT INTO messages (id, integration_id, conversation_id, wa_message_id, from_me, message_type, \
                  status, sent_at) VALUES (gen_random_uuid()::text, 'probe', 'c', 'w', false, 'text', 'sent', 0) \
                  RETURNING seq";
    let mut latest: i64 = db.query_one(insert, &[]).await?.get(0);
    while Instant::now() < until {
        let mut polls = Vec::new();
        for server in servers {
            let transport = HttpTransport::new(&server.url(), Some(TOKEN))?;
            polls.push(tokio::spawn(async move {
                let status = transport.wait_for_change(PROBE_SCOPE, latest, Duration::from_secs(10)).await;
                (Instant::now(), status.map(|s| s.latest_seq))
            }));
        }
        // Both long-polls parked on their instance before the commit.
        tokio::time::sleep(Duration::from_millis(30)).await;
        let seq: i64 = db.query_one(insert, &[]).await?.get(0);
        let committed = Instant::now();
        for (poll, samples) in polls.into_iter().zip(&mut samples) {
            let (answered, status) = poll.await?;
            anyhow::ensure!(status? >= seq, "a long-poll answered before the probe's seq");
            samples.push(answered.saturating_duration_since(committed));
        }
        latest = seq;
    }
    for s in &mut samples {
        s.sort();
    }
    Ok(samples)
}

async fn run(args: &Args, server_url: &str, database: &str) -> anyhow::Result<()> {
    let db_url = format!("{server_url}/{database}");
    let pgbench = pgbench()?;
    let store = Arc::new(PostgresStore::connect(&db_url, whatsapp::schema()).await?);
    let (db, connection) = tokio_postgres::connect(&db_url, NoTls).await?;
    tokio::spawn(connection);
    db.batch_execute(
        "CREATE TABLE plain_messages (LIKE messages INCLUDING DEFAULTS INCLUDING INDEXES);
         ALTER TABLE plain_messages ALTER seq DROP DEFAULT, ALTER seq ADD GENERATED BY DEFAULT AS IDENTITY",
    )
    .await
    .context("creating the plain copy")?;
    // The store as before migration 011: 010's flush queued by every transaction.
    PostgresStore::connect_in(&db_url, "before", whatsapp::schema()).await?;
    db.batch_execute(&format!(
        "SET search_path = before; {}; RESET search_path",
        sync_postgres::before::downgrade_to_010("before")
    ))
    .await
    .context("setting up the store as before migration 011")?;
    if args.keep {
        println!("{db_url}");
        return Ok(());
    }
    let dir = tempfile::tempdir()?;

    println!(
        "| load | project's table | plain table | ratio | before 011 (010) | its ratio |\n\
         |---|--:|--:|--:|--:|--:|"
    );
    for load in &LOADS {
        let mut rates = [0.0, 0.0, 0.0];
        for round in 0..args.rounds {
            let mut tables: Vec<_> =
                ["messages", "plain_messages", "before.messages"].into_iter().enumerate().collect();
            // Every other round in the reverse order, so that no table always runs first after the others.
            if round % 2 == 1 {
                tables.reverse();
            }
            for (i, table) in tables {
                let file = dir.path().join(format!("{table}.sql"));
                std::fs::write(&file, script(table, load))?;
                empty(&db).await?;
                let tps = bench(&pgbench, &db_url, &file, load.writers, args.seconds).await?;
                rates[i] += tps * load.rows as f64 / args.rounds as f64;
            }
        }
        let [now, plain, before] = rates;
        let ratio = |r: f64| r / plain * 100.0;
        println!(
            "| {} | {now:.0} | {plain:.0} | {:.0} % | {before:.0} | {:.0} % |",
            load.label,
            ratio(now),
            ratio(before)
        );
    }

    println!(
        "\nBackend CPU per transaction, µs (one session, 3,000 single-row or 600 100-row transactions per table, \
         `synchronous_commit` off):\n\n\
         | load | project's table | plain table | before 011 (010) |\n|---|--:|--:|--:|"
    );
    for load in [&LOADS[0], &LOADS[2]] {
        let mut cpu = [0.0, 0.0, 0.0];
        for round in 0..args.rounds {
            empty(&db).await?;
            let mut order = [0, 1, 2];
            if round % 2 == 1 {
                order.reverse();
            }
            let tables: Vec<&str> =
                order.iter().map(|&i| ["messages", "plain_messages", "before.messages"][i]).collect();
            for (&i, us) in order.iter().zip(cpu_per_transaction(&db_url, load, &tables).await?) {
                cpu[i] += us / args.rounds as f64;
            }
        }
        let label = if load.rows == 1 { "single-row inserts" } else { "100-row inserts" };
        println!("| {label} | {:.0} | {:.0} | {:.0} |", cpu[0], cpu[1], cpu[2]);
    }

    // Live latency: instance A polls the heads (the leader) and publishes to NATS; B hears only NATS.
    let nats = std::env::var("SEQSYNC_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let stop = CancellationToken::new();
    let a = instance(store.clone(), &nats, &stop).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let b = instance(Arc::new(PostgresStore::connect(&db_url, whatsapp::schema()).await?), &nats, &stop).await?;
    empty(&db).await?;
    let file = dir.path().join("load.sql");
    std::fs::write(&file, script("messages", &LOADS[1]))?;
    let load = {
        let (pgbench, db_url, file, seconds) = (pgbench.clone(), db_url.clone(), file.clone(), args.seconds + 1);
        tokio::spawn(async move { bench(&pgbench, &db_url, &file, 8, seconds).await })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let until = Instant::now() + Duration::from_secs(args.seconds);
    let [on_a, on_b] = live_latency(&db, [&a, &b], until).await?;
    let tps = load.await??;
    println!(
        "\nLive latency, commit of a plain-SQL insert → long-poll answer, during the load of 8 writers on 8 \
         integrations ({tps:.0} transactions/s meanwhile):\n\n| path | probes | p50 ms | p99 ms | max ms |\n|---|--:|--:|--:|--:|"
    );
    for (path, s) in [("one instance (A, which polls the heads)", on_a), ("two instances (B, through NATS)", on_b)] {
        let max = s.last().copied().unwrap_or_default();
        println!("| {path} | {} | {} | {} | {} |", s.len(), ms(percentile(&s, 0.5)), ms(percentile(&s, 0.99)), ms(max));
    }
    stop.cancel();
    a.stop().await?;
    b.stop().await?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let server_url =
        std::env::var("SEQSYNC_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let server_url = server_url.trim_end_matches('/').to_owned();
    let database = format!("seqsync_pg_writes_{}", std::process::id());
    let (admin, connection) = tokio_postgres::connect(&format!("{server_url}/postgres"), NoTls).await?;
    tokio::spawn(connection);
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {database}")).await?;
    admin.batch_execute(&format!("CREATE DATABASE {database}")).await?;
    let result = run(&args, &server_url, &database).await;
    if args.keep && result.is_ok() {
        return result;
    }
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)")).await?;
    result
}
