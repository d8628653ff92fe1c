//! Events for progress bars: per item (bytes, total, rate), state changes, and queue totals.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::item::{ItemState, QueueTotals};

/// Something a UI may show.
#[derive(Clone, Debug, PartialEq)]
pub enum MediaEvent {
    /// Bytes of one item on disk so far; throttled to one per `MediaOptions::progress_interval` per item, the
    /// first and the last always sent.
    Progress {
        /// The integration.
        scope: String,
        /// The media id.
        media_id: String,
        /// Bytes on disk.
        bytes: u64,
        /// The file's size.
        total: u64,
        /// Bytes per second in this attempt so far.
        rate: f64,
    },
    /// An item changed state.
    State {
        /// The integration.
        scope: String,
        /// The media id.
        media_id: String,
        /// Its new state.
        state: ItemState,
        /// With `Queued` after a failed attempt, or `Failed`: [`crate::Failure::code`].
        error_code: Option<String>,
        /// The failure, for a human.
        message: Option<String>,
        /// With `Done`: where the file is.
        path: Option<PathBuf>,
    },
    /// The queue's totals, after every state change.
    Totals(QueueTotals),
}

/// An event listener. It runs on the downloader's tasks: keep it short and non-blocking.
pub type MediaEventFn = Arc<dyn Fn(&MediaEvent) + Send + Sync>;

/// Throttles one item's progress events and computes its rate.
pub(crate) struct Throttle {
    interval: Duration,
    started: Instant,
    start_bytes: Option<u64>,
    last: Option<Instant>,
}

impl Throttle {
    pub(crate) fn new(interval: Duration) -> Throttle {
        Throttle { interval, started: Instant::now(), start_bytes: None, last: None }
    }

    /// The rate to report when an event is due now.
    pub(crate) fn due(&mut self, bytes: u64, total: u64) -> Option<f64> {
        let first = *self.start_bytes.get_or_insert(bytes);
        let now = Instant::now();
        let due = bytes == total || self.last.is_none_or(|last| now - last >= self.interval);
        if !due {
            return None;
        }
        self.last = Some(now);
        let seconds = (now - self.started).as_secs_f64();
        Some(if seconds > 0.0 { (bytes - first) as f64 / seconds } else { 0.0 })
    }
}
