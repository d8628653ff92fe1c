//! A model-based check of the push policy: two clients push random inserts, updates and deletes of a few shared
//! rows in random interleavings, some responses are "lost" and the push retried, and every answer and the final
//! rows are compared with a model that states the policy in its plainest form.

use std::collections::HashMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value as Json, json};

use super::push::{mutation, push};
use crate::feed::{ServerStore, Write};
use crate::mutation::{Mutation, MutationOp, MutationOutcome, PushRequest};
use crate::value::Value;

const KEYS: [&str; 3] = ["p0", "p1", "p2"];

/// The policy, plainly: a row is missing, deleted, or its live values; each client has a last id.
#[derive(Default)]
struct Model {
    rows: HashMap<String, Option<Vec<Value>>>,
    last: HashMap<String, u64>,
    /// Per client, the greatest seq its mutations took: what `already_applied` answers.
    bound: HashMap<String, i64>,
    seq: i64,
}

impl Model {
    fn apply(&mut self, client: &str, m: &Mutation) -> MutationOutcome {
        let last = self.last.entry(client.to_owned()).or_default();
        if m.mutation_id <= *last {
            return MutationOutcome::AlreadyApplied { seq: self.bound.get(client).copied().unwrap_or(0) };
        }
        *last = m.mutation_id;
        let now = self.rows.get(&m.id).cloned();
        let new = match (m.op, now.clone()) {
            (MutationOp::Update, None) => return reject("not_found"),
            (MutationOp::Update, Some(None)) => return reject("deleted"),
            (MutationOp::Delete, None | Some(None)) => return MutationOutcome::Applied { seq: None },
            (MutationOp::Delete, Some(Some(_))) => None,
            (_, Some(Some(values))) => Some(with_fields(values, m)),
            (_, None | Some(None)) => Some(with_fields(vec![Value::Null; 5], m)),
        };
        if now == Some(new.clone()) {
            return MutationOutcome::Applied { seq: None };
        }
        self.rows.insert(m.id.clone(), new);
        self.seq += 1;
        self.bound.insert(client.to_owned(), self.seq);
        MutationOutcome::Applied { seq: Some(self.seq) }
    }
}

fn reject(code: &str) -> MutationOutcome {
    MutationOutcome::Rejected { code: code.into(), message: String::new() }
}

/// Posts columns: thread_id, body, score, likes, meta.
fn with_fields(mut values: Vec<Value>, m: &Mutation) -> Vec<Value> {
    for (name, json) in &m.fields {
        let (i, value) = match name.as_str() {
            "thread_id" => (0, Value::from(json.as_str().unwrap_or_default())),
            "body" => (1, json.as_str().map_or(Value::Null, Value::from)),
            _ => (3, json.as_i64().map_or(Value::Null, Value::Integer)),
        };
        values[i] = value;
    }
    values
}

fn random_mutation(rng: &mut StdRng, mutation_id: u64) -> Mutation {
    let id = KEYS[rng.random_range(0..KEYS.len())];
    let op = [MutationOp::Insert, MutationOp::Update, MutationOp::Update, MutationOp::Delete][rng.random_range(0..4)];
    let mut fields = Map::new();
    if op != MutationOp::Delete {
        if op == MutationOp::Insert {
            fields.insert("thread_id".into(), json!("t1"));
        }
        if rng.random_bool(0.6) {
            fields.insert("body".into(), [json!("a"), json!("b"), Json::Null][rng.random_range(0..3)].clone());
        }
        if rng.random_bool(0.6) {
            fields.insert("likes".into(), json!(rng.random_range(1..3)));
        }
    }
    mutation(mutation_id, op, id, Json::Object(fields))
}

/// Runs `rounds` random pushes (seeded by `seed`) against a fresh `store` serving
/// [`super::test_schema`], and panics at the first answer or row that differs from the model.
pub async fn push_model_check(store: &dyn ServerStore, seed: u64, rounds: usize) {
    let mut rng = StdRng::seed_from_u64(seed);
    let thread = Write::Upsert { collection: "threads".into(), id: "t1".into(), values: super::thread("t1") };
    let mut model = Model { seq: store.write("s", vec![thread]).await.expect("seed").last_seq, ..Model::default() };
    let clients = ["c0", "c1"];
    let mut next_id = [1u64; 2];
    let mut lost: [Option<PushRequest>; 2] = [None, None];
    for round in 0..rounds {
        let c = rng.random_range(0..2);
        let mut request = match lost[c].take() {
            Some(request) if rng.random_bool(0.7) => request,
            _ => push(clients[c], Vec::new()),
        };
        for _ in 0..rng.random_range(0..4) {
            request.mutations.push(random_mutation(&mut rng, next_id[c]));
            next_id[c] += rng.random_range(1..3);
        }
        let response = store.push("s", request.clone()).await.expect("push");
        let context = format!("seed {seed}, round {round}, {request:?}");
        assert_eq!(response.results.len(), request.mutations.len(), "{context}");
        for (m, got) in request.mutations.iter().zip(&response.results) {
            let want = model.apply(clients[c], m);
            assert_eq!(got.mutation_id, m.mutation_id, "{context}");
            match (&want, &got.outcome) {
                (MutationOutcome::Rejected { code: a, .. }, MutationOutcome::Rejected { code: b, .. }) => {
                    assert_eq!(a, b, "{context}");
                }
                _ => assert_eq!(&want, &got.outcome, "{context}"),
            }
        }
        assert_eq!(response.last_mutation_id, model.last.get(clients[c]).copied().unwrap_or(0), "{context}");
        if rng.random_bool(0.3) {
            lost[c] = Some(request);
        }
    }
    assert_eq!(store.status("s").await.expect("status").latest_seq, model.seq, "seed {seed}");
    let page = store.page("s", "posts", 0, 100).await.expect("page");
    for id in KEYS {
        let want = model.rows.get(id).cloned();
        let got = store.get("s", "posts", id).await.expect("get");
        match want {
            None => assert!(page.rows.iter().all(|r| r.id != id), "seed {seed}: {id} was never written"),
            Some(values) => assert_eq!(got, values, "seed {seed}: row {id}"),
        }
    }
}
