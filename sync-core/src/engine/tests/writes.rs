//! Local writes through the engine: optimistic apply, push before pull, a lost answer retried, rejections rolled
//! back, two clients converging per field, batches, and the live loop pushing on its own.

use serde_json::json;

use super::*;
use crate::error::TransportError;
use crate::mutation::{MutationOp, MutationOutcome};
use crate::outbox::{LocalWrite, WriteState};
use crate::testing::PushFault;

fn post_write(id: &str, op: MutationOp, fields: serde_json::Value) -> LocalWrite {
    let fields = match fields {
        serde_json::Value::Object(map) => map.into_iter().collect(),
        _ => Default::default(),
    };
    LocalWrite { collection: "posts".into(), id: id.into(), op, fields }
}

fn insert(id: &str, body: &str) -> LocalWrite {
    post_write(id, MutationOp::Insert, json!({"thread_id": "t0", "body": body}))
}

async fn server_post(fixture: &Fixture, id: &str) -> Option<Vec<Value>> {
    fixture.server.get("s", "posts", id).await.expect("get")
}

fn offline() -> PushFault {
    PushFault::Fail(TransportError::Network("offline".into()))
}

#[tokio::test]
async fn offline_writes_are_shown_at_once_and_reach_the_server_on_reconnect() {
    let fixture = Fixture::new(config().with_max_retries(0), vec![]);
    populate(&fixture, "s", 1, 1).await;
    fixture.sync("s").await.expect("first sync");

    fixture.transport.fail_pushes(vec![offline()]);
    fixture.engine.mutate("s", insert("new", "written offline")).await.expect("insert");
    fixture.engine.mutate("s", post_write("p0", MutationOp::Update, json!({"likes": 42}))).await.expect("update");
    fixture.engine.mutate("s", insert("gone", "soon deleted")).await.expect("insert");
    fixture.engine.mutate("s", post_write("gone", MutationOp::Delete, json!({}))).await.expect("delete");
    let rows = fixture.client.rows("s", "posts");
    assert_eq!(rows["new"].1[1], Value::from("written offline"), "visible before any push");
    assert_eq!(rows["p0"].1[3], Value::Integer(42));
    assert!(!rows.contains_key("gone"));

    let err = fixture.sync("s").await.expect_err("offline");
    assert_eq!(err.code(), ErrorCode::Network);
    let pending = fixture.engine.pending_writes("s").await.expect("pending");
    assert_eq!(pending.len(), 4);
    assert!(pending.iter().all(|w| w.state == WriteState::Pending));
    assert!(server_post(&fixture, "new").await.is_none(), "nothing reached the server");

    fixture.sync("s").await.expect("back online");
    assert_eq!(server_post(&fixture, "new").await.expect("pushed")[1], Value::from("written offline"));
    assert_eq!(server_post(&fixture, "p0").await.expect("row")[3], Value::Integer(42));
    assert!(server_post(&fixture, "gone").await.is_none());
    assert!(fixture.engine.pending_writes("s").await.expect("pending").is_empty(), "settled by the pull");
    fixture.assert_exact("s").await;
}

#[tokio::test(start_paused = true)]
async fn a_push_whose_answer_was_lost_is_retried_and_applied_once() {
    let fixture = Fixture::new(config(), vec![]);
    populate(&fixture, "s", 1, 0).await;
    fixture.sync("s").await.expect("first sync");
    let mut events = fixture.engine.write_events();
    let before = fixture.server.status("s").await.expect("status").latest_seq;

    fixture.transport.fail_pushes(vec![PushFault::LoseAnswer]);
    let m = fixture.engine.mutate("s", insert("once", "hello")).await.expect("insert");
    fixture.sync("s").await.expect("sync");
    assert_eq!(fixture.transport.push_calls(), 2, "the lost answer was retried");
    let event = events.try_recv().expect("an event");
    assert_eq!((event.mutation_id, event.id.as_str()), (m.mutation_id, "once"));
    assert!(matches!(event.outcome, MutationOutcome::AlreadyApplied { .. }), "{event:?}");
    let after = fixture.server.status("s").await.expect("status").latest_seq;
    assert_eq!(after, before + 1, "one change, not two");
    fixture.assert_exact("s").await;
}

#[tokio::test]
async fn a_rejected_write_is_rolled_back_and_reported() {
    let fixture = Fixture::new(config(), vec![]);
    populate(&fixture, "s", 1, 1).await;
    fixture.sync("s").await.expect("first sync");
    let mut events = fixture.engine.write_events();

    fixture.write("s", vec![delete("posts", "p0")]).await;
    fixture.engine.mutate("s", post_write("p0", MutationOp::Update, json!({"body": "edit"}))).await.expect("edit");
    assert_eq!(fixture.client.rows("s", "posts")["p0"].1[1], Value::from("edit"));
    fixture.sync("s").await.expect("sync");
    let event = events.try_recv().expect("an event");
    assert!(matches!(&event.outcome, MutationOutcome::Rejected { code, .. } if code == "deleted"), "{event:?}");
    assert!(fixture.client.rows("s", "posts").is_empty(), "an edit never resurrects a deleted row");
    assert!(fixture.engine.pending_writes("s").await.expect("pending").is_empty());
    fixture.assert_exact("s").await;
}

