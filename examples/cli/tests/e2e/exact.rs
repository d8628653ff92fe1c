//! PROTOCOL.md invariants 1, 3, 5 and 6 (tenant isolation) over real HTTP into a real SQLite file.

use server_example::changes::{ChangeSet, apply_changes};
use server_example::generate::Sizes;
use sync_core::{ClientStore, ErrorCode, ServerStore, SyncOptions, Value, Write};

use crate::support::{SCOPE_A, SCOPE_B, TOKEN_A, TOKEN_B, server, verify};

const SIZES: Sizes = Sizes { conversations: 40, messages: 4_000, contacts: 30 };

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_and_deletes_reach_the_client_and_it_ends_exact() {
    let server = server(SIZES).await;
    let client = server.client(&server.path("client.db"), TOKEN_A);
    let first = client.engine.sync(SCOPE_A, SyncOptions::default()).await.expect("initial sync");
    let messages = first.collection("messages").expect("messages report");
    assert_eq!(messages.upserted, 4_000);
    assert_eq!(messages.pages, 3, "the seed's 1,500-message pages");
    let v = verify(client.store.as_ref(), server.store.as_ref(), SCOPE_A).await;
    assert!(v.is_exact(), "{:?}", v.differences);

    let set = ChangeSet { new_messages: 25, edits: 10, deletes: 5, deleted_conversations: 1 };
    let changed = apply_changes(server.store.as_ref(), SCOPE_A, set, 99).await.expect("changes");
    assert!(changed.tombstones > 5, "the conversation delete cascades: {changed:?}");
    let second = client.engine.sync(SCOPE_A, SyncOptions::default()).await.expect("incremental sync");
    let deleted: u64 = second.collections.iter().map(|c| c.deleted).sum();
    assert_eq!(deleted, changed.tombstones, "every tombstone reached the client");
    assert!(second.rows() < 200, "an incremental sync fetches only the changes, not {} rows", second.rows());
    let v = verify(client.store.as_ref(), server.store.as_ref(), SCOPE_A).await;
    assert!(v.is_exact(), "{:?}", v.differences);

    // The edited body is what the client holds.
    let edited = server.store.read_rows(SCOPE_A, "messages", None, 100_000).await.expect("rows");
    let edited =
        edited.iter().find(|r| matches!(&r.values[4], Value::Text(t) if t.ends_with("(edited)"))).expect("an edit");
    let local = client.store.read_rows(SCOPE_A, "messages", Some(&prev(&edited.id)), 1).await.expect("local");
    assert_eq!(local[0].values, edited.values);

    let nothing = client.engine.sync(SCOPE_A, SyncOptions::default()).await.expect("no-op sync");
    assert_eq!((nothing.rows(), nothing.pages()), (0, 0), "a third sync has nothing to do");
}

/// The greatest string smaller than `id` for read_rows' exclusive `after_id`.
fn prev(id: &str) -> String {
    let mut s = id.to_owned();
    s.pop();
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_integrations_in_one_database_stay_independent() {
    let server = server(SIZES).await;
    let db = server.path("shared.db");
    let a = server.client(&db, TOKEN_A);
    let b = server.client(&db, TOKEN_B);
    a.engine.sync(SCOPE_A, SyncOptions::default()).await.expect("sync A");
    b.engine.sync(SCOPE_B, SyncOptions::default()).await.expect("sync B");
    for (store, scope) in [(&a.store, SCOPE_A), (&b.store, SCOPE_B)] {
        let v = verify(store.as_ref(), server.store.as_ref(), scope).await;
        assert!(v.is_exact() && v.rows() > 0, "{scope}: {:?}", v.differences);
    }

    // A delete in B touches nothing of A; resetting A leaves B intact.
    let conversation = server.store.read_rows(SCOPE_B, "conversations", None, 1).await.expect("rows").remove(0);
    server
        .store
        .write(SCOPE_B, vec![Write::Delete { collection: "conversations".into(), id: conversation.id }])
        .await
        .expect("delete");
    b.engine.sync(SCOPE_B, SyncOptions::default()).await.expect("sync B again");
    let v = verify(a.store.as_ref(), server.store.as_ref(), SCOPE_A).await;
    assert!(v.is_exact());
    a.store.reset(SCOPE_A).await.expect("reset A");
    assert!(a.store.read_rows(SCOPE_A, "messages", None, 1).await.expect("rows").is_empty());
    let v = verify(b.store.as_ref(), server.store.as_ref(), SCOPE_B).await;
    assert!(v.is_exact(), "{:?}", v.differences);

    // After a reset the next sync starts from scratch and ends exact.
    a.engine.sync(SCOPE_A, SyncOptions::default()).await.expect("resync A");
    assert!(verify(a.store.as_ref(), server.store.as_ref(), SCOPE_A).await.is_exact());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_for_one_integration_cannot_read_another() {
    let server = server(SIZES).await;
    let db = server.path("thief.db");
    let thief = server.client(&db, TOKEN_A);
    let err = thief.engine.sync(SCOPE_B, SyncOptions::default()).await.expect_err("token A must not read B");
    assert_eq!(err.code(), ErrorCode::Forbidden, "{err}");
    let stats = thief.store.stats().await.expect("stats");
    assert!(stats.counts.values().all(|n| *n == 0), "nothing of B was stored: {stats:?}");

    let http =
        reqwest_get(&format!("{}/sync/messages/{SCOPE_B}?since_seq=0&limit=5", server.running.url()), TOKEN_A).await;
    assert_eq!(http.0, 403);
    assert!(!http.1.contains("\"messages\""), "no rows in the answer: {}", http.1);
}

async fn reqwest_get(url: &str, token: &str) -> (u16, String) {
    let response = reqwest::Client::new().get(url).bearer_auth(token).send().await.expect("request");
    (response.status().as_u16(), response.text().await.expect("body"))
}
