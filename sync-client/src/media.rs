//! Media downloads of the client's integration: the [`sync_media`] queue (persistent in the replica file,
//! resumable, verified) opened from the client's own options, run in the background, controlled per item, and
//! reported to one listener (per-item progress throttled like sync progress, state changes, queue totals).
//!
//! The queue opens on the first media call with [`MediaSettings::default`], or on
//! [`Client::media_configure`]; after each [`Client::sync`] of a client whose queue is open, it is reconciled
//! (the auto-download policy queues new rows; deleted and changed media are cancelled or restarted).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sync_media::{MediaDownloader, MediaEvent, MediaItem, MediaOptions, MediaRunner, QueueTotals, Reconciled};
use tokio::sync::broadcast;

use crate::forward::{Forwarder, Listener};
use crate::{Client, Error};

/// Called with each [`MediaEvent`], in order, on a blocking thread; one that panics is called again on the next.
pub type MediaListener = Listener<MediaEvent>;

/// Priority of [`Client::media_download`] when none is given: above the auto-download policy's 0, since the
/// user asked for it.
pub const USER_PRIORITY: i64 = 10;

/// Media events kept for a listener that has not read them yet.
const MEDIA_BACKLOG: usize = 1024;

/// How the download queue runs; every field optional.
#[derive(Clone, Debug, Default)]
pub struct MediaSettings {
    /// Where finished files go. Default: the user's Downloads folder.
    pub target_dir: Option<PathBuf>,
    /// Where they go when no target is given and the system has no Downloads folder (an app's own folder). Without
    /// it, such a system makes opening the queue fail with `invalid_argument`.
    pub fallback_dir: Option<PathBuf>,
    /// Downloads at once. Default 4.
    pub concurrency: Option<u32>,
    /// Attempts before an item fails on network trouble. Default 8.
    pub max_attempts: Option<u32>,
    /// What downloads by itself after a sync: `(MIME type prefix, largest size in bytes)`; empty: nothing, `("",
    /// u64::MAX)`: everything. Default: images up to 5 MB, voice notes up to 2 MB ([`sync_media::AutoDownload::default`]).
    pub auto_rules: Option<Vec<(String, u64)>>,
    /// On a metered connection nothing downloads by itself. Default false.
    pub metered: Option<bool>,
}

/// The open queue and its background scheduler.
struct Running {
    downloader: MediaDownloader,
    runner: MediaRunner,
}

/// The client's media state: the queue once opened, and the listener's forwarder.
pub(crate) struct MediaSlot {
    base: MediaOptions,
    running: tokio::sync::Mutex<Option<Running>>,
    events: broadcast::Sender<MediaEvent>,
    forwarder: tokio::sync::Mutex<Option<Forwarder>>,
}

impl MediaSlot {
    /// For the replica `db` on the server `url`; progress events at most every `interval`.
    pub(crate) fn new(db: PathBuf, url: &str, token: Option<&str>, interval: Option<Duration>) -> MediaSlot {
        let mut base = MediaOptions::new(db, url, token);
        if let Some(interval) = interval {
            base.progress_interval = interval;
        }
        MediaSlot {
            base,
            running: tokio::sync::Mutex::new(None),
            events: broadcast::channel(MEDIA_BACKLOG).0,
            forwarder: tokio::sync::Mutex::new(None),
        }
    }

    /// Stops the scheduler (running downloads go back to the queue with their partial files) and the listener.
    pub(crate) async fn stop(&self) {
        if let Some(running) = self.running.lock().await.take() {
            running.runner.stop().await;
        }
        if let Some(forwarder) = self.forwarder.lock().await.take() {
            forwarder.finish().await;
        }
    }

    fn options(&self, settings: MediaSettings) -> Result<MediaOptions, Error> {
        let mut options = self.base.clone();
        let folder = settings.target_dir.or_else(dirs::download_dir).or(settings.fallback_dir).ok_or_else(|| {
            Error::InvalidArgument(
                "this system has no Downloads folder: configure the media target folder (or a fallback folder)".into(),
            )
        })?;
        options.target_dir = Some(folder);
        if let Some(n) = settings.concurrency {
            options.concurrency = n.clamp(1, 64) as usize;
        }
        if let Some(n) = settings.max_attempts {
            options.max_attempts = n.max(1);
        }
        if let Some(rules) = settings.auto_rules {
            options.auto.rules = rules;
        }
        options.auto.metered = settings.metered.unwrap_or(options.auto.metered);
        Ok(options)
    }
}

