//! A pushed write reaches another client that follows the server by the live path, not by its periodic
//! re-check (`RECHECK`, 2 s): on each store through the same server, and on PostgreSQL through a second server
//! instance whose only news of the commit is its poll of the heads. A subscription change wakes a following
//! client: the conversation subscribed or unarchived is pulled at once, with nothing new on the server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use server_example::hook::WhatsAppHook;
use server_example::serve::start;
use sync_cli::Client;
use sync_core::{CancellationToken, ClientStore as _};
use tokio::sync::broadcast;

use crate::selective::{self, seeded};
use crate::subscriptions::{assert_exact, client as subscribed_client, strings};
use crate::support::{Harness, Kind, SCOPE, config, message, sync};

/// Well under the stores' 2 s re-check of a waiting long-poll: only a hint delivers the write this soon.
const SOON: Duration = Duration::from_millis(1500);

on_both_stores!(a_pushed_write_reaches_a_following_client_at_once);

/// Waits until `events` says `id` of `collection` arrived; returns how long it took.
async fn arrival(
    events: &mut broadcast::Receiver<sync_core::live::ChangeEvent>,
    collection: &str,
    id: &str,
) -> Duration {
    let started = Instant::now();
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), events.recv()).await;
        let event = event.expect("the write arrived within 10 s").expect("an event");
        if event.collection.as_deref() == Some(collection) && event.upserted.iter().any(|k| k == id) {
            return started.elapsed();
        }
    }
}

/// `reader` follows its server; `writer` writes `id` and pushes it. Returns how long the write took to arrive.
async fn push_to_follower(writer: &Client, reader: Arc<Client>, id: &str) -> Duration {
    sync(&reader).await;
    let mut events = reader.changes.subscribe();
    let cancel = CancellationToken::new();
    let follower = tokio::spawn({
        let (reader, cancel) = (reader.clone(), cancel.clone());
        async move { reader.follow(None, Some(cancel), Some(Duration::from_secs(20))).await }
    });
    // Let the follower reach its long-poll.
    tokio::time::sleep(Duration::from_millis(300)).await;
    writer.mutate(message(id, "c1", "live")).await.expect("write");
    sync(writer).await;
    let took = arrival(&mut events, "messages", id).await;
    cancel.cancel();
    follower.await.expect("follower").expect("follow ends when cancelled");
    took
}

async fn a_pushed_write_reaches_a_following_client_at_once(kind: Kind) {
    let Some(h) = Harness::new(kind).await else { return };
    let (writer, reader) = (h.client("writer"), Arc::new(h.client("reader")));
    let took = push_to_follower(&writer, reader.clone(), "m-live").await;
    assert!(took < SOON, "{kind:?}: the push woke the follower after {took:?}");
    h.assert_exact(&reader).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_to_one_postgres_instance_reaches_a_client_of_another_at_once() {
    let Some(h) = Harness::new(Kind::Postgres).await else { return };
    // Instance B: another store on the same schema, told of commits only by its poll of the heads.
    let other = h.db.as_ref().expect("a PostgreSQL harness").store_with_hook(Arc::new(WhatsAppHook)).await;
    let stop_live = CancellationToken::new();
    other.start_live(None, stop_live.clone()).await.expect("start the heads poll");
    let server_b = start(other, config(), "127.0.0.1:0").await.expect("start instance B");
    let writer = h.client("writer");
    let reader = Arc::new(h.client_of(&server_b.url(), "reader"));
    let took = push_to_follower(&writer, reader.clone(), "m-across").await;
    assert!(took < SOON, "the heads poll woke instance B's follower after {took:?}");
    h.assert_exact(&reader).await;
    stop_live.cancel();
    server_b.stop().await.expect("stop instance B");
}

on_both_stores!(a_subscription_change_wakes_a_following_client);

/// The conversation of message `id` on `client`, if it holds it.
async fn conversation_of(client: &Client, id: &str) -> Option<sync_core::Value> {
    let rows = client.store.read_rows(SCOPE, "messages", None, 10_000).await.expect("read");
    rows.into_iter().find(|row| row.id == id).map(|row| row.values[0].clone())
}

/// Waits until `client` holds message `id` in `conversation`; returns how long it took.
async fn held(client: &Client, id: &str, conversation: &str) -> Duration {
    let started = Instant::now();
    loop {
        if conversation_of(client, id).await == Some(conversation.into()) {
            return started.elapsed();
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{id} did not arrive within 10 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A client subscribed to c1 follows its server with a 20 s long-poll; subscribing to c2 and unarchiving c1
/// (written to while archived) each bring the rows at once, with no change on the server to wake the loop.
async fn a_subscription_change_wakes_a_following_client(kind: Kind) {
    let Some(h) = seeded(kind).await else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let reader = Arc::new(subscribed_client(&h, &dir, "reader"));
    reader.subscribe(strings(&["c1"])).await.expect("subscribe");
    reader.sync(None, None, None).await.expect("sync");
    let cancel = CancellationToken::new();
    let follower = tokio::spawn({
        let (reader, cancel) = (reader.clone(), cancel.clone());
        async move { reader.follow(None, Some(cancel), Some(Duration::from_secs(20))).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    reader.subscribe(strings(&["c2"])).await.expect("subscribe c2");
    let took = held(&reader, "m2-19", "c2").await;
    assert!(took < SOON, "{kind:?}: c2's rows came {took:?} after the subscription");

    reader.archive(strings(&["c1"])).await.expect("archive c1");
    h.write(vec![selective::message("m1-late", "c1", "while archived")]).await;
    // The write wakes the follower, whose sync skips c1; then nothing changes on the server.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(conversation_of(&reader, "m1-late").await, None, "c1 is archived");
    reader.unarchive(strings(&["c1"])).await.expect("unarchive c1");
    let took = held(&reader, "m1-late", "c1").await;
    assert!(took < SOON, "{kind:?}: c1 caught up {took:?} after the unarchive");
    cancel.cancel();
    follower.await.expect("follower").expect("follow ends when cancelled");
    assert_exact(&h, &reader, Some(&["c1", "c2"])).await;
}
