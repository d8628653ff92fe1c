//! Errors: those of the queue's API ([`MediaError`]) and why one download failed ([`Failure`]).

use std::path::PathBuf;

/// An error of a [`crate::MediaDownloader`] call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// The replica file could not be opened or its queue table created.
    #[error("cannot open the download queue in {path}: {source}; check the path and that the file is a replica")]
    Open {
        /// The replica file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// The target folder cannot be used.
    #[error("cannot use the download folder {path}: {why}")]
    Folder {
        /// The folder.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// No Downloads folder is known on this system and none was given.
    #[error("this system has no Downloads folder; set MediaOptions::target_dir")]
    NoDownloadsFolder,
    /// The replica has no such media row in that integration.
    #[error("integration {scope:?} has no media {media_id:?} in the replica; sync it first")]
    UnknownMedia {
        /// The integration.
        scope: String,
        /// The media id.
        media_id: String,
    },
    /// The queue's table could not be read or written.
    #[error("the download queue failed: {0}; the replica file may be damaged or locked by another program")]
    Queue(#[from] rusqlite::Error),
    /// A task of the queue panicked or was aborted.
    #[error("{0}; this is a bug, please report it")]
    Internal(String),
    /// The HTTP client could not be built (a bad URL or TLS setup).
    #[error("cannot build the HTTP client for {url}: {why}")]
    Http {
        /// The server URL.
        url: String,
        /// Why.
        why: String,
    },
}

impl MediaError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            MediaError::Open { .. } => "open_failed",
            MediaError::Folder { .. } | MediaError::NoDownloadsFolder => "bad_folder",
            MediaError::UnknownMedia { .. } => "unknown_media",
            MediaError::Queue(_) => "store_failed",
            MediaError::Http { .. } => "bad_options",
            MediaError::Internal(_) => "internal",
        }
    }
}

/// Why one attempt at a download failed; [`Failure::retryable`] says whether the queue tries again.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Failure {
    /// The server has no such media (404): it was deleted, or never had a file.
    #[error("the server has no file for this media (HTTP 404); it may have been deleted")]
    NotFound,
    /// The token may not read it (401/403).
    #[error("the server refused the token (HTTP {0}); check the token and its integrations")]
    Denied(u16),
    /// The media row has no size or SHA-256, so a download could not be verified.
    #[error("the media record has no size or SHA-256, so its file cannot be verified; nothing was downloaded")]
    Unverifiable,
    /// The server's answer contradicts the record (size, range): the server lies or the record is stale.
    #[error("the server's answer does not match the media record: {0}; nothing was kept")]
    Mismatch(String),
    /// The bytes did not hash to the record's SHA-256.
    #[error("the downloaded bytes do not match the record's SHA-256 (got {got}); the partial file was discarded")]
    Hash {
        /// The SHA-256 of what arrived.
        got: String,
    },
    /// Network trouble, a timeout, a truncated body or a server error: tried again with backoff.
    #[error("{0}")]
    Transient(String),
    /// The file could not be written or placed in the target folder.
    #[error("cannot write the file: {0}; check the download folder's space and permissions")]
    Disk(String),
}

impl Failure {
    /// Whether another attempt may succeed.
    pub fn retryable(&self) -> bool {
        matches!(self, Failure::Transient(_) | Failure::Hash { .. })
    }

    /// A stable machine-readable code, stored with the item.
    pub fn code(&self) -> &'static str {
        match self {
            Failure::NotFound => "not_found",
            Failure::Denied(_) => "forbidden",
            Failure::Unverifiable => "unverifiable",
            Failure::Mismatch(_) => "server_mismatch",
            Failure::Hash { .. } => "hash_mismatch",
            Failure::Transient(_) => "network",
            Failure::Disk(_) => "disk",
        }
    }
}
