//! Push decoding, validation and the conflict policy against the WhatsApp schema: any body is refused, or is a
//! push that the in-memory server store applies with one result per mutation, in order, each mutation at most
//! once (pushing the same body again applies nothing and changes no seq).
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use sync_core::memory::MemoryFeed;
use sync_core::{ChangeFeed, MutationOutcome, PushRequest, Schema, ServerStore, Value, Write, check_push};

/// The schema `server-example` serves at `GET /schema` (a copy: the fuzz crate does not build the server).
const SCHEMA: &str = include_str!("../seeds/schema_parse/whatsapp.json");

static PARSED: LazyLock<Schema> = LazyLock::new(|| Schema::from_json(SCHEMA).expect("the bundled schema parses"));

fuzz_target!(|data: &[u8]| {
    let Ok(push) = serde_json::from_slice::<PushRequest>(data) else { return };
    let Ok(checked) = check_push(&PARSED, &push) else { return };
    futures::executor::block_on(async {
        let feed = MemoryFeed::new(PARSED.clone());
        // One live conversation, so that edits of `c1` and messages into it reach the policy's every branch.
        let mut values = vec![Value::Null; PARSED.collections[0].columns.len()];
        for (value, column) in values.iter_mut().zip(&PARSED.collections[0].columns) {
            if !column.nullable {
                *value = Value::Integer(0);
            }
        }
        values[0] = Value::from("jid");
        for i in [2, 3, 4] {
            values[i] = Value::Bool(false);
        }
        let write = Write::Upsert { collection: "conversations".into(), id: "c1".into(), values };
        feed.write("fuzz", vec![write]).await.expect("seed");
        let response = feed.push("fuzz", push.clone()).await.expect("a checked push applies");
        assert_eq!(response.results.len(), checked.len(), "one result per mutation");
        for (result, m) in response.results.iter().zip(&checked) {
            assert_eq!(result.mutation_id, m.mutation_id, "results in request order");
        }
        let latest = feed.status("fuzz").await.expect("status").latest_seq;
        let again = feed.push("fuzz", push).await.expect("a retry applies");
        assert!(again.results.iter().all(|r| matches!(r.outcome, MutationOutcome::AlreadyApplied { .. })));
        assert_eq!(feed.status("fuzz").await.expect("status").latest_seq, latest, "a retry changes nothing");
    });
});
