//! Media downloads: the [`sync_client::Client`] media calls (the twin of the Node addon's `engine.media.*`), their
//! settings, items and events as records, and [`MediaListener`], what the foreign side implements to see them.

use std::sync::Arc;

use sync_client::{MediaEvent as Event, MediaItem as Item, MediaSettings as Settings, QueueTotals};

use crate::engine::SyncEngine;
use crate::error::SeqsyncError;
use crate::on_runtime;

/// An auto-download rule: media whose MIME type starts with `mime_prefix` and is at most `max_bytes` long.
#[derive(uniffi::Record, Clone, Debug, PartialEq)]
pub struct AutoDownloadRule {
    /// e.g. `image/`; empty matches every type.
    pub mime_prefix: String,
    /// The largest size it takes.
    pub max_bytes: u64,
}

/// How the download queue runs; every field optional.
#[derive(uniffi::Record, Clone, Debug, Default, PartialEq)]
pub struct MediaSettings {
    /// Where finished files go. Default: the user's Downloads folder.
    #[uniffi(default = None)]
    pub target_dir: Option<String>,
    /// Where they go when there is no Downloads folder (an app folder); without it that is `InvalidArgument`.
    #[uniffi(default = None)]
    pub fallback_dir: Option<String>,
    /// Downloads at once (1 to 64). Default 4.
    #[uniffi(default = None)]
    pub concurrency: Option<u32>,
    /// Attempts before an item fails on network trouble. Default 8.
    #[uniffi(default = None)]
    pub max_attempts: Option<u32>,
    /// What downloads by itself after a sync; empty: nothing. Default: images up to 5 MB, voice notes up to 2 MB.
    #[uniffi(default = None)]
    pub auto_download: Option<Vec<AutoDownloadRule>>,
    /// On a metered connection nothing downloads by itself. Default false.
    #[uniffi(default = None)]
    pub metered: Option<bool>,
}

/// Where a download is.
#[derive(uniffi::Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaState {
    /// Waiting for a free slot (or its retry time).
    Queued,
    /// Being fetched.
    Downloading,
    /// Stopped by the user; the partial file is kept.
    Paused,
    /// Verified and in the target folder.
    Done,
    /// Given up (`error_code`, `last_error`).
    Failed,
    /// Cancelled (or deleted on the server); the partial file is gone.
    Cancelled,
}

impl From<sync_client::ItemState> for MediaState {
    fn from(s: sync_client::ItemState) -> Self {
        use sync_client::ItemState as S;
        match s {
            S::Queued => MediaState::Queued,
            S::Downloading => MediaState::Downloading,
            S::Paused => MediaState::Paused,
            S::Done => MediaState::Done,
            S::Failed => MediaState::Failed,
            S::Cancelled => MediaState::Cancelled,
        }
    }
}

/// One download.
#[derive(uniffi::Record, Clone, Debug, PartialEq)]
pub struct MediaItem {
    /// The media row's id.
    pub media_id: String,
    /// The sender's file name (untrusted; the saved name is `path`'s).
    pub file_name: Option<String>,
    /// Its MIME type.
    pub mime_type: Option<String>,
    /// Where it is.
    pub state: MediaState,
    /// Bytes on disk so far.
    pub bytes: u64,
    /// The file's size, from the media row.
    pub total: Option<u64>,
    /// Its SHA-256 (hex), from the media row; the download is verified against it.
    pub sha256: Option<String>,
    /// Higher starts first.
    pub priority: i64,
    /// Failed attempts.
    pub attempts: u32,
    /// The last failure's code (`network`, `not_found`, `hash_mismatch`, ...).
    pub error_code: Option<String>,
    /// The last failure, for a human.
    pub last_error: Option<String>,
    /// Where the finished file is.
    pub path: Option<String>,
}

impl From<Item> for MediaItem {
    fn from(i: Item) -> Self {
        MediaItem {
            media_id: i.media_id,
            file_name: i.record.file_name,
            mime_type: i.record.mime_type,
            state: i.state.into(),
            bytes: i.bytes,
            total: i.record.size,
            sha256: i.record.sha256,
            priority: i.priority,
            attempts: i.attempts,
            error_code: i.error_code,
            last_error: i.last_error,
            path: i.path.map(|p| p.to_string_lossy().into_owned()),
        }
    }
}

/// Items per state, and the bytes of the unfinished ones.
#[derive(uniffi::Record, Clone, Debug, PartialEq)]
pub struct MediaTotals {
    /// Waiting to start.
    pub queued: u64,
    /// Running.
    pub downloading: u64,
    /// Paused.
    pub paused: u64,
    /// Finished.
    pub done: u64,
    /// Given up.
    pub failed: u64,
    /// Bytes on disk of the queued, downloading and paused items.
    pub bytes: u64,
    /// Their sizes.
    pub total_bytes: u64,
}

impl From<QueueTotals> for MediaTotals {
    fn from(t: QueueTotals) -> Self {
        let QueueTotals { queued, downloading, paused, done, failed, bytes, total_bytes } = t;
        MediaTotals { queued, downloading, paused, done, failed, bytes, total_bytes }
    }
}

/// Something the queue did.
#[derive(uniffi::Enum, Clone, Debug, PartialEq)]
pub enum MediaEvent {
    /// Bytes of one item on disk so far; throttled per item like sync progress (first and last always sent).
    Progress {
        /// The item.
        media_id: String,
        /// Bytes on disk.
        bytes: u64,
        /// The file's size.
        total: u64,
        /// Bytes per second in this attempt.
        rate: f64,
    },
    /// An item changed state.
    State {
        /// The item.
        media_id: String,
        /// Its new state.
        state: MediaState,
        /// Why it failed.
        error_code: Option<String>,
        /// The failure, for a human.
        message: Option<String>,
        /// Where the finished file is (`Done`).
        path: Option<String>,
    },
    /// The queue's totals, after every state change.
    Totals {
        /// The totals.
        totals: MediaTotals,
    },
}

