//! Benchmarks of the sync engine's hot paths (`benches/hot_paths.rs`, criterion): decoding a page and applying
//! it to SQLite. Run them with `cargo bench -p sync-benches`.
//!
//! This library holds the fixtures the benchmarks share: realistic pages of the WhatsApp schema.

use std::sync::Arc;

use server_example::generate::{Sizes, generate};
use server_example::whatsapp;
use sync_core::memory::MemoryFeed;
use sync_core::{ChangeFeed, FeedPage};

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
