//! [`NativeEngine`]: one engine over one SQLite file, one server and one integration.

use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::PromiseRaw;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Status};
use napi_derive::napi;
use sync_client::{Client, ClientOptions, OpenError};
use sync_core::live::NotifyingStore;
use sync_core::{CancellationToken, ClientStore, SyncEngine, SyncOptions};
use sync_sqlite::{ListRows, SqliteStore};

use crate::cancel::CancelToken;
use crate::error::{Failure, promise};
use crate::types::{CollectionState, DatabaseStats, ListRowsOptions, OpenOptions, QueryRows, SyncProgress, SyncResult};
use crate::values;

/// The progress callback: called with one event, its result ignored, never with an error first.
type ProgressCallback = ThreadsafeFunction<SyncProgress, (), SyncProgress, Status, false>;

/// Rows `listRows` returns when no limit is given.
const DEFAULT_LIST_LIMIT: u32 = 100;

pub(crate) struct Inner {
    pub(crate) engine: SyncEngine,
    store: Arc<SqliteStore>,
    /// The store as the engine sees it: tells `follow` listeners what each committed transaction changed.
    pub(crate) changes: Arc<NotifyingStore>,
    pub(crate) scope: String,
    /// Cancelled by `close()`; every [`CancelToken`] of this engine is its child.
    pub(crate) closed: CancellationToken,
}

/// An engine keeping an SQLite replica of one integration in sync. Open it with `openEngine`.
#[napi]
pub struct NativeEngine {
    inner: Option<Arc<Inner>>,
}

/// The options as the shared client crate takes them.
fn client_options(options: &OpenOptions) -> ClientOptions {
    let ms = |ms: Option<u32>| ms.map(|ms| Duration::from_millis(ms.into()));
    ClientOptions {
        db: options.db_path.clone().into(),
        url: options.server_url.clone(),
        token: options.token.clone(),
        // A schema object or its JSON text.
        schema_json: options.schema.as_ref().map(|schema| match schema {
            serde_json::Value::String(text) => text.clone(),
            other => other.to_string(),
        }),
        page_sizes: options.page_sizes.iter().flatten().map(|(c, rows)| (c.clone(), *rows as usize)).collect(),
        max_retries: options.max_retries.map(|n| n as usize),
        request_timeout: ms(options.request_timeout_ms),
        progress_interval: ms(options.progress_interval_ms),
        commit_rows: options.commit_rows.map(u64::from),
    }
}

/// Opens the database file (on a blocking thread: it may migrate) and prepares the engine; nothing is fetched.
#[napi(ts_return_type = "Promise<NativeEngine>")]
pub fn open_engine(env: &Env, options: OpenOptions) -> napi::Result<PromiseRaw<'_, NativeEngine>> {
    let work = async move {
        if options.integration_id.is_empty() {
            return Err(Failure::argument("integrationId must not be empty"));
        }
        let client_options = client_options(&options);
        let client = tokio::task::spawn_blocking(move || Client::open(client_options))
            .await
            .map_err(|e| Failure::new("store", e.to_string()))?
            .map_err(|e| match e {
                OpenError::Schema(_) => Failure::new("schema", e.to_string()),
                OpenError::Transport(_) => Failure::argument(e.to_string()),
                OpenError::Store(_) => Failure::new("store", e.to_string()),
            })?;
        let Client { engine, store, changes } = client;
        Ok(Inner { engine, store, changes, scope: options.integration_id, closed: CancellationToken::new() })
    };
    promise(env, work, |inner| Ok(NativeEngine { inner: Some(Arc::new(inner)) }))
}

impl NativeEngine {
    fn inner(&self) -> Result<Arc<Inner>, Failure> {
        self.inner.clone().ok_or_else(Failure::closed)
    }

