//! A small load run for CI: clients full-syncing one `server-example` on PostgreSQL at once, then writers and
//! incremental pullers together; every client exact and no failed request. `load` runs the large version.

use std::time::Duration;

use server_example::generate::Sizes;
use sync_testing::load::{LoadOptions, run};
use sync_testing::procs::{Binaries, test_postgres};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_clients_and_a_mixed_load_end_exact_without_failed_requests() {
    let Some(postgres) = test_postgres() else { return };
    let options = LoadOptions {
        postgres,
        clients: 8,
        sizes: Sizes { conversations: 15, messages: 800, contacts: 10 },
        mixed: Duration::from_secs(4),
        writers: 2,
        pullers: 4,
    };
    let report = run(&Binaries::locate().expect("binaries"), &options).await.expect("load run");
    assert_eq!(report.exact_clients, 8);
    assert!(report.write_batches >= 2 && report.incremental_syncs >= 4, "{report:?}");
    assert!(report.full.pages() >= 8 * 5, "{} pages", report.full.pages());
    assert!(report.full.failures().is_empty() && report.mixed.failures().is_empty(), "{report:?}");
    assert!(report.server_rss_kib.1 > 0, "the server's memory was read");
}
