//! The conformance suite of [`ServerStore::push`]: the conflict policy, idempotence, the hook, and hostile pushes
//! that must change nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value as Json, json};

use super::{post, thread};
use crate::error::FeedError;
use crate::feed::{ServerStore, Write};
use crate::mutation::{Mutation, MutationOp, MutationOutcome, PushRequest, PushResponse};
use crate::push::{CheckedMutation, MAX_PUSH_MUTATIONS, PushHook, RowReader, RowState, Verdict};
use crate::value::Value;

/// A mutation of `posts`.
pub(super) fn mutation(mutation_id: u64, op: MutationOp, id: &str, fields: Json) -> Mutation {
    let fields = match fields {
        Json::Object(map) => map.into_iter().collect(),
        _ => BTreeMap::new(),
    };
    Mutation { mutation_id, collection: "posts".into(), id: id.into(), op, fields, base_seq: None }
}

pub(super) fn push(client_id: &str, mutations: Vec<Mutation>) -> PushRequest {
    PushRequest { client_id: client_id.into(), mutations }
}

fn seqs(response: &PushResponse) -> Vec<Option<i64>> {
    response
        .results
        .iter()
        .map(|r| match &r.outcome {
            MutationOutcome::Applied { seq } => *seq,
            other => panic!("mutation {} not applied: {other:?}", r.mutation_id),
        })
        .collect()
}

fn code(response: &PushResponse, i: usize) -> &str {
    match &response.results[i].outcome {
        MutationOutcome::Rejected { code, .. } => code,
        other => panic!("mutation {} not rejected: {other:?}", response.results[i].mutation_id),
    }
}

/// The hook of [`hook_refuses_and_rewrites`], for the store it is given.
pub fn thread_hook() -> Arc<dyn PushHook> {
    Arc::new(ThreadHook)
}

/// The hook of [`failing_hook_rolls_back`], for the store it is given.
pub fn failing_hook() -> Arc<dyn PushHook> {
    Arc::new(FailingHook)
}

async fn seed(store: &dyn ServerStore) -> i64 {
    let t = |id: &str| Write::Upsert { collection: "threads".into(), id: id.into(), values: thread(id) };
    store.write("s", vec![t("t1"), t("t2")]).await.expect("seed threads").last_seq
}

async fn latest(store: &dyn ServerStore) -> i64 {
    store.status("s").await.expect("status").latest_seq
}

