//! `sync-cli`: pull an integration from a sync server into an SQLite file (all of it or subscribed conversations,
//! in seq order or recent first), write rows locally and push them, download its media, show its stats, or reset it.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use sync_cli::media::MediaArgs;
use sync_cli::{Bars, Client, ClientOptions};
use sync_core::outbox::{LocalWrite, WriteState};
use sync_core::{ClientStore, MutationOp};
use sync_sqlite::SqliteStore;

#[derive(Parser)]
#[command(version, about = "Sync an integration from a sync server into a local SQLite file")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Push the integration's pending local writes, then sync every collection (or some), resuming from the
    /// stored cursors.
    Pull {
        #[command(flatten)]
        server: Server,
        /// Only this collection (repeatable).
        #[arg(long = "collection")]
        collections: Vec<String>,
        /// Page size of a collection, as `name=rows` (repeatable).
        #[arg(long = "page-size", value_parser = parse_page_size)]
        page_sizes: Vec<(String, usize)>,
        /// A schema JSON file to use instead of the server's `/schema`.
        #[arg(long)]
        schema: Option<PathBuf>,
        /// During an initial sync into empty tables, commit at least every N rows (default 400000; also every
        /// 2 s). Lower: other readers of the file see rows sooner. Higher: a faster load.
        #[arg(long)]
        commit_rows: Option<u64>,
        /// Sync recent first: the chat list, then each conversation's newest messages, then the history.
        #[arg(long)]
        recent_first: bool,
        /// With `--recent-first`: the newest rows fetched per conversation before the history (default 50).
        #[arg(long)]
        head_rows: Option<usize>,
        /// Before syncing, subscribe to this conversation (repeatable): only the subscribed conversations are
        /// synced from then on; from "everything", the other conversations' rows are evicted.
        #[arg(long = "subscribe")]
        subscribe: Vec<String>,
        /// Before syncing, unsubscribe from this conversation (repeatable): its rows are evicted now.
        #[arg(long = "unsubscribe")]
        unsubscribe: Vec<String>,
        /// Before syncing, archive this subscribed conversation (repeatable): its rows stay, frozen, unsynced.
        #[arg(long = "archive")]
        archive: Vec<String>,
        /// Before syncing, unarchive this conversation (repeatable): the sync catches it up from where it stopped.
        #[arg(long = "unarchive")]
        unarchive: Vec<String>,
        /// No progress bars.
        #[arg(long)]
        quiet: bool,
    },
    /// Write rows locally (at once, offline too) and push them; the next pull pushes what is still pending.
    Write {
        #[command(flatten)]
        server: Server,
        /// The collection (writable in the schema).
        #[arg(long)]
        collection: String,
        /// The row's key; with `--repeat N`, rows `<id>-0` .. `<id>-<N-1>`.
        #[arg(long)]
        id: String,
        /// insert, update (only the given fields change) or delete.
        #[arg(long, value_parser = ["insert", "update", "delete"], default_value = "insert")]
        op: String,
        /// The fields as a JSON object (as in a page row: timestamps in Unix ms).
        #[arg(long, default_value = "{}")]
        fields: String,
        /// Write this many rows, one local transaction each, printing `wrote <id>` after each commits.
        #[arg(long)]
        repeat: Option<usize>,
        /// Only write locally; do not push.
        #[arg(long)]
        offline: bool,
    },
    /// Row counts, file size, path, cursors and pending writes.
    Stats {
        /// The SQLite file.
        #[arg(long, default_value = "client.db")]
        db: PathBuf,
        /// Also show this integration's cursors.
        #[arg(long)]
        integration: Option<String>,
    },
    /// Download an integration's media files (after a pull) through the persistent queue: resumable, verified.
    Media {
        /// The pulled file (the queue is kept in it), the server, the integration.
        #[command(flatten)]
        server: Server,
        /// The download folder. Default: your Downloads folder.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Downloads at once.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// Every media file, not only images up to 5 MB and voice notes up to 2 MB.
        #[arg(long)]
        all: bool,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Delete an integration's rows and cursors, so the next pull starts from scratch.
    Reset {
        /// The SQLite file.
        #[arg(long, default_value = "client.db")]
        db: PathBuf,
        /// The integration id.
        #[arg(long)]
        integration: String,
    },
}

/// Where the replica is and which server it syncs with.
#[derive(clap::Args)]
struct Server {
    /// The SQLite file (created if missing).
    #[arg(long, default_value = "client.db")]
    db: PathBuf,
    /// The server's base URL.
    #[arg(long, env = "SYNC_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Bearer token.
    #[arg(long, env = "SYNC_TOKEN")]
    token: Option<String>,
    /// The integration id.
    #[arg(long)]
    integration: String,
}

