//! The chitchat-dataset corpus (installed with `pip install chitchat-dataset`; `scripts/test.sh` installs it):
//! imported into the embedded server store, synced over loopback HTTP into an SQLite client, verified row for row.
//!
//! A test binary of its own with libtest-mimic's harness, so that without the corpus the test is reported as
//! ignored (not passed) by `cargo test` and nextest alike; under `CI=true` it fails instead.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use libtest_mimic::{Arguments, Failed, Trial};
use server_example::import::chitchat;
use server_example::serve::{access, start};
use server_example::whatsapp;
use sync_cli::{Client, ClientOptions};
use sync_core::{ChangeFeed, SyncOptions, verify_scope};
use sync_http::ServerConfig;
use sync_sqlite::SqliteServerStore;

const NAME: &str = "chitchat_dataset_imports_and_syncs_exact";
const SCOPE: &str = "chitchat";
const TOKEN: &str = "chitchat-token";

fn main() {
    let args = Arguments::from_args();
    let trial = match chitchat::locate() {
        Ok(path) => Trial::test(NAME, move || run(path)),
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            let message = format!("CI=true needs the dataset (scripts/test.sh installs it): {e:#}");
            Trial::test(NAME, move || Err(message.into()))
        }
        // Run anyway (`--include-ignored`), it fails saying why rather than passing.
        Err(e) => {
            let message = format!("{e:#}");
            Trial::test(NAME, move || Err(message.into())).with_ignored_flag(true)
        }
    };
    libtest_mimic::run(&args, vec![trial]).exit();
}

fn run(path: PathBuf) -> Result<(), Failed> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(import_and_sync(&path));
    Ok(())
}

/// Live rows per collection.
async fn counts(store: &SqliteServerStore) -> BTreeMap<String, u64> {
    let status = store.status(SCOPE).await.expect("status");
    status.collections.into_iter().map(|(name, c)| (name, c.count)).collect()
}

async fn import_and_sync(path: &Path) {
    let dir = tempfile::tempdir().expect("tempdir");
    let server =
        Arc::new(SqliteServerStore::open(dir.path().join("server.db"), whatsapp::schema()).expect("open server store"));

    let started = Instant::now();
    let totals = chitchat::import(server.as_ref(), SCOPE, path).await.expect("import");
    eprintln!("chitchat import: {totals:?} in {:.1} s", started.elapsed().as_secs_f64());
    assert_eq!(
        (totals.conversations, totals.messages, totals.contacts, totals.participants, totals.media),
        (7_168, 258_145, 1_315, 11_186, 0)
    );
    let live = counts(&server).await;
    assert_eq!(live.get("messages"), Some(&258_145));
    assert_eq!(live.get("conversations"), Some(&7_168));

    let running =
        start(server.clone(), ServerConfig::new(access(&[(TOKEN.into(), vec![SCOPE.into()])])), "127.0.0.1:0")
            .await
            .expect("start");
    let client = Client::open(ClientOptions {
        scope: SCOPE.into(),
        db: dir.path().join("client.db"),
        url: running.url(),
        token: Some(TOKEN.into()),
        // The server's largest page: fewer round trips keep this debug-build test shorter (seed default: 1,500).
        page_sizes: vec![("messages".into(), 10_000)],
        ..Default::default()
    })
    .expect("open client");
    let started = Instant::now();
    let report = client.engine.sync(SCOPE, SyncOptions::default()).await.expect("sync");
    eprintln!(
        "chitchat sync: {} rows in {} pages, {:.1} s",
        report.rows(),
        report.pages(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(report.rows(), totals.rows());

    let verification =
        verify_scope(&whatsapp::schema(), SCOPE, client.store.as_ref(), server.as_ref()).await.expect("verify");
    assert!(verification.is_exact(), "{:?}", verification.differences);
    assert_eq!(verification.rows(), totals.rows());
    running.stop().await.expect("stop");
}
