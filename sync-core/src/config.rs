//! Engine configuration.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::schema::{DEFAULT_PAGE_SIZE, Schema};

/// How the engine syncs. Build with [`SyncConfig::default`] and the `with_*` setters; each states its default.
#[derive(Clone, Debug)]
pub struct SyncConfig {
    pub(crate) schema: Option<Schema>,
    pub(crate) page_sizes: BTreeMap<String, usize>,
    pub(crate) prefetch_pages: usize,
    pub(crate) max_retries: usize,
    pub(crate) initial_backoff: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) max_retry_after: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) progress_interval: Duration,
    pub(crate) max_page_bytes: usize,
    pub(crate) max_rows_per_transaction: usize,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            schema: None,
            page_sizes: BTreeMap::new(),
            prefetch_pages: 2,
            max_retries: 6,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
            progress_interval: Duration::from_millis(100),
            max_page_bytes: 64 * 1024 * 1024,
            max_rows_per_transaction: 12_000,
        }
    }
}

impl SyncConfig {
    /// The schema to sync. Default: none, the engine fetches the one the server publishes.
    pub fn with_schema(mut self, schema: Schema) -> Self {
        self.schema = Some(schema);
        self
    }

    /// Rows per page for one collection. Default: the collection's declared `page_size`, else 500.
    pub fn with_page_size(mut self, collection: &str, rows: usize) -> Self {
        self.page_sizes.insert(collection.to_owned(), rows.max(1));
        self
    }

    /// Pages fetched ahead while earlier ones are written (memory is bounded by this). Default: 2. The pages that
    /// wait are what a group commit merges; an initial sync into empty tables holds its transaction open across
    /// pages anyway ([`crate::ClientStore::apply_page_held`]), and there 8 pages cost 16 MB more peak memory than
    /// 2 for no measurable speed (1M messages).
    pub fn with_prefetch_pages(mut self, pages: usize) -> Self {
        self.prefetch_pages = pages.max(1);
        self
    }

    /// Retries of a failed request (network errors, timeouts, 408, 429, 5xx) before giving up. Default: 6.
    pub fn with_max_retries(mut self, retries: usize) -> Self {
        self.max_retries = retries;
        self
    }

    /// First and greatest backoff delay between retries (exponential, with jitter). Default: 200 ms and 10 s.
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// The longest `Retry-After` honoured; longer requests are cut to this. Default: 60 s.
    pub fn with_max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// Timeout of each request, body included. Default: 30 s.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Least time between two progress events of one collection. Default: 100 ms.
    pub fn with_progress_interval(mut self, interval: Duration) -> Self {
        self.progress_interval = interval;
        self
    }

    /// Largest page body accepted. Default: 64 MiB.
    pub fn with_max_page_bytes(mut self, bytes: usize) -> Self {
        self.max_page_bytes = bytes;
        self
    }

    /// When the writer falls behind, pages already fetched are applied together in one transaction (still ending
    /// on a page boundary) until they hold this many rows. 1 applies every page alone. Default: 12,000.
    pub fn with_max_rows_per_transaction(mut self, rows: usize) -> Self {
        self.max_rows_per_transaction = rows.max(1);
        self
    }

    /// The schema given with [`SyncConfig::with_schema`], if any.
    pub fn schema(&self) -> Option<&Schema> {
        self.schema.as_ref()
    }

    /// The page size used for `collection` of `schema`.
    pub fn page_size(&self, schema: &Schema, collection: &str) -> usize {
        self.page_sizes
            .get(collection)
            .copied()
            .or_else(|| schema.collection(collection).and_then(|c| c.page_size))
            .unwrap_or(DEFAULT_PAGE_SIZE)
    }

    /// The largest page body accepted.
    pub fn max_page_bytes(&self) -> usize {
        self.max_page_bytes
    }
}
