//! Many items at bounded concurrency, all verified; progress events and totals.

use std::sync::{Arc, Mutex};

use sync_media::{ItemState, MediaEvent};

use crate::support::{assert_verified, server};

/// 1,000 media items at concurrency 4, every file verified, events throttled per item.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_items_at_concurrency_four_all_verified() {
    let server = server(8_000, 3).await;
    let (media, folder) = server.downloader("bulk", &server.running.url()).await;
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    media.set_listener(Arc::new(move |e: &MediaEvent| seen.lock().expect("lock").push(e.clone())));
    let reconciled = media.reconcile(crate::support::SCOPE_A).await.expect("reconcile");
    assert!(reconciled.added.len() >= 1_000, "only {} media rows", reconciled.added.len());
    let totals = media.run_until_idle().await.expect("run");
    assert_eq!((totals.done as usize, totals.failed, totals.queued), (reconciled.added.len(), 0, 0));
    let items = media.items().await.expect("items");
    assert!(items.iter().all(|i| i.state == ItemState::Done && i.requested_bytes == i.record.size.unwrap_or(0)));
    assert_verified(&items, &folder);

    let events = events.lock().expect("lock");
    let mut downloading = 0i64;
    let mut most = 0;
    for event in events.iter() {
        if let MediaEvent::State { state, .. } = event {
            match state {
                ItemState::Downloading => downloading += 1,
                ItemState::Done | ItemState::Failed | ItemState::Queued if downloading > 0 => downloading -= 1,
                _ => {}
            }
            most = most.max(downloading);
        }
    }
    let progress = events.iter().filter(|e| matches!(e, MediaEvent::Progress { .. })).count();
    assert!(most <= 4, "{most} downloads at once");
    assert!(progress >= items.len(), "every item reports its last bytes: {progress}");
    let finished = |e: &MediaEvent| matches!(e, MediaEvent::Totals(t) if t.done as usize == items.len());
    assert!(events.iter().any(finished), "the totals reach every item done");
}
