//! The fault proxy between the downloader and the server: truncated, reset, corrupted and failed answers are
//! detected and retried, and every file ends up right.

use std::time::Duration;

use sync_media::{ItemState, MediaDownloader};
use sync_testing::fault_proxy::{Fault, FaultProxy, Plan};

use crate::support::{SCOPE_A, TOKEN_A, assert_verified, server};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn truncated_reset_and_corrupted_bodies_are_retried_until_right() {
    let server = server(1_500, 3).await;
    let kinds = vec![Fault::Reset, Fault::Truncate, Fault::Corrupt, Fault::Status(500), Fault::Status(503)];
    let plan = Plan::Random { seed: 11, rate: 0.3, kinds };
    let proxy = FaultProxy::start(server.running.addr, plan, Duration::from_secs(1)).await.expect("proxy");
    let db = server.path("faults.db");
    server.sync(&db, TOKEN_A, SCOPE_A).await;
    let folder = server.path("faults-downloads");
    let mut options = server.options(&db, &folder, &proxy.url(), TOKEN_A);
    options.max_attempts = 30;
    options.max_hash_mismatches = 10;
    let media = MediaDownloader::open(options).expect("open");
    let added = media.reconcile(SCOPE_A).await.expect("reconcile").added.len();
    let totals = media.run_until_idle().await.expect("run");
    assert_eq!((totals.done as usize, totals.failed), (added, 0), "{totals:?}");
    let items = media.items().await.expect("items");
    assert_verified(&items, &folder);
    let faults = proxy.stats().faults();
    for kind in ["reset", "truncate", "corrupt", "status_500"] {
        assert!(faults.get(kind).copied().unwrap_or(0) > 0, "no {kind} injected: {faults:?}");
    }
    let retried: u32 = items.iter().map(|i| i.attempts).sum();
    assert!(retried as u64 >= proxy.stats().total_faults() / 2, "retries {retried}, faults {faults:?}");
    assert!(items.iter().any(|i| i.attempts > 0 && i.requested_bytes < 2 * i.record.size.unwrap_or(0)), "no resume");
}

/// A body cut in half: the next attempt asks for the rest only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_body_resumes_where_it_stopped() {
    let server = server(400, 1).await;
    let plan = Plan::Schedule(vec![Some(Fault::Truncate), None]);
    let proxy = FaultProxy::start(server.running.addr, plan, Duration::from_secs(1)).await.expect("proxy");
    let db = server.path("truncated.db");
    server.sync(&db, TOKEN_A, SCOPE_A).await;
    let folder = server.path("truncated-downloads");
    let mut options = server.options(&db, &folder, &proxy.url(), TOKEN_A);
    options.auto = sync_media::AutoDownload::off();
    let media = MediaDownloader::open(options).expect("open");
    let conn = rusqlite::Connection::open(&db).expect("replica");
    let (id, size): (String, i64) = conn
        .query_row("SELECT id, size_bytes FROM message_media ORDER BY size_bytes DESC LIMIT 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .expect("a media row");
    media.download(SCOPE_A, &id, 0).await.expect("queue");
    media.run_until_idle().await.expect("run");
    let item = media.item(SCOPE_A, &id).await.expect("item").expect("there");
    assert_eq!((item.state, item.attempts, item.error_code.as_deref()), (ItemState::Done, 1, None));
    let size = size as u64;
    assert!(
        item.requested_bytes > size && item.requested_bytes < size + size * 3 / 4,
        "{} of {size}",
        item.requested_bytes
    );
    assert_verified(&[item], &folder);
}