impl From<Event> for MediaEvent {
    fn from(e: Event) -> Self {
        match e {
            Event::Progress { media_id, bytes, total, rate, .. } => {
                MediaEvent::Progress { media_id, bytes, total, rate }
            }
            Event::State { media_id, state, error_code, message, path, .. } => MediaEvent::State {
                media_id,
                state: state.into(),
                error_code,
                message,
                path: path.map(|p| p.to_string_lossy().into_owned()),
            },
            Event::Totals(totals) => MediaEvent::Totals { totals: totals.into() },
        }
    }
}

/// Receives the media queue's events, in order, on one of the binding's threads (not the caller's): hand them to
/// the UI thread as the platform wants. One that throws is called again on the next event.
#[uniffi::export(foreign)]
pub trait MediaListener: Send + Sync {
    /// One event.
    fn on_media_event(&self, event: MediaEvent);
}

fn settings(s: MediaSettings) -> Settings {
    Settings {
        target_dir: s.target_dir.map(Into::into),
        fallback_dir: s.fallback_dir.map(Into::into),
        concurrency: s.concurrency,
        max_attempts: s.max_attempts,
        auto_rules: s.auto_download.map(|rules| rules.into_iter().map(|r| (r.mime_prefix, r.max_bytes)).collect()),
        metered: s.metered,
    }
}

#[uniffi::export]
impl SyncEngine {
    /// Opens the download queue with `settings` (replacing earlier ones) and starts downloading; returns the folder
    /// finished files go to.
    pub async fn media_configure(&self, settings: MediaSettings) -> Result<String, SeqsyncError> {
        let client = self.client()?;
        let settings = self::settings(settings);
        on_runtime(async move { Ok(client.media_configure(settings).await?.to_string_lossy().into_owned()) }).await
    }

    /// Sends every later media event to `listener` (`None` stops them).
    #[uniffi::method(default(listener = None))]
    pub async fn media_listen(&self, listener: Option<Arc<dyn MediaListener>>) -> Result<(), SeqsyncError> {
        let client = self.client()?;
        let listener = listener.map(|listener| {
            Arc::new(move |event: Event| listener.on_media_event(event.into())) as sync_client::MediaListener
        });
        on_runtime(async move { Ok(client.media_listen(listener).await?) }).await
    }

    /// Queues a synced media row for download (`NotFound` when the replica has none) with `priority` (default
    /// 10; auto-downloads get 0; higher starts first); returns its item.
    #[uniffi::method(default(priority = None))]
    pub async fn media_download(&self, media_id: String, priority: Option<i64>) -> Result<MediaItem, SeqsyncError> {
        let client = self.client()?;
        on_runtime(async move { Ok(client.media_download(&media_id, priority).await?.into()) }).await
    }

    /// Stops an item, keeping its partial file (`NotFound` when it is not in the queue).
    pub async fn media_pause(&self, media_id: String) -> Result<MediaItem, SeqsyncError> {
        let client = self.client()?;
        on_runtime(async move { Ok(client.media_pause(&media_id).await?.into()) }).await
    }

    /// Queues a paused or failed item again; it continues from its partial file.
    pub async fn media_resume(&self, media_id: String) -> Result<MediaItem, SeqsyncError> {
        let client = self.client()?;
        on_runtime(async move { Ok(client.media_resume(&media_id).await?.into()) }).await
    }

    /// Stops an item for good and removes its partial file.
    pub async fn media_cancel(&self, media_id: String) -> Result<MediaItem, SeqsyncError> {
        let client = self.client()?;
        on_runtime(async move { Ok(client.media_cancel(&media_id).await?.into()) }).await
    }

    /// Gives a waiting item a new priority (higher starts first).
    pub async fn media_prioritize(&self, media_id: String, priority: i64) -> Result<MediaItem, SeqsyncError> {
        let client = self.client()?;
        on_runtime(async move { Ok(client.media_prioritize(&media_id, priority).await?.into()) }).await
    }

    /// Gives every waiting item of a conversation a new priority; returns how many.
    pub async fn media_prioritize_conversation(
        &self,
        conversation_id: String,
        priority: i64,
    ) -> Result<u64, SeqsyncError> {
        let client = self.client()?;
        on_runtime(async move { Ok(client.media_prioritize_conversation(&conversation_id, priority).await?) }).await
    }

    /// One item, or `None` when it is not in the queue.
    pub async fn media_item(&self, media_id: String) -> Result<Option<MediaItem>, SeqsyncError> {
        let client = self.client()?;
        on_runtime(async move { Ok(client.media_item(&media_id).await?.map(Into::into)) }).await
    }

    /// The integration's items, in the order they would start.
    pub async fn media_items(&self) -> Result<Vec<MediaItem>, SeqsyncError> {
        let client = self.client()?;
        on_runtime(async move { Ok(client.media_items().await?.into_iter().map(Into::into).collect()) }).await
    }

    /// Items per state, and the bytes of the unfinished ones.
    pub async fn media_totals(&self) -> Result<MediaTotals, SeqsyncError> {
        let client = self.client()?;
        on_runtime(async move { Ok(client.media_totals().await?.into()) }).await
    }

    /// Applies the auto-download policy and the server's media changes now; returns the ids it queued.
    pub async fn media_reconcile(&self) -> Result<Vec<String>, SeqsyncError> {
        let client = self.client()?;
        on_runtime(async move { Ok(client.media_reconcile().await?.added) }).await
    }
}
