//! `crash-trials`: clients and servers killed with SIGKILL mid-sync, checked after every kill and exact at the
//! end. `RELIABILITY.md` has the runs and their figures.

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use server_example::generate::Sizes;
use sync_testing::crash::{Report, ServerKind, client_kills, server_kills};
use sync_testing::media_crash::media_kills;
use sync_testing::procs::{Binaries, ClientKind};
use sync_testing::selective_crash::{SelectiveReport, recent_kills, subscription_kills};
use sync_testing::subscription_crash::{ChangeKind, change_kills};
use sync_testing::write_crash::write_kills;

#[derive(Parser)]
#[command(about = "Kill sync clients and servers with SIGKILL mid-sync; check every database after each kill")]
struct Args {
    /// Kills of each client program that must land mid-sync.
    #[arg(long, default_value_t = 200)]
    client_kills: usize,
    /// Client programs to kill (repeatable): cli (`sync-cli pull`), node (the Node addon; build it first with
    /// `npm run build -w bindings-node`).
    #[arg(long = "client", value_enum, default_values_t = [ClientKind::Cli, ClientKind::Node])]
    clients: Vec<ClientKind>,
    /// Kills of `sync-cli write` (or of the pull pushing its pending writes) between a local write and its
    /// acknowledgement.
    #[arg(long, default_value_t = 100)]
    write_kills: usize,
    /// Kills of the server, on each store, that must land mid-sync.
    #[arg(long, default_value_t = 50)]
    server_kills: usize,
    /// The PostgreSQL server for the server kills on PostgreSQL (the run creates the database
    /// `seqsync_crash_PID`); `none` skips them.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    postgres: String,
    /// Kills of `sync-cli media` that must land mid-file (0: none; the long run uses 120).
    #[arg(long, default_value_t = 0)]
    media_kills: usize,
    /// Kills of `sync-cli pull --recent-first` during head delivery and backfill (0: none).
    #[arg(long, default_value_t = 0)]
    recent_kills: usize,
    /// Kills of `sync-cli pull --subscribe …` around its subscription change (0: none).
    #[arg(long, default_value_t = 0)]
    subscription_kills: usize,
    /// Kills of `sync-cli pull --unsubscribe …`, `--archive …` and `--unarchive …` each, around the change
    /// (eviction, freezing, catch-up; 0: none).
    #[arg(long, default_value_t = 0)]
    change_kills: usize,
    /// Messages in the synced integration (conversations and contacts scale with it).
    #[arg(long, default_value_t = 6_000)]
    messages: usize,
    /// Seed of the data and of the kill instants.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn print(what: &str, report: &Report, started: Instant) {
    println!(
        "{what}: {} kills mid-sync ({} runs ended before their kill), {} page-boundary checks ({} collections caught \
         half-synced, {} with indexes deferred), {} exact verifications, {} rows compared, {} server write \
         batches; full-text index after a kill: {} current, {} mid-load (rebuilt on open), {} searches equal to the \
         oracle; {:.0} s",
        report.kills,
        report.missed,
        report.boundary_checks,
        report.partial,
        report.deferred_indexes,
        report.exact,
        report.rows_compared,
        report.change_batches,
        report.index_current,
        report.index_deferred,
        report.searches,
        started.elapsed().as_secs_f64()
    );
}

fn print_selective(what: &str, r: &SelectiveReport, started: Instant) {
    println!(
        "{what}: {} kills ({} runs ended first), {} checks after a kill ({} with heads ahead of a cursor, {} \
         collections half-synced; subscription before the change {}, after it {}), {} exact verifications, {} rows \
         compared, {:.0} s",
        r.kills,
        r.missed,
        r.checks,
        r.heads_ahead,
        r.partial,
        r.before,
        r.after,
        r.exact,
        r.rows_compared,
        started.elapsed().as_secs_f64()
    );
}

async fn run(args: Args) -> anyhow::Result<()> {
    let bins = Binaries::locate()?;
    let sizes =
        Sizes { conversations: args.messages / 60 + 1, messages: args.messages, contacts: args.messages / 80 + 1 };
    for kind in args.clients.iter().filter(|_| args.client_kills > 0) {
        let started = Instant::now();
        let report = client_kills(&bins, *kind, args.client_kills, sizes, args.seed).await?;
        print(&format!("client {kind:?} killed"), &report, started);
    }
    if args.recent_kills > 0 {
        let started = Instant::now();
        let r = recent_kills(args.recent_kills, sizes, args.seed).await?;
        print_selective("sync-cli pull --recent-first killed", &r, started);
    }
    if args.subscription_kills > 0 {
        let started = Instant::now();
        let r = subscription_kills(args.subscription_kills, sizes, args.seed).await?;
        print_selective("sync-cli pull --subscribe killed", &r, started);
    }
    for kind in [ChangeKind::Unsubscribe, ChangeKind::Archive, ChangeKind::Unarchive] {
        if args.change_kills > 0 {
            let started = Instant::now();
            let r = change_kills(kind, args.change_kills, sizes, args.seed).await?;
            print_selective(&format!("sync-cli pull {kind:?} killed"), &r, started);
        }
    }
    if args.write_kills > 0 {
        let started = Instant::now();
        let r = write_kills(&bins, args.write_kills, args.seed).await?;
        println!(
            "writes killed: {} kills between a local write and its acknowledgement ({} runs ended first), {} writes \
             reported and all kept, {} mutations applied exactly once, {} exact verifications, {:.0} s",
            r.kills,
            r.missed,
            r.reported,
            r.applied,
            r.exact,
            started.elapsed().as_secs_f64()
        );
    }
    if args.media_kills > 0 {
        let started = Instant::now();
        let r = media_kills(&bins, args.media_kills, 3, 2_000_000, args.seed).await?;
        println!(
            "sync-cli media killed: {} kills mid-file ({} runs missed), {} rounds, {} files verified, partial files \
             {} bytes, resumed from {} bytes, served {} bytes for {} needed: {} bytes fetched twice, {:.0} s",
            r.kills,
            r.missed,
            r.rounds,
            r.files_verified,
            r.partial_bytes,
            r.resumed_bytes,
            r.served_bytes,
            r.needed_bytes,
            r.refetched_bytes(),
            started.elapsed().as_secs_f64()
        );
    }
    let mut servers = vec![ServerKind::Embedded];
    if args.postgres != "none" {
        servers.push(ServerKind::Postgres(args.postgres.clone()));
    }
    for kind in servers.iter().filter(|_| args.server_kills > 0) {
        let started = Instant::now();
        let report = server_kills(&bins, kind, args.server_kills, sizes, args.seed).await?;
        let name = if matches!(kind, ServerKind::Embedded) { "embedded" } else { "PostgreSQL" };
        print(&format!("server on {name} killed"), &report, started);
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crash-trials FAILED: {e:#}");
            ExitCode::FAILURE
        }
    }
}
