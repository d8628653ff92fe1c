//! Full-text search at scale, in one run: what the FTS5 index costs an initial sync of the generated WhatsApp
//! integration (time and file size, syncs with and without the index alternated), what it costs an incremental
//! page of 1,500 messages, and how fast `SqliteStore::search` answers 1-, 2- and 3-word and prefix queries with
//! snippets (limit 50), newest first and by relevance, over the generated text and over the chitchat corpus (real
//! chats) copied to the same size.
//! Prints Markdown tables.
//!
//! `cargo run --release -p sync-benches --bin search-bench -- --messages 1000000` (the chitchat part needs
//! `pip install chitchat-dataset`; `--chitchat-copies 0` leaves it out).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use clap::Parser;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use server_example::changes::{ChangeSet, apply_changes};
use server_example::generate::{Sizes, generate};
use server_example::import::chitchat;
use server_example::serve::{access, start};
use server_example::whatsapp;
use sync_core::{ChangeFeed, ClientStore, Page, Schema, SyncConfig, SyncEngine, Value};
use sync_http::{HttpTransport, ServerConfig};
use sync_sqlite::{SearchMode, SearchOptions, SearchOrder, SqliteServerStore, SqliteStore};

const SCOPE: &str = "wa-bench";
const TOKEN: &str = "bench";

