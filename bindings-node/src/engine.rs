//! [`NativeEngine`]: one engine over one SQLite file, one server and one integration.

use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::PromiseRaw;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Status};
use napi_derive::napi;
use sync_client::{Client, ClientOptions, ListRows};

use crate::cancel::CancelToken;
use crate::error::{Failure, promise};
use crate::types::{
    CollectionState, DatabaseStats, ListRowsOptions, OpenOptions, QueryRows, SearchHit, SearchOptions, SyncProgress,
    SyncResult,
};
use crate::values;
use crate::writes::{WriteCallback, write_listener};

/// The progress callback: called with one event, its result ignored, never with an error first.
type ProgressCallback = ThreadsafeFunction<SyncProgress, (), SyncProgress, Status, false>;

/// Rows `listRows` returns when no limit is given.
const DEFAULT_LIST_LIMIT: u32 = 100;

/// An engine keeping an SQLite replica of one integration in sync. Open it with `openEngine`.
#[napi]
pub struct NativeEngine {
    /// `None` once closed.
    client: Option<Arc<Client>>,
}

/// The options as the shared client crate takes them.
fn client_options(options: OpenOptions) -> ClientOptions {
    let ms = |ms: Option<u32>| ms.map(|ms| Duration::from_millis(ms.into()));
    ClientOptions {
        scope: options.integration_id,
        db: options.db_path.into(),
        url: options.server_url,
        token: options.token,
        // A schema object or its JSON text.
        schema_json: options.schema.map(|schema| match schema {
            serde_json::Value::String(text) => text,
            other => other.to_string(),
        }),
        page_sizes: options.page_sizes.into_iter().flatten().map(|(c, rows)| (c, rows as usize)).collect(),
        max_retries: options.max_retries.map(|n| n as usize),
        request_timeout: ms(options.request_timeout_ms),
        progress_interval: ms(options.progress_interval_ms),
        commit_rows: options.commit_rows.map(u64::from),
    }
}

/// Opens the database file (on a blocking thread: it may migrate) and prepares the engine; nothing is fetched.
#[napi(ts_return_type = "Promise<NativeEngine>")]
pub fn open_engine(env: &Env, options: OpenOptions) -> napi::Result<PromiseRaw<'_, NativeEngine>> {
    let work = async move { Ok(Client::open_async(client_options(options)).await?) };
    promise(env, work, |client| Ok(NativeEngine { client: Some(Arc::new(client)) }))
}

impl NativeEngine {
    /// The client, unless closed.
    pub(crate) fn client(&self) -> Option<Arc<Client>> {
        self.client.clone()
    }

    /// Runs `work` with the client, or rejects with `closed`.
    pub(crate) fn run<'env, T, V, F>(
        &self,
        env: &'env Env,
        work: impl FnOnce(Arc<Client>) -> F,
        to_js: impl FnOnce(T) -> Result<V, Failure> + 'static,
    ) -> napi::Result<PromiseRaw<'env, V>>
    where
        F: std::future::Future<Output = Result<T, Failure>> + Send + 'static,
        T: Send + 'static,
        V: napi::bindgen_prelude::ToNapiValue,
    {
        match self.client.clone() {
            Some(client) => promise(env, work(client), to_js),
            None => promise(env, async move { Err::<T, _>(sync_client::Error::Closed.into()) }, to_js),
        }
    }

    fn sync<'env>(
        &self,
        env: &'env Env,
        collections: Option<Vec<String>>,
        on_progress: Option<ProgressCallback>,
        cancel: Option<&CancelToken>,
        on_write: Option<WriteCallback>,
    ) -> napi::Result<PromiseRaw<'env, SyncResult>> {
        let cancel = cancel.map(|c| c.inner.clone());
        let writes = write_listener(on_write);
        let progress = on_progress.map(|callback| {
            Arc::new(move |p: &sync_core::Progress| {
                // Non-blocking: a slow listener never stalls the sync (the queue is unbounded, and events are
                // throttled by the engine).
                callback.call(SyncProgress::from(p), ThreadsafeFunctionCallMode::NonBlocking);
            }) as sync_core::ProgressFn
        });
        self.run(
            env,
            move |client| async move {
                Ok(client.with_write_events(writes, client.sync(collections, progress, cancel)).await?)
            },
            |report| Ok(SyncResult::from(report)),
        )
    }
}

#[napi]
impl NativeEngine {
    /// A token that cancels the syncs it is passed to; `close()` cancels it too.
    #[napi]
    pub fn cancel_token(&self) -> napi::Result<CancelToken> {
        let inner = match &self.client {
            Some(client) => client.cancel_token(),
            None => {
                let token = sync_core::CancellationToken::new();
                token.cancel();
                token
            }
        };
        Ok(CancelToken { inner })
    }

