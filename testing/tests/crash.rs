//! The quick crash trials of CI: a `sync-cli` child killed mid-sync, and `server-example serve` killed and
//! restarted under a syncing client on each store; a row lost or a database off a page boundary fails the test.
//! Needs the `sync-cli` and `server-example` binaries of this profile (a workspace test run builds them);
//! `crash-trials` runs the long version, and the Node client's (`scripts/test.sh`).

use server_example::generate::Sizes;
use sync_testing::crash::{ServerKind, client_kills, server_kills};
use sync_testing::procs::{Binaries, ClientKind, test_postgres};

const SIZES: Sizes = Sizes { conversations: 40, messages: 3_000, contacts: 30 };

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_sync_cli_is_always_at_a_page_boundary_and_ends_exact() {
    let bins = Binaries::locate().expect("binaries");
    let report = client_kills(&bins, ClientKind::Cli, 6, SIZES, 7).await.expect("client kills");
    assert_eq!(report.kills, 6);
    assert!(report.boundary_checks >= 6 && report.exact >= 2, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_survives_its_embedded_server_killed_mid_sync() {
    let bins = Binaries::locate().expect("binaries");
    let report = server_kills(&bins, &ServerKind::Embedded, 3, SIZES, 7).await.expect("server kills");
    assert!(report.kills == 3 && report.exact >= 3, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_survives_its_postgres_server_killed_mid_sync() {
    let Some(server) = test_postgres() else { return };
    let bins = Binaries::locate().expect("binaries");
    let report = server_kills(&bins, &ServerKind::Postgres(server), 2, SIZES, 7).await.expect("server kills");
    assert!(report.kills == 2 && report.exact >= 2, "{report:?}");
}

/// `sync-cli media` killed mid-file: every file in the folder verified after each kill, each resume from the
/// partial file's length, no partial file left at the end, and only the bytes in flight at a kill fetched twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_media_download_resumes_from_its_partial_file() {
    let bins = Binaries::locate().expect("binaries");
    let report = sync_testing::media_crash::media_kills(&bins, 8, 2, 2_000_000, 7).await.expect("media kills");
    assert!(report.kills == 8 && report.rounds >= 2, "{report:?}");
    assert!(report.resumed_bytes >= report.partial_bytes && report.partial_bytes > 0, "{report:?}");
    // A kill loses only what was in flight (four downloads, each at most its channel and socket buffers).
    assert!(report.refetched_bytes() < report.kills as u64 * 4 * 512 * 1024, "{report:?}");
}
