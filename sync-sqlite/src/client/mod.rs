//! [`SqliteStore`]: the client replica in an SQLite file.

mod db;
mod read;
mod search;

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use sync_core::outbox::{LocalWrite, PendingWrite, TouchedRow};
use sync_core::{
    ApplyOutcome, ClientStore, CursorState, Mutation, MutationResult, Page, Schema, StoreError, StoreStats, StoredRow,
    Subscription, SubscriptionChange, Value,
};

use crate::error::Error;
use crate::writer::Worker;
use db::ClientDb;
pub use db::SqliteOptions;
use read::{ClientReader, SharedSchema};
pub use read::{ListRows, QueryResult};
pub use search::{Highlight, SearchHit, SearchMode, SearchOptions, SearchOrder};

/// A client replica in an SQLite file (WAL mode), implementing [`ClientStore`].
///
/// One thread owns the write connection and runs every method, one at a time, so no rusqlite call runs on an
/// async runtime's threads and a page is always applied in one transaction. The app's own UI queries should open
/// their own connections to [`SqliteStore::path`]: under WAL they read while pages are written.
///
/// Each collection of the prepared schema is a table `<name>(id, integration_id, seq, <declared columns>)` keyed
/// by `(integration_id, id)`, indexed by `(integration_id, seq)` and by the schema's indexes. A collection with
/// full-text columns (`Collection::full_text`) also has an FTS5 index `<name>_fts` over them, kept current in
/// every transaction that writes the table, which [`SqliteStore::search`] queries.
///
/// Reads for an app's UI ([`SqliteStore::list_rows`], [`SqliteStore::query`]) run on a second thread with its
/// own `query_only` connection: under WAL they see the last committed page and never wait for the writer.
///
/// Dropping the last handle finishes queued work, closes the file and waits for the threads to end.
pub struct SqliteStore {
    path: PathBuf,
    // Dropped before the writer, so that the writer's connection is the last one and removes the WAL.
    reader: Worker<ClientReader>,
    worker: Worker<ClientDb>,
    schema: SharedSchema,
}

impl SqliteStore {
    /// Opens the replica at `path`, creating the file if needed, and brings the engine's own tables up to date.
    ///
    /// Blocks while the file is opened and migrated: call it before the sync starts, or from a blocking task.
    /// A schema prepared earlier is remembered, but [`ClientStore::prepare`] must still be called before syncing.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, Error> {
        Self::open_with(path, SqliteOptions::default())
    }

    /// [`SqliteStore::open`] with other [`SqliteOptions`].
    pub fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> Result<SqliteStore, Error> {
        let path = path.as_ref().to_path_buf();
        let schema = SharedSchema::default();
        let (thread_path, thread_schema, reader_schema) = (path.clone(), schema.clone(), schema.clone());
        let worker = Worker::spawn("sync-sqlite-client", move || ClientDb::open(thread_path, thread_schema, options))?;
        // After the writer: it created the file and put it in WAL mode.
        let reader_path = path.clone();
        let reader =
            Worker::spawn("sync-sqlite-client-reader", move || ClientReader::open(reader_path, reader_schema))?;
        Ok(SqliteStore { path, worker, reader, schema })
    }

    /// The schema the store was last prepared with (remembered in the file), if any: the columns of the rows
    /// [`SqliteStore::list_rows`] returns.
    pub fn schema(&self) -> Option<std::sync::Arc<Schema>> {
        self.schema.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A page of the live rows of `collection` in `scope`, filtered, sorted and paged as `query` says (for a
    /// conversation list, or the messages of one conversation). Column names are checked against the prepared
    /// schema: an unknown one is [`StoreError::InvalidQuery`], an unknown collection
    /// [`StoreError::UnknownCollection`]. Runs on the reader thread.
    pub async fn list_rows(
        &self,
        scope: &str,
        collection: &str,
        query: ListRows,
    ) -> Result<Vec<StoredRow>, StoreError> {
        let (scope, collection) = (scope.to_owned(), collection.to_owned());
        self.reader.run(move |reader| reader.list_rows(&scope, &collection, &query)).await?
    }

    /// Runs one read-only SQL statement with positional parameters (`?`, `?1`) on the reader connection. Anything
    /// but a read (a write, a schema change, several statements, a pragma that changes something) is refused with
    /// [`StoreError::InvalidQuery`] and changes nothing.
    pub async fn query(&self, sql: &str, params: Vec<Value>) -> Result<QueryResult, StoreError> {
        let sql = sql.to_owned();
        self.reader.run(move |reader| reader.query(&sql, &params)).await?
    }

    /// The rows of `scope` whose full-text columns match `query`, newest first or best first
    /// ([`SearchOrder`]), each with a snippet of its text (see [`SearchOptions`]: collections, filters such as one
    /// conversation, paging, how the query is read and how matches are marked). Any text is a valid query in the default [`SearchMode::Plain`]; a bad
    /// [`SearchMode::Advanced`] query, an unknown or unsearchable collection or filter column is
    /// [`StoreError::InvalidQuery`] (or [`StoreError::UnknownCollection`]). Runs on the reader thread; a
    /// collection an initial sync is loading for the first time (a recent-first sync's heads included) is searchable
    /// once its last page is applied.
    pub async fn search(&self, scope: &str, query: &str, options: SearchOptions) -> Result<Vec<SearchHit>, StoreError> {
        let (scope, query) = (scope.to_owned(), query.to_owned());
        self.reader.run(move |reader| reader.search(&scope, &query, &options)).await?
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn run<R: Send + 'static>(
        &self,
        job: impl FnOnce(&mut ClientDb) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        self.worker.run(job).await?
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.path).finish_non_exhaustive()
    }
}

