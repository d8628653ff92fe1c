//! The push policy on the in-memory store: the conformance suite, the model check over many seeds, and the
//! validation's messages.

use std::sync::Arc;

use crate::ServerStore;
use crate::error::FeedError;
use crate::memory::MemoryFeed;
use crate::mutation::{Mutation, MutationOp, PushRequest};
use crate::testing::{push_model_check, test_schema};

fn memory(hook: Option<Arc<dyn super::PushHook>>) -> Arc<dyn ServerStore> {
    let feed = MemoryFeed::new(test_schema());
    Arc::new(match hook {
        Some(hook) => feed.with_hook(hook),
        None => feed,
    })
}

/// The push contracts on the in-memory store.
mod contracts {
    use std::sync::Arc;

    use crate::{PushHook, ServerStore};

    async fn make(hook: Option<Arc<dyn PushHook>>) -> Option<((), Arc<dyn ServerStore>)> {
        Some(((), super::memory(hook)))
    }
    crate::push_contracts!(make);
}

#[tokio::test]
async fn memory_feed_matches_the_model_whatever_the_interleaving() {
    for seed in 0..150 {
        push_model_check(memory(None).as_ref(), seed, 40).await;
    }
}

#[test]
fn errors_name_the_mutation_and_the_problem() {
    let text = r#"{"client_id":"c","mutations":[{"mutation_id":7,"collection":"posts","id":"p","op":"update","fields":{"likes":"x"}}]}"#;
    let request: PushRequest = serde_json::from_str(text).expect("parses");
    let err = super::check_push(&test_schema(), &request).expect_err("wrong type");
    assert!(matches!(err, FeedError::InvalidPush { mutation_id: Some(7), .. }), "{err}");
    assert_eq!(err.to_string(), r#"invalid push: mutation 7 (update `posts` `p`): `likes` should be Integer, got "x""#);
    let m = Mutation {
        mutation_id: 1,
        collection: "posts".into(),
        id: "p".into(),
        op: MutationOp::Insert,
        fields: Default::default(),
        base_seq: None,
    };
    let err = super::check_mutation(&test_schema(), &m).expect_err("thread_id missing");
    assert!(err.to_string().ends_with("`thread_id` is required on insert"), "{err}");
}
