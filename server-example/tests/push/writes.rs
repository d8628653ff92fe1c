//! Engines writing over real loopback HTTP to the example server, on each store: offline writes pushed on
//! reconnect, a lost answer retried and applied once, bursts from one and two clients while they sync, and two
//! clients' conflicting edits converging per the documented policy (ARCHITECTURE.md, "Client writes"), also in
//! random interleavings (the policy itself is checked against a model by each store's push tests).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use server_example::whatsapp;
use sync_cli::Client;
use sync_core::outbox::WriteState;
use sync_core::testing::{FaultyTransport, PushFault};
use sync_core::{ErrorCode, MutationOp, MutationOutcome, SyncConfig, SyncEngine, SyncOptions, Value, WriteEvent};
use sync_http::HttpTransport;
use sync_sqlite::SqliteStore;
use tokio::sync::broadcast;

use crate::support::{Harness, Kind, SCOPE, TOKEN, conversation, message, sync, write};

on_both_stores!(
    offline_writes_reach_the_server_on_reconnect,
    a_push_whose_answer_was_lost_applies_once,
    a_burst_of_1000_writes_while_syncing_arrives_once,
    two_clients_writing_500_each_at_once_all_arrive_once,
    conflicting_edits_converge_per_the_policy,
    random_interleavings_converge,
);

fn update(collection: &str, id: &str, fields: serde_json::Value) -> sync_core::outbox::LocalWrite {
    write(collection, id, MutationOp::Update, fields)
}

fn delete(collection: &str, id: &str) -> sync_core::outbox::LocalWrite {
    write(collection, id, MutationOp::Delete, json!({}))
}

/// Column positions in `whatsapp::schema()`.
const ARCHIVED: usize = 3;
const PINNED: usize = 4;
const UNREAD: usize = 6;
const BODY: usize = 4;

async fn offline_writes_reach_the_server_on_reconnect(kind: Kind) {
    let Some(mut h) = Harness::new(kind).await else { return };
    let client = h.client("phone");
    client.mutate(message("m0", "c1", "online")).await.expect("write");
    sync(&client).await;
    let addr = h.stop().await;

    for w in [
        message("m1", "c1", "written offline"),
        update("conversations", "c1", json!({"archived": true})),
        conversation("c2"),
        message("m2", "c2", "into a new chat"),
        update("messages", "m1", json!({"body": "edited offline"})),
        delete("messages", "m0"),
    ] {
        client.mutate(w).await.expect("an offline write succeeds locally");
    }
    let err = client.engine.sync(SCOPE, SyncOptions::default()).await.expect_err("the server is down");
    assert_eq!(err.code(), ErrorCode::Network, "{err}");
    let pending = client.pending_writes().await.expect("pending");
    assert_eq!(pending.len(), 6);
    assert!(pending.iter().all(|w| w.state == WriteState::Pending), "{pending:?}");

    h.restart(addr).await;
    sync(&client).await;
    assert_eq!(h.row("messages", "m1").await.expect("pushed")[BODY], Value::from("edited offline"));
    assert_eq!(h.row("messages", "m2").await.expect("pushed")[0], Value::from("c2"));
    assert_eq!(h.row("conversations", "c1").await.expect("live")[ARCHIVED], Value::Bool(true));
    assert_eq!(h.row("messages", "m0").await, None, "the offline delete reached the server");
    h.assert_exact(&client).await;
}

/// Events until the channel is empty.
fn drain(events: &mut broadcast::Receiver<WriteEvent>) -> Vec<WriteEvent> {
    std::iter::from_fn(|| events.try_recv().ok()).collect()
}

