//! The conformance suite of a client store's local writes: the outbox, the overlay of pending mutations on the
//! server's versions, acknowledgements and rollbacks (`outbox.rs` has the model).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::json;

use super::{page, thread};
use crate::error::StoreError;
use crate::mutation::{MutationOp, MutationOutcome, MutationResult};
use crate::outbox::{LocalWrite, WriteState};
use crate::store::ClientStore;
use crate::value::{Row, Value};

fn write(id: &str, op: MutationOp, fields: &[(&str, serde_json::Value)]) -> LocalWrite {
    let fields: BTreeMap<String, serde_json::Value> =
        fields.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    LocalWrite { collection: "threads".into(), id: id.into(), op, fields }
}

fn result(mutation_id: u64, outcome: MutationOutcome) -> MutationResult {
    MutationResult { mutation_id, outcome }
}

fn rejected() -> MutationOutcome {
    MutationOutcome::Rejected { code: "nope".into(), message: "refused".into() }
}

/// The visible `threads` rows of scope `s`: id → (seq, values).
async fn visible(store: &dyn ClientStore) -> BTreeMap<String, (i64, Vec<Value>)> {
    let rows = store.read_rows("s", "threads", None, 1000).await.expect("read_rows");
    rows.into_iter().map(|r| (r.id, (r.seq, r.values))).collect()
}

fn titled(title: &str, archived: bool) -> Vec<Value> {
    let mut values = thread(title);
    values[1] = Value::Bool(archived);
    values
}

/// A prepared store holding the server's rows `a` (seq 1) and `d` (seq 2) of `threads`, more to come.
async fn with_server_rows(store: &dyn ClientStore) {
    store.prepare(&super::test_schema()).await.expect("prepare");
    let server = vec![Row::upsert("a", 1, thread("server")), Row::upsert("d", 2, thread("doomed"))];
    store.apply_page("s", page("threads", 0, server, true)).await.expect("apply");
}

/// A local write shows at once over the server's version and is queued; acknowledgements keep it until the pull
/// reaches its seq or a complete pull settles it; the client id is stable.
pub async fn local_writes_show_at_once_and_settle(store: Arc<dyn ClientStore>) {
    let store = store.as_ref();
    with_server_rows(store).await;

    let id = store.client_id().await.expect("client id");
    assert!(!id.is_empty());
    assert_eq!(store.client_id().await.expect("client id"), id, "the client id is stable");

    // Optimistic: visible at once, queued with the row's seq as base_seq.
    let m1 = store.mutate("s", write("a", MutationOp::Update, &[("title", json!("mine"))])).await.expect("update");
    let m2 = store.mutate("s", write("n", MutationOp::Insert, &[("title", json!("new"))])).await.expect("insert");
    let m3 = store.mutate("s", write("d", MutationOp::Delete, &[])).await.expect("delete");
    assert!(m1.mutation_id < m2.mutation_id && m2.mutation_id < m3.mutation_id, "ids only grow");
    assert_eq!((m1.base_seq, m2.base_seq), (Some(1), None));
    let rows = visible(store).await;
    assert_eq!(rows["a"], (1, titled("mine", false)));
    assert_eq!(rows["n"].1, vec![Value::from("new"), Value::Null, Value::Null]);
    assert!(!rows.contains_key("d"), "a local delete hides the row");
    let queued = store.outbox("s", 10).await.expect("outbox");
    assert_eq!(queued, vec![m1.clone(), m2.clone(), m3.clone()]);
    assert_eq!(store.outbox("s", 2).await.expect("outbox").len(), 2);
    assert!(store.outbox("other", 10).await.expect("outbox").is_empty(), "the outbox is per scope");

    // A pull of newer server versions keeps the pending writes on top, per field.
    let pulled = vec![Row::upsert("a", 5, titled("theirs", true)), Row::upsert("d", 6, thread("edited"))];
    store.apply_page("s", page("threads", 2, pulled, true)).await.expect("apply");
    let rows = visible(store).await;
    assert_eq!(rows["a"], (5, titled("mine", true)), "my title over their newer version, their other fields");
    assert!(!rows.contains_key("d"), "a pending delete stays deleted");

    // Acknowledged: kept until the cursor reaches its seq; rejected: rolled back to the server's version.
    let acks = [
        result(m1.mutation_id, MutationOutcome::Applied { seq: Some(8) }),
        result(m2.mutation_id, MutationOutcome::AlreadyApplied { seq: 50 }),
        result(m3.mutation_id, rejected()),
    ];
    let touched = store.acknowledge("s", &acks).await.expect("acknowledge");
    assert_eq!(touched.len(), 1, "{touched:?}");
    assert!(touched[0].id == "d" && touched[0].exists);
    assert_eq!(visible(store).await["d"], (6, thread("edited")), "a rejected delete brings the row back");
    let states: Vec<WriteState> =
        store.pending_writes("s").await.expect("pending").into_iter().map(|w| w.state).collect();
    assert_eq!(states, vec![WriteState::Acknowledged { seq: 8 }, WriteState::Acknowledged { seq: 50 }]);
    assert!(store.outbox("s", 10).await.expect("outbox").is_empty(), "acknowledged writes are not pushed again");

    // The pull brings seq 8 (the server's state, which a later writer changed again): the write leaves.
    store
        .apply_page("s", page("threads", 6, vec![Row::upsert("a", 8, titled("later", true))], true))
        .await
        .expect("apply");
    assert_eq!(visible(store).await["a"], (8, titled("later", true)), "no pending write left: the server's row");
    assert_eq!(store.pending_writes("s").await.expect("pending").len(), 1);
    // An upper bound the collection never reaches: settled after a complete pull.
    store.apply_page("s", page("threads", 8, vec![Row::upsert("n", 9, thread("new"))], false)).await.expect("apply");
    store.settle("s", m2.mutation_id).await.expect("settle");
    assert!(store.pending_writes("s").await.expect("pending").is_empty());
    assert_eq!(visible(store).await["n"], (9, thread("new")));
}

