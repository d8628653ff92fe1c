//! Error types. Each says what went wrong and what the caller can do about it.

use std::time::Duration;

use crate::code::ErrorCode;

/// A schema that cannot be used.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum SchemaError {
    /// The schema's JSON does not parse into a schema.
    #[error("the schema is not valid JSON for a schema: {0}")]
    Json(String),
    /// The schema parses but breaks a rule.
    #[error("invalid schema: {0}")]
    Invalid(String),
}

/// Why a page from the server was rejected. A rejected page applies nothing.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum PageError {
    /// The body is not JSON, or not the page shape.
    #[error("malformed page: {0}")]
    Malformed(String),
    /// A row's field has the wrong type or is missing.
    #[error("row {row}{}: {message}", id.as_deref().map(|id| format!(" (id {id})")).unwrap_or_default())]
    BadRow {
        /// Position of the row in the page.
        row: usize,
        /// The row's id, when it has one.
        id: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// Seqs must be strictly increasing and greater than the request's `since_seq`.
    #[error(
        "row {row} has seq {seq}, which is not greater than {previous} (rows must come in increasing seq after since_seq)"
    )]
    SeqNotIncreasing {
        /// Position of the row in the page.
        row: usize,
        /// Its seq.
        seq: i64,
        /// The seq it should exceed.
        previous: i64,
    },
    /// `latest_seq` must be the last row's seq (or `since_seq` for an empty page).
    #[error("latest_seq {latest_seq} disagrees with the rows (expected {expected})")]
    LatestSeqMismatch {
        /// What the page said.
        latest_seq: i64,
        /// What the rows imply.
        expected: i64,
    },
    /// `has_more: true` on a page with no rows would loop forever.
    #[error("has_more is true but the page has no rows")]
    EmptyWithMore,
    /// More rows than the request's limit, or more bytes than allowed.
    #[error("page too large: {0}")]
    TooLarge(String),
}

/// A failed request to the server.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum TransportError {
    /// The server could not be reached or the connection broke.
    #[error("could not reach the server: {0}")]
    Network(String),
    /// No answer within the request timeout.
    #[error("the server did not answer within {0:?}")]
    Timeout(Duration),
    /// The server answered with an error status.
    #[error("the server answered HTTP {status}{}: {message}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Status {
        /// HTTP status code.
        status: u16,
        /// The `error.code` of the JSON error body, when there is one.
        code: Option<String>,
        /// The server's message, or the status text.
        message: String,
        /// The `Retry-After` the server asked for.
        retry_after: Option<Duration>,
    },
    /// The body is larger than the client accepts.
    #[error("the response body exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// The answer could not be understood (e.g. a status body that is not JSON).
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
}

impl TransportError {
    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            TransportError::Network(_) | TransportError::Timeout(_) => true,
            TransportError::Status { status, .. } => matches!(status, 408 | 429 | 500..=599),
            TransportError::TooLarge { .. } | TransportError::Protocol(_) => false,
        }
    }

    /// The delay the server asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            TransportError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The stable code of the failure.
    pub fn code(&self) -> ErrorCode {
        match self {
            TransportError::Network(_) => ErrorCode::Network,
            TransportError::Timeout(_) => ErrorCode::Timeout,
            TransportError::TooLarge { .. } => ErrorCode::BadPage,
            TransportError::Protocol(_) => ErrorCode::Protocol,
            TransportError::Status { status, .. } => match status {
                400 => ErrorCode::BadRequest,
                401 => ErrorCode::Unauthorized,
                403 => ErrorCode::Forbidden,
                404 => ErrorCode::NotFound,
                409 => ErrorCode::ResyncRequired,
                429 => ErrorCode::RateLimited,
                _ => ErrorCode::Server,
            },
        }
    }
}

