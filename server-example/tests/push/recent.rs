//! The recent-first sync through `sync-client` over real loopback HTTP on both stores: the chat list lands first
//! (no message yet), then the newest messages of each conversation, newest conversation first, then the
//! backfill, ending exact; a prioritized conversation's whole history lands ahead of it; with a subscription,
//! only the subscribed conversations.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use sync_cli::Client;
use sync_core::{ClientStore, RecentEvent, RecentFn};

use crate::selective::seeded;
use crate::subscriptions::{assert_exact, client, strings};
use crate::support::{Kind, SCOPE};

/// An event and what the replica held when it came: conversation ids, message ids.
type Seen = (RecentEvent, BTreeSet<String>, BTreeSet<String>);

/// Runs a recent-first sync of `client` with `per_value` on a worker thread (the listener reads the replica
/// while the sync waits for it) and returns what each event saw.
async fn recent_first(client: &Arc<Client>, per_value: usize) -> Vec<Seen> {
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let (store, log) = (client.store.clone(), seen.clone());
    let listener: RecentFn = Arc::new(move |event: &RecentEvent| {
        let ids = |collection: &str| -> BTreeSet<String> {
            let read = store.read_rows(SCOPE, collection, None, 100_000);
            let rows = tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(read));
            rows.expect("read").into_iter().map(|r| r.id).collect()
        };
        let seen = (event.clone(), ids("conversations"), ids("messages"));
        log.lock().expect("log").push(seen);
    });
    let syncing = client.clone();
    let task =
        tokio::spawn(async move { syncing.sync_recent_first(Some(per_value), Some(listener), None, None).await });
    task.await.expect("join").expect("recent-first sync");
    std::mem::take(&mut *seen.lock().expect("log"))
}

fn heads(conversations: &[u32], per_value: u32) -> BTreeSet<String> {
    conversations.iter().flat_map(|c| (20 - per_value..20).map(move |i| format!("m{c}-{i}"))).collect()
}

pub async fn recent_first_shows_the_chat_list_then_heads_then_everything(kind: Kind) {
    let Some(h) = seeded(kind).await else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let client = Arc::new(client(&h, &dir, "recent"));
    let seen = recent_first(&client, 3).await;
    let (first, chats, messages) = &seen[0];
    assert_eq!(first, &RecentEvent::ChatListReady { values: 5 });
    assert_eq!((chats.len(), messages.len()), (5, 0), "the chat list comes before any message");
    let order: Vec<&RecentEvent> = seen[1..].iter().map(|(e, _, _)| e).collect();
    let landed = |c: &str| RecentEvent::HeadLanded { value: c.into() };
    let expected = ["c5", "c4", "c3", "c2", "c1"].map(landed);
    assert_eq!(order, expected.iter().collect::<Vec<_>>(), "newest conversations first");
    assert_eq!(seen[1].2, heads(&[1, 2, 3, 4, 5], 3), "the three newest messages of each, nothing else yet");
    assert_exact(&h, &client, None).await;

    // Not an initial sync any more: no head is fetched (c2's would hold the new message), only the pull.
    h.write(vec![crate::selective::message("late", "c2", "late")]).await;
    let seen = recent_first(&client, 3).await;
    assert!(seen.iter().filter(|(e, _, _)| matches!(e, RecentEvent::HeadLanded { .. })).all(|s| !s.2.contains("late")));
    assert_exact(&h, &client, None).await;
}

pub async fn prioritized_history_lands_whole_within_a_subscription(kind: Kind) {
    let Some(h) = seeded(kind).await else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let client = Arc::new(client(&h, &dir, "prioritized"));
    client.subscribe(strings(&["c1", "c2", "c4"])).await.expect("subscribe");
    client.prioritize("c3"); // not subscribed: ignored
    client.prioritize("c2");
    let seen = recent_first(&client, 2).await;
    assert_eq!(seen[0].0, RecentEvent::ChatListReady { values: 3 });
    let history: Vec<&Seen> = seen.iter().filter(|(e, _, _)| matches!(e, RecentEvent::HistoryLanded { .. })).collect();
    assert_eq!(history.len(), 1, "{:?}", seen.iter().map(|s| &s.0).collect::<Vec<_>>());
    assert_eq!(history[0].0, RecentEvent::HistoryLanded { value: "c2".into() });
    let c2: BTreeSet<String> = (0..20).map(|i| format!("m2-{i}")).collect();
    assert!(history[0].2.is_superset(&c2), "c2's whole history has landed");
    assert!(seen.iter().all(|(_, _, m)| m.iter().all(|id| !id.starts_with("m3-"))), "nothing of c3");
    assert_exact(&h, &client, Some(&["c1", "c2", "c4"])).await;
    let stored = client.store.read_rows(SCOPE, "messages", None, 1_000).await.expect("read");
    assert_eq!(stored.len(), 60);
}