impl Client {
    /// Opens the download queue with `settings` (stopping the one open before: its running downloads go back to
    /// the queue and resume under the new settings) and starts downloading what it holds; returns the folder
    /// finished files go to (created if missing). A folder that cannot be created is `invalid_argument`.
    pub async fn media_configure(&self, settings: MediaSettings) -> Result<PathBuf, Error> {
        self.check_open()?;
        let options = self.media.options(settings)?;
        let mut running = self.media.running.lock().await;
        if let Some(old) = running.take() {
            old.runner.stop().await;
        }
        let downloader = tokio::task::spawn_blocking(move || MediaDownloader::open(options)).await??;
        let events = self.media.events.clone();
        downloader.set_listener(Arc::new(move |event: &MediaEvent| {
            // No receiver (no listener) is fine: the events are for UIs only.
            let _ = events.send(event.clone());
        }));
        let folder = downloader.folder().to_path_buf();
        let runner = downloader.start();
        *running = Some(Running { downloader, runner });
        Ok(folder)
    }

    /// The open queue, opening it with the default settings first if needed.
    async fn downloader(&self) -> Result<MediaDownloader, Error> {
        self.check_open()?;
        if let Some(running) = self.media.running.lock().await.as_ref() {
            return Ok(running.downloader.clone());
        }
        self.media_configure(MediaSettings::default()).await?;
        self.media.running.lock().await.as_ref().map(|r| r.downloader.clone()).ok_or(Error::Closed)
    }

    fn check_open(&self) -> Result<(), Error> {
        if self.closed.is_cancelled() { Err(Error::Closed) } else { Ok(()) }
    }

    /// Sends every later media event to `listener` (replacing the one before; `None` removes it).
    pub async fn media_listen(&self, listener: Option<MediaListener>) -> Result<(), Error> {
        self.check_open()?;
        let mut slot = self.media.forwarder.lock().await;
        if let Some(old) = slot.take() {
            old.finish().await;
        }
        *slot = listener.map(|listener| Forwarder::start(self.media.events.subscribe(), listener));
        Ok(())
    }

    /// The folder finished files go to (opening the queue if needed).
    pub async fn media_folder(&self) -> Result<PathBuf, Error> {
        Ok(self.downloader().await?.folder().to_path_buf())
    }

    /// Queues media `media_id` of the integration (its row must be in the replica: `not_found` otherwise) with
    /// `priority` (default [`USER_PRIORITY`]; higher starts first); a failed or cancelled item is queued again, a
    /// finished one stays. Returns the item.
    pub async fn media_download(&self, media_id: &str, priority: Option<i64>) -> Result<MediaItem, Error> {
        let media = self.downloader().await?;
        media.download(self.scope(), media_id, priority.unwrap_or(USER_PRIORITY)).await?;
        self.media_item_or_not_queued(&media, media_id).await
    }

    /// Stops an item, keeping its partial file (a running download stops within moments).
    pub async fn media_pause(&self, media_id: &str) -> Result<MediaItem, Error> {
        let media = self.queued(media_id).await?;
        media.pause(self.scope(), media_id).await?;
        self.media_item_or_not_queued(&media, media_id).await
    }

    /// Queues a paused or failed item again; it continues from its partial file.
    pub async fn media_resume(&self, media_id: &str) -> Result<MediaItem, Error> {
        let media = self.queued(media_id).await?;
        media.resume(self.scope(), media_id).await?;
        self.media_item_or_not_queued(&media, media_id).await
    }

    /// Stops an item for good and removes its partial file.
    pub async fn media_cancel(&self, media_id: &str) -> Result<MediaItem, Error> {
        let media = self.queued(media_id).await?;
        media.cancel(self.scope(), media_id).await?;
        self.media_item_or_not_queued(&media, media_id).await
    }

    /// Gives a waiting item a new priority; `not_found` when it is not in the queue.
    pub async fn media_prioritize(&self, media_id: &str, priority: i64) -> Result<MediaItem, Error> {
        let media = self.queued(media_id).await?;
        media.prioritize(self.scope(), vec![media_id.to_owned()], priority).await?;
        self.media_item_or_not_queued(&media, media_id).await
    }

    /// Gives every waiting item of a conversation a new priority; returns how many.
    pub async fn media_prioritize_conversation(&self, conversation_id: &str, priority: i64) -> Result<u64, Error> {
        Ok(self.downloader().await?.prioritize_conversation(self.scope(), conversation_id, priority).await?)
    }

    /// One item of the queue, if it is there.
    pub async fn media_item(&self, media_id: &str) -> Result<Option<MediaItem>, Error> {
        Ok(self.downloader().await?.item(self.scope(), media_id).await?)
    }