#[tokio::test]
async fn writes_the_schema_refuses_change_nothing() {
    let fixture = Fixture::new(config(), vec![]);
    populate(&fixture, "s", 1, 0).await;
    fixture.sync("s").await.expect("first sync");
    let refused = [
        LocalWrite { collection: "threads".into(), ..insert("x", "read-only collection") },
        LocalWrite { collection: "nope".into(), ..insert("x", "unknown collection") },
        insert("", "empty id"),
        post_write("x", MutationOp::Insert, json!({"body": "no thread_id"})),
        post_write("x", MutationOp::Insert, json!({"thread_id": "t0", "likes": "many"})),
        post_write("x", MutationOp::Insert, json!({"thread_id": "t0", "seq": 5})),
        post_write("x", MutationOp::Delete, json!({"body": "fields on a delete"})),
    ];
    for write in refused {
        let err = fixture.engine.mutate("s", write.clone()).await.expect_err("refused");
        assert_eq!(err.code(), ErrorCode::InvalidWrite, "{write:?}: {err}");
    }
    assert!(fixture.engine.pending_writes("s").await.expect("pending").is_empty());
    assert!(fixture.client.rows("s", "posts").is_empty());
}

#[tokio::test]
async fn two_clients_editing_one_row_converge_per_field() {
    let a = Fixture::new(config(), vec![]);
    populate(&a, "s", 1, 1).await;
    let b = Fixture::over(a.server.clone(), Arc::new(MemoryStore::new()), config(), vec![]);
    a.sync("s").await.expect("a");
    b.sync("s").await.expect("b");

    a.engine
        .mutate("s", post_write("p0", MutationOp::Update, json!({"body": "from a", "likes": 1})))
        .await
        .expect("a local write");
    b.engine
        .mutate("s", post_write("p0", MutationOp::Update, json!({"likes": 2, "score": 9.5})))
        .await
        .expect("a local write");
    a.sync("s").await.expect("a pushes");
    b.sync("s").await.expect("b pushes after a: b's likes win");
    a.sync("s").await.expect("a catches up");
    let server = server_post(&a, "p0").await.expect("row");
    assert_eq!((&server[1], &server[2], &server[3]), (&Value::from("from a"), &Value::Real(9.5), &Value::Integer(2)));
    a.assert_exact("s").await;
    b.assert_exact("s").await;
}

#[tokio::test]
async fn a_large_outbox_is_pushed_in_batches() {
    let fixture = Fixture::new(config(), vec![]);
    populate(&fixture, "s", 1, 0).await;
    fixture.sync("s").await.expect("first sync");
    let n = crate::engine::PUSH_BATCH * 2 + 7;
    for i in 0..n {
        fixture.engine.mutate("s", insert(&format!("m{i:05}"), "burst")).await.expect("insert");
    }
    let report = fixture.engine.push("s", &Default::default()).await.expect("push");
    assert_eq!((report.pushed, report.applied, report.requests), (n as u64, n as u64, 3));
    fixture.sync("s").await.expect("sync");
    assert_eq!(fixture.server.read_rows("s", "posts", None, 10_000).await.expect("rows").len(), n);
    assert!(fixture.engine.pending_writes("s").await.expect("pending").is_empty());
    fixture.assert_exact("s").await;
}

#[tokio::test]
async fn the_live_loop_pushes_a_local_write_and_settles_it() {
    let fixture = Arc::new(Fixture::new(config(), vec![]));
    populate(&fixture, "s", 1, 0).await;
    let cancel = crate::CancellationToken::new();
    let options = crate::live::FollowOptions { cancel: cancel.clone(), ..Default::default() };
    let following = {
        let fixture = fixture.clone();
        tokio::spawn(async move { fixture.engine.follow("s", options).await })
    };
    while fixture.client.rows("s", "threads").is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    fixture.engine.mutate("s", insert("live", "pushed by follow")).await.expect("insert");
    let settled = async {
        while !fixture.engine.pending_writes("s").await.expect("pending").is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), settled).await.expect("pushed and settled without a sync call");
    assert!(server_post(&fixture, "live").await.is_some());
    cancel.cancel();
    following.await.expect("join").expect("follow ends cleanly");
    fixture.assert_exact("s").await;
}