    /// Runs `work` with the engine, or rejects with `closed`.
    pub(crate) fn run<'env, T, V, F>(
        &self,
        env: &'env Env,
        work: impl FnOnce(Arc<Inner>) -> F,
        to_js: impl FnOnce(T) -> Result<V, Failure> + 'static,
    ) -> napi::Result<PromiseRaw<'env, V>>
    where
        F: std::future::Future<Output = Result<T, Failure>> + Send + 'static,
        T: Send + 'static,
        V: napi::bindgen_prelude::ToNapiValue,
    {
        match self.inner() {
            Ok(inner) => promise(env, work(inner), to_js),
            Err(failure) => promise(env, async move { Err::<T, _>(failure) }, to_js),
        }
    }

    fn sync<'env>(
        &self,
        env: &'env Env,
        collections: Option<Vec<String>>,
        on_progress: Option<ProgressCallback>,
        cancel: Option<&CancelToken>,
    ) -> napi::Result<PromiseRaw<'env, SyncResult>> {
        let token = cancel.map(|c| c.inner.clone());
        self.run(
            env,
            move |inner| async move {
                let progress = on_progress.map(|callback| {
                    let callback = Arc::new(callback);
                    Arc::new(move |p: &sync_core::Progress| {
                        // Non-blocking: a slow listener never stalls the sync (the queue is unbounded, and events
                        // are throttled by the engine).
                        callback.call(SyncProgress::from(p), ThreadsafeFunctionCallMode::NonBlocking);
                    }) as sync_core::ProgressFn
                });
                let cancel = token.unwrap_or_else(|| inner.closed.child_token());
                let options = SyncOptions { progress, cancel, collections };
                Ok(inner.engine.sync(&inner.scope, options).await?)
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
        let closed = self.inner.as_ref().map_or_else(CancellationToken::new, |i| i.closed.clone());
        let inner = closed.child_token();
        if self.inner.is_none() {
            inner.cancel();
        }
        Ok(CancelToken { inner })
    }

    /// Syncs every collection of the schema, in order, until each is up to date.
    #[napi(ts_return_type = "Promise<SyncResult>")]
    pub fn sync_all<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "((progress: SyncProgress) => void) | undefined | null")] on_progress: Option<
            ProgressCallback,
        >,
        cancel: Option<&CancelToken>,
    ) -> napi::Result<PromiseRaw<'env, SyncResult>> {
        self.sync(env, None, on_progress, cancel)
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
    ) -> napi::Result<PromiseRaw<'env, SyncResult>> {
        self.sync(env, Some(vec![collection]), on_progress, cancel)
    }

    /// Row counts per collection, file size and path.
    #[napi(ts_return_type = "Promise<DatabaseStats>")]
    pub fn stats<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, DatabaseStats>> {
        self.run(env, |inner| async move { Ok(inner.store.stats().await?) }, |s| Ok(DatabaseStats::from(s)))
    }

    /// The cursor of every collection of the integration that has one.
    #[napi(ts_return_type = "Promise<CollectionState[]>")]
    pub fn sync_state<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, Vec<CollectionState>>> {
        self.run(
            env,
            |inner| async move { Ok(inner.store.sync_state(&inner.scope).await?) },
            |state| Ok(state.into_iter().map(CollectionState::from).collect()),
        )
    }

    /// Deletes every row and cursor of the integration, so that the next sync starts from scratch.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn reset<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, ()>> {
        self.run(env, |inner| async move { Ok(inner.changes.reset(&inner.scope).await?) }, Ok)
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
            move |inner| async move {
                let schema = inner.store.schema().ok_or_else(|| {
                    Failure::new("schema", "the database has no schema yet: sync once (or open with a schema) first")
                })?;
                let c = schema
                    .collection(&collection)
                    .ok_or_else(|| Failure::from(sync_core::StoreError::UnknownCollection(collection.clone())))?;
                let options = options.unwrap_or(ListRowsOptions {
                    filter: None,
                    order_by: None,
                    descending: None,
                    limit: None,
                    offset: None,
                });
                let filter = options
                    .filter
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(column, json)| Ok((column.clone(), values::filter_value(c, &column, json)?)))
                    .collect::<Result<Vec<_>, Failure>>()?;
                let query = ListRows {
                    filter,
                    order_by: options.order_by.map(|column| (column, options.descending.unwrap_or(false))),
                    limit: options.limit.unwrap_or(DEFAULT_LIST_LIMIT) as usize,
                    offset: options.offset.unwrap_or(0) as usize,
                };
                let rows = inner.store.list_rows(&inner.scope, &collection, query).await?;
                Ok(rows.into_iter().map(|row| values::row_object(c, row)).collect::<Vec<_>>())
            },
            Ok,
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
            move |inner| async move {
                let params =
                    params.unwrap_or_default().into_iter().map(values::param).collect::<Result<Vec<_>, _>>()?;
                Ok(inner.store.query(&sql, params).await?)
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
        let inner = self.inner.take();
        let work = async move {
            if let Some(inner) = inner {
                inner.closed.cancel();
                // Dropping the last handle joins the store's threads: not on the JavaScript thread.
                tokio::task::spawn_blocking(move || drop(inner))
                    .await
                    .map_err(|e| Failure::new("store", e.to_string()))?;
            }
            Ok(())
        };
        promise(env, work, Ok)
    }

    /// Whether `close()` was called.
    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.inner.is_none()
    }
}
