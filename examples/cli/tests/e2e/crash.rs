//! PROTOCOL.md invariant 4 with a real crash: the `sync-cli` child process is killed with SIGKILL at random
//! instants in the middle of a sync; after every kill the database is at a page boundary (every collection holds
//! exactly the server's rows up to its cursor, never fewer, never more), and a final run ends exact. A kill during
//! an initial sync leaves tables whose secondary indexes are deferred; opening the file builds them again.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand::Rng;
use server_example::generate::Sizes;
use server_example::whatsapp;
use sync_core::{ChangeFeed, ClientStore};

use crate::support::{SCOPE_A, TOKEN_A, open_store, server, verify};

fn pull(db: &Path, url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sync-cli"));
    command
        .args(["pull", "--quiet", "--integration", SCOPE_A, "--token", TOKEN_A, "--url", url])
        .args(["--page-size", "messages=200", "--page-size", "conversations=10", "--page-size", "message_media=50"])
        // Commits every few pages even during the initial sync, so that kills land between them.
        .args(["--commit-rows", "600"])
        .arg("--db")
        .arg(db)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// (id, seq) of the server's rows of `collection` with seq <= `cursor`, tombstones excluded.
async fn server_rows_upto(feed: &dyn ChangeFeed, collection: &str, cursor: i64) -> BTreeSet<(String, i64)> {
    let page = feed.page(SCOPE_A, collection, 0, 1_000_000).await.expect("page");
    page.rows.into_iter().filter(|r| r.seq <= cursor && !r.is_delete()).map(|r| (r.id, r.seq)).collect()
}

/// Secondary indexes (named `idx_…`) in the file, counted by another connection.
fn index_count(db: &Path) -> usize {
    let conn = rusqlite::Connection::open(db).expect("open the file directly");
    let count: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE 'idx_%'", [], |r| r.get(0))
        .expect("count indexes");
    usize::try_from(count).expect("a count")
}

/// Every secondary index the WhatsApp schema declares, plus one seq index per collection.
fn all_indexes() -> usize {
    whatsapp::schema().collections.iter().map(|c| c.indexes.len() + 1).sum()
}

/// Checks that every collection holds exactly the server's rows up to its cursor and that opening the file
/// brought back every index; returns how many collections were caught half-synced and whether indexes had been
/// missing before the file was opened.
async fn assert_at_page_boundaries(db: &Path, server: &dyn ChangeFeed) -> (usize, bool) {
    let before = index_count(db);
    let store = open_store(db);
    // A kill before the first `prepare` committed leaves a file without tables: nothing to build.
    let prepared = store.schema().is_some();
    let deferred = prepared && before < all_indexes();
    if prepared {
        assert_eq!(index_count(db), all_indexes(), "opening a killed sync's file builds its deferred indexes");
    }
    store.prepare(&whatsapp::schema()).await.expect("prepare");
    let cursors = store.sync_state(SCOPE_A).await.expect("state");
    let mut partial = 0;
    for collection in &whatsapp::schema().collections {
        let cursor = cursors.iter().find(|c| c.collection == collection.name).map_or(0, |c| c.last_seq);
        let local: BTreeSet<(String, i64)> = store
            .read_rows(SCOPE_A, &collection.name, None, 1_000_000)
            .await
            .expect("rows")
            .into_iter()
            .map(|r| (r.id, r.seq))
            .collect();
        let expected = server_rows_upto(server, &collection.name, cursor).await;
        assert_eq!(
            local, expected,
            "{}: after a kill the rows are exactly those up to cursor {cursor}",
            collection.name
        );
        let total = server_rows_upto(server, &collection.name, i64::MAX).await.len();
        if !local.is_empty() && local.len() < total {
            partial += 1;
        }
    }
    (partial, deferred)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_killed_mid_sync_resumes_from_its_last_page_and_ends_exact() {
    let server = server(Sizes { conversations: 200, messages: 20_000, contacts: 150 }).await;
    let url = server.running.url();

    // Time one uninterrupted run to aim the kills inside the sync.
    let started = Instant::now();
    let full = pull(&server.path("timing.db"), &url).status().expect("run sync-cli");
    assert!(full.success());
    let duration = started.elapsed();

    let mut rng = rand::rng();
    let (mut partial_states, mut kills, mut deferred_states) = (0, 0, 0);
    const TRIALS: usize = 6;
    for trial in 0..TRIALS {
        // Each trial kills a sync of its own database twice, then lets a third run finish.
        let db = server.path(&format!("crash-{trial}.db"));
        for _ in 0..2 {
            let mut child = pull(&db, &url).spawn().expect("spawn sync-cli");
            std::thread::sleep(duration.mul_f64(rng.random_range(0.05..0.4)).max(Duration::from_millis(10)));
            if child.try_wait().expect("try_wait").is_none() {
                child.kill().expect("SIGKILL");
                kills += 1;
            }
            let _ = child.wait();
            let (partial, deferred) = assert_at_page_boundaries(&db, server.store.as_ref()).await;
            partial_states += partial;
            deferred_states += usize::from(deferred);
        }
        let last = pull(&db, &url).output().expect("final run");
        assert!(last.status.success(), "{}", String::from_utf8_lossy(&last.stderr));
        let v = verify(&open_store(&db), server.store.as_ref(), SCOPE_A).await;
        assert!(v.is_exact(), "trial {trial}: {:?}", v.differences);
        let live: u64 = server.store.status(SCOPE_A).await.expect("status").collections.values().map(|c| c.count).sum();
        assert_eq!(v.rows(), live);
        assert_eq!(index_count(&db), all_indexes(), "a finished sync has every index");
    }
    assert!(kills >= TRIALS, "most runs were killed mid-sync (killed {kills} of {})", 2 * TRIALS);
    assert!(partial_states >= 1, "at least one kill landed in the middle of a collection");
    assert!(deferred_states >= 1, "at least one kill landed while indexes were deferred");
}
