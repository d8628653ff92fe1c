//! [`MediaOptions`]: where the queue and the files live, how hard it tries, and what downloads by itself.

use std::path::PathBuf;
use std::time::Duration;

/// Which media download without being asked (see [`crate::MediaDownloader::reconcile`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AutoDownload {
    /// `(MIME type prefix, largest size)`: a media row downloads by itself when its type starts with a prefix
    /// and it is no larger than that prefix's limit. Default: `image/` up to 5 MB, `audio/` up to 2 MB.
    pub rules: Vec<(String, u64)>,
    /// On a metered (cellular-like) connection nothing downloads by itself. Default: false.
    pub metered: bool,
}

impl Default for AutoDownload {
    fn default() -> Self {
        AutoDownload { rules: vec![("image/".into(), 5 << 20), ("audio/".into(), 2 << 20)], metered: false }
    }
}

impl AutoDownload {
    /// Nothing downloads by itself.
    pub fn off() -> Self {
        AutoDownload { rules: vec![], metered: false }
    }

    /// Everything downloads by itself.
    pub fn everything() -> Self {
        AutoDownload { rules: vec![(String::new(), u64::MAX)], metered: false }
    }

    pub(crate) fn wants(&self, mime: Option<&str>, size: Option<u64>) -> bool {
        let (Some(mime), Some(size)) = (mime, size) else { return false };
        !self.metered && self.rules.iter().any(|(prefix, max)| mime.starts_with(prefix.as_str()) && size <= *max)
    }
}

/// Where the replica keeps media rows: the collection and its columns. Defaults: the WhatsApp example's
/// `message_media` with `file_name`, `mime_type`, `size_bytes`, `sha256`, `conversation_id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaColumns {
    /// The collection (table).
    pub collection: String,
    /// The file name column.
    pub file_name: String,
    /// The MIME type column.
    pub mime_type: String,
    /// The size column (bytes).
    pub size: String,
    /// The SHA-256 column (hex).
    pub sha256: String,
    /// The column naming a row's conversation (what [`crate::MediaDownloader::prioritize_conversation`] matches).
    pub conversation: String,
}

impl Default for MediaColumns {
    fn default() -> Self {
        MediaColumns {
            collection: "message_media".into(),
            file_name: "file_name".into(),
            mime_type: "mime_type".into(),
            size: "size_bytes".into(),
            sha256: "sha256".into(),
            conversation: "conversation_id".into(),
        }
    }
}

/// Settings of a [`crate::MediaDownloader`].
#[derive(Clone, Debug)]
pub struct MediaOptions {
    /// The replica's SQLite file: the queue is a table in it.
    pub db: PathBuf,
    /// The server's base URL (`http://host:port`).
    pub url: String,
    /// The bearer token.
    pub token: Option<String>,
    /// Where finished files go. Default (`None`): the user's Downloads folder.
    pub target_dir: Option<PathBuf>,
    /// Downloads at once. Default: 4.
    pub concurrency: usize,
    /// Attempts before an item fails for good on network trouble. Default: 8.
    pub max_attempts: u32,
    /// Hash mismatches before an item fails for good (each restarts from zero). Default: 3.
    pub max_hash_mismatches: u32,
    /// First retry delay, doubled per attempt (with jitter) up to `max_backoff`. Default: 250 ms.
    pub initial_backoff: Duration,
    /// Longest retry delay. Default: 30 s.
    pub max_backoff: Duration,
    /// A request with no byte for this long fails (and is retried). Default: 30 s.
    pub read_timeout: Duration,
    /// Least time between two progress events of one item. Default: 100 ms, as sync progress.
    pub progress_interval: Duration,
    /// What downloads by itself. Default: [`AutoDownload::default`].
    pub auto: AutoDownload,
    /// Where media rows are. Default: [`MediaColumns::default`].
    pub columns: MediaColumns,
}

impl MediaOptions {
    /// Defaults for the replica `db` and the server at `url`.
    pub fn new(db: impl Into<PathBuf>, url: &str, token: Option<&str>) -> Self {
        MediaOptions {
            db: db.into(),
            url: url.trim_end_matches('/').to_owned(),
            token: token.map(str::to_owned),
            target_dir: None,
            concurrency: 4,
            max_attempts: 8,
            max_hash_mismatches: 3,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(30),
            read_timeout: Duration::from_secs(30),
            progress_interval: Duration::from_millis(100),
            auto: AutoDownload::default(),
            columns: MediaColumns::default(),
        }
    }

    /// The download folder: `target_dir`, or the user's Downloads folder.
    pub(crate) fn folder(&self) -> Result<PathBuf, crate::MediaError> {
        self.target_dir.clone().or_else(dirs::download_dir).ok_or(crate::MediaError::NoDownloadsFolder)
    }
}
