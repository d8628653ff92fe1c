//! [`SeqsyncError`]: one flat error enum with a variant per [`ErrorCode`] (the Node addon's `error.code`, in
//! CamelCase: `not_found` is `NotFound`); its message is the Rust error's, with its cause and what to do.

use sync_client::ErrorCode;

/// Why a call failed. Flat: the foreign side sees the variant and the message.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
#[allow(missing_docs)] // Each variant is the `ErrorCode` of the same name, documented there.
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
    InvalidWrite(String),
    #[error("{0}")]
    Closed(String),
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    Internal(String),
}

// A code added to the core fails this build until it has its variant below (the core's enum is
// `non_exhaustive`, so the match needs a fallback arm, which this check keeps unreachable).
const _: () = assert!(ErrorCode::ALL.len() == 19, "a new ErrorCode needs its SeqsyncError variant");

impl SeqsyncError {
    /// The error of `code` with `message`.
    fn new(code: ErrorCode, message: String) -> Self {
        match code {
            ErrorCode::Network => SeqsyncError::Network(message),
            ErrorCode::Timeout => SeqsyncError::Timeout(message),
            ErrorCode::Unauthorized => SeqsyncError::Unauthorized(message),
            ErrorCode::Forbidden => SeqsyncError::Forbidden(message),
            ErrorCode::NotFound => SeqsyncError::NotFound(message),
            ErrorCode::BadRequest => SeqsyncError::BadRequest(message),
            ErrorCode::RateLimited => SeqsyncError::RateLimited(message),
            ErrorCode::Server => SeqsyncError::Server(message),
            ErrorCode::ResyncRequired => SeqsyncError::ResyncRequired(message),
            ErrorCode::Protocol => SeqsyncError::Protocol(message),
            ErrorCode::BadPage => SeqsyncError::BadPage(message),
            ErrorCode::Store => SeqsyncError::Store(message),
            ErrorCode::Schema => SeqsyncError::Schema(message),
            ErrorCode::Cancelled => SeqsyncError::Cancelled(message),
            ErrorCode::InvalidQuery => SeqsyncError::InvalidQuery(message),
            ErrorCode::InvalidWrite => SeqsyncError::InvalidWrite(message),
            ErrorCode::Closed => SeqsyncError::Closed(message),
            ErrorCode::InvalidArgument => SeqsyncError::InvalidArgument(message),
            ErrorCode::Internal => SeqsyncError::Internal(message),
            other => SeqsyncError::Internal(format!("{message} (code {other})")),
        }
    }

    /// The variant's name, as the foreign side sees it.
    #[cfg(test)]
    fn name(&self) -> String {
        format!("{self:?}").split('(').next().unwrap_or_default().to_owned()
    }
}

impl From<sync_client::Error> for SeqsyncError {
    fn from(e: sync_client::Error) -> Self {
        SeqsyncError::new(e.code(), e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_its_own_variant_documented_in_the_readme() {
        let readme = include_str!("../README.md");
        let mut names = std::collections::HashSet::new();
        for &code in ErrorCode::ALL {
            let e = SeqsyncError::new(code, "m".into());
            assert_eq!(e.to_string(), "m", "{code} fell through to the fallback");
            let name = e.name();
            assert!(names.insert(name.clone()), "{code} shares the variant {name}");
            assert!(readme.contains(&format!("`{name}`")), "README.md does not document `{name}`");
        }
        assert!(matches!(SeqsyncError::from(sync_client::Error::Closed), SeqsyncError::Closed(_)));
    }
}