async fn a_push_whose_answer_was_lost_applies_once(kind: Kind) {
    let Some(h) = Harness::new(kind).await else { return };
    let replica = Arc::new(SqliteStore::open(h.dir.path().join("phone.db")).expect("open"));
    let http = HttpTransport::new(&h.url(), Some(TOKEN)).expect("transport");
    let transport = Arc::new(FaultyTransport::new(http, vec![]));
    let engine = SyncEngine::new(replica.clone(), transport.clone(), SyncConfig::default().with_max_retries(0));
    engine.sync(SCOPE, SyncOptions::default()).await.expect("first sync");
    let mut events = engine.write_events();

    // The push reaches the server, its answer does not; no retry in this sync.
    transport.fail_pushes(vec![PushFault::LoseAnswer]);
    engine.mutate(SCOPE, update("conversations", "c1", json!({"unread_count": 5}))).await.expect("write");
    engine.mutate(SCOPE, message("m1", "c1", "hello")).await.expect("write");
    engine.sync(SCOPE, SyncOptions::default()).await.expect_err("the answer was lost");
    let before = h.latest_seq().await;
    assert_eq!(h.row("conversations", "c1").await.expect("live")[UNREAD], Value::Integer(5), "it was applied");
    // Another writer changes the same field before the retry: applying the retried push again would undo it.
    h.store
        .push(
            SCOPE,
            sync_core::PushRequest {
                client_id: "laptop".into(),
                mutations: vec![sync_core::Mutation {
                    mutation_id: 1,
                    collection: "conversations".into(),
                    id: "c1".into(),
                    op: MutationOp::Update,
                    fields: BTreeMap::from([("unread_count".to_owned(), json!(9))]),
                    base_seq: None,
                }],
            },
        )
        .await
        .expect("another client's push");

    engine.sync(SCOPE, SyncOptions::default()).await.expect("the retry");
    assert_eq!(transport.push_calls(), 2);
    let outcomes: Vec<_> = drain(&mut events).into_iter().map(|e| e.outcome).collect();
    assert!(outcomes.iter().all(|o| matches!(o, MutationOutcome::AlreadyApplied { .. })), "{outcomes:?}");
    assert_eq!(outcomes.len(), 2);
    assert_eq!(h.latest_seq().await, before + 1, "only the other client's write took a seq");
    assert_eq!(h.row("conversations", "c1").await.expect("live")[UNREAD], Value::Integer(9), "not undone");
    let verification =
        sync_core::verify_scope(&whatsapp::schema(), SCOPE, replica.as_ref(), h.store.as_ref()).await.expect("verify");
    assert!(verification.is_exact(), "{:?}", verification.differences);
}

/// Writes `n` messages `{prefix}{i}` from `client` while a task syncs it over and over; then syncs it once more.
/// Returns the outcome of each mutation id as its write events told it.
async fn burst(client: Arc<Client>, prefix: &str, n: usize) -> BTreeMap<u64, Vec<MutationOutcome>> {
    let mut events = client.engine.write_events();
    let done = Arc::new(AtomicBool::new(false));
    let syncer = tokio::spawn({
        let (client, done) = (client.clone(), done.clone());
        async move {
            while !done.load(Ordering::SeqCst) {
                sync(&client).await;
            }
        }
    });
    let mut answered = Vec::new();
    for i in 0..n {
        client.mutate(message(&format!("{prefix}{i}"), "c1", &format!("burst {i}"))).await.expect("write");
        if i == n / 2 {
            // The second half is written while pushes of the first are answered.
            let first = tokio::time::timeout(Duration::from_secs(10), events.recv()).await;
            answered.push(first.expect("a push answered in time").expect("an event"));
        }
    }
    done.store(true, Ordering::SeqCst);
    syncer.await.expect("syncer");
    sync(&client).await;
    let mut outcomes: BTreeMap<u64, Vec<MutationOutcome>> = BTreeMap::new();
    answered.extend(drain(&mut events));
    for event in answered {
        outcomes.entry(event.mutation_id).or_default().push(event.outcome);
    }
    outcomes
}

/// Every mutation answered once, applied with a seq of its own.
fn assert_applied_once(outcomes: &BTreeMap<u64, Vec<MutationOutcome>>, n: usize) -> Vec<i64> {
    assert_eq!(outcomes.len(), n, "one answer per mutation");
    let mut seqs: Vec<i64> = outcomes
        .values()
        .map(|o| match o.as_slice() {
            [MutationOutcome::Applied { seq: Some(seq) }] => *seq,
            other => panic!("answered {other:?}"),
        })
        .collect();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), n, "each write took a seq of its own");
    seqs
}

async fn assert_messages(h: &Harness, prefixes: &[&str], n: usize) {
    for prefix in prefixes {
        for i in 0..n {
            let row = h.row("messages", &format!("{prefix}{i}")).await.unwrap_or_else(|| panic!("{prefix}{i} lost"));
            assert_eq!(row[BODY], Value::from(format!("burst {i}")));
        }
    }
}

async fn a_burst_of_1000_writes_while_syncing_arrives_once(kind: Kind) {
    let Some(h) = Harness::new(kind).await else { return };
    let client = Arc::new(h.client("phone"));
    sync(&client).await;
    let before = h.latest_seq().await;
    let outcomes = burst(client.clone(), "b", 1000).await;
    assert_applied_once(&outcomes, 1000);
    assert_eq!(h.latest_seq().await, before + 1000, "1,000 changes on the server, no more");
    assert_messages(&h, &["b"], 1000).await;
    h.assert_exact(&client).await;
}

