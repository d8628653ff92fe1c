//! Subscriptions through `sync-client` over real loopback HTTP on both stores: a subscribed set ends exact for
//! exactly its conversations (`verify_subset`: a row of another conversation on the client is a difference),
//! and sequences of subscribe, unsubscribe, archive and unarchive with server writes (moves across
//! conversations, edits, deletes, cascades) in between end exact.

use std::collections::BTreeSet;

use server_example::whatsapp;
use sync_cli::{Client, ClientOptions};
use sync_core::{ClientStore, SyncReport, Write, verify_subset};

use crate::selective::{Served, conversation, delete, message, seeded};
use crate::support::{Kind, SCOPE, TOKEN};

pub fn client(h: &Served, dir: &tempfile::TempDir, name: &str) -> Client {
    let options = ClientOptions {
        db: dir.path().join(format!("{name}.db")),
        url: h.server.url(),
        token: Some(TOKEN.into()),
        scope: SCOPE.into(),
        max_retries: Some(1),
        // Small pages, so that pulls cross page boundaries.
        page_sizes: vec![("messages".into(), 7)],
        ..Default::default()
    };
    Client::open(options).expect("open client")
}

fn set(values: &[&str]) -> BTreeSet<String> {
    values.iter().map(|v| (*v).to_owned()).collect()
}

pub fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| (*v).to_owned()).collect()
}

async fn sync(client: &Client) -> SyncReport {
    client.sync(None, None, None).await.expect("sync")
}

/// Asserts that `client` holds exactly the server's rows of `values` (all of them for `None`) and nothing else.
pub async fn assert_exact(h: &Served, client: &Client, values: Option<&[&str]>) {
    let schema = whatsapp::schema();
    let values = values.map(set);
    let verification =
        verify_subset(&schema, SCOPE, client.store.as_ref(), h.store.as_ref(), values.as_ref()).await.expect("verify");
    assert!(verification.is_exact(), "{values:?}: {:?}", verification.differences);
    assert!(verification.rows() > 0);
}

fn messages(report: &SyncReport) -> u64 {
    report.collections.iter().filter(|c| c.collection == "messages").map(|c| c.upserted + c.deleted).sum()
}

pub async fn a_subscription_holds_exactly_its_conversations(kind: Kind) {
    let Some(h) = seeded(kind).await else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let client = client(&h, &dir, "subset");
    client.subscribe(strings(&["c1", "c3"])).await.expect("subscribe");
    let report = sync(&client).await;
    assert_eq!(messages(&report), 40, "only the two conversations' messages are fetched");
    assert_exact(&h, &client, Some(&["c1", "c3"])).await;

    // Moves out, across and in, an edit, a delete and a cascade.
    h.write(vec![message("m1-0", "c2", "moved out")]).await;
    h.write(vec![message("m3-0", "c1", "moved across")]).await;
    h.write(vec![message("m4-0", "c3", "moved in")]).await;
    h.write(vec![message("m1-1", "c5", "away")]).await;
    h.write(vec![message("m1-1", "c1", "back")]).await;
    h.write(vec![message("m3-1", "c3", "edited"), delete("messages", "m3-2"), delete("conversations", "c5")]).await;
    sync(&client).await;
    assert_exact(&h, &client, Some(&["c1", "c3"])).await;

    // A conversation added later: only its rows are fetched.
    client.subscribe(strings(&["c4"])).await.expect("subscribe c4");
    let report = sync(&client).await;
    assert_eq!(messages(&report), 19, "c4's messages only (m4-0 moved to c3)");
    assert_exact(&h, &client, Some(&["c1", "c3", "c4"])).await;

    // Archived: frozen (readable), not synced; unarchived: caught up from where it stopped.
    client.archive(strings(&["c1"])).await.expect("archive");
    h.write(vec![message("m1-new", "c1", "while archived"), message("m1-2", "c1", "edited while archived")]).await;
    h.write(vec![message("m3-3", "c1", "moved into the archived one"), message("m4-1", "c3", "c4 to c3")]).await;
    sync(&client).await;
    let held = client.store.read_rows(SCOPE, "messages", None, 1_000).await.expect("read");
    let body = |id: &str| held.iter().find(|r| r.id == id).map(|r| r.values[4].clone());
    assert_eq!(body("m1-new"), None, "an archived conversation is not synced");
    assert_eq!(body("m1-2"), Some("hello 2".into()), "its rows stay as they were");
    assert_eq!(body("m3-3"), None, "a row that moved into it left c3 and waits for the unarchive");
    assert_eq!(body("m4-1"), Some("c4 to c3".into()));
    client.unarchive(strings(&["c1"])).await.expect("unarchive");
    sync(&client).await;
    assert_exact(&h, &client, Some(&["c1", "c3", "c4"])).await;

    // Unsubscribed: evicted at once, children included; the others stay exact through more writes.
    client.unsubscribe(strings(&["c3"])).await.expect("unsubscribe");
    let held = client.store.read_rows(SCOPE, "messages", None, 1_000).await.expect("read");
    assert!(held.iter().all(|r| r.values[0] != "c3".into()), "c3's messages are evicted");
    h.write(vec![message("m3-4", "c4", "c3 to c4"), message("m4-2", "c2", "c4 to c2"), conversation("c6", 9)]).await;
    sync(&client).await;
    assert_exact(&h, &client, Some(&["c1", "c4"])).await;
    let bad = client.archive(strings(&["c3"])).await.expect_err("not subscribed");
    assert_eq!(bad.code(), sync_core::ErrorCode::InvalidArgument, "{bad}");

    // Back to everything.
    client.subscribe_everything().await.expect("everything");
    sync(&client).await;
    assert_exact(&h, &client, None).await;
}

pub async fn subscribing_after_a_full_sync_fetches_nothing_again(kind: Kind) {
    let Some(h) = seeded(kind).await else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let client = client(&h, &dir, "full");
    sync(&client).await;
    assert_exact(&h, &client, None).await;
    client.subscribe(strings(&["c2", "c5"])).await.expect("subscribe");
    let report = sync(&client).await;
    assert_eq!(report.rows(), 0, "the kept conversations are current: {report:?}");
    assert_exact(&h, &client, Some(&["c2", "c5"])).await;
    let writes: Vec<Write> = (0..30).map(|i| message(&format!("n{i}"), ["c2", "c3"][i % 2], "new")).collect();
    h.write(writes).await;
    let report = sync(&client).await;
    assert_eq!(messages(&report), 15, "only c2's new messages");
    assert_exact(&h, &client, Some(&["c2", "c5"])).await;
}
