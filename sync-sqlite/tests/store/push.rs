//! Client pushes on `SqliteServerStore`: the core's push suite and model check on a real file, and a push that
//! survives reopening.

use std::sync::Arc;

use sync_core::testing::{push_model_check, test_schema};
use sync_core::{MutationOp, MutationOutcome, PushHook, PushRequest, ServerStore};
use sync_sqlite::SqliteServerStore;

use crate::Dirs;

fn open(dirs: &Dirs, hook: Option<Arc<dyn PushHook>>) -> Arc<dyn ServerStore> {
    let store = SqliteServerStore::open(dirs.path("server.db"), test_schema()).expect("open");
    Arc::new(match hook {
        Some(hook) => store.with_hook(hook),
        None => store,
    })
}

/// The push contracts, each on a new file.
mod contracts {
    use std::sync::Arc;

    use sync_core::{PushHook, ServerStore};

    use crate::Dirs;

    async fn make(hook: Option<Arc<dyn PushHook>>) -> Option<(Dirs, Arc<dyn ServerStore>)> {
        let dirs = Dirs::default();
        let store = super::open(&dirs, hook);
        Some((dirs, store))
    }
    sync_core::push_contracts!(make);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_matches_the_model_whatever_the_interleaving() {
    let dirs = Dirs::default();
    for seed in 0..20 {
        push_model_check(open(&dirs, None).as_ref(), seed, 30).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_mutation_id_survives_reopening() {
    let dirs = Dirs::default();
    let path = dirs.path("server.db");
    let text = r#"{"client_id":"c","mutations":[{"mutation_id":4,"collection":"threads","id":"t","op":"delete"}]}"#;
    let mut request: PushRequest = serde_json::from_str(text).expect("parses");
    request.mutations[0].collection = "posts".into();
    assert_eq!(request.mutations[0].op, MutationOp::Delete);
    let store = SqliteServerStore::open(&path, test_schema()).expect("open");
    store.push("s", request.clone()).await.expect("push");
    drop(store);
    let store = SqliteServerStore::open(&path, test_schema()).expect("reopen");
    let response = store.push("s", request).await.expect("retry");
    assert_eq!(response.results[0].outcome, MutationOutcome::AlreadyApplied { seq: 0 });
    assert_eq!(response.last_mutation_id, 4);
}
