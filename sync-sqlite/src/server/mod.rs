//! [`SqliteServerStore`]: the embedded server's source of truth in an SQLite file.

mod filtered;
mod push;
mod read;
mod write;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use sync_core::watch::{DEFAULT_RECHECK, SeqWatch, latest_seq};
use sync_core::{
    ChangeFeed, Collection, FeedError, FeedPage, FilteredRead, HeadRead, PushHook, PushRequest, PushResponse, Schema,
    ScopeStatus, ServerStore, StoredRow, Value, Write, WriteReceipt, check_filter, check_head, check_push, check_write,
};

use crate::error::Error;
use crate::sql::ServerSql;
use crate::writer::Worker;
use read::Reader;
use write::Writer;

/// Reader threads, each with its own connection. Two keep pages flowing while one read is slow, without
/// holding many connections on the small machines this runs on.
const READERS: usize = 2;

/// The schema and the SQL generated from it, shared by the writer and the readers.
struct Shared {
    schema: Schema,
    sql: HashMap<String, ServerSql>,
}

impl Shared {
    fn collection(&self, name: &str) -> Result<(&Collection, &ServerSql), FeedError> {
        match (self.schema.collection(name), self.sql.get(name)) {
            (Some(c), Some(sql)) => Ok((c, sql)),
            _ => Err(FeedError::UnknownCollection(name.to_owned())),
        }
    }
}

/// A server store in an SQLite file (WAL mode), implementing [`ServerStore`] and so [`ChangeFeed`].
///
/// Each collection is a table `<name>(id, integration_id, seq, deleted, <declared columns>)` keyed by
/// `(integration_id, id)`, indexed by `(integration_id, seq)` for pages and by `(integration_id, <column>)` for
/// every column that references another collection, so that a cascading delete costs O(children). A deleted
/// row stays as a tombstone (`deleted = 1`, nullable columns nulled) so that clients learn of the delete.
///
/// Seqs: every write batch runs in one `BEGIN IMMEDIATE` transaction on the writer thread, which reads the scope's
/// counter in `scopes`, hands out the next seqs and stores the counter back before committing. The write lock is
/// held from the counter read to the commit, so commit order equals seq order within a scope (PROTOCOL.md
/// invariant 2), even with other processes writing the same file. Live counts and latest seqs per collection are
/// kept in `collection_counts` in the same transaction, so `status` and `total_count` never count rows.
///
/// Reads (pages, status, rows) run on reader threads with their own connections: under WAL they see the last
/// committed batch and never wait for a write in progress.
pub struct SqliteServerStore {
    path: PathBuf,
    shared: Arc<Shared>,
    writer: Worker<Writer>,
    readers: Vec<Worker<Reader>>,
    next_reader: AtomicUsize,
    live: SeqWatch,
    hook: Option<Arc<dyn PushHook>>,
}

impl SqliteServerStore {
    /// Opens the store at `path` serving `schema`, creating the file and the tables if needed. Existing tables
    /// gain the schema's new nullable columns; a schema they cannot hold is [`Error::Incompatible`].
    ///
    /// Blocks while the file is opened and migrated: call it before serving, or from a blocking task.
    pub fn open(path: impl AsRef<Path>, schema: Schema) -> Result<Self, Error> {
        schema.validate()?;
        let path = path.as_ref().to_path_buf();
        let sql = schema.collections.iter().map(|c| (c.name.clone(), ServerSql::new(c, &schema))).collect();
        let shared = Arc::new(Shared { schema, sql });
        let (writer_path, writer_shared) = (path.clone(), shared.clone());
        let writer = Worker::spawn("sync-sqlite-server-writer", move || Writer::open(writer_path, writer_shared))?;
        let readers = (0..READERS)
            .map(|i| {
                let (reader_path, reader_shared) = (path.clone(), shared.clone());
                Worker::spawn(&format!("sync-sqlite-server-reader-{i}"), move || {
                    Reader::open(reader_path, reader_shared)
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let next_reader = AtomicUsize::new(0);
        Ok(SqliteServerStore { path, shared, writer, readers, next_reader, live: SeqWatch::new(), hook: None })
    }

    /// The same store with `hook` reviewing every pushed mutation (on the writer thread, inside the push's
    /// transaction).
    pub fn with_hook(mut self, hook: Arc<dyn PushHook>) -> Self {
        self.hook = Some(hook);
        self
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs a read on the next reader thread, round robin.
    async fn read<R: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Reader) -> Result<R, FeedError> + Send + 'static,
    ) -> Result<R, FeedError> {
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        self.readers[i].run(job).await?
    }
}

impl std::fmt::Debug for SqliteServerStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteServerStore").field("path", &self.path).finish_non_exhaustive()
    }
}

#[async_trait]
impl ChangeFeed for SqliteServerStore {
    fn schema(&self) -> &Schema {
        &self.shared.schema
    }

