//! The client's view of a server: fetch a page, the status, the schema.

use async_trait::async_trait;

use crate::error::TransportError;
use crate::page::{PageRequest, ScopeStatus};
use crate::schema::Schema;

/// How the engine talks to a server. HTTP in production ([`sync-http`]), in memory in tests.
///
/// Implementations do not retry and need not time out: the engine wraps every call in its own timeout and
/// retry policy. They must not decode pages either: they return the raw body, which the engine decodes and
/// validates with [`crate::wire::decode_page`], so every transport gets the same checks.
#[async_trait]
pub trait Transport: Send + Sync {
    /// Fetches the body of one page. Errors carry the HTTP status and `Retry-After` when there was one.
    async fn fetch_page(&self, request: &PageRequest) -> Result<Vec<u8>, TransportError>;

    /// Fetches the latest seq and row count of every collection of `scope`.
    async fn fetch_status(&self, scope: &str) -> Result<ScopeStatus, TransportError>;

    /// Fetches the schema the server publishes (used when the client was not given one).
    async fn fetch_schema(&self) -> Result<Schema, TransportError>;
}
