//! The client's view of a server: fetch a page, the status, the schema.

use std::time::Duration;

use async_trait::async_trait;

use crate::error::TransportError;
use crate::filter::HeadRead;
use crate::mutation::{PushRequest, PushResponse};
use crate::page::{PageRequest, ScopeStatus};
use crate::schema::Schema;

/// How the engine talks to a server. HTTP in production (the `sync-http` crate), in memory in tests.
///
/// Implementations do not retry and need not time out: the engine wraps every call in its own timeout and
/// retry policy. They must not decode pages either: they return the raw body, which the engine decodes and
/// validates with [`crate::wire::decode_page`], so every transport gets the same checks.
#[async_trait]
pub trait Transport: Send + Sync {
    /// Fetches the body of one page. Errors carry the HTTP status and `Retry-After` when there was one.
    async fn fetch_page(&self, request: &PageRequest) -> Result<Vec<u8>, TransportError>;

    /// Fetches the body of a head (`GET /sync/{collection}/{scope}/head`): the newest `read.per_value` live rows of
    /// each filter value below its bound, as a page in seq order (decoded like a page from cursor 0, but not a
    /// cursor). Default: a [`TransportError::Protocol`] error (a transport of a server without selective sync).
    async fn fetch_head(&self, scope: &str, collection: &str, read: &HeadRead) -> Result<Vec<u8>, TransportError> {
        let _ = (scope, collection, read);
        Err(TransportError::Protocol("this transport cannot fetch heads".into()))
    }

    /// Fetches the latest seq and row count of every collection of `scope`.
    async fn fetch_status(&self, scope: &str) -> Result<ScopeStatus, TransportError>;

    /// Fetches the schema the server publishes (used when the client was not given one).
    async fn fetch_schema(&self) -> Result<Schema, TransportError>;

    /// Pushes local writes (`POST /sync/push/{scope}`) and returns the server's answer, one result per mutation.
    /// Safe to retry: the server applies each mutation id at most once. The engine checks that the answer matches
    /// the request. Default: a [`TransportError::Protocol`] error, for transports of read-only servers.
    async fn push(&self, scope: &str, request: &PushRequest) -> Result<PushResponse, TransportError> {
        let _ = (scope, request);
        Err(TransportError::Protocol("this transport cannot push writes (a read-only server)".into()))
    }

    /// Waits (a long-poll) until the latest seq of `scope` is greater than `after_seq`, then returns the
    /// scope's status; after about `timeout` without a change, returns the status as it is. A hint only: the
    /// engine syncs by cursor after it. Unlike the other methods, the engine calls it under a timeout of
    /// `timeout` plus the request timeout
    /// ([`SyncConfig::with_request_timeout`](crate::SyncConfig::with_request_timeout)).
    ///
    /// Default: re-fetches the status every 500 ms until it changes or `timeout` passes (for transports with
    /// no live mode).
    async fn wait_for_change(
        &self,
        scope: &str,
        after_seq: i64,
        timeout: Duration,
    ) -> Result<ScopeStatus, TransportError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let status = self.fetch_status(scope).await?;
            if status.latest_seq > after_seq || tokio::time::Instant::now() >= deadline {
                return Ok(status);
            }
            tokio::time::sleep_until((tokio::time::Instant::now() + Duration::from_millis(500)).min(deadline)).await;
        }
    }
}