fn parse_page_size(s: &str) -> Result<(String, usize), String> {
    let (name, rows) = s.split_once('=').ok_or("expected `collection=rows`")?;
    let rows: usize = rows.parse().map_err(|_| format!("`{rows}` is not a number of rows"))?;
    if rows == 0 {
        return Err("a page needs at least one row".into());
    }
    Ok((name.to_owned(), rows))
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Pull {
            server,
            collections,
            page_sizes,
            schema,
            commit_rows,
            recent_first,
            head_rows,
            subscribe,
            unsubscribe,
            archive,
            unarchive,
            quiet,
        } => {
            let Server { db, url, token, integration } = server;
            let schema_json = match schema {
                Some(path) => {
                    Some(std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?)
                }
                None => None,
            };
            let client = Client::open(ClientOptions {
                scope: integration.clone(),
                db,
                url,
                token,
                schema_json,
                page_sizes,
                commit_rows,
                ..Default::default()
            })?;
            let bars = if quiet { Bars::hidden() } else { Bars::new() };
            let cancel = sync_core::CancellationToken::new();
            let on_ctrl_c = cancel.clone();
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    on_ctrl_c.cancel();
                }
            });
            // Each change is one transaction of its own, in this order.
            if !subscribe.is_empty() {
                client.subscribe(subscribe).await?;
            }
            if !unsubscribe.is_empty() {
                client.unsubscribe(unsubscribe).await?;
            }
            if !archive.is_empty() {
                client.archive(archive).await?;
            }
            if !unarchive.is_empty() {
                client.unarchive(unarchive).await?;
            }
            let report = if recent_first {
                anyhow::ensure!(collections.is_empty(), "--recent-first syncs every collection: drop --collection");
                client.sync_recent_first(head_rows, None, Some(bars.callback()), Some(cancel)).await?
            } else {
                let collections = (!collections.is_empty()).then_some(collections);
                client.sync(collections, Some(bars.callback()), Some(cancel)).await?
            };
            println!(
                "synced {}: {} rows, {} pages, {:.1} MB in {:.2?}",
                integration,
                report.rows(),
                report.pages(),
                report.bytes() as f64 / 1e6,
                report.elapsed
            );
            Ok(())
        }
        Command::Write { server, collection, id, op, fields, repeat, offline } => {
            let fields: serde_json::Value = serde_json::from_str(&fields).context("--fields is not JSON")?;
            let serde_json::Value::Object(fields) = fields else { anyhow::bail!("--fields must be a JSON object") };
            let op = match op.as_str() {
                "insert" => MutationOp::Insert,
                "update" => MutationOp::Update,
                _ => MutationOp::Delete,
            };
            let Server { db, url, token, integration } = server;
            let client =
                Client::open(ClientOptions { scope: integration.clone(), db, url, token, ..Default::default() })?;
            let ids: Vec<String> = match repeat {
                None => vec![id],
                Some(n) => (0..n).map(|i| format!("{id}-{i}")).collect(),
            };
            let mut out = std::io::stdout().lock();
            for id in ids {
                let write =
                    LocalWrite { collection: collection.clone(), id, op, fields: fields.clone().into_iter().collect() };
                let mutation = client.mutate(write).await?;
                writeln!(out, "wrote {}", mutation.id)?;
                out.flush()?;
            }
            if !offline {
                let report = client.engine.push(&integration, &sync_core::CancellationToken::new()).await?;
                println!("pushed {}: {} applied, {} rejected", report.pushed, report.applied, report.rejected);
            }
            Ok(())
        }
        Command::Media { server, dir, concurrency, all, quiet } => {
            let Server { db, url, token, integration } = server;
            let args = MediaArgs { db, url, token, integration, dir, concurrency, all, quiet };
            sync_cli::media::run(args).await
        }
        Command::Stats { db, integration } => {
            let store = SqliteStore::open(&db).with_context(|| format!("opening {}", db.display()))?;
            let stats = store.stats().await?;
            println!("database: {} ({:.2} MB)", stats.path.unwrap_or_default(), stats.file_size_bytes as f64 / 1e6);
            for (collection, count) in &stats.counts {
                println!("  {collection:<28} {count:>10}");
            }
            if let Some(integration) = integration {
                println!("cursors of {integration}:");
                for state in store.sync_state(&integration).await? {
                    println!("  {:<28} {:>10}", state.collection, state.last_seq);
                }
                let writes = store.pending_writes(&integration).await?;
                let sent = writes.iter().filter(|w| w.state != WriteState::Pending).count();
                println!("pending writes of {integration}: {} ({sent} acknowledged)", writes.len());
            }
            Ok(())
        }
        Command::Reset { db, integration } => {
            let store = SqliteStore::open(&db).with_context(|| format!("opening {}", db.display()))?;
            store.reset(&integration).await?;
            println!("reset {integration}: its rows and cursors are gone; the next pull starts from scratch");
            Ok(())
        }
    }
}
