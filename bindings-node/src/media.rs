//! Media downloads (`engine.media.*` in `sync.js`): the [`sync_client::Client`] media calls, their options,
//! items and events as JavaScript objects.

use std::sync::Arc;

use napi::bindgen_prelude::PromiseRaw;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Status};
use napi_derive::napi;
use sync_client::{MediaEvent as Event, MediaItem as Item, MediaListener, MediaSettings, QueueTotals};

use crate::engine::NativeEngine;

/// An auto-download rule: media whose MIME type starts with `mimePrefix` and is at most `maxBytes` long.
#[napi(object)]
pub struct AutoDownloadRule {
    /// e.g. `image/`; empty matches every type.
    pub mime_prefix: String,
    /// The largest size it takes.
    pub max_bytes: f64,
}

/// How the download queue runs; every field optional.
#[napi(object, js_name = "MediaSettings")]
#[derive(Default)]
pub struct JsMediaSettings {
    /// Where finished files go. Default: the user's Downloads folder.
    pub target_dir: Option<String>,
    /// Where they go when there is no Downloads folder (an app folder); without it that is `invalid_argument`.
    pub fallback_dir: Option<String>,
    /// Downloads at once (1 to 64). Default 4.
    pub concurrency: Option<u32>,
    /// Attempts before an item fails on network trouble. Default 8.
    pub max_attempts: Option<u32>,
    /// What downloads by itself after a sync; `[]`: nothing. Default: images up to 5 MB, voice notes up to 2 MB.
    pub auto_download: Option<Vec<AutoDownloadRule>>,
    /// On a metered connection nothing downloads by itself. Default false.
    pub metered: Option<bool>,
}

/// One download.
#[napi(object)]
pub struct MediaItem {
    /// The media row's id.
    pub media_id: String,
    /// The sender's file name (untrusted; the saved name is `path`'s).
    pub file_name: Option<String>,
    /// Its MIME type.
    pub mime_type: Option<String>,
    /// `queued`, `downloading`, `paused`, `done`, `failed` or `cancelled`.
    #[napi(ts_type = "'queued' | 'downloading' | 'paused' | 'done' | 'failed' | 'cancelled'")]
    pub state: String,
    /// Bytes on disk so far.
    pub bytes: f64,
    /// The file's size, from the media row.
    pub total: Option<f64>,
    /// Its SHA-256 (hex), from the media row; the download is verified against it.
    pub sha256: Option<String>,
    /// Higher starts first.
    pub priority: f64,
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
            state: i.state.as_str().to_owned(),
            bytes: i.bytes as f64,
            total: i.record.size.map(|n| n as f64),
            sha256: i.record.sha256,
            priority: i.priority as f64,
            attempts: i.attempts,
            error_code: i.error_code,
            last_error: i.last_error,
            path: i.path.map(|p| p.to_string_lossy().into_owned()),
        }
    }
}

/// Items per state, and the bytes of the unfinished ones.
#[napi(object)]
pub struct MediaTotals {
    /// Waiting to start.
    pub queued: f64,
    /// Running.
    pub downloading: f64,
    /// Paused.
    pub paused: f64,
    /// Finished.
    pub done: f64,
    /// Given up.
    pub failed: f64,
    /// Bytes on disk of the queued, downloading and paused items.
    pub bytes: f64,
    /// Their sizes.
    pub total_bytes: f64,
}

impl From<QueueTotals> for MediaTotals {
    fn from(t: QueueTotals) -> Self {
        let f = |n: u64| n as f64;
        MediaTotals {
            queued: f(t.queued),
            downloading: f(t.downloading),
            paused: f(t.paused),
            done: f(t.done),
            failed: f(t.failed),
            bytes: f(t.bytes),
            total_bytes: f(t.total_bytes),
        }
    }
}

/// Something the queue did: `progress` (throttled per item: `bytes`, `total`, `rate`), `state` (`state`, and
/// `errorCode`/`message` after a failure, `path` when done) or `totals`.
#[napi(object)]
pub struct MediaEvent {
    /// `progress`, `state` or `totals`.
    #[napi(ts_type = "'progress' | 'state' | 'totals'")]
    pub kind: String,
    /// The item, for `progress` and `state`.
    pub media_id: Option<String>,
    /// Bytes on disk (`progress`).
    pub bytes: Option<f64>,
    /// The file's size (`progress`).
    pub total: Option<f64>,
    /// Bytes per second in this attempt (`progress`).
    pub rate: Option<f64>,
    /// The new state (`state`).
    pub state: Option<String>,
    /// Why it failed (`state`).
    pub error_code: Option<String>,
    /// The failure, for a human (`state`).
    pub message: Option<String>,
    /// Where the finished file is (`state` `done`).
    pub path: Option<String>,
    /// The queue's totals (`totals`).
    pub totals: Option<MediaTotals>,
}

impl From<Event> for MediaEvent {
    fn from(e: Event) -> Self {
        let mut out = MediaEvent {
            kind: String::new(),
            media_id: None,
            bytes: None,
            total: None,
            rate: None,
            state: None,
            error_code: None,
            message: None,
            path: None,
            totals: None,
        };
        match e {
            Event::Progress { media_id, bytes, total, rate, .. } => {
                out.kind = "progress".into();
                (out.media_id, out.bytes, out.total, out.rate) =
                    (Some(media_id), Some(bytes as f64), Some(total as f64), Some(rate));
            }
            Event::State { media_id, state, error_code, message, path, .. } => {
                out.kind = "state".into();
                (out.media_id, out.state, out.error_code, out.message) =
                    (Some(media_id), Some(state.as_str().into()), error_code, message);
                out.path = path.map(|p| p.to_string_lossy().into_owned());
            }
            Event::Totals(totals) => {
                out.kind = "totals".into();
                out.totals = Some(totals.into());
            }
        }
        out
    }
}

