//! Progress events and the final report.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

/// Where a sync is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The sync started (schema and status fetched).
    Started,
    /// Pages of `collection` are being applied.
    Collection,
    /// `collection` is up to date.
    CollectionDone,
    /// Every collection is up to date.
    Finished,
}

impl Stage {
    /// The stage's name as the bindings show it: `started`, `collection`, `collection_done`, `finished`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Started => "started",
            Stage::Collection => "collection",
            Stage::CollectionDone => "collection_done",
            Stage::Finished => "finished",
        }
    }
}

/// A progress event. Events of one collection are throttled (see `SyncConfig::with_progress_interval`); the first
/// page and the end of each collection are always reported.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Progress {
    /// The scope being synced.
    pub scope: String,
    /// The stage.
    pub stage: Stage,
    /// The collection, for the collection stages.
    pub collection: Option<String>,
    /// Rows (and tombstones) applied to this collection in this sync.
    pub applied: u64,
    /// Expected rows for this collection: the server's count on a first sync, unknown on an incremental one.
    pub total: Option<u64>,
    /// Pages applied to this collection in this sync.
    pub pages: u64,
    /// Bytes received for this collection in this sync.
    pub bytes: u64,
    /// The collection's cursor when this sync started.
    pub start_cursor: i64,
    /// The collection's cursor now.
    pub cursor: i64,
    /// The collection's latest seq on the server when the sync started.
    pub target_seq: i64,
    /// Rows per second applied to this collection so far.
    pub rows_per_sec: f64,
}

impl Progress {
    /// Completion of the collection in `[0, 1]`, from counts when the total is known, else from seqs.
    pub fn fraction(&self) -> f64 {
        let f = match self.total {
            Some(total) if total > 0 => self.applied as f64 / total as f64,
            _ if self.target_seq > self.start_cursor => {
                (self.cursor - self.start_cursor) as f64 / (self.target_seq - self.start_cursor) as f64
            }
            _ => 1.0,
        };
        f.clamp(0.0, 1.0)
    }
}

/// A progress callback. It runs on the engine's task: keep it short and non-blocking.
pub type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// What a sync did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SyncReport {
    /// The scope.
    pub scope: String,
    /// One entry per collection visited, in sync order.
    pub collections: Vec<CollectionReport>,
    /// Wall time of the whole sync.
    pub elapsed: Duration,
    /// Whether the server asked for a full re-sync (HTTP 409 `resync_required`), so the scope was reset and
    /// synced from scratch; `collections` then describe the sync from scratch.
    pub resynced: bool,
}

/// What a sync did to one collection.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CollectionReport {
    /// The collection.
    pub collection: String,
    /// Rows inserted or updated.
    pub upserted: u64,
    /// Tombstones applied.
    pub deleted: u64,
    /// Rows skipped as already applied.
    pub skipped: u64,
    /// Pages fetched and applied.
    pub pages: u64,
    /// Bytes received (decompressed bodies).
    pub bytes: u64,
    /// Cursor before the sync.
    pub cursor_before: i64,
    /// Cursor after the sync.
    pub cursor_after: i64,
}

impl SyncReport {
    /// Rows applied (upserts and tombstones) over all collections.
    pub fn rows(&self) -> u64 {
        self.collections.iter().map(|c| c.upserted + c.deleted).sum()
    }

    /// Pages over all collections.
    pub fn pages(&self) -> u64 {
        self.collections.iter().map(|c| c.pages).sum()
    }

    /// Bytes over all collections.
    pub fn bytes(&self) -> u64 {
        self.collections.iter().map(|c| c.bytes).sum()
    }

    /// The entry of one collection.
    pub fn collection(&self, name: &str) -> Option<&CollectionReport> {
        self.collections.iter().find(|c| c.collection == name)
    }
}