/// The conflict policy: per-field updates, inserts merging, deletes, rejections `not_found` and `deleted`.
pub async fn policy(store: Arc<dyn ServerStore>) {
    let store = store.as_ref();
    let base = seed(store).await;
    let insert = mutation(1, MutationOp::Insert, "p1", json!({"thread_id": "t1", "body": "hi", "likes": 2}));
    let r = store.push("s", push("c", vec![insert])).await.expect("insert");
    assert_eq!((seqs(&r), r.last_mutation_id), (vec![Some(base + 1)], 1));
    let row = |body: &str, likes: i64, score: Value| {
        vec![Value::from("t1"), Value::from(body), score, Value::Integer(likes), Value::Null]
    };
    assert_eq!(store.get("s", "posts", "p1").await.expect("get"), Some(row("hi", 2, Value::Null)), "others null");

    let r = store
        .push(
            "s",
            push(
                "c",
                vec![
                    // A patch: only `score` changes.
                    mutation(2, MutationOp::Update, "p1", json!({"score": 1.5})),
                    // Equal to the row: applied, no seq.
                    mutation(3, MutationOp::Update, "p1", json!({"body": "hi", "score": 1.5})),
                    // An insert of a live key updates the given fields.
                    mutation(4, MutationOp::Insert, "p1", json!({"thread_id": "t1", "likes": 7})),
                    mutation(5, MutationOp::Update, "nope", json!({"likes": 1})),
                ],
            ),
        )
        .await
        .expect("updates");
    assert_eq!(
        r.results[..3].iter().map(|r| r.outcome.clone()).collect::<Vec<_>>(),
        vec![
            MutationOutcome::Applied { seq: Some(base + 2) },
            MutationOutcome::Applied { seq: None },
            MutationOutcome::Applied { seq: Some(base + 3) },
        ]
    );
    assert_eq!((code(&r, 3), r.last_mutation_id), ("not_found", 5), "a rejection still counts as processed");
    assert_eq!(store.get("s", "posts", "p1").await.expect("get"), Some(row("hi", 7, Value::Real(1.5))));

    let r = store
        .push(
            "s",
            push(
                "c",
                vec![
                    mutation(6, MutationOp::Delete, "p1", json!({})),
                    mutation(7, MutationOp::Delete, "p1", json!({})),
                    mutation(8, MutationOp::Delete, "never", json!({})),
                    mutation(9, MutationOp::Update, "p1", json!({"body": "zombie"})),
                ],
            ),
        )
        .await
        .expect("deletes");
    assert_eq!(seqs(&PushResponse { results: r.results[..3].to_vec(), ..r.clone() }), vec![Some(base + 4), None, None]);
    assert_eq!(code(&r, 3), "deleted", "an edit never resurrects a deleted row");
    assert_eq!(store.get("s", "posts", "p1").await.expect("get"), None);
    assert_eq!(latest(store).await, base + 4, "no-ops and rejections take no seq");

    // An insert of a tombstone recreates the row with only the given fields.
    let insert = mutation(10, MutationOp::Insert, "p1", json!({"thread_id": "t2", "meta": {"b": [1], "a": null}}));
    let r = store.push("s", push("c", vec![insert])).await.expect("revive");
    assert_eq!(seqs(&r), vec![Some(base + 5)]);
    let revived =
        vec![Value::from("t2"), Value::Null, Value::Null, Value::Null, Value::Json(r#"{"a":null,"b":[1]}"#.into())];
    assert_eq!(store.get("s", "posts", "p1").await.expect("get"), Some(revived));
    let page = store.page("s", "posts", base, 10).await.expect("page");
    assert_eq!(page.rows.iter().map(|r| (r.id.as_str(), r.seq)).collect::<Vec<_>>(), vec![("p1", base + 5)]);
}

/// A push sent again applies nothing twice (PROTOCOL.md invariant 10).
pub async fn retries_apply_nothing(store: Arc<dyn ServerStore>) {
    let store = store.as_ref();
    seed(store).await;
    let first = push(
        "c",
        vec![
            mutation(3, MutationOp::Insert, "p1", json!({"thread_id": "t1", "likes": 1})),
            mutation(5, MutationOp::Update, "p1", json!({"likes": 2})),
        ],
    );
    let r = store.push("s", first.clone()).await.expect("push");
    let bound = seqs(&r)[1].expect("a seq");
    let at = latest(store).await;
    // The response was lost: the client sends the same push again, plus a newer mutation.
    let mut again = first.clone();
    again.mutations.push(mutation(6, MutationOp::Update, "p1", json!({"likes": 3})));
    let r = store.push("s", again).await.expect("retry");
    assert_eq!(r.results[0].outcome, MutationOutcome::AlreadyApplied { seq: bound });
    assert_eq!(r.results[1].outcome, MutationOutcome::AlreadyApplied { seq: bound });
    assert_eq!(
        (seqs(&PushResponse { results: r.results[2..].to_vec(), ..r.clone() }), r.last_mutation_id),
        (vec![Some(at + 1)], 6)
    );
    let r = store.push("s", first).await.expect("late retry");
    assert_eq!(r.results[0].outcome, MutationOutcome::AlreadyApplied { seq: at + 1 }, "the bound covers every push");
    assert_eq!(r.last_mutation_id, 6);
    assert_eq!(latest(store).await, at + 1);
    let likes = store.get("s", "posts", "p1").await.expect("get").expect("live")[3].clone();
    assert_eq!(likes, Value::Integer(3), "the retried update did not run again");
    // Another client's ids are its own.
    let r = store.push("s", push("d", vec![mutation(1, MutationOp::Update, "p1", json!({"likes": 4}))])).await;
    assert_eq!(seqs(&r.expect("other client")), vec![Some(at + 2)]);
}

/// Every hostile push this server must refuse with [`FeedError::InvalidPush`], and the mutation id it names.
pub fn hostile_pushes() -> Vec<(&'static str, PushRequest, Option<u64>)> {
    let ok = |id| mutation(id, MutationOp::Insert, "p9", json!({"thread_id": "t1"}));
    let with = |m: Mutation| push("c", vec![ok(1), m]);
    let mut threads = mutation(2, MutationOp::Update, "t1", json!({"title": "x"}));
    threads.collection = "threads".into();
    let mut unknown = mutation(2, MutationOp::Update, "x", json!({}));
    unknown.collection = "nope".into();
    vec![
        ("unknown collection", with(unknown), Some(2)),
        ("read-only collection", with(threads), Some(2)),
        ("unknown field", with(mutation(2, MutationOp::Update, "p9", json!({"colour": "red"}))), Some(2)),
        ("reserved field", with(mutation(2, MutationOp::Update, "p9", json!({"seq": 99}))), Some(2)),
        ("wrong type", with(mutation(2, MutationOp::Update, "p9", json!({"likes": "many"}))), Some(2)),
        ("json where text goes", with(mutation(2, MutationOp::Update, "p9", json!({"body": {"a": 1}}))), Some(2)),
        (
            "required column missing on insert",
            with(mutation(2, MutationOp::Insert, "p8", json!({"body": "b"}))),
            Some(2),
        ),
        (
            "required column set to null",
            with(mutation(2, MutationOp::Update, "p9", json!({"thread_id": null}))),
            Some(2),
        ),
        ("fields on a delete", with(mutation(2, MutationOp::Delete, "p9", json!({"body": "b"}))), Some(2)),
        ("empty id", with(mutation(2, MutationOp::Update, "", json!({}))), Some(2)),
        ("backwards id", push("c", vec![ok(5), mutation(4, MutationOp::Delete, "p9", json!({}))]), Some(4)),
        ("repeated id", push("c", vec![ok(5), mutation(5, MutationOp::Delete, "p9", json!({}))]), Some(5)),
        ("mutation id 0", push("c", vec![ok(0)]), Some(0)),
        ("empty client_id", push("", vec![ok(1)]), None),
        ("too many mutations", push("c", (1..=MAX_PUSH_MUTATIONS as u64 + 1).map(ok).collect()), None),
    ]
}

/// A push that fails the checks is refused whole and changes nothing.
pub async fn hostile_pushes_change_nothing(store: Arc<dyn ServerStore>) {
    let store = store.as_ref();
    let at = seed(store).await;
    for (what, request, mutation_id) in hostile_pushes() {
        match store.push("s", request).await {
            Err(FeedError::InvalidPush { mutation_id: named, message }) => {
                assert_eq!(named, mutation_id, "{what}: {message}");
                assert!(!message.is_empty(), "{what}");
            }
            other => panic!("{what}: not refused as an invalid push: {other:?}"),
        }
    }
    assert_eq!(latest(store).await, at, "nothing of a refused push lands");
    assert_eq!(store.get("s", "posts", "p9").await.expect("get"), None);
    // Not even the client's last id: mutation 1 is new to the server.
    let r = store.push("s", push("c", vec![mutation(1, MutationOp::Insert, "p9", json!({"thread_id": "t1"}))])).await;
    assert_eq!(seqs(&r.expect("a good push")), vec![Some(at + 1)]);
}

/// A row deleted by a cascade is `deleted` to a later update, and a delete of it changes nothing.
pub async fn deleted_by_cascade(store: Arc<dyn ServerStore>) {
    let store = store.as_ref();
    seed(store).await;
    let p = Write::Upsert { collection: "posts".into(), id: "p1".into(), values: post("t1", "x") };
    store.write("s", vec![p]).await.expect("post");
    // The client deletes the thread's post while the server deletes the thread: the post is gone either way.
    let t = Write::Delete { collection: "threads".into(), id: "t1".into() };
    let at = store.write("s", vec![t]).await.expect("delete thread").last_seq;
    let r = store
        .push(
            "s",
            push(
                "c",
                vec![
                    mutation(1, MutationOp::Update, "p1", json!({"body": "late"})),
                    mutation(2, MutationOp::Delete, "p1", json!({})),
                ],
            ),
        )
        .await
        .expect("push");
    assert_eq!(code(&r, 0), "deleted");
    assert_eq!(r.results[1].outcome, MutationOutcome::Applied { seq: None });
    assert_eq!(latest(store).await, at);
}

/// Refuses a post whose thread is not live, and rewrites every body to upper case: reads through the
/// transaction, so it sees the push's own earlier writes.
struct ThreadHook;

#[async_trait]
impl PushHook for ThreadHook {
    async fn review(
        &self,
        rows: &mut dyn RowReader,
        _scope: &str,
        _client_id: &str,
        m: &CheckedMutation,
    ) -> Result<Verdict, FeedError> {
        if let Some(Value::Text(thread)) = m.fields.get("thread_id")
            && !matches!(rows.row("threads", thread).await?, RowState::Live(_))
        {
            return Ok(Verdict::Reject { code: "thread_missing".into(), message: format!("no thread {thread}") });
        }
        let mut fields = m.fields.clone();
        match fields.get_mut("body") {
            Some(Value::Text(body)) => *body = body.to_uppercase(),
            _ => return Ok(Verdict::Accept),
        }
        Ok(Verdict::Rewrite(fields))
    }
}

/// The store's hook sees the push's own earlier writes, and may refuse a mutation or rewrite its fields.
pub async fn hook_refuses_and_rewrites(store: Arc<dyn ServerStore>) {
    let at = seed(store.as_ref()).await;
    let r = store
        .push(
            "s",
            push(
                "c",
                vec![
                    mutation(1, MutationOp::Insert, "p1", json!({"thread_id": "ghost"})),
                    mutation(2, MutationOp::Insert, "p2", json!({"thread_id": "t1", "body": "shout"})),
                    mutation(3, MutationOp::Delete, "p2", json!({})),
                ],
            ),
        )
        .await
        .expect("push");
    assert_eq!((code(&r, 0), r.last_mutation_id), ("thread_missing", 3));
    let row = store.page("s", "posts", at, 10).await.expect("page");
    assert_eq!(row.rows.len(), 1, "p2 once, as a tombstone");
    let r = store
        .push("s", push("c", vec![mutation(4, MutationOp::Insert, "p3", json!({"thread_id": "t2", "body": "hey"}))]))
        .await;
    assert_eq!(seqs(&r.expect("push")), vec![Some(at + 3)]);
    assert_eq!(store.get("s", "posts", "p3").await.expect("get").expect("live")[1], Value::from("HEY"));
}

/// Fails on the second mutation of a push.
struct FailingHook;

#[async_trait]
impl PushHook for FailingHook {
    async fn review(&self, _: &mut dyn RowReader, _: &str, _: &str, m: &CheckedMutation) -> Result<Verdict, FeedError> {
        if m.id == "boom" {
            return Err(FeedError::InvalidWrite("the hook failed".into()));
        }
        Ok(Verdict::Accept)
    }
}

/// A hook that fails rolls the whole push back, its last mutation id included.
pub async fn failing_hook_rolls_back(store: Arc<dyn ServerStore>) {
    let at = seed(store.as_ref()).await;
    let request = push(
        "c",
        vec![
            mutation(1, MutationOp::Insert, "p1", json!({"thread_id": "t1"})),
            mutation(2, MutationOp::Insert, "boom", json!({"thread_id": "t1"})),
        ],
    );
    assert!(store.push("s", request).await.is_err());
    assert_eq!(latest(store.as_ref()).await, at, "the first mutation was rolled back with the failure");
    assert_eq!(store.get("s", "posts", "p1").await.expect("get"), None);
    let r = store.push("s", push("c", vec![mutation(1, MutationOp::Insert, "p1", json!({"thread_id": "t1"}))])).await;
    assert_eq!(seqs(&r.expect("push")), vec![Some(at + 1)], "and so was the client's last id");
}
