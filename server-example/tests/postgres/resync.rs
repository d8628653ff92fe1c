//! Tombstone retention end to end: prune drops tombstones and records a horizon; a client whose cursor is
//! older gets HTTP 409 `resync_required`, resets the integration and re-syncs it from scratch, in pages whose
//! cursors pass below the horizon (`fresh=1`), ending exact (rows deleted meanwhile are gone locally too); a new
//! client is not affected.

use std::time::Duration;

use server_example::generate::{Sizes, generate};
use server_example::whatsapp;
use sync_core::{ClientStore, ServerStore, SyncOptions, Write};

use crate::support::{Db, TOKEN, available, client, serve, tempdir, verify};

const SCOPE: &str = "wa-prune";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cursor_older_than_the_pruned_horizon_resyncs_from_scratch_and_ends_exact() {
    if !available().await {
        return;
    }
    let db = Db::fresh(whatsapp::schema()).await;
    generate(db.store.as_ref(), SCOPE, Sizes { conversations: 6, messages: 300, contacts: 6 }, 5, |_| {})
        .await
        .expect("seed");
    let server = serve(db.store.clone()).await;
    let dir = tempdir();
    // Small pages: the re-sync from scratch passes through cursors below the horizon, which it may.
    let old = client(&server, dir.path(), "old", vec![("messages".into(), 40)]);
    old.engine.sync(SCOPE, SyncOptions::default()).await.expect("initial sync");
    let cursor = old.store.sync_state(SCOPE).await.expect("cursors").iter().map(|c| c.last_seq).max().unwrap_or(0);

    // Deletes while the old client is away, then a prune that drops their tombstones.
    let gone = db.store.read_rows(SCOPE, "messages", None, 10).await.expect("rows");
    let deletes = gone.iter().map(|r| Write::Delete { collection: "messages".into(), id: r.id.clone() }).collect();
    assert!(db.store.write(SCOPE, deletes).await.expect("deletes").deleted >= 10, "and their media records");
    let conversation = db.store.read_rows(SCOPE, "conversations", None, 1).await.expect("rows").remove(0);
    db.store
        .write(SCOPE, vec![Write::Delete { collection: "conversations".into(), id: conversation.id }])
        .await
        .expect("delete");
    let pruned = db.store.prune(Duration::ZERO).await.expect("prune");
    assert!(pruned.removed > 11, "the messages and the conversation's cascade: {pruned:?}");
    let horizon = pruned.horizons.iter().find(|(s, c, _)| s == SCOPE && c == "messages").expect("a horizon").2;
    assert!(horizon > cursor);

    // Over HTTP: the distinct answer.
    let url = format!("{}/sync/messages/{SCOPE}?since_seq={cursor}&limit=10", server.url());
    let response = reqwest::Client::new().get(&url).bearer_auth(TOKEN).send().await.expect("request");
    assert_eq!(response.status().as_u16(), 409);
    assert!(response.text().await.expect("body").contains("\"resync_required\""));
    // A client that started this collection from scratch in this session may page below the horizon.
    let response =
        reqwest::Client::new().get(format!("{url}&fresh=1")).bearer_auth(TOKEN).send().await.expect("request");
    assert_eq!(response.status().as_u16(), 200);

    let report = old.engine.sync(SCOPE, SyncOptions::default()).await.expect("the sync recovers");
    assert!(report.resynced, "the engine reset the integration and synced it again");
    assert!(report.collection("messages").expect("messages").pages > 5, "several pages below the horizon");
    let v = verify(&whatsapp::schema(), SCOPE, old.store.as_ref(), db.store.as_ref()).await;
    assert!(v.is_exact(), "{:?}", v.differences);
    let local = old.store.read_rows(SCOPE, "messages", None, 10_000).await.expect("rows");
    assert!(gone.iter().all(|g| !local.iter().any(|r| r.id == g.id)), "the deleted messages are gone locally");

    // A client past the horizon and a new client are not asked to re-sync.
    let again = old.engine.sync(SCOPE, SyncOptions::default()).await.expect("incremental");
    assert!(!again.resynced);
    let fresh = client(&server, dir.path(), "fresh", vec![]);
    assert!(!fresh.engine.sync(SCOPE, SyncOptions::default()).await.expect("fresh sync").resynced);
    server.stop().await.expect("stop");
}
