//! [`ErrorCode`]: the one list of stable, machine-readable error codes that every error a user can see maps to.
//!
//! Decisions are made on the code, not on its text: the engine re-syncs on [`ErrorCode::ResyncRequired`], the
//! live loop stops on [`ErrorCode::is_fatal`], and each binding maps every code to its own error type with one
//! match (the Node addon's `error.code` is [`ErrorCode::as_str`]; uniffi's `SeqsyncError` has a variant per code).

use strum::VariantArray;

/// A stable error code. The text form ([`ErrorCode::as_str`]) is snake case and never changes once published;
/// new codes may be added (hence `non_exhaustive`), so a binding keeps a fallback arm, and a compile-time check on
/// [`ErrorCode::ALL`]'s length makes it list every code it knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::VariantArray, strum::Display)]
#[strum(serialize_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The server could not be reached, or the connection broke.
    Network,
    /// The server did not answer in time.
    Timeout,
    /// HTTP 401: the token is missing or wrong.
    Unauthorized,
    /// HTTP 403: the token may not read this integration.
    Forbidden,
    /// HTTP 404: no such integration (or route) on the server, or none yet.
    NotFound,
    /// HTTP 400: the server refused the request as malformed.
    BadRequest,
    /// HTTP 429: the server is busy.
    RateLimited,
    /// Any other HTTP error status: the server failed.
    Server,
    /// HTTP 409: the server pruned deletes newer than a cursor of this client; the scope must re-sync from
    /// scratch (the engine does it once by itself).
    ResyncRequired,
    /// An answer that could not be understood (e.g. a status body that is not JSON).
    Protocol,
    /// A page that breaks the protocol or is larger than allowed; nothing of it was applied.
    BadPage,
    /// The local database failed.
    Store,
    /// The schema is unusable, or a collection is not in it.
    Schema,
    /// The caller cancelled; what was applied stays applied.
    Cancelled,
    /// A read the store refuses: an unknown column, or SQL that is not a read.
    InvalidQuery,
    /// A local write that does not fit the schema (a collection that is not writable, an unknown column, a value
    /// of the wrong type); nothing was written.
    InvalidWrite,
    /// The client (or store) was closed.
    Closed,
    /// An argument the caller passed cannot be used (an empty integration id, a URL that does not parse, a
    /// filter value of the wrong type).
    InvalidArgument,
    /// A bug in the engine or a binding (a caught panic): report it with the steps that led here.
    Internal,
}

impl ErrorCode {
    /// Every code, in declaration order.
    pub const ALL: &'static [ErrorCode] = <ErrorCode as VariantArray>::VARIANTS;

    /// The stable text of the code, e.g. `"resync_required"`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Whether retrying the same call later cannot succeed: something must change first (the token, the request,
    /// the local database, the server's pages, the caller's code). The live loop stops on these and retries the
    /// others (network, timeouts, server failures, an integration with no write yet) forever. `Cancelled` is not
    /// fatal: it is not a failure.
    pub fn is_fatal(self) -> bool {
        match self {
            ErrorCode::Network
            | ErrorCode::Timeout
            | ErrorCode::NotFound
            | ErrorCode::RateLimited
            | ErrorCode::Server
            | ErrorCode::ResyncRequired
            | ErrorCode::Protocol
            | ErrorCode::Cancelled => false,
            ErrorCode::Unauthorized
            | ErrorCode::Forbidden
            | ErrorCode::BadRequest
            | ErrorCode::BadPage
            | ErrorCode::Store
            | ErrorCode::Schema
            | ErrorCode::InvalidQuery
            | ErrorCode::InvalidWrite
            | ErrorCode::Closed
            | ErrorCode::InvalidArgument
            | ErrorCode::Internal => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_snake_case_and_distinct() {
        let names: std::collections::HashSet<_> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), ErrorCode::ALL.len());
        assert_eq!(ErrorCode::ResyncRequired.as_str(), "resync_required");
        assert_eq!(ErrorCode::NotFound.to_string(), "not_found");
        assert!(names.iter().all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '_')));
    }

    #[test]
    fn a_rejected_token_is_fatal_and_a_network_failure_is_not() {
        assert!(ErrorCode::Unauthorized.is_fatal());
        assert!(ErrorCode::Forbidden.is_fatal());
        assert!(!ErrorCode::Network.is_fatal());
        assert!(!ErrorCode::NotFound.is_fatal());
        assert!(!ErrorCode::Cancelled.is_fatal());
    }
}