    /// One indexed range read of `limit + 1` rows (the extra one tells `has_more`) plus one counter row, in one
    /// read transaction so that rows and `total_count` agree.
    async fn page(&self, scope: &str, collection: &str, since_seq: i64, limit: usize) -> Result<FeedPage, FeedError> {
        self.shared.collection(collection)?;
        let (scope, collection) = (scope.to_owned(), collection.to_owned());
        self.read(move |reader| reader.page(&scope, &collection, since_seq, limit)).await
    }

    /// A merge of one lazy range scan per value over the filter index, and one over `moves` (rows that left a
    /// value), in one read transaction.
    async fn page_filtered(&self, scope: &str, collection: &str, read: &FilteredRead) -> Result<FeedPage, FeedError> {
        let (_, values) = check_filter(&self.shared.schema, collection, &read.values)?;
        let read = FilteredRead { values, ..read.clone() };
        let (scope, collection) = (scope.to_owned(), collection.to_owned());
        self.read(move |reader| reader.page_filtered(&scope, &collection, &read)).await
    }

    async fn head(&self, scope: &str, collection: &str, read: &HeadRead) -> Result<FeedPage, FeedError> {
        let read = check_head(&self.shared.schema, collection, read)?;
        let (scope, collection) = (scope.to_owned(), collection.to_owned());
        self.read(move |reader| reader.head(&scope, &collection, &read)).await
    }

    async fn status(&self, scope: &str) -> Result<ScopeStatus, FeedError> {
        let scope = scope.to_owned();
        self.read(move |reader| reader.status(&scope)).await
    }

    /// Woken in-process by [`ServerStore::write`]; a write by another process on the same file (or a plain SQL
    /// one) is found by the re-check every [`DEFAULT_RECHECK`].
    async fn wait_for_seq(&self, scope: &str, after_seq: i64, timeout: std::time::Duration) -> Result<i64, FeedError> {
        self.live.wait(scope, after_seq, timeout, DEFAULT_RECHECK, || latest_seq(self, scope)).await
    }
}

#[async_trait]
impl ServerStore for SqliteServerStore {
    /// Every write is checked against the schema first, so an invalid write fails the batch before the database
    /// is touched. Deletes cascade recursively to live rows of every collection whose column references the
    /// deleted row's collection, each taking its own seq and leaving its own tombstone.
    async fn write(&self, scope: &str, writes: Vec<Write>) -> Result<WriteReceipt, FeedError> {
        for write in &writes {
            check_write(&self.shared.schema, write)?;
        }
        let owned = scope.to_owned();
        let receipt = self.writer.run(move |writer| writer.write(&owned, &writes)).await??;
        if receipt.last_seq > 0 {
            self.live.publish(scope, receipt.last_seq);
        }
        Ok(receipt)
    }

    async fn read_rows(
        &self,
        scope: &str,
        collection: &str,
        after_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StoredRow>, FeedError> {
        self.shared.collection(collection)?;
        let (scope, collection, after_id) = (scope.to_owned(), collection.to_owned(), after_id.map(str::to_owned));
        self.read(move |reader| reader.read_rows(&scope, &collection, after_id.as_deref(), limit)).await
    }

    async fn get(&self, scope: &str, collection: &str, id: &str) -> Result<Option<Vec<Value>>, FeedError> {
        self.shared.collection(collection)?;
        let (scope, collection, id) = (scope.to_owned(), collection.to_owned(), id.to_owned());
        self.read(move |reader| reader.get(&scope, &collection, &id)).await
    }

    /// Checked before the database is touched; then one `BEGIN IMMEDIATE` transaction on the writer thread
    /// (which also serialises pushes of one client), the same seq counter as [`ServerStore::write`].
    async fn push(&self, scope: &str, push: PushRequest) -> Result<PushResponse, FeedError> {
        let mutations = check_push(&self.shared.schema, &push)?;
        let (owned, hook) = (scope.to_owned(), self.hook.clone());
        let job = move |writer: &mut Writer| writer.push(&owned, &push.client_id, mutations, hook.as_deref());
        let (response, receipt) = self.writer.run(job).await??;
        if receipt.last_seq > 0 {
            self.live.publish(scope, receipt.last_seq);
        }
        Ok(response)
    }
}
