//! `load`: concurrent clients full-syncing one server on PostgreSQL, then a sustained mix of writers and
//! incremental pullers; all clients exact at the end. `RELIABILITY.md` has the runs and their figures.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use server_example::generate::Sizes;
use sync_testing::load::{LoadOptions, run};
use sync_testing::procs::Binaries;

#[derive(Parser)]
#[command(about = "Load one server-example on PostgreSQL with concurrent syncs and writes; verify every client")]
struct Args {
    /// The PostgreSQL server; the run creates the database `seqsync_load_PID`.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    postgres: String,
    /// Clients full-syncing at once.
    #[arg(long, default_value_t = 100)]
    clients: usize,
    /// Messages in the integration (conversations and contacts scale with it).
    #[arg(long, default_value_t = 5_000)]
    messages: usize,
    /// Seconds of mixed load (writers and incremental pullers).
    #[arg(long, default_value_t = 180)]
    mixed_secs: u64,
    /// Writers in the mixed phase.
    #[arg(long, default_value_t = 2)]
    writers: usize,
    /// Incremental pullers in the mixed phase.
    #[arg(long, default_value_t = 20)]
    pullers: usize,
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

async fn main_(args: Args) -> anyhow::Result<()> {
    let sizes =
        Sizes { conversations: args.messages / 60 + 1, messages: args.messages, contacts: args.messages / 80 + 1 };
    let options = LoadOptions {
        postgres: args.postgres,
        clients: args.clients,
        sizes,
        mixed: Duration::from_secs(args.mixed_secs),
        writers: args.writers,
        pullers: args.pullers.min(args.clients),
    };
    let r = run(&Binaries::locate()?, &options).await?;
    println!("seeded {} rows", r.seeded_rows);
    println!(
        "{} concurrent full syncs: {:.1} s, {} pages, page latency p50 {} p99 {}, failed requests {:?}",
        options.clients,
        r.full_time.as_secs_f64(),
        r.full.pages(),
        ms(r.full.percentile(0.5)),
        ms(r.full.percentile(0.99)),
        r.full.failures()
    );
    println!(
        "mixed {} s: {} writers wrote {} batches, {} pullers did {} incremental syncs, {} pages, p50 {} p99 {}, failed \
         requests {:?}",
        options.mixed.as_secs(),
        options.writers,
        r.write_batches,
        options.pullers,
        r.incremental_syncs,
        r.mixed.pages(),
        ms(r.mixed.percentile(0.5)),
        ms(r.mixed.percentile(0.99)),
        r.mixed.failures()
    );
    println!(
        "{} clients exact ({} rows compared); server RSS {} MiB at the end, {} MiB peak",
        r.exact_clients,
        r.rows_compared,
        r.server_rss_kib.0 / 1024,
        r.server_rss_kib.1 / 1024
    );
    anyhow::ensure!(r.full.failures().is_empty() && r.mixed.failures().is_empty(), "requests failed under load");
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match main_(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("load FAILED: {e:#}");
            ExitCode::FAILURE
        }
    }
}