#[derive(Parser)]
#[command(about = "What full-text search costs a sync and a page, and how fast it answers")]
struct Args {
    /// Generated messages (conversations and contacts scale as in `benches/e2e.sh`).
    #[arg(long, default_value_t = 1_000_000)]
    messages: usize,
    /// Initial syncs of each kind (with and without the index), alternated.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Incremental 1,500-message pages applied to each client.
    #[arg(long, default_value_t = 10)]
    pages: usize,
    /// Queries of each kind.
    #[arg(long, default_value_t = 200)]
    queries: usize,
    /// Copies of the chitchat corpus (258,145 messages each, one integration each) synced into one client for
    /// the queries over real text; 0 leaves it out.
    #[arg(long, default_value_t = 4)]
    chitchat_copies: usize,
    /// Where the files go (default: a temporary directory, removed at the end).
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// The WhatsApp schema without any full-text column: the replica as it was before the index.
fn without_index() -> Schema {
    let mut schema = whatsapp::schema();
    schema.collections.iter_mut().for_each(|c| c.full_text.clear());
    schema
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// A sync of every given scope into a new file at `path`; returns the wall time.
async fn sync(url: &str, path: &Path, schema: Schema, scopes: &[String]) -> anyhow::Result<Duration> {
    let _ = std::fs::remove_file(path);
    let store = Arc::new(SqliteStore::open(path)?);
    let transport = Arc::new(HttpTransport::new(url, Some(TOKEN))?);
    let engine = SyncEngine::new(store, transport, SyncConfig::default().with_schema(schema));
    let started = Instant::now();
    for scope in scopes {
        engine.sync(scope, Default::default()).await.with_context(|| format!("sync {scope}"))?;
    }
    let took = started.elapsed();
    drop(engine); // closes the file: the WAL is checkpointed into it and removed
    Ok(took)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(f64::NAN)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or(f64::NAN)
}

/// Initial syncs with and without the index, alternated; the last file of each kind is kept for the next steps.
async fn sync_cost(args: &Args, url: &str, dir: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let scopes = [SCOPE.to_owned()];
    let (mut with, mut without) = (Vec::new(), Vec::new());
    let (mut size_with, mut size_without) = (0, 0);
    for round in 0..args.rounds {
        for indexed in if round % 2 == 0 { [false, true] } else { [true, false] } {
            let path = dir.join(if indexed { "with.db" } else { "without.db" });
            let schema = if indexed { whatsapp::schema() } else { without_index() };
            let took = sync(url, &path, schema, &scopes).await?.as_secs_f64();
            eprintln!("initial sync, index {indexed}: {took:.2} s, {} bytes", file_size(&path));
            if indexed {
                with.push(took);
                size_with = file_size(&path);
            } else {
                without.push(took);
                size_without = file_size(&path);
            }
        }
    }
    let (with_s, without_s) = (median(with.clone()), median(without.clone()));
    println!("| initial sync of {} messages | without index | with index | cost |", args.messages);
    println!("|---|--:|--:|--:|");
    println!(
        "| wall s (median of {}; each: {:?} / {:?}) | {without_s:.2} | {with_s:.2} | {:+.1} % |",
        args.rounds,
        without,
        with,
        (with_s / without_s - 1.0) * 100.0
    );
    println!(
        "| file MB | {:.1} | {:.1} | {:+.1} % |\n",
        size_without as f64 / 1e6,
        size_with as f64 / 1e6,
        (size_with as f64 / size_without as f64 - 1.0) * 100.0
    );
    Ok((dir.join("with.db"), dir.join("without.db")))
}

/// 1,500 new messages written to the server, then the page that holds them applied to each client, in turns.
async fn page_cost(args: &Args, server: &SqliteServerStore, with: &Path, without: &Path) -> anyhow::Result<()> {
    let stores = [SqliteStore::open(without)?, SqliteStore::open(with)?];
    let mut times = [Vec::new(), Vec::new()];
    for i in 0..args.pages {
        let set = ChangeSet { new_messages: 1_500, edits: 0, deletes: 0, deleted_conversations: 0 };
        apply_changes(server, SCOPE, set, 1_000 + i as u64).await?;
        let cursor = stores[0].sync_state(SCOPE).await?;
        let since = cursor.iter().find(|c| c.collection == "messages").map_or(0, |c| c.last_seq);
        let feed = server.page(SCOPE, "messages", since, 1_500).await?;
        ensure!(feed.rows.len() == 1_500, "expected a page of 1,500 new messages, got {}", feed.rows.len());
        let page = Page {
            collection: "messages".into(),
            since_seq: since,
            rows: feed.rows,
            latest_seq: feed.latest_seq,
            has_more: feed.has_more,
            total_count: Some(feed.total_count),
            bytes: 0,
        };
        for k in if i % 2 == 0 { [0, 1] } else { [1, 0] } {
            let started = Instant::now();
            stores[k].apply_page(SCOPE, page.clone()).await?;
            times[k].push(started.elapsed().as_secs_f64() * 1e3);
        }
    }
    let (without_ms, with_ms) = (median(times[0].clone()), median(times[1].clone()));
    println!(
        "| incremental page of 1,500 new messages (median of {}) | without index | with index | cost |",
        args.pages
    );
    println!("|---|--:|--:|--:|");
    println!("| apply_page ms | {without_ms:.1} | {with_ms:.1} | {:+.1} % |\n", (with_ms / without_ms - 1.0) * 100.0);
    Ok(())
}

/// Words of a text as the index splits them (letters and digits), lower-cased.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// Search latency on `path` for queries made of words of random messages of `scopes`.
async fn query_latency(args: &Args, path: &Path, scopes: &[String], corpus: &str) -> anyhow::Result<()> {
    let store = SqliteStore::open(path)?;
    let sample = "SELECT integration_id, body FROM messages WHERE body IS NOT NULL ORDER BY random() LIMIT 20000";
    let rows = store.query(sample, vec![]).await?.rows;
    let texts: Vec<(String, Vec<String>)> = rows
        .into_iter()
        .filter_map(|row| match (&row[0], &row[1]) {
            (Value::Text(scope), Value::Text(body)) => Some((scope.clone(), words(body))),
            _ => None,
        })
        .filter(|(scope, w)| scopes.contains(scope) && w.len() >= 3)
        .collect();
    ensure!(!texts.is_empty(), "no message to draw queries from");
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    println!("| {corpus}: query (limit 50, snippets) | order | queries | hits (mean) | p50 ms | p99 ms | max ms |");
    println!("|---|---|--:|--:|--:|--:|--:|");
    // A prefix query is the first 3 letters of a word of 3 or more (what the prefix index serves), or a whole
    // word of 1 or 2 letters typed so far (FTS5 merges the doclists of every word it begins).
    let short = |w: &String| w.chars().count() < 3;
    for (kind, terms, mode, prefix_of_short) in [
        ("1 word", 1, SearchMode::Plain, false),
        ("2 words", 2, SearchMode::Plain, false),
        ("3 words", 3, SearchMode::Plain, false),
        ("prefix (3 letters)", 1, SearchMode::Prefix, false),
        ("prefix (1–2 letters)", 1, SearchMode::Prefix, true),
    ] {
        let mut queries = Vec::with_capacity(args.queries);
        while queries.len() < args.queries {
            let (scope, w) = texts.choose(&mut rng).context("a message")?;
            let start = rng.random_range(0..=w.len() - terms);
            let mut query = w[start..start + terms].join(" ");
            if mode == SearchMode::Prefix {
                if short(&w[start]) != prefix_of_short {
                    continue;
                }
                query = query.chars().take(3).collect();
            }
            queries.push((scope, query));
        }
        // The same queries in both orders, newest first before relevance (each warms the cache the same way).
        for (order, name) in [(SearchOrder::Recent, "recent"), (SearchOrder::Relevance, "relevance")] {
            let mut ms = Vec::with_capacity(args.queries);
            let mut hits = 0;
            for (scope, query) in &queries {
                let options = SearchOptions { mode, order, limit: 50, ..Default::default() };
                let started = Instant::now();
                hits += store.search(scope, query, options).await?.len();
                ms.push(started.elapsed().as_secs_f64() * 1e3);
            }
            ms.sort_by(f64::total_cmp);
            let mean = hits as f64 / args.queries as f64;
            let (p50, p99, max) = (percentile(&ms, 0.5), percentile(&ms, 0.99), percentile(&ms, 1.0));
            println!("| {kind} | {name} | {} | {mean:.1} | {p50:.2} | {p99:.2} | {max:.2} |", args.queries);
        }
    }
    println!();
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let temp = tempfile::tempdir()?;
    let dir = args.dir.clone().unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&dir)?;
    let server = Arc::new(SqliteServerStore::open(dir.join("server.db"), whatsapp::schema())?);
    let conversations = args.messages.div_ceil(100);
    let sizes = Sizes { conversations, messages: args.messages, contacts: (conversations * 3).div_ceil(4) };
    let started = Instant::now();
    generate(server.as_ref(), SCOPE, sizes, 42, |_| {}).await?;
    eprintln!("generated {} messages in {:.0} s", args.messages, started.elapsed().as_secs_f64());
    let chitchat_scopes: Vec<String> = (0..args.chitchat_copies).map(|i| format!("chitchat-{i}")).collect();
    if !chitchat_scopes.is_empty() {
        let corpus = chitchat::locate()?;
        for scope in &chitchat_scopes {
            chitchat::import(server.as_ref(), scope, &corpus).await?;
        }
    }
    let mut tokens = vec![SCOPE.to_owned()];
    tokens.extend(chitchat_scopes.iter().cloned());
    let running = start(server.clone(), ServerConfig::new(access(&[(TOKEN.into(), tokens)])), "127.0.0.1:0").await?;
    let url = running.url();

    let (with, without) = sync_cost(&args, &url, &dir).await?;
    query_latency(&args, &with, &[SCOPE.to_owned()], "generated text").await?;
    page_cost(&args, &server, &with, &without).await?;
    if !chitchat_scopes.is_empty() {
        let path = dir.join("chitchat.db");
        let took = sync(&url, &path, whatsapp::schema(), &chitchat_scopes).await?;
        eprintln!("chitchat x{} synced in {:.1} s", chitchat_scopes.len(), took.as_secs_f64());
        let title =
            format!("chitchat corpus x{} ({} messages)", chitchat_scopes.len(), chitchat_scopes.len() * 258_145);
        query_latency(&args, &path, &chitchat_scopes, &title).await?;
    }
    running.stop().await?;
    Ok(())
}
