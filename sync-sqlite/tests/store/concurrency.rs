//! PROTOCOL.md invariant 2 under load: writers on two connections to one server file (as two processes would be)
//! while a client syncs again and again; the client must end exact, and seqs must be handed out exactly once.

use std::sync::Arc;

use sync_core::memory::FeedTransport;
use sync_core::testing::{post, test_schema, thread};
use sync_core::{ChangeFeed, ServerStore, SyncConfig, SyncEngine, Write, verify_scope};
use sync_sqlite::{SqliteServerStore, SqliteStore};

use crate::Dirs;

const WRITERS: usize = 4;
const BATCHES: usize = 40;

fn batch(writer: usize, b: usize) -> Vec<Write> {
    let thread_id = format!("t{}", b % 10);
    let mut writes = vec![
        Write::Upsert {
            collection: "threads".into(),
            id: thread_id.clone(),
            values: thread(&format!("w{writer} b{b}")),
        },
        Write::Upsert { collection: "posts".into(), id: format!("p{writer}-{b}"), values: post(&thread_id, "x") },
    ];
    if b % 7 == 6 {
        writes.push(Write::Delete { collection: "threads".into(), id: format!("t{}", (b + 3) % 10) });
    }
    writes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_and_syncs_end_exact() {
    let dirs = Dirs::default();
    let path = dirs.path("server.db");
    let stores = [
        Arc::new(SqliteServerStore::open(&path, test_schema()).expect("open")),
        Arc::new(SqliteServerStore::open(&path, test_schema()).expect("open a second time")),
    ];
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = stores[w % 2].clone();
            tokio::spawn(async move {
                let mut changes = 0;
                for b in 0..BATCHES {
                    let receipt = store.write("s", batch(w, b)).await.expect("write");
                    changes += receipt.upserted + receipt.deleted;
                    tokio::task::yield_now().await;
                }
                changes
            })
        })
        .collect();

    let client = Arc::new(SqliteStore::open(dirs.path("client.db")).expect("client"));
    let transport = Arc::new(FeedTransport::new(stores[0].clone()));
    let engine = SyncEngine::new(client.clone(), transport, SyncConfig::default());
    let mut syncs = 0;
    while !writers.iter().all(|w| w.is_finished()) {
        // The scope appears with the first write.
        if stores[0].status("s").await.is_ok() {
            engine.sync("s", Default::default()).await.expect("sync during writes");
            syncs += 1;
        }
        tokio::task::yield_now().await;
    }
    let mut changes = 0;
    for writer in writers {
        changes += writer.await.expect("writer");
    }
    engine.sync("s", Default::default()).await.expect("final sync");

    let verification = verify_scope(&test_schema(), "s", client.as_ref(), stores[1].as_ref()).await.expect("verify");
    assert!(verification.is_exact(), "after {syncs} syncs during writes: {:?}", verification.differences);
    let status = stores[1].status("s").await.expect("status");
    assert_eq!(status.latest_seq, i64::try_from(changes).expect("fits"), "every change took exactly one seq");
    let live: u64 = status.collections.values().map(|c| c.count).sum();
    let compared: u64 = verification.compared.iter().map(|(_, n)| n).sum();
    assert_eq!(live, compared, "the counters agree with the rows");
}