    /// The integration's items, in the order they would start.
    pub async fn media_items(&self) -> Result<Vec<MediaItem>, Error> {
        let items = self.downloader().await?.items().await?;
        Ok(items.into_iter().filter(|item| item.scope == self.scope()).collect())
    }

    /// Counts per state and bytes of the unfinished items.
    pub async fn media_totals(&self) -> Result<QueueTotals, Error> {
        Ok(self.downloader().await?.totals().await?)
    }

    /// Compares the queue with the replica's media rows now (a sync does it by itself once the queue is open).
    pub async fn media_reconcile(&self) -> Result<Reconciled, Error> {
        Ok(self.downloader().await?.reconcile(self.scope()).await?)
    }

    /// After a sync: reconciles the queue if it is open (a failure is logged, not the sync's).
    pub(crate) async fn reconcile_after_sync(&self) {
        let media = self.media.running.lock().await.as_ref().map(|r| r.downloader.clone());
        if let Some(media) = media
            && let Err(e) = media.reconcile(self.scope()).await
        {
            tracing::warn!(error = %e, "cannot reconcile the media queue after a sync");
        }
    }

    async fn queued(&self, media_id: &str) -> Result<MediaDownloader, Error> {
        let media = self.downloader().await?;
        self.media_item_or_not_queued(&media, media_id).await?;
        Ok(media)
    }

    async fn media_item_or_not_queued(&self, media: &MediaDownloader, media_id: &str) -> Result<MediaItem, Error> {
        media.item(self.scope(), media_id).await?.ok_or_else(|| Error::NotQueued(media_id.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use sync_core::ClientStore;

    use super::*;
    use crate::ClientOptions;

    #[test]
    fn the_folder_is_the_target_else_downloads_else_the_fallback_and_settings_are_bounded() {
        let slot = MediaSlot::new("r.db".into(), "http://127.0.0.1:9/", None, Some(Duration::from_millis(7)));
        let target = MediaSettings { target_dir: Some("t".into()), concurrency: Some(1000), ..Default::default() };
        let options = slot.options(target).expect("options");
        assert_eq!((options.target_dir, options.concurrency), (Some("t".into()), 64));
        assert_eq!((options.url.as_str(), options.progress_interval), ("http://127.0.0.1:9", Duration::from_millis(7)));
        let fallback =
            MediaSettings { fallback_dir: Some("app".into()), auto_rules: Some(vec![]), ..Default::default() };
        let options = slot.options(fallback).expect("options");
        assert_eq!(options.target_dir, dirs::download_dir().or(Some("app".into())));
        assert!(options.auto.rules.is_empty());
        match slot.options(MediaSettings::default()) {
            Ok(options) => assert_eq!(options.target_dir, dirs::download_dir()),
            Err(e) => assert_eq!(e.code(), sync_core::ErrorCode::InvalidArgument, "{e}"),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unknown_media_id_is_not_found_and_a_closed_client_refuses_media_calls() {
        let dir = tempfile::tempdir().expect("dir");
        let options = ClientOptions {
            scope: "s".into(),
            db: dir.path().join("c.db"),
            url: "http://127.0.0.1:9".into(),
            ..Default::default()
        };
        let client = Arc::new(Client::open(options).expect("open"));
        let settings = MediaSettings { target_dir: Some(dir.path().join("downloads")), ..Default::default() };
        assert_eq!(client.media_configure(settings).await.expect("configure"), dir.path().join("downloads"));
        client.store.prepare(&schema()).await.expect("prepare");
        let e = client.media_download("nope", None).await.expect_err("unknown media");
        assert_eq!(e.code(), sync_core::ErrorCode::NotFound, "{e}");
        let e = client.media_pause("nope").await.expect_err("not queued");
        assert!(e.code() == sync_core::ErrorCode::NotFound && e.to_string().contains("nope"), "{e}");
        assert!(client.media_items().await.expect("items").is_empty());
        Client::close(client.clone()).await.expect("close");
        let e = client.media_items().await.expect_err("closed");
        assert_eq!(e.code(), sync_core::ErrorCode::Closed);
    }

    fn schema() -> sync_core::Schema {
        use sync_core::{Collection, Column, ColumnType as T};
        let columns = ["conversation_id", "mime_type", "file_name", "sha256"].map(|name| Column::new(name, T::Text));
        let mut columns = columns.to_vec();
        columns.push(Column::new("size_bytes", T::Integer));
        sync_core::Schema::new(vec![Collection::new("message_media", columns)]).expect("schema")
    }
}