/// A client store failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The page starts after the stored cursor: applying it would skip rows.
    #[error(
        "page for {collection} starts at since_seq {since_seq} but the stored cursor is {cursor}; refusing to skip rows (sync again from the stored cursor)"
    )]
    CursorGap {
        /// The collection.
        collection: String,
        /// The stored cursor.
        cursor: i64,
        /// The page's since_seq.
        since_seq: i64,
    },
    /// The collection is not in the store's schema.
    #[error("collection `{0}` is not in the store's schema (prepare the store with the schema first)")]
    UnknownCollection(String),
    /// The store's existing tables do not fit the schema.
    #[error("the database does not fit the schema: {0}")]
    Schema(String),
    /// The store was closed.
    #[error("the store is closed")]
    Closed,
    /// A read asked for something the store refuses: an unknown column, or a query that is not a read.
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    /// A local write that does not fit the schema or the write policy; nothing was written.
    #[error("invalid write: {0}")]
    InvalidWrite(String),
    /// The store keeps no outbox, so it cannot take local writes.
    #[error("this client store does not support local writes (use SqliteStore or MemoryStore)")]
    WritesUnsupported,
    /// A subscription change that cannot apply (an empty value, a value not subscribed, archiving while the
    /// scope syncs everything); nothing was changed.
    #[error("invalid subscription change: {0}")]
    InvalidSubscription(String),
    /// The store keeps no subscriptions, so it syncs every scope whole.
    #[error("this client store does not support subscriptions (use SqliteStore or MemoryStore)")]
    SubscriptionsUnsupported,
    /// The underlying database failed.
    #[error("{context}: {cause}")]
    Backend {
        /// What the store was doing.
        context: String,
        /// The database error (in the message, so not also a `source()`: `{:#}` would print it twice).
        cause: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl StoreError {
    /// The stable code of the failure: schema (unknown collection, tables that do not fit), invalid_query,
    /// invalid_write (a local write that does not fit), closed, store (the database failed, a cursor gap, a store
    /// without writes). The same in a sync ([`SyncError::code`]) as in a read.
    pub fn code(&self) -> ErrorCode {
        match self {
            StoreError::UnknownCollection(_) | StoreError::Schema(_) => ErrorCode::Schema,
            StoreError::InvalidWrite(_) => ErrorCode::InvalidWrite,
            StoreError::InvalidQuery(_) => ErrorCode::InvalidQuery,
            StoreError::Closed => ErrorCode::Closed,
            StoreError::InvalidSubscription(_) => ErrorCode::InvalidArgument,
            StoreError::WritesUnsupported
            | StoreError::SubscriptionsUnsupported
            | StoreError::CursorGap { .. }
            | StoreError::Backend { .. } => ErrorCode::Store,
        }
    }

    /// Wraps a backend error with what the store was doing.
    pub fn backend(context: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Backend { context: context.into(), cause: Box::new(source) }
    }
}

/// A server-side change feed or server store failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FeedError {
    /// No such scope (integration) on this server.
    #[error("integration `{0}` does not exist on this server")]
    UnknownScope(String),
    /// No such collection in the server's schema.
    #[error("collection `{0}` does not exist (see GET /schema for the collections)")]
    UnknownCollection(String),
    /// A write that does not fit the schema.
    #[error("invalid write: {0}")]
    InvalidWrite(String),
    /// A filtered read the feed cannot serve: a collection without a filter column, no values, too many, or a
    /// feed without filtered reads.
    #[error("bad filter: {0}")]
    BadFilter(String),
    /// A push that breaks the protocol or the schema (see [`crate::check_push`]); nothing of it was applied.
    #[error("invalid push: {message}")]
    InvalidPush {
        /// The offending mutation, when one is to blame (not for the request as a whole).
        mutation_id: Option<u64>,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The client's cursor is older than the retained tombstones.
    #[error(
        "since_seq {since_seq} is older than the tombstone horizon {horizon}; the client must re-sync from scratch"
    )]
    ResyncRequired {
        /// The cursor asked for.
        since_seq: i64,
        /// The oldest seq that still has all its tombstones.
        horizon: i64,
    },
    /// The underlying database failed.
    #[error("{context}: {cause}")]
    Backend {
        /// What the store was doing.
        context: String,
        /// The database error (in the message, so not also a `source()`: `{:#}` would print it twice).
        cause: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl FeedError {
    /// Wraps a backend error with what the feed was doing.
    pub fn backend(context: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        FeedError::Backend { context: context.into(), cause: Box::new(source) }
    }
}

/// Why a sync stopped. Rows and cursors applied before the error stay; the next sync resumes from them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// A request failed (after retries, when it was retryable).
    #[error("{what} failed: {cause}{}", hint(cause))]
    Transport {
        /// What was being fetched.
        what: String,
        /// The last failure (in the message, so not also a `source()`).
        cause: TransportError,
    },
    /// The server sent a page that breaks the protocol; nothing of it was applied.
    #[error("the server sent a bad page for {collection} since_seq {since_seq}; nothing of it was applied: {cause}")]
    BadPage {
        /// The collection.
        collection: String,
        /// The request's since_seq.
        since_seq: i64,
        /// What is wrong with it (in the message, so not also a `source()`).
        cause: PageError,
    },
    /// The local store failed (its error is in the message, so not also a `source()`).
    #[error("local database error: {0}")]
    Store(StoreError),
    /// The schema is unusable.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// A collection asked for is not in the schema.
    #[error("collection `{0}` is not in the schema")]
    UnknownCollection(String),
    /// The caller cancelled the sync.
    #[error("the sync was cancelled; everything applied so far is kept and the next sync resumes from it")]
    Cancelled,
}

impl From<StoreError> for SyncError {
    fn from(e: StoreError) -> Self {
        SyncError::Store(e)
    }
}

fn hint(e: &TransportError) -> &'static str {
    match e.code() {
        ErrorCode::Network | ErrorCode::Timeout => {
            " (check the server URL and the network; the next sync resumes where this one stopped)"
        }
        ErrorCode::Unauthorized => " (the token is missing or wrong: check the token you configured)",
        ErrorCode::Forbidden => " (the token may not read this integration)",
        ErrorCode::NotFound => " (check the integration id and the server URL)",
        ErrorCode::RateLimited => " (the server is busy: retry later)",
        ErrorCode::Server => " (the server failed: retry later)",
        ErrorCode::ResyncRequired => {
            " (the server pruned deletes newer than this client's cursor twice in a row: reset the integration and sync again)"
        }
        _ => "",
    }
}

impl SyncError {
    /// The stable code of the failure; a store failure has the same code as outside a sync
    /// ([`StoreError::code`]).
    pub fn code(&self) -> ErrorCode {
        match self {
            SyncError::Transport { cause, .. } => cause.code(),
            SyncError::BadPage { .. } => ErrorCode::BadPage,
            SyncError::Store(e) => e.code(),
            SyncError::Schema(_) | SyncError::UnknownCollection(_) => ErrorCode::Schema,
            SyncError::Cancelled => ErrorCode::Cancelled,
        }
    }
}

#[cfg(test)]
mod tests;
