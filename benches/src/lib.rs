//! Benchmarks of the sync engine's hot paths (`benches/hot_paths.rs`, criterion): decoding a page and applying
//! it to SQLite. Run them with `cargo bench -p sync-benches`.
//!
//! This library holds what the benchmarks share: realistic pages of the WhatsApp schema, and the latency helpers
//! of the live benchmarks (`live_latency`, `writes`, `pg_writes`).

use std::sync::Arc;
use std::time::Duration;

use server_example::generate::{Sizes, generate};
use server_example::whatsapp;
use sync_core::live::ChangeEvent;
use sync_core::memory::MemoryFeed;
use sync_core::{ChangeFeed, FeedPage};
use tokio::sync::broadcast;

/// A page of `rows` generated messages (seqs from 1), and the feed it came from.
pub fn message_page(rows: usize) -> (Arc<MemoryFeed>, FeedPage) {
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    runtime.block_on(async {
        let feed = Arc::new(MemoryFeed::new(whatsapp::schema()));
        let sizes = Sizes { conversations: 100, messages: rows, contacts: 50 };
        generate(feed.as_ref(), "bench", sizes, 1, |_| {}).await.expect("generate");
        let page = feed.page("bench", "messages", 0, rows).await.expect("page");
        (feed, page)
    })
}

/// The `p` quantile (0 to 1) of ascending `sorted` samples, nearest rank.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Milliseconds with two decimals, as the latency tables print them.
pub fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

/// Waits (at most 30 s) for the change event that upserts row `id`.
pub async fn wait_for(events: &mut broadcast::Receiver<ChangeEvent>, id: &str) {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(30), events.recv()).await.expect("event in 30 s");
        if event.expect("events").upserted.iter().any(|u| u == id) {
            return;
        }
    }
}