async fn two_clients_writing_500_each_at_once_all_arrive_once(kind: Kind) {
    let Some(h) = Harness::new(kind).await else { return };
    let (a, b) = (Arc::new(h.client("a")), Arc::new(h.client("b")));
    sync(&a).await;
    sync(&b).await;
    let before = h.latest_seq().await;
    let (from_a, from_b) = tokio::join!(burst(a.clone(), "a", 500), burst(b.clone(), "b", 500));
    let mut seqs = assert_applied_once(&from_a, 500);
    seqs.extend(assert_applied_once(&from_b, 500));
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), 1000, "no two writes share a seq");
    assert_eq!(h.latest_seq().await, before + 1000);
    assert_messages(&h, &["a", "b"], 500).await;
    // Each pulls what the other pushed after its last sync.
    sync(&a).await;
    sync(&b).await;
    h.assert_exact(&a).await;
    h.assert_exact(&b).await;
}

async fn conflicting_edits_converge_per_the_policy(kind: Kind) {
    let Some(h) = Harness::new(kind).await else { return };
    let (a, b) = (h.client("a"), h.client("b"));
    a.mutate(message("m1", "c1", "one")).await.expect("write");
    a.mutate(message("m3", "c1", "three")).await.expect("write");
    sync(&a).await;
    sync(&b).await;
    let mut b_events = b.engine.write_events();

    // Both edit offline: different fields, the same field, and an edit of a row the other deletes.
    a.mutate(update("conversations", "c1", json!({"archived": true, "unread_count": 5}))).await.expect("a");
    a.mutate(delete("messages", "m1")).await.expect("a");
    b.mutate(update("conversations", "c1", json!({"pinned": true, "unread_count": 7}))).await.expect("b");
    b.mutate(update("messages", "m1", json!({"body": "edited"}))).await.expect("b");
    b.mutate(update("messages", "m3", json!({"body": "edited"}))).await.expect("b");
    sync(&a).await;
    sync(&b).await;
    // `a` has not seen b's edit of m3 and deletes it: the delete commits later and wins.
    a.mutate(delete("messages", "m3")).await.expect("a");
    sync(&a).await;
    sync(&b).await;

    let rejected: Vec<_> = drain(&mut b_events)
        .into_iter()
        .filter_map(|e| match e.outcome {
            MutationOutcome::Rejected { code, .. } => Some((e.id, code)),
            _ => None,
        })
        .collect();
    assert_eq!(rejected, [("m1".to_owned(), "deleted".to_owned())], "an edit never revives a deleted row");
    let c1 = h.row("conversations", "c1").await.expect("live");
    assert_eq!((&c1[ARCHIVED], &c1[PINNED]), (&Value::Bool(true), &Value::Bool(true)), "both fields kept");
    assert_eq!(c1[UNREAD], Value::Integer(7), "the same field: the later commit's value");
    assert_eq!((h.row("messages", "m1").await, h.row("messages", "m3").await), (None, None));
    h.assert_exact(&a).await;
    h.assert_exact(&b).await;
}

/// A random write of one of a few rows: messages m0..m2 of `c1`, fields of `c1`, and rarely `c1` itself deleted
/// (cascading to its messages; later message writes are then refused by the hook) or inserted again.
fn random_write(rng: &mut StdRng, tag: &str) -> sync_core::outbox::LocalWrite {
    let m = format!("m{}", rng.random_range(0..3));
    match rng.random_range(0..10) {
        0..=2 => message(&m, "c1", tag),
        3..=4 => update("messages", &m, json!({"body": tag})),
        5 => delete("messages", &m),
        6..=7 => update("conversations", "c1", json!({"unread_count": rng.random_range(0..3)})),
        8 => {
            update("conversations", "c1", json!({["archived", "pinned"][rng.random_range(0..2)]: rng.random_bool(0.5)}))
        }
        _ if rng.random_bool(0.5) => delete("conversations", "c1"),
        _ => conversation("c1"),
    }
}

async fn random_interleavings_converge(kind: Kind) {
    for seed in 0..3 {
        let Some(h) = Harness::new(kind).await else { return };
        let mut rng = StdRng::seed_from_u64(seed);
        let clients = [h.client("a"), h.client("b")];
        for round in 0..30 {
            let c = &clients[rng.random_range(0..2)];
            for _ in 0..rng.random_range(1..4) {
                c.mutate(random_write(&mut rng, &format!("{seed}.{round}"))).await.expect("a local write");
            }
            if rng.random_bool(0.5) {
                sync(&clients[rng.random_range(0..2)]).await;
            }
        }
        for c in clients.iter().chain(&clients) {
            sync(c).await;
        }
        for c in &clients {
            h.assert_exact(c).await;
        }
    }
}
