//! One download as the queue keeps it, its states, and the queue's totals.

use std::path::PathBuf;

/// Where a download is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ItemState {
    /// Waiting for a free slot (or for its retry time).
    Queued,
    /// Being fetched; `bytes` says how far.
    Downloading,
    /// Stopped by the user; the partial file is kept for [`crate::MediaDownloader::resume`].
    Paused,
    /// Verified and in the target folder at `path`.
    Done,
    /// Given up; `error_code` and `last_error` say why.
    Failed,
    /// Cancelled by the user, or its media was deleted on the server; the partial file is gone.
    Cancelled,
}

impl ItemState {
    /// The name stored in the queue table (and sent to bindings).
    pub fn as_str(self) -> &'static str {
        match self {
            ItemState::Queued => "queued",
            ItemState::Downloading => "downloading",
            ItemState::Paused => "paused",
            ItemState::Done => "done",
            ItemState::Failed => "failed",
            ItemState::Cancelled => "cancelled",
        }
    }

    pub(crate) fn parse(text: &str) -> ItemState {
        match text {
            "downloading" => ItemState::Downloading,
            "paused" => ItemState::Paused,
            "done" => ItemState::Done,
            "failed" => ItemState::Failed,
            "cancelled" => ItemState::Cancelled,
            _ => ItemState::Queued,
        }
    }
}

/// A media row's description of its file, as the replica holds it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MediaRecord {
    /// The name the sender gave it, untrusted.
    pub file_name: Option<String>,
    /// Its MIME type.
    pub mime_type: Option<String>,
    /// Its size in bytes.
    pub size: Option<u64>,
    /// Its SHA-256, lowercase hex.
    pub sha256: Option<String>,
}

/// One download.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaItem {
    /// The integration.
    pub scope: String,
    /// The media row's id.
    pub media_id: String,
    /// What the media row says of the file.
    pub record: MediaRecord,
    /// Higher goes first.
    pub priority: i64,
    /// Where it is.
    pub state: ItemState,
    /// Bytes of the file on disk so far (the partial file's length while downloading).
    pub bytes: u64,
    /// Attempts that failed.
    pub attempts: u32,
    /// [`crate::Failure::code`] of the last failure.
    pub error_code: Option<String>,
    /// The last failure, for a human.
    pub last_error: Option<String>,
    /// Where the finished file is.
    pub path: Option<PathBuf>,
    /// Bytes asked of the server over all attempts (its size when nothing was fetched twice).
    pub requested_bytes: u64,
    /// Bytes the attempts did not ask for because a partial file had them (the sum of their `Range` offsets).
    pub resumed_bytes: u64,
}

/// How many items are in each state, and the bytes of the unfinished ones.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueTotals {
    /// Queued items.
    pub queued: u64,
    /// Items downloading.
    pub downloading: u64,
    /// Paused items.
    pub paused: u64,
    /// Finished items.
    pub done: u64,
    /// Failed items.
    pub failed: u64,
    /// Bytes on disk of the queued, downloading and paused items.
    pub bytes: u64,
    /// Sizes of the queued, downloading and paused items.
    pub total_bytes: u64,
}
