//! [`SyncEngine`]: one engine over one SQLite file, one server and one integration; [`CancelHandle`] cancels its
//! syncs; [`ProgressListener`] is what the foreign side implements to see progress.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sync_client::{Client, ClientOptions, ListRows};
use sync_core::CancellationToken;

use crate::error::SeqsyncError;
use crate::on_runtime;
use crate::types::{
    CollectionState, DatabaseStats, ListRowsOptions, OpenOptions, QueryRows, Row, SearchHit, SearchOptions, SqlValue,
    SyncProgress, SyncResult,
};
use crate::writes::{WriteListener, write_listener};

/// Receives the progress events of a sync, on one of the binding's threads (not the caller's): hand them to the
/// UI thread as the platform wants. Events are throttled by the engine (`progress_interval_ms`).
#[uniffi::export(foreign)]
pub trait ProgressListener: Send + Sync {
    /// One progress event.
    fn on_progress(&self, progress: SyncProgress);
}

/// Cancels the syncs it was passed to, between pages: the page being written completes (it is atomic), and the
/// next sync resumes from there.
#[derive(uniffi::Object)]
pub struct CancelHandle {
    pub(crate) token: CancellationToken,
}

#[uniffi::export]
impl CancelHandle {
    /// Cancels every sync this handle was passed to. Idempotent.
    pub fn cancel(&self) {
        self.token.cancel();
    }

    /// Whether `cancel` was called (or the engine was closed).
    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }
}

/// An engine keeping an SQLite replica of one integration in sync. Open it with `open_engine`.
#[derive(uniffi::Object)]
pub struct SyncEngine {
    /// `None` once closed.
    client: Mutex<Option<Arc<Client>>>,
}

/// The options as the shared client crate takes them.
fn client_options(options: OpenOptions) -> ClientOptions {
    let ms = |ms: Option<u32>| ms.map(|ms| Duration::from_millis(ms.into()));
    ClientOptions {
        scope: options.integration_id,
        db: options.db_path.into(),
        url: options.server_url,
        token: options.token,
        schema_json: options.schema_json,
        page_sizes: options.page_sizes.into_iter().flatten().map(|(c, rows)| (c, rows as usize)).collect(),
        max_retries: options.max_retries.map(|n| n as usize),
        request_timeout: ms(options.request_timeout_ms),
        progress_interval: ms(options.progress_interval_ms),
        commit_rows: options.commit_rows.map(u64::from),
    }
}

/// Opens the database file (on a blocking thread: it may migrate) and prepares the engine; nothing is fetched.
#[uniffi::export]
pub async fn open_engine(options: OpenOptions) -> Result<Arc<SyncEngine>, SeqsyncError> {
    on_runtime(async move {
        let client = Client::open_async(client_options(options)).await?;
        Ok(Arc::new(SyncEngine { client: Mutex::new(Some(Arc::new(client))) }))
    })
    .await
}

/// The engine's progress callback over a foreign listener. A listener that throws (a panic on this side) is caught
/// here, reported once on stderr by the panic hook, and not called again; the sync goes on.
fn progress_fn(listener: Arc<dyn ProgressListener>) -> sync_core::ProgressFn {
    let failed = AtomicBool::new(false);
    Arc::new(move |p: &sync_core::Progress| {
        if failed.load(Ordering::Relaxed) {
            return;
        }
        let event = SyncProgress::from(p);
        if catch_unwind(AssertUnwindSafe(|| listener.on_progress(event))).is_err() {
            failed.store(true, Ordering::Relaxed);
        }
    })
}

impl SyncEngine {
    pub(crate) fn client(&self) -> Result<Arc<Client>, SeqsyncError> {
        // A poisoned lock only means another thread panicked while holding it; the Option is still valid.
        let client = self.client.lock().unwrap_or_else(PoisonError::into_inner).clone();
        Ok(client.ok_or(sync_client::Error::Closed)?)
    }

    async fn sync(
        &self,
        collections: Option<Vec<String>>,
        listener: Option<Arc<dyn ProgressListener>>,
        cancel: Option<Arc<CancelHandle>>,
        writes: Option<Arc<dyn WriteListener>>,
    ) -> Result<SyncResult, SeqsyncError> {
        let client = self.client()?;
        let (progress, cancel) = (listener.map(progress_fn), cancel.map(|c| c.token.clone()));
        let writes = write_listener(writes);
        on_runtime(async move {
            let report = client.with_write_events(writes, client.sync(collections, progress, cancel)).await?;
            Ok(SyncResult::from(report))
        })
        .await
    }
}

#[uniffi::export]
impl SyncEngine {
    /// A handle that cancels the syncs it is passed to; `shutdown()` cancels it too.
    pub fn cancel_handle(&self) -> Arc<CancelHandle> {
        let token = match self.client() {
            Ok(client) => client.cancel_token(),
            Err(_) => {
                let token = CancellationToken::new();
                token.cancel();
                token
            }
        };
        Arc::new(CancelHandle { token })
    }