/// The media callback: called with one event, its result ignored.
type MediaCallback = ThreadsafeFunction<MediaEvent, (), MediaEvent, Status, false>;

fn settings(s: JsMediaSettings) -> MediaSettings {
    MediaSettings {
        target_dir: s.target_dir.map(Into::into),
        fallback_dir: s.fallback_dir.map(Into::into),
        concurrency: s.concurrency,
        max_attempts: s.max_attempts,
        auto_rules: s
            .auto_download
            .map(|rules| rules.into_iter().map(|r| (r.mime_prefix, r.max_bytes.max(0.0) as u64)).collect()),
        metered: s.metered,
    }
}

#[napi]
impl NativeEngine {
    /// Opens the download queue with `settings` (replacing the settings before) and starts downloading; resolves
    /// with the folder finished files go to.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn media_configure<'env>(
        &self,
        env: &'env Env,
        settings: Option<JsMediaSettings>,
    ) -> napi::Result<PromiseRaw<'env, String>> {
        let settings = self::settings(settings.unwrap_or_default());
        self.run(env, |c| async move { Ok(c.media_configure(settings).await?) }, |p| Ok(p.to_string_lossy().into()))
    }

    /// Sends every later media event to `onEvent` (on the event loop; `null` stops them).
    #[napi(ts_return_type = "Promise<void>")]
    pub fn media_listen<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "((event: MediaEvent) => void) | undefined | null")] on_event: Option<MediaCallback>,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let listener = on_event.map(|callback| {
            Arc::new(move |event: Event| {
                callback.call(MediaEvent::from(event), ThreadsafeFunctionCallMode::NonBlocking);
            }) as MediaListener
        });
        self.run(env, |c| async move { Ok(c.media_listen(listener).await?) }, Ok)
    }

    /// Queues a media row for download (`not_found` when the replica has no such media); resolves with its item.
    #[napi(ts_return_type = "Promise<MediaItem>")]
    pub fn media_download<'env>(
        &self,
        env: &'env Env,
        media_id: String,
        priority: Option<i64>,
    ) -> napi::Result<PromiseRaw<'env, MediaItem>> {
        self.run(env, move |c| async move { Ok(c.media_download(&media_id, priority).await?) }, |i| Ok(i.into()))
    }

    /// Pauses (`pause`), resumes (`resume`) or cancels (`cancel`) an item of the queue.
    #[napi(ts_return_type = "Promise<MediaItem>")]
    pub fn media_control<'env>(
        &self,
        env: &'env Env,
        media_id: String,
        #[napi(ts_arg_type = "'pause' | 'resume' | 'cancel'")] action: String,
    ) -> napi::Result<PromiseRaw<'env, MediaItem>> {
        let work = move |c: Arc<sync_client::Client>| async move {
            Ok(match action.as_str() {
                "pause" => c.media_pause(&media_id).await?,
                "resume" => c.media_resume(&media_id).await?,
                "cancel" => c.media_cancel(&media_id).await?,
                other => {
                    let message = format!("unknown media action {other:?}: use pause, resume or cancel");
                    return Err(crate::error::Failure::argument(message));
                }
            })
        };
        self.run(env, work, |i| Ok(i.into()))
    }

    /// Gives a waiting item a new priority (higher starts first).
    #[napi(ts_return_type = "Promise<MediaItem>")]
    pub fn media_prioritize<'env>(
        &self,
        env: &'env Env,
        media_id: String,
        priority: i64,
    ) -> napi::Result<PromiseRaw<'env, MediaItem>> {
        self.run(env, move |c| async move { Ok(c.media_prioritize(&media_id, priority).await?) }, |i| Ok(i.into()))
    }

    /// Gives every waiting item of a conversation a new priority; resolves with how many.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn media_prioritize_conversation<'env>(
        &self,
        env: &'env Env,
        conversation_id: String,
        priority: i64,
    ) -> napi::Result<PromiseRaw<'env, f64>> {
        let work = move |c: Arc<sync_client::Client>| async move {
            Ok(c.media_prioritize_conversation(&conversation_id, priority).await?)
        };
        self.run(env, work, |n| Ok(n as f64))
    }

    /// One item, or null when it is not in the queue.
    #[napi(ts_return_type = "Promise<MediaItem | null>")]
    pub fn media_item<'env>(
        &self,
        env: &'env Env,
        media_id: String,
    ) -> napi::Result<PromiseRaw<'env, Option<MediaItem>>> {
        self.run(env, move |c| async move { Ok(c.media_item(&media_id).await?) }, |i| Ok(i.map(Into::into)))
    }

    /// The integration's items, in the order they would start.
    #[napi(ts_return_type = "Promise<MediaItem[]>")]
    pub fn media_items<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, Vec<MediaItem>>> {
        self.run(
            env,
            |c| async move { Ok(c.media_items().await?) },
            |items| Ok(items.into_iter().map(Into::into).collect()),
        )
    }

    /// Items per state and the unfinished bytes.
    #[napi(ts_return_type = "Promise<MediaTotals>")]
    pub fn media_totals<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, MediaTotals>> {
        self.run(env, |c| async move { Ok(c.media_totals().await?) }, |t| Ok(t.into()))
    }

    /// Applies the auto-download policy and the server's media changes to the queue now; resolves with the ids
    /// it queued.
    #[napi(ts_return_type = "Promise<string[]>")]
    pub fn media_reconcile<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, Vec<String>>> {
        self.run(env, |c| async move { Ok(c.media_reconcile().await?) }, |r| Ok(r.added))
    }
}
