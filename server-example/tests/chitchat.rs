//! The chitchat-dataset corpus (installed with `pip install chitchat-dataset`; `scripts/test.sh` installs it):
//! imported into the embedded server store, synced over loopback HTTP into an SQLite client, verified row for row;
//! then full-text search of the replica compared with an oracle on generated queries, and edits and deletes synced
//! into its results.
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
use sync_core::{ChangeFeed, ClientStore, ServerStore, SyncOptions, Value, Write, verify_scope};
use sync_http::ServerConfig;
use sync_sqlite::{SearchOptions, SqliteServerStore, SqliteStore};
use sync_testing::search_oracle::{Oracle, tokens};

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

    let started = Instant::now();
    let oracle = Oracle::load(&client.store, SCOPE).await.expect("read the messages");
    assert_eq!(oracle.len(), 258_145);
    eprintln!("chitchat oracle: loaded in {:.1} s", started.elapsed().as_secs_f64());
    let checked = oracle.check(&client.store, SCOPE, &oracle.queries(300, 15)).await.expect("search equals the oracle");
    eprintln!("chitchat search: {checked:?} in {:.1} s", started.elapsed().as_secs_f64());
    assert!(checked.exact >= 150 && checked.hits >= 5_000, "too few results compared: {checked:?}");

    edits_and_deletes_change_the_results_at_once(&client, server.as_ref()).await;
    running.stop().await.expect("stop");
}

/// The ids a plain search of the replica finds, newest first, in one conversation if given.
async fn search(store: &SqliteStore, query: &str, conversation: Option<&Value>) -> Vec<String> {
    let filter = conversation.map(|c| ("conversation_id".to_owned(), c.clone())).into_iter().collect();
    // Every match (the conversation bounds them), whichever its place in the newest-first order.
    let options = SearchOptions { filter, limit: 1_000_000, ..Default::default() };
    let hits = store.search(SCOPE, query, options).await.expect("search");
    hits.into_iter().map(|h| h.id).collect()
}

async fn edits_and_deletes_change_the_results_at_once(client: &Client, server: &SqliteServerStore) {
    let messages = whatsapp::schema().collection("messages").cloned().expect("messages");
    let (body, conversation) = (messages.column_index("body"), messages.column_index("conversation_id"));
    let (body, conversation) = (body.expect("body"), conversation.expect("conversation_id"));
    let rows = client.store.read_rows(SCOPE, "messages", None, 3).await.expect("rows");
    let (edited, deleted) = (&rows[0], &rows[1]);
    let mut values = edited.values.clone();
    values[body] = Value::from("Zyzzyva and the quokka café");
    // The deleted message's own words, in its conversation: a query it surely is among the first hits of.
    let (deleted_text, deleted_in) = match &deleted.values[body] {
        Value::Text(text) => (tokens(text).join(" "), Some(&deleted.values[conversation])),
        other => panic!("{other:?}"),
    };
    assert!(search(&client.store, &deleted_text, deleted_in).await.contains(&deleted.id));
    let writes = vec![
        Write::Upsert { collection: "messages".into(), id: edited.id.clone(), values },
        Write::Delete { collection: "messages".into(), id: deleted.id.clone() },
    ];
    server.write(SCOPE, writes).await.expect("write");
    client.engine.sync(SCOPE, SyncOptions::default()).await.expect("incremental sync");
    assert_eq!(search(&client.store, "ZYZZYVA cafe", None).await, [edited.id.as_str()]);
    assert!(!search(&client.store, &deleted_text, deleted_in).await.contains(&deleted.id));
    let oracle = Oracle::load(&client.store, SCOPE).await.expect("read the messages");
    oracle.check(&client.store, SCOPE, &oracle.queries(40, 16)).await.expect("search equals the oracle after the sync");
}