/// A write that does not fit the schema is refused and changes nothing; a rejected write is rolled back.
pub async fn rejections_and_bad_writes(store: Arc<dyn ClientStore>) {
    let store = store.as_ref();
    with_server_rows(store).await;
    let before = visible(store).await;
    let bad = [
        write("x", MutationOp::Insert, &[("nope", json!(1))]),
        write("x", MutationOp::Insert, &[("archived", json!("yes"))]),
        write("x", MutationOp::Insert, &[("archived", json!(true))]),
        write("a", MutationOp::Update, &[("title", serde_json::Value::Null)]),
    ];
    for w in bad {
        let err = store.mutate("s", w.clone()).await.expect_err("a write that does not fit");
        assert!(matches!(err, StoreError::InvalidWrite(_)), "{w:?}: {err}");
    }
    assert_eq!(visible(store).await, before, "a refused write changes nothing");
    assert!(store.pending_writes("s").await.expect("pending").is_empty());

    let m = store.mutate("s", write("fresh", MutationOp::Insert, &[("title", json!("t"))])).await.expect("insert");
    let u = store.mutate("s", write("fresh", MutationOp::Update, &[("archived", json!(true))])).await.expect("update");
    assert_eq!(visible(store).await["fresh"].1, vec![Value::from("t"), Value::Bool(true), Value::Null]);
    store.acknowledge("s", &[result(m.mutation_id, rejected())]).await.expect("reject");
    assert!(!visible(store).await.contains_key("fresh"), "an update of a row whose insert was refused shows nothing");
    store.acknowledge("s", &[result(u.mutation_id, MutationOutcome::Applied { seq: None })]).await.expect("ack");
    assert_eq!(visible(store).await, before);
    assert!(store.pending_writes("s").await.expect("pending").is_empty());
}

/// A reset keeps the outbox: pending writes show again on the rows the next pull brings.
pub async fn reset_keeps_pending_writes(store: Arc<dyn ClientStore>) {
    let store = store.as_ref();
    with_server_rows(store).await;
    let m = store.mutate("s", write("a", MutationOp::Update, &[("title", json!("kept"))])).await.expect("update");
    store.mutate("s", write("z", MutationOp::Insert, &[("title", json!("zed"))])).await.expect("insert");
    store.reset("s").await.expect("reset");
    let rows = visible(store).await;
    assert_eq!(rows.keys().collect::<Vec<_>>(), vec!["z"], "only the local insert shows until the pull");
    store
        .apply_page("s", page("threads", 0, vec![Row::upsert("a", 8, titled("later", true))], false))
        .await
        .expect("apply");
    assert_eq!(visible(store).await["a"], (8, titled("kept", true)), "the pending update is applied on the pulled row");
    assert_eq!(store.outbox("s", 10).await.expect("outbox").first(), Some(&m));
}
