//! The demo: a server on its embedded store, a generated integration, a client syncing it with progress bars,
//! server-side changes, an incremental sync, and a row-for-row verification.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use indicatif::{ProgressBar, ProgressStyle};
use sync_cli::{Bars, Client, ClientOptions};
use sync_core::{ClientStore, SyncOptions, SyncReport, verify_scope};
use sync_http::ServerConfig;
use sync_sqlite::{SqliteServerStore, SqliteStore};

use crate::changes::{ChangeSet, apply_changes};
use crate::generate::{Sizes, generate};
use crate::serve::{access, start};
use crate::whatsapp;

const SCOPE: &str = "wa-demo";
const TOKEN: &str = "demo-token";

/// What to run.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    /// Folder for `server.db` and `client.db` (replaced if present).
    pub dir: PathBuf,
    /// Size of the generated integration.
    pub sizes: Sizes,
    /// Generator seed.
    pub seed: u64,
}

fn report_line(label: &str, report: &SyncReport) {
    let secs = report.elapsed.as_secs_f64();
    println!(
        "{label}: {} rows in {} pages, {:.1} MB, {:.2} s ({:.0} rows/s)",
        report.rows(),
        report.pages(),
        report.bytes() as f64 / 1e6,
        secs,
        report.rows() as f64 / secs.max(1e-9)
    );
}

/// Runs the demo; fails if the client does not end equal to the server.
pub async fn run(options: DemoOptions) -> anyhow::Result<()> {
    std::fs::create_dir_all(&options.dir).with_context(|| format!("creating {}", options.dir.display()))?;
    let server_db = options.dir.join("server.db");
    let client_db = options.dir.join("client.db");
    for path in [&server_db, &client_db] {
        for suffix in ["", "-wal", "-shm"] {
            let file = PathBuf::from(format!("{}{suffix}", path.display()));
            if file.exists() {
                std::fs::remove_file(&file).with_context(|| format!("removing {}", file.display()))?;
            }
        }
    }

    println!("1. Seeding integration `{SCOPE}` on the server's embedded store ({})", server_db.display());
    let server = Arc::new(SqliteServerStore::open(&server_db, whatsapp::schema())?);
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{prefix:>26} {spinner} {pos} rows written in {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_prefix("seed");
    let totals = generate(server.as_ref(), SCOPE, options.sizes, options.seed, |n| bar.set_position(n)).await?;
    bar.finish_and_clear();
    println!(
        "   {} conversations, {} messages, {} contacts, {} media records, {} participants",
        totals.conversations, totals.messages, totals.contacts, totals.media, totals.participants
    );

    let running =
        start(server.clone(), ServerConfig::new(access(&[(TOKEN.into(), vec![SCOPE.into()])])), "127.0.0.1:0").await?;
    println!("2. Server listening on {}; syncing into {}", running.url(), client_db.display());
    let client = Client::open(ClientOptions {
        scope: SCOPE.into(),
        db: client_db.clone(),
        url: running.url(),
        token: Some(TOKEN.into()),
        page_sizes: vec![],
        ..Default::default()
    })?;
    // Fresh bars for each sync; finished ones stay on screen above what follows.
    let sync = || SyncOptions { progress: Some(Bars::new().callback()), ..Default::default() };
    let first = client.engine.sync(SCOPE, sync()).await?;
    report_line("   initial sync", &first);

    let set = ChangeSet { new_messages: 500, edits: 100, deletes: 50, deleted_conversations: 1 };
    let summary = apply_changes(server.as_ref(), SCOPE, set, options.seed + 1).await?;
    println!(
        "3. Server-side changes: {} new messages, {} edited, {} tombstones (50 deleted messages and a deleted conversation with everything in it)",
        summary.inserted, summary.edited, summary.tombstones
    );
    let second = client.engine.sync(SCOPE, sync()).await?;
    report_line("   incremental sync", &second);

    let stats = client.store.stats().await?;
    println!(
        "4. Client database {} ({:.1} MB)",
        stats.path.clone().unwrap_or_default(),
        stats.file_size_bytes as f64 / 1e6
    );
    for (collection, count) in &stats.counts {
        println!("   {collection:<28} {count:>9}");
    }

    let verification = verify_scope(&whatsapp::schema(), SCOPE, client.store.as_ref(), server.as_ref())
        .await
        .map_err(anyhow::Error::msg)?;
    running.stop().await?;
    if !verification.is_exact() {
        for difference in &verification.differences {
            eprintln!("   difference: {difference}");
        }
        bail!("verification FAILED: the client differs from the server");
    }
    println!("5. Verification: exact. {} rows compared row for row, client equals server.", verification.rows());
    drop::<Arc<SqliteStore>>(client.store);
    Ok(())
}