#[async_trait]
impl ClientStore for SqliteStore {
    /// Creates the tables and indexes of every collection in one transaction. An existing table gains the
    /// schema's new nullable columns (`ALTER TABLE ADD COLUMN`); a new required column, a changed type or a
    /// column the schema no longer allows null in is [`StoreError::Schema`] and changes nothing.
    async fn prepare(&self, schema: &Schema) -> Result<(), StoreError> {
        let schema = schema.clone();
        self.run(move |db| db.prepare(schema)).await
    }

    async fn sync_state(&self, scope: &str) -> Result<Vec<CursorState>, StoreError> {
        let scope = scope.to_owned();
        self.run(move |db| db.sync_state(&scope)).await
    }

    async fn apply_page(&self, scope: &str, page: Page) -> Result<ApplyOutcome, StoreError> {
        let scope = scope.to_owned();
        self.run(move |db| db.apply_page(&scope, &page)).await
    }

    /// While an initial sync fills an empty table (its indexes deferred), pages share one transaction, committed
    /// every 400,000 rows or 2 seconds ([`SqliteOptions`]), at the last page and at `flush`; readers see the rows at
    /// those commits.
    async fn apply_page_held(&self, scope: &str, page: Page) -> Result<ApplyOutcome, StoreError> {
        let scope = scope.to_owned();
        self.run(move |db| db.apply_page_held(&scope, &page)).await
    }

    async fn flush(&self) -> Result<(), StoreError> {
        self.run(ClientDb::flush).await
    }

    async fn reset(&self, scope: &str) -> Result<(), StoreError> {
        let scope = scope.to_owned();
        self.run(move |db| db.reset(&scope)).await
    }

    async fn read_rows(
        &self,
        scope: &str,
        collection: &str,
        after_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StoredRow>, StoreError> {
        let (scope, collection, after_id) = (scope.to_owned(), collection.to_owned(), after_id.map(str::to_owned));
        self.run(move |db| db.read_rows(&scope, &collection, after_id.as_deref(), limit)).await
    }

    async fn stats(&self) -> Result<StoreStats, StoreError> {
        self.run(ClientDb::stats).await
    }

    async fn saved_schema(&self) -> Result<Option<Schema>, StoreError> {
        Ok(self.schema().map(|schema| (*schema).clone()))
    }

    async fn client_id(&self) -> Result<String, StoreError> {
        self.run(ClientDb::client_id).await
    }

    /// One `BEGIN IMMEDIATE` transaction: the visible row, the kept server version and the outbox entry.
    async fn mutate(&self, scope: &str, write: LocalWrite) -> Result<Mutation, StoreError> {
        let scope = scope.to_owned();
        self.run(move |db| db.mutate(&scope, write)).await
    }

    async fn outbox(&self, scope: &str, limit: usize) -> Result<Vec<Mutation>, StoreError> {
        let scope = scope.to_owned();
        self.run(move |db| db.outbox(&scope, limit)).await
    }

    async fn acknowledge(&self, scope: &str, results: &[MutationResult]) -> Result<Vec<TouchedRow>, StoreError> {
        let (scope, results) = (scope.to_owned(), results.to_vec());
        self.run(move |db| db.acknowledge(&scope, &results)).await
    }

    async fn settle(&self, scope: &str, through: u64) -> Result<Vec<TouchedRow>, StoreError> {
        let scope = scope.to_owned();
        self.run(move |db| db.settle(&scope, through)).await
    }

    async fn pending_writes(&self, scope: &str) -> Result<Vec<PendingWrite>, StoreError> {
        let scope = scope.to_owned();
        self.run(move |db| db.pending_writes(&scope)).await
    }

    async fn subscription(&self, scope: &str) -> Result<Subscription, StoreError> {
        let scope = scope.to_owned();
        self.run(move |db| db.subscription(&scope)).await
    }

    /// One `BEGIN IMMEDIATE` transaction: the subscription's tables, the rows evicted (through the filter
    /// indexes) and the cursors.
    async fn change_subscription(&self, scope: &str, change: SubscriptionChange) -> Result<Subscription, StoreError> {
        let scope = scope.to_owned();
        self.run(move |db| db.change_subscription(&scope, change)).await
    }

    async fn apply_filtered_page(
        &self,
        scope: &str,
        values: &[String],
        page: Page,
    ) -> Result<ApplyOutcome, StoreError> {
        let (scope, values) = (scope.to_owned(), values.to_vec());
        self.run(move |db| db.apply_filtered_page(&scope, &values, &page)).await
    }

    async fn apply_rows(&self, scope: &str, page: Page) -> Result<ApplyOutcome, StoreError> {
        let scope = scope.to_owned();
        self.run(move |db| db.apply_rows(&scope, &page)).await
    }

    /// Into an empty table of a scope that syncs everything, heads defer the table's secondary indexes (but the
    /// one that reads a conversation's rows) and full-text index until the pull's last page builds them, and share
    /// the held transaction as `apply_page_held` does.
    async fn apply_rows_held(&self, scope: &str, page: Page) -> Result<ApplyOutcome, StoreError> {
        let scope = scope.to_owned();
        self.run(move |db| db.apply_rows_held(&scope, &page)).await
    }

    async fn count_rows(&self, scope: &str, collection: &str) -> Result<Option<u64>, StoreError> {
        let (scope, collection) = (scope.to_owned(), collection.to_owned());
        self.run(move |db| db.count_rows(&scope, &collection).map(Some)).await
    }
}