    /// Pushes the local writes, then syncs every collection of the schema, in order, until each is up to date;
    /// `writes` hears the outcome of each write pushed meanwhile.
    #[uniffi::method(default(listener = None, cancel = None, writes = None))]
    pub async fn sync_all(
        &self,
        listener: Option<Arc<dyn ProgressListener>>,
        cancel: Option<Arc<CancelHandle>>,
        writes: Option<Arc<dyn WriteListener>>,
    ) -> Result<SyncResult, SeqsyncError> {
        self.sync(None, listener, cancel, writes).await
    }

    /// Pushes the local writes, then syncs one collection until it is up to date.
    #[uniffi::method(default(listener = None, cancel = None, writes = None))]
    pub async fn sync_collection(
        &self,
        collection: String,
        listener: Option<Arc<dyn ProgressListener>>,
        cancel: Option<Arc<CancelHandle>>,
        writes: Option<Arc<dyn WriteListener>>,
    ) -> Result<SyncResult, SeqsyncError> {
        self.sync(Some(vec![collection]), listener, cancel, writes).await
    }

    /// Row counts per collection, file size and path.
    pub async fn stats(&self) -> Result<DatabaseStats, SeqsyncError> {
        let client = self.client()?;
        on_runtime(async move { Ok(DatabaseStats::from(client.stats().await?)) }).await
    }

    /// The cursor of every collection of the integration that has one.
    pub async fn sync_state(&self) -> Result<Vec<CollectionState>, SeqsyncError> {
        let client = self.client()?;
        on_runtime(async move { Ok(client.sync_state().await?.into_iter().map(CollectionState::from).collect()) }).await
    }

    /// Deletes every row and cursor of the integration, so that the next sync starts from scratch.
    pub async fn reset(&self) -> Result<(), SeqsyncError> {
        let client = self.client()?;
        on_runtime(async move { Ok(client.reset().await?) }).await
    }

    /// A page of the rows of `collection` of the integration, on the reader connection.
    #[uniffi::method(default(options = None))]
    pub async fn list_rows(
        &self,
        collection: String,
        options: Option<ListRowsOptions>,
    ) -> Result<Vec<Row>, SeqsyncError> {
        let client = self.client()?;
        on_runtime(async move {
            let options = options.unwrap_or_default();
            let query = ListRows {
                filter: options.filter.unwrap_or_default().into_iter().map(|(k, v)| (k, v.into())).collect(),
                order_by: options.order_by.map(|column| (column, options.descending)),
                limit: options.limit as usize,
                offset: options.offset as usize,
            };
            Ok(client.list_rows(&collection, query).await?.into_iter().map(Row::from).collect())
        })
        .await
    }

    /// Runs one read-only SQL statement with positional parameters on the reader connection.
    #[uniffi::method(default(params = []))]
    pub async fn query(&self, sql: String, params: Vec<SqlValue>) -> Result<QueryRows, SeqsyncError> {
        let client = self.client()?;
        on_runtime(async move {
            let result = client.query(&sql, params.into_iter().map(Into::into).collect()).await?;
            let rows = result.rows.into_iter().map(|row| row.into_iter().map(SqlValue::from).collect()).collect();
            Ok(QueryRows { columns: result.columns, rows })
        })
        .await
    }

    /// The integration's rows whose full-text columns match `query`, newest first (`order: Relevance`: best first),
    /// with highlighted snippets, on the reader connection. Any text is a valid query in the default `Plain` mode; a bad `Advanced` query or an unknown
    /// filter column fails with `InvalidQuery`, an unknown collection with `Schema`.
    #[uniffi::method(default(options = None))]
    pub async fn search(&self, query: String, options: Option<SearchOptions>) -> Result<Vec<SearchHit>, SeqsyncError> {
        let client = self.client()?;
        on_runtime(async move {
            let options = sync_client::SearchRequest::from(options.unwrap_or_default()).into_options();
            Ok(client.search(&query, options).await?.into_iter().map(SearchHit::from).collect())
        })
        .await
    }

    /// Cancels running syncs and closes the database once they have stopped (if no other call still holds it).
    /// Later calls fail with `Closed`. Idempotent.
    pub async fn shutdown(&self) -> Result<(), SeqsyncError> {
        let client = self.client.lock().unwrap_or_else(PoisonError::into_inner).take();
        on_runtime(async move {
            if let Some(client) = client {
                Client::close(client).await?;
            }
            Ok(())
        })
        .await
    }

    /// Whether `shutdown()` was called.
    pub fn is_closed(&self) -> bool {
        self.client.lock().unwrap_or_else(PoisonError::into_inner).is_none()
    }
}
