//! Client pushes on `PostgresStore`: the core's push suite and model check, each store in a fresh PostgreSQL
//! schema, and concurrent pushes (retries of one client at once, two clients on one row) against the locks.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;
use sync_core::testing::{push_model_check, test_schema, thread};
use sync_core::{
    CheckedMutation, FeedError, Mutation, MutationOp, MutationOutcome, PushHook, PushRequest, RowReader, ServerStore,
    Value, Verdict, Write,
};

use crate::support::{Db, available};

/// A fresh store (in a schema `dbs` keeps until the test ends), with `hook` when given.
async fn fresh(dbs: &Mutex<Vec<Db>>, hook: Option<Arc<dyn PushHook>>) -> Arc<dyn ServerStore> {
    let db = Db::fresh(test_schema()).await;
    let store: Arc<dyn ServerStore> = match hook {
        Some(hook) => db.store_with_hook(hook).await,
        None => db.store.clone(),
    };
    dbs.lock().expect("lock").push(db);
    store
}

/// The push contracts, each store in a fresh PostgreSQL schema.
mod contracts {
    use std::sync::{Arc, Mutex};

    use sync_core::{PushHook, ServerStore};

    use crate::support::{Db, available};

    async fn make(hook: Option<Arc<dyn PushHook>>) -> Option<(Mutex<Vec<Db>>, Arc<dyn ServerStore>)> {
        if !available().await {
            return None;
        }
        let dbs = Mutex::new(Vec::new());
        let store = super::fresh(&dbs, hook).await;
        Some((dbs, store))
    }
    sync_core::push_contracts!(make);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_matches_the_model_whatever_the_interleaving() {
    if !available().await {
        return;
    }
    let dbs = Mutex::new(Vec::new());
    for seed in 0..10 {
        push_model_check(fresh(&dbs, None).await.as_ref(), seed, 30).await;
    }
}

/// Accepts every mutation after a pause between the policy's read of the row and its write.
struct Slow;

#[async_trait]
impl PushHook for Slow {
    async fn review(&self, _: &mut dyn RowReader, _: &str, _: &str, _: &CheckedMutation) -> Result<Verdict, FeedError> {
        tokio::time::sleep(Duration::from_millis(2)).await;
        Ok(Verdict::Accept)
    }
}

fn post(mutation_id: u64, op: MutationOp, id: &str, fields: serde_json::Value) -> Mutation {
    let fields = fields.as_object().cloned().unwrap_or_default().into_iter().collect();
    Mutation { mutation_id, collection: "posts".into(), id: id.into(), op, fields, base_seq: None }
}

async fn seed_thread(store: &dyn ServerStore) -> i64 {
    let t1 = Write::Upsert { collection: "threads".into(), id: "t1".into(), values: thread("t1") };
    store.write("s", vec![t1]).await.expect("seed").last_seq
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_push_sent_eight_times_at_once_applies_once() {
    if !available().await {
        return;
    }
    let dbs = Mutex::new(Vec::new());
    let store = fresh(&dbs, None).await;
    let base = seed_thread(store.as_ref()).await;
    let mutations = (1..=20)
        .map(|i| post(i, MutationOp::Insert, &format!("p{i}"), json!({"thread_id": "t1", "likes": i})))
        .collect();
    let request = PushRequest { client_id: "c".into(), mutations };
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (store, request) = (store.clone(), request.clone());
            tokio::spawn(async move { store.push("s", request).await.expect("push") })
        })
        .collect();
    let mut applied = 0;
    for task in tasks {
        let response = task.await.expect("task");
        assert_eq!(response.last_mutation_id, 20);
        match &response.results[0].outcome {
            MutationOutcome::Applied { .. } => applied += 1,
            MutationOutcome::AlreadyApplied { seq } => assert_eq!(*seq, base + 20, "the first push's bound"),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(applied, 1, "exactly one of the eight pushes applied the mutations");
    assert_eq!(store.status("s").await.expect("status").latest_seq, base + 20, "one seq per mutation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_edits_of_different_fields_of_one_row_all_survive() {
    if !available().await {
        return;
    }
    let dbs = Mutex::new(Vec::new());
    let store = fresh(&dbs, Some(Arc::new(Slow))).await;
    seed_thread(store.as_ref()).await;
    let insert = post(1, MutationOp::Insert, "p", json!({"thread_id": "t1"}));
    store.push("s", PushRequest { client_id: "a".into(), mutations: vec![insert] }).await.expect("insert");
    // Client "a" edits `likes`, client "b" edits `body`, 30 times each, at once: a merge from a read taken
    // before the other's commit (the hook widens that window) would put back the other field's old value.
    let edit = |client: &'static str, field: &'static str| {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 2..32u64 {
                let value = if field == "likes" { json!(i) } else { json!(format!("b{i}")) };
                let m = post(i, MutationOp::Update, "p", json!({ field: value }));
                store.push("s", PushRequest { client_id: client.into(), mutations: vec![m] }).await.expect("edit");
            }
        })
    };
    let (a, b) = (edit("a", "likes"), edit("b", "body"));
    a.await.expect("a");
    b.await.expect("b");
    let row = store.get("s", "posts", "p").await.expect("get").expect("live");
    assert_eq!((row[1].clone(), row[3].clone()), (Value::from("b31"), Value::Integer(31)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_trigger_writing_rows_mid_push_is_seen_and_answered_right() {
    if !available().await {
        return;
    }
    let db = Db::fresh(test_schema()).await;
    let store: Arc<dyn ServerStore> = db.store.clone();
    seed_thread(store.as_ref()).await;
    let p0 = Write::Upsert { collection: "posts".into(), id: "p0".into(), values: sync_core::testing::post("t1", "") };
    store.write("s", vec![p0]).await.expect("p0");
    // A service's own trigger: each new post adds a like to p0. Its writes take seqs between the push's
    // statements, and change a row the push may have read before.
    let raw = db.raw(true).await;
    raw.batch_execute(
        "CREATE FUNCTION like_p0() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         UPDATE posts SET likes = likes + 1 WHERE integration_id = NEW.integration_id AND id = 'p0'; \
         RETURN NEW; END $$; \
         CREATE TRIGGER like_p0 AFTER INSERT ON posts FOR EACH ROW EXECUTE FUNCTION like_p0()",
    )
    .await
    .expect("the service's trigger");
    let before = store.status("s").await.expect("status").latest_seq;
    let mutations = vec![
        post(1, MutationOp::Insert, "p1", json!({"thread_id": "t1"})),
        // The same row again: a statement of its own, after the trigger's write.
        post(2, MutationOp::Update, "p1", json!({"likes": 5})),
        post(3, MutationOp::Insert, "p2", json!({"thread_id": "t1"})),
        // p0 as the trigger left it, plus this edit.
        post(4, MutationOp::Update, "p0", json!({"body": "edited"})),
    ];
    let response = store.push("s", PushRequest { client_id: "c".into(), mutations }).await.expect("push");
    let seqs: Vec<_> = response.results.iter().map(|r| r.outcome.clone()).collect();
    let applied = |seq| MutationOutcome::Applied { seq: Some(seq) };
    let want = [applied(before + 1), applied(before + 3), applied(before + 4), applied(before + 6)];
    assert_eq!(seqs, want, "the trigger's writes took before + 2 and + 5");
    let page = store.page("s", "posts", before, 10).await.expect("page");
    let got: Vec<_> = page.rows.iter().map(|r| (r.id.as_str(), r.seq)).collect();
    assert_eq!(got, [("p1", before + 3), ("p2", before + 4), ("p0", before + 6)], "as answered, each once");
    let p0 = store.get("s", "posts", "p0").await.expect("get").expect("live");
    assert_eq!((&p0[1], &p0[3]), (&Value::from("edited"), &Value::Integer(5)), "both likes and the edit kept");
}
