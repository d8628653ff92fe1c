//! Terminal progress bars driven by the engine's progress events.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use sync_core::{Progress, ProgressFn, Stage};

/// One bar per collection. When stderr is not a terminal, one line per finished collection instead.
#[derive(Clone)]
pub struct Bars {
    multi: MultiProgress,
    bars: Arc<Mutex<HashMap<String, ProgressBar>>>,
    quiet: bool,
}

impl Default for Bars {
    fn default() -> Self {
        Self::new()
    }
}

impl Bars {
    /// Bars on stderr.
    pub fn new() -> Self {
        Bars { multi: MultiProgress::new(), bars: Arc::default(), quiet: false }
    }

    /// No output at all.
    pub fn hidden() -> Self {
        Bars { multi: MultiProgress::with_draw_target(ProgressDrawTarget::hidden()), bars: Arc::default(), quiet: true }
    }

    /// The callback to hand to `SyncOptions::progress`.
    pub fn callback(&self) -> ProgressFn {
        let this = self.clone();
        Arc::new(move |p: &Progress| this.on(p))
    }

    fn on(&self, p: &Progress) {
        let Some(collection) = &p.collection else { return };
        let mut bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
        let bar = bars.entry(collection.clone()).or_insert_with(|| {
            let bar = self.multi.add(ProgressBar::new(0));
            bar.set_style(
                ProgressStyle::with_template("{prefix:>26} [{bar:32.cyan/blue}] {pos:>9}/{len:<9} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_prefix(collection.clone());
            bar
        });
        // Counts when the server told us how many rows there are, seqs otherwise (incremental syncs).
        match p.total {
            Some(total) => {
                bar.set_length(total.max(p.applied));
                bar.set_position(p.applied);
            }
            None => {
                let (start, end) = (p.start_cursor, p.target_seq.max(p.cursor));
                bar.set_length((end - start).max(0) as u64);
                bar.set_position((p.cursor - start).max(0) as u64);
            }
        }
        bar.set_message(format!("{:>8.0} rows/s  {:>6.1} MB", p.rows_per_sec, p.bytes as f64 / 1e6));
        if p.stage == Stage::CollectionDone {
            if bar.length() == Some(0) {
                bar.set_length(1);
                bar.set_position(1);
            }
            bar.finish();
            if !self.quiet && bar.is_hidden() {
                eprintln!("{collection:>26}: {} rows, {} pages, {:.1} MB", p.applied, p.pages, p.bytes as f64 / 1e6);
            }
        }
    }
}
