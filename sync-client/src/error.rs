//! [`OpenError`] and [`Error`]: every failure of a [`Client`](crate::Client), each with its [`ErrorCode`], so a
//! binding converts one type with one match.

use sync_core::{ErrorCode, StoreError, SyncError, TransportError};

/// Why [`Client::open`](crate::Client::open) failed; nothing was created but possibly the empty file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// An option cannot be used (an empty integration id).
    #[error("{0}")]
    InvalidArgument(String),
    /// The schema JSON does not parse or is not a valid schema.
    #[error("the schema is not valid: {0}")]
    Schema(String),
    /// The server URL or token cannot be used.
    #[error("{0}")]
    Transport(#[from] TransportError),
    /// The database file cannot be opened or migrated.
    #[error(transparent)]
    Store(#[from] sync_sqlite::Error),
}

impl OpenError {
    /// The stable code: a bad option, URL or token is `invalid_argument`.
    pub fn code(&self) -> ErrorCode {
        match self {
            OpenError::InvalidArgument(_) | OpenError::Transport(_) => ErrorCode::InvalidArgument,
            OpenError::Schema(_) => ErrorCode::Schema,
            OpenError::Store(_) => ErrorCode::Store,
        }
    }
}

/// A failed call of a [`Client`](crate::Client).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client could not be opened.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// A sync (or the live loop) stopped.
    #[error(transparent)]
    Sync(#[from] SyncError),
    /// A read or a reset failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An argument cannot be used (e.g. a filter value of the wrong type for its column).
    #[error("{0}")]
    InvalidArgument(String),
    /// The database has no schema yet, so its collections are unknown.
    #[error("the database has no schema yet: sync once (or open with a schema) first")]
    NoSchema,
    /// A media download call failed (an unknown media id is `not_found`, a bad folder `invalid_argument`).
    #[error(transparent)]
    Media(#[from] sync_media::MediaError),
    /// The media is not in the download queue (pause, resume, cancel and prioritize need it there).
    #[error("media {0:?} is not in the download queue; download it first")]
    NotQueued(String),
    /// The client was closed.
    #[error("the engine is closed (open a new one)")]
    Closed,
    /// A task of the client panicked: a bug.
    #[error("the client failed unexpectedly ({0}); please report it with the steps that led here")]
    Internal(String),
}

impl Error {
    /// The stable code of the failure.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Open(e) => e.code(),
            Error::Sync(e) => e.code(),
            Error::Store(e) => e.code(),
            Error::InvalidArgument(_) => ErrorCode::InvalidArgument,
            Error::Media(e) => media_code(e),
            Error::NotQueued(_) => ErrorCode::NotFound,
            Error::NoSchema => ErrorCode::Schema,
            Error::Closed => ErrorCode::Closed,
            Error::Internal(_) => ErrorCode::Internal,
        }
    }
}

/// The code of a media call's failure: the queue's own codes folded into the shared set.
fn media_code(e: &sync_media::MediaError) -> ErrorCode {
    match e.code() {
        "unknown_media" => ErrorCode::NotFound,
        "bad_folder" | "bad_options" => ErrorCode::InvalidArgument,
        "open_failed" | "store_failed" => ErrorCode::Store,
        _ => ErrorCode::Internal,
    }
}

impl From<tokio::task::JoinError> for Error {
    fn from(e: tokio::task::JoinError) -> Self {
        Error::Internal(e.to_string())
    }
}
