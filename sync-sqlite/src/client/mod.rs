//! [`SqliteStore`]: the client replica in an SQLite file.

mod db;

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use sync_core::{ApplyOutcome, ClientStore, CursorState, Page, Schema, StoreError, StoreStats, StoredRow};

use crate::error::Error;
use crate::writer::Worker;
use db::ClientDb;

/// A client replica in an SQLite file (WAL mode), implementing [`ClientStore`].
///
/// One thread owns the write connection and runs every method, one at a time, so no rusqlite call runs on an
/// async runtime's threads and a page is always applied in one transaction. The app's own UI queries should open
/// their own connections to [`SqliteStore::path`]: under WAL they read while pages are written.
///
/// Each collection of the prepared schema is a table `<name>(id, integration_id, seq, <declared columns>)` keyed
/// by `(integration_id, id)`, indexed by `(integration_id, seq)` and by the schema's indexes. Full-text columns
/// (`Collection::full_text`) are not indexed yet: no FTS5 table is created for them.
///
/// Dropping the last handle finishes queued work, closes the file and waits for the thread to end.
pub struct SqliteStore {
    path: PathBuf,
    worker: Worker<ClientDb>,
}

impl SqliteStore {
    /// Opens the replica at `path`, creating the file if needed, and brings the engine's own tables up to date.
    ///
    /// Blocks while the file is opened and migrated: call it before the sync starts, or from a blocking task.
    /// A schema prepared earlier is remembered, but [`ClientStore::prepare`] must still be called before syncing.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, Error> {
        let path = path.as_ref().to_path_buf();
        let thread_path = path.clone();
        let worker = Worker::spawn("sync-sqlite-client", move || ClientDb::open(thread_path))?;
        Ok(SqliteStore { path, worker })
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

    async fn reset(&self, scope: &str) -> Result<(), StoreError> {
        let scope = scope.to_owned();
        self.run(move |db| db.reset(&scope)).await
    }

    async fn read_rows(&self, scope: &str, collection: &str, after_id: Option<&str>, limit: usize)
    -> Result<Vec<StoredRow>, StoreError> {
        let (scope, collection, after_id) = (scope.to_owned(), collection.to_owned(), after_id.map(str::to_owned));
        self.run(move |db| db.read_rows(&scope, &collection, after_id.as_deref(), limit)).await
    }

    async fn stats(&self) -> Result<StoreStats, StoreError> {
        self.run(ClientDb::stats).await
    }
}