    /// Pushes the local writes, then syncs every collection of the schema, in order, until each is up to date;
    /// `onWrite` hears the outcome of each write pushed meanwhile.
    #[napi(ts_return_type = "Promise<SyncResult>")]
    pub fn sync_all<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "((progress: SyncProgress) => void) | undefined | null")] on_progress: Option<
            ProgressCallback,
        >,
        cancel: Option<&CancelToken>,
        #[napi(ts_arg_type = "((outcome: WriteOutcome) => void) | undefined | null")] on_write: Option<WriteCallback>,
    ) -> napi::Result<PromiseRaw<'env, SyncResult>> {
        self.sync(env, None, on_progress, cancel, on_write)
    }

    /// Syncs one collection until it is up to date.
    #[napi(ts_return_type = "Promise<SyncResult>")]
    pub fn sync_collection<'env>(
        &self,
        env: &'env Env,
        collection: String,
        #[napi(ts_arg_type = "((progress: SyncProgress) => void) | undefined | null")] on_progress: Option<
            ProgressCallback,
        >,
        cancel: Option<&CancelToken>,
        #[napi(ts_arg_type = "((outcome: WriteOutcome) => void) | undefined | null")] on_write: Option<WriteCallback>,
    ) -> napi::Result<PromiseRaw<'env, SyncResult>> {
        self.sync(env, Some(vec![collection]), on_progress, cancel, on_write)
    }

    /// Row counts per collection, file size and path.
    #[napi(ts_return_type = "Promise<DatabaseStats>")]
    pub fn stats<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, DatabaseStats>> {
        self.run(env, |client| async move { Ok(client.stats().await?) }, |s| Ok(DatabaseStats::from(s)))
    }

    /// The cursor of every collection of the integration that has one.
    #[napi(ts_return_type = "Promise<CollectionState[]>")]
    pub fn sync_state<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, Vec<CollectionState>>> {
        self.run(
            env,
            |client| async move { Ok(client.sync_state().await?) },
            |state| Ok(state.into_iter().map(CollectionState::from).collect()),
        )
    }

    /// Deletes every row and cursor of the integration, so that the next sync starts from scratch.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn reset<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, ()>> {
        self.run(env, |client| async move { Ok(client.reset().await?) }, Ok)
    }

    /// A page of the rows of `collection` of the integration, as objects (`id`, `seq`, then the columns), on the
    /// reader connection.
    #[napi(ts_return_type = "Promise<Array<Record<string, unknown>>>")]
    pub fn list_rows<'env>(
        &self,
        env: &'env Env,
        collection: String,
        options: Option<ListRowsOptions>,
    ) -> napi::Result<PromiseRaw<'env, Vec<serde_json::Value>>> {
        self.run(
            env,
            move |client| async move {
                let options = options.unwrap_or_default();
                let filter = options.filter.unwrap_or_default().into_iter();
                let query = ListRows {
                    filter: filter
                        .map(|(column, json)| Ok((column, values::param(json)?)))
                        .collect::<Result<_, Failure>>()?,
                    order_by: options.order_by.map(|column| (column, options.descending.unwrap_or(false))),
                    limit: options.limit.unwrap_or(DEFAULT_LIST_LIMIT) as usize,
                    offset: options.offset.unwrap_or(0) as usize,
                };
                Ok(client.list_rows(&collection, query).await?)
            },
            |rows| Ok(rows.into_iter().map(values::row_object).collect()),
        )
    }

    /// The integration's rows whose full-text columns match `query`, newest first (`order: 'relevance'`: best
    /// first), with highlighted snippets, on the reader connection. Any text is a valid query in the default `plain` mode; a bad `advanced` query, an
    /// unknown mode or filter column rejects with `invalid_query`, an unknown collection with `schema`.
    #[napi(ts_return_type = "Promise<SearchHit[]>")]
    pub fn search<'env>(
        &self,
        env: &'env Env,
        query: String,
        options: Option<SearchOptions>,
    ) -> napi::Result<PromiseRaw<'env, Vec<SearchHit>>> {
        self.run(
            env,
            move |client| async move {
                let request = options.map(values::search_request).transpose()?.unwrap_or_default();
                Ok(client.search(&query, request.into_options()).await?)
            },
            |hits| Ok(hits.into_iter().map(SearchHit::from).collect()),
        )
    }

    /// Runs one read-only SQL statement with positional parameters on the reader connection.
    #[napi(ts_return_type = "Promise<QueryRows>")]
    pub fn query<'env>(
        &self,
        env: &'env Env,
        sql: String,
        params: Option<Vec<serde_json::Value>>,
    ) -> napi::Result<PromiseRaw<'env, QueryRows>> {
        self.run(
            env,
            move |client| async move {
                let params =
                    params.unwrap_or_default().into_iter().map(values::param).collect::<Result<Vec<_>, _>>()?;
                Ok(client.query(&sql, params).await?)
            },
            |result| {
                let rows = result.rows.into_iter().map(|row| row.into_iter().map(values::to_json).collect()).collect();
                Ok(QueryRows { columns: result.columns, rows })
            },
        )
    }

    /// Cancels running syncs and closes the database once they have stopped; the promise resolves when the file
    /// is closed (if no other call still holds it). Later calls reject with `closed`. Idempotent.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn close<'env>(&mut self, env: &'env Env) -> napi::Result<PromiseRaw<'env, ()>> {
        let client = self.client.take();
        let work = async move {
            if let Some(client) = client {
                Client::close(client).await?;
            }
            Ok(())
        };
        promise(env, work, Ok)
    }

    /// Whether `close()` was called.
    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.client.is_none()
    }
}
