//! [`SeqsyncError`]: one flat error enum; each variant is one of the Node addon's `error.code`s (in snake case:
//! `NotFound` is `not_found`), and its message is the Rust error's, with its cause and what to do.

use sync_core::{StoreError, SyncError};

/// Why a call failed. Flat: the foreign side sees the variant and the message.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
#[allow(missing_docs)] // Each variant is the code of the same name in `SyncError::code` / `StoreError::code`.
pub enum SeqsyncError {
    #[error("{0}")]
    Network(String),
    #[error("{0}")]
    Timeout(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    RateLimited(String),
    #[error("{0}")]
    Server(String),
    #[error("{0}")]
    ResyncRequired(String),
    #[error("{0}")]
    Protocol(String),
    #[error("{0}")]
    BadPage(String),
    #[error("{0}")]
    Store(String),
    #[error("{0}")]
    Schema(String),
    #[error("{0}")]
    Cancelled(String),
    #[error("{0}")]
    InvalidQuery(String),
    #[error("{0}")]
    Closed(String),
    #[error("{0}")]
    InvalidArgument(String),
    /// A bug in the binding or the engine (a caught panic); the Node addon has no such code.
    #[error("{0}")]
    Internal(String),
}

impl SeqsyncError {
    /// The error of a stable `code` (as `SyncError::code` names them) with `message`.
    pub(crate) fn from_code(code: &str, message: String) -> Self {
        match code {
            "network" => SeqsyncError::Network(message),
            "timeout" => SeqsyncError::Timeout(message),
            "unauthorized" => SeqsyncError::Unauthorized(message),
            "forbidden" => SeqsyncError::Forbidden(message),
            "not_found" => SeqsyncError::NotFound(message),
            "bad_request" => SeqsyncError::BadRequest(message),
            "rate_limited" => SeqsyncError::RateLimited(message),
            "server" => SeqsyncError::Server(message),
            "resync_required" => SeqsyncError::ResyncRequired(message),
            "protocol" => SeqsyncError::Protocol(message),
            "bad_page" => SeqsyncError::BadPage(message),
            "store" => SeqsyncError::Store(message),
            "schema" => SeqsyncError::Schema(message),
            "cancelled" => SeqsyncError::Cancelled(message),
            "invalid_query" => SeqsyncError::InvalidQuery(message),
            "closed" => SeqsyncError::Closed(message),
            "invalid_argument" => SeqsyncError::InvalidArgument(message),
            // A code the core added later than this binding: still an error with its message.
            other => SeqsyncError::Internal(format!("{message} (code {other})")),
        }
    }

    pub(crate) fn closed() -> Self {
        SeqsyncError::Closed("the engine is closed (open a new one)".to_owned())
    }
}

impl From<SyncError> for SeqsyncError {
    fn from(e: SyncError) -> Self {
        SeqsyncError::from_code(e.code(), e.to_string())
    }
}

impl From<StoreError> for SeqsyncError {
    fn from(e: StoreError) -> Self {
        SeqsyncError::from_code(e.code(), e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_code_has_its_own_variant() {
        let codes = [
            "network",
            "timeout",
            "unauthorized",
            "forbidden",
            "not_found",
            "bad_request",
            "rate_limited",
            "server",
            "resync_required",
            "protocol",
            "bad_page",
            "store",
            "schema",
            "cancelled",
            "invalid_query",
            "closed",
            "invalid_argument",
        ];
        for code in codes {
            let e = SeqsyncError::from_code(code, "m".into());
            assert!(!matches!(e, SeqsyncError::Internal(_)), "{code} has no variant");
            assert_eq!(e.to_string(), "m");
        }
        assert!(matches!(SeqsyncError::from(SyncError::Cancelled), SeqsyncError::Cancelled(_)));
    }
}
