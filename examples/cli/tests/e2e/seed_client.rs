//! A client written exactly as the seed's "Initial Sync" loop (Python, standard library only) syncs from our
//! server unchanged, and ends with the server's rows.

use std::process::Command;

use server_example::generate::Sizes;
use sync_core::{ServerStore, Value};

use crate::support::{SCOPE_A, TOKEN_A, server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_style_client_syncs_unchanged() {
    let server = server(Sizes { conversations: 120, messages: 5_000, contacts: 700 }).await;
    let db = server.path("seed-client.db");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../seed-client/seed_client.py");
    let output = Command::new("python3")
        .arg(script)
        .args(["--url", &server.running.url(), "--token", TOKEN_A, "--integration", SCOPE_A])
        .arg("--db")
        .arg(&db)
        .output()
        .expect("python3 runs the seed-style client");
    assert!(output.status.success(), "seed client failed: {}", String::from_utf8_lossy(&output.stderr));

    let local = rusqlite::Connection::open(&db).expect("open the seed client's database");
    for collection in ["conversations", "messages", "contacts"] {
        let server_rows = server.store.read_rows(SCOPE_A, collection, None, 1_000_000).await.expect("rows");
        let count: i64 =
            local.query_row(&format!("SELECT COUNT(*) FROM {collection}"), [], |r| r.get(0)).expect("count");
        assert_eq!(count as usize, server_rows.len(), "{collection}: the seed client got every row");
        let (min_seq, max_seq): (i64, i64) = local
            .query_row(&format!("SELECT MIN(seq), MAX(seq) FROM {collection}"), [], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("seqs");
        assert!(min_seq >= 1 && max_seq >= min_seq, "{collection}: seqs travel");
    }
    // Message bodies arrive byte for byte.
    let messages = server.store.read_rows(SCOPE_A, "messages", None, 1_000_000).await.expect("rows");
    let mut statement = local.prepare("SELECT body FROM messages WHERE id = ?").expect("prepare");
    for message in messages.iter().step_by(97) {
        let body: Option<String> = statement.query_row([&message.id], |r| r.get(0)).expect("row present");
        let expected = match &message.values[4] {
            Value::Text(t) => Some(t.clone()),
            _ => None,
        };
        assert_eq!(body, expected, "message {}", message.id);
    }
}
