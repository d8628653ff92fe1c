//! The client's media downloads: a queue kept in the replica's SQLite file, so it survives restarts and crashes,
//! that fetches media files from `GET /media/{integration_id}/{media_id}` with bounded concurrency, resumes a
//! partial file with `Range`, verifies size and SHA-256 against the synced media row before an atomic,
//! no-clobber move into the download folder, retries with backoff, and reports progress.
//!
//! ```no_run
//! # async fn run() -> Result<(), sync_media::MediaError> {
//! use sync_media::{MediaDownloader, MediaOptions};
//! let mut options = MediaOptions::new("replica.db", "http://127.0.0.1:8080", Some("token"));
//! options.target_dir = Some("Downloads/chat".into());
//! let media = MediaDownloader::open(options)?;
//! media.download("wa-1", "media-id", 10).await?; // what the user looks at: a high priority
//! media.reconcile("wa-1").await?; // after each sync: auto-download policy, deleted and changed media
//! let totals = media.run_until_idle().await?;
//! println!("{} done, {} failed", totals.done, totals.failed);
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - `downloader.rs`: [`MediaDownloader`], its API (download, pause, resume, cancel, reconcile) and scheduler.
//! - `fetch.rs`: one attempt: `Range`/`If-Range`, the server's claims checked against the record, verification.
//! - `writer.rs`: the partial file's writer thread (append and SHA-256 beside the network reads).
//! - `queue.rs`: the `media_downloads` table in the replica file.
//! - `names.rs`: [`safe_file_name`] and [`place`]: hostile names, reserved names, collisions.
//! - `item.rs`, `events.rs`, `options.rs`, `error.rs`: the public types.

// Every public item is documented: the crates are published, and `cargo doc` is their manual.
#![deny(missing_docs)]

mod downloader;
mod error;
mod events;
mod fetch;
mod item;
mod names;
mod options;
mod queue;
mod writer;

pub use downloader::{MediaDownloader, MediaRunner, Reconciled};
pub use error::{Failure, MediaError};
pub use events::{MediaEvent, MediaEventFn};
pub use item::{ItemState, MediaItem, MediaRecord, QueueTotals};
pub use names::{place, safe_file_name};
pub use options::{AutoDownload, MediaColumns, MediaOptions};
