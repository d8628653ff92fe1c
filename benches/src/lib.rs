//! Benchmarks of the sync engine's hot paths (`benches/hot_paths.rs`, criterion): decoding a page and applying
//! it to SQLite. Run them with `cargo bench -p sync-benches`.
//!
//! This library holds what the benchmarks share: realistic pages of the WhatsApp schema, and the latency helpers
//! of the live benchmarks (`live_latency`, `writes`, `pg_writes`).

use std::collections::BTreeMap;
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

/// CPU seconds (user + system) each thread of this process has used, summed by thread name as Linux keeps it
/// (its first 15 bytes: the server store's reader threads count as one, `sync-sqlite-ser`). Diff two samples to
/// see where a run spent its CPU; empty where `/proc` is not there.
pub fn thread_cpu() -> BTreeMap<String, f64> {
    // /proc reports in USER_HZ, 100 on Linux whatever the kernel's own tick.
    const TICKS_PER_SECOND: f64 = 100.0;
    let mut by_name = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return by_name };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else { continue };
        // `pid (comm) state ppid ...`: the name may hold spaces and parentheses, so split at the last ')'.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else { continue };
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
        let ticks: f64 = fields.iter().skip(11).take(2).filter_map(|f| f.parse::<f64>().ok()).sum();
        *by_name.entry(stat[open + 1..close].to_owned()).or_insert(0.0) += ticks / TICKS_PER_SECOND;
    }
    by_name
}

/// What each thread name used between two [`thread_cpu`] samples, as `name 1.23 s` joined by commas, busiest
/// first (threads that ended in between are not counted).
pub fn cpu_between(before: &BTreeMap<String, f64>, after: &BTreeMap<String, f64>) -> String {
    let mut used: Vec<(&String, f64)> =
        after.iter().map(|(name, s)| (name, s - before.get(name).copied().unwrap_or(0.0))).collect();
    used.retain(|(_, s)| *s >= 0.05);
    used.sort_by(|a, b| b.1.total_cmp(&a.1));
    let total: f64 = used.iter().map(|(_, s)| s).sum();
    let each: Vec<String> = used.iter().map(|(name, s)| format!("{name} {s:.2} s")).collect();
    format!("{total:.2} s CPU: {}", each.join(", "))
}
