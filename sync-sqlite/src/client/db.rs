//! The client replica's state on its database thread: the write connection and the prepared schema's SQL.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use sync_core::{ApplyOutcome, Change, Collection, CursorState, Page, Schema, StoreError, StoreStats, StoredRow};

use super::read::SharedSchema;
use crate::convert;
use crate::error::{DbError, Error};
use crate::sql::{self, ClientSql, Flavor};
use crate::{connection, migrations, tables};

mod outbox;
mod subscribe;

/// Statements per collection that may be cached (upsert, delete, three row reads, two counts, reset, any), plus room
/// for the fixed ones (the outbox's among them), so that applying pages to every collection never evicts a statement it is about to reuse.
const STATEMENTS_PER_COLLECTION: usize = 9;
const FIXED_STATEMENTS: usize = 32;

/// When a held transaction (`apply_page_held`) commits, besides at the last page and at `flush`.
#[derive(Clone, Debug)]
pub struct SqliteOptions {
    /// Commit once the transaction holds this many rows. Default 400,000: at 1M messages, commits every 200,000
    /// rows cost 10 % of the sync, every 400,000 nothing measurable (BENCHMARKS.md).
    pub held_commit_rows: u64,
    /// Commit once the transaction is this old, so that a reader (the app's UI) sees an initial sync progress at
    /// least this often, a crash loses at most this much work, and another connection that wants to write (another
    /// process opening the file) waits at most this long, well within its 5 s busy timeout. Default 2 s.
    pub held_commit_age: Duration,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions { held_commit_rows: 400_000, held_commit_age: Duration::from_secs(2) }
    }
}

/// The sort memory of a deferred index build, KiB (see `apply`): 8 MiB sorted 1M messages' indexes about as fast
/// as 24 MiB, 4 MiB was 10 % slower end to end.
const INDEX_SORT_KIB: i64 = 8 * 1024;

/// The schema the store was prepared with and the SQL generated from it.
struct Prepared {
    schema: Schema,
    sql: HashMap<String, ClientSql>,
}

impl Prepared {
    fn new(schema: Schema) -> Self {
        let sql = schema.collections.iter().map(|c| (c.name.clone(), ClientSql::new(c))).collect();
        Prepared { schema, sql }
    }

    fn collection(&self, name: &str) -> Result<(&Collection, &ClientSql), StoreError> {
        match (self.schema.collection(name), self.sql.get(name)) {
            (Some(c), Some(sql)) => Ok((c, sql)),
            _ => Err(StoreError::UnknownCollection(name.to_owned())),
        }
    }
}

pub(super) struct ClientDb {
    conn: Connection,
    path: PathBuf,
    prepared: Option<Prepared>,
    /// The prepared schema, published for the reader thread.
    shared: SharedSchema,
    /// Collections whose secondary indexes an initial sync dropped (committed) and has not built again yet.
    deferred: HashSet<String>,
    /// The transaction `apply_page_held` left open (it holds whole pages only), if any.
    held: Option<Held>,
    options: SqliteOptions,
    /// The (scope, collection) pairs that may hold rows with local writes (a superset; `None`: unknown, all may):
    /// only their pages look each row up in `sync_shadow`.
    shadowed: Option<HashSet<(String, String)>>,
}

/// The open transaction pages are applied in, committed at page boundaries only.
struct Held {
    rows: u64,
    since: Instant,
    /// Collections whose indexes were dropped, or built again, inside it: a rollback undoes both.
    dropped: Vec<String>,
    built: Vec<String>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn unprepared(collection: &str) -> StoreError {
    StoreError::UnknownCollection(collection.to_owned())
}

impl ClientDb {
    /// Opens and migrates the file, and loads the schema it was last prepared with.
    pub(super) fn open(path: PathBuf, shared: SharedSchema, options: SqliteOptions) -> Result<Self, Error> {
        let mut conn = connection::open_writer(&path)?;
        migrations::run(&mut conn, &path, &migrations::CLIENT)?;
        let saved: Option<String> = conn
            .query_row(sql::LOAD_SCHEMA, [], |row| row.get(0))
            .optional()
            .map_err(|cause| Error::Open { path: path.clone(), cause })?;
        let prepared = saved.and_then(|json| match Schema::from_json(&json) {
            Ok(schema) => Some(Prepared::new(schema)),
            Err(e) => {
                // Not fatal: the next prepare() stores a good one.
                tracing::warn!(path = %path.display(), error = %e, "ignoring the stored schema");
                None
            }
        });
        let mut db = ClientDb {
            conn,
            path,
            prepared: None,
            shared,
            deferred: HashSet::new(),
            held: None,
            options,
            shadowed: None,
        };
        db.load_shadowed();
        if let Some(prepared) = prepared {
            // A process that died during an initial sync left a table without its secondary indexes and its
            // full-text index current (see `apply_page`), and a replica synced by an older build has no full-text
            // index: build them before anyone reads. A no-op when they exist.
            repair(&mut db.conn, &prepared).map_err(|cause| Error::Open { path: db.path.clone(), cause })?;
            db.install(prepared);
        }
        Ok(db)
    }

    fn install(&mut self, prepared: Prepared) {
        let capacity = prepared.schema.collections.len() * STATEMENTS_PER_COLLECTION + FIXED_STATEMENTS;
        self.conn.set_prepared_statement_cache_capacity(capacity);
        *self.shared.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(prepared.schema.clone()));
        self.prepared = Some(prepared);
    }

    fn context(&self, what: &str) -> String {
        format!("{what} in {}", self.path.display())
    }

    pub(super) fn prepare(&mut self, schema: Schema) -> Result<(), StoreError> {
        schema.validate().map_err(|e| StoreError::Schema(e.to_string()))?;
        self.flush()?;
        let context = self.context("preparing the tables");
        let previous = self.prepared.as_ref().map(|p| &p.schema);
        let result = (|| -> Result<(), DbError> {
            let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tables::ensure(&tx, &schema, Flavor::Client, previous)?;
            for c in &schema.collections {
                match sql::Fts::new(c) {
                    Some(fts) => _ = fts.ensure(&tx)?,
                    None => sql::drop_fts(&tx, c)?,
                }
            }
            tx.prepare_cached(sql::SAVE_SCHEMA)?.execute(params![schema.to_json(), now_ms()])?;
            tx.commit()?;
            Ok(())
        })();
        result.map_err(|e| e.into_store(&context))?;
        // `tables::ensure` created every index that was missing and `Fts::ensure` rebuilt every full-text index
        // that was not current, deferred ones included.
        self.deferred.clear();
        self.install(Prepared::new(schema));
        Ok(())
    }

    pub(super) fn sync_state(&mut self, scope: &str) -> Result<Vec<CursorState>, StoreError> {
        let read = || -> rusqlite::Result<Vec<CursorState>> {
            let mut stmt = self.conn.prepare_cached(sql::CURSORS)?;
            let rows = stmt.query_map([scope], |row| {
                Ok(CursorState { collection: row.get(0)?, last_seq: row.get(1)?, updated_at: row.get(2)? })
            })?;
            rows.collect()
        };
        read().map_err(|e| StoreError::backend(self.context("reading the cursors"), e))
    }

    /// Applies a page in one `BEGIN IMMEDIATE` transaction; any error rolls all of it back, cursor included.
    ///
    /// An initial sync into an empty table defers its secondary indexes: the first page drops them and the last
    /// one (`has_more: false`) builds them again, each in its page's transaction. Loading first and sorting once
    /// costs about half of keeping the indexes up to date row by row (measured when the store was designed). Rows and
    /// cursor are exact at every commit either way; a crash in between leaves a table without those indexes,
    /// which the next `open` builds.
    pub(super) fn apply_page(&mut self, scope: &str, page: &Page) -> Result<ApplyOutcome, StoreError> {
        self.flush()?;
        self.begin()?;
        let outcome = self.apply(scope, page).inspect_err(|_| self.rollback())?;
        self.flush().map(|()| outcome)
    }

    /// Applies a page of an initial sync inside a transaction that stays open across pages while the table's
    /// indexes are deferred (an initial sync into an empty table). Commits on the last page, at
    /// the limits of [`SqliteOptions`], and at [`ClientDb::flush`]; any other page is applied and
    /// committed as by `apply_page`. A page that fails rolls back the pages held with it (their cursor too): no
    /// savepoint per page, since one copies every page it changes to a sub-journal first (14 % of a 1M sync).
    pub(super) fn apply_page_held(&mut self, scope: &str, page: &Page) -> Result<ApplyOutcome, StoreError> {
        // The caller decided that this is a sync from scratch (the engine, once per collection): any page with
        // more after it may open a held transaction.
        let holding = self.held.is_some() || self.deferred.contains(&page.collection);
        if !holding && !page.has_more {
            return self.apply_page(scope, page);
        }
        self.begin()?;
        let outcome = self.apply(scope, page).inspect_err(|_| self.rollback())?;
        let limits = &self.options;
        let due = self.held.as_mut().is_some_and(|held| {
            held.rows += page.rows.len() as u64;
            held.rows >= limits.held_commit_rows || held.since.elapsed() >= limits.held_commit_age
        });
        if !page.has_more || due || !self.deferred.contains(&page.collection) {
            self.flush()?;
        }
        Ok(outcome)
    }

    /// Opens the transaction pages are applied in (as savepoints), unless one is open.
    fn begin(&mut self) -> Result<(), StoreError> {
        if self.held.is_none() {
            let begun = self.conn.execute_batch("BEGIN IMMEDIATE");
            begun.map_err(|e| StoreError::backend(self.context("beginning a transaction"), e))?;
            self.held = Some(Held { rows: 0, since: Instant::now(), dropped: Vec::new(), built: Vec::new() });
        }
        Ok(())
    }

    /// Commits the open transaction, if any (every page in it is whole). A failed commit is rolled back, so the
    /// connection is never left inside a transaction; the cursor goes back with the rows.
    pub(super) fn flush(&mut self) -> Result<(), StoreError> {
        if self.held.take().is_some()
            && let Err(e) = self.conn.execute_batch("COMMIT")
        {
            let _ = self.conn.execute_batch("ROLLBACK");
            return Err(StoreError::backend(self.context("committing applied pages"), e));
        }
        Ok(())
    }

    /// Rolls back the open transaction, if any, and forgets the index drops and builds made in it.
    fn rollback(&mut self) {
        if let Some(held) = self.held.take() {
            if let Err(e) = self.conn.execute_batch("ROLLBACK") {
                tracing::warn!(error = %e, "rolling back a failed page");
            }
            held.dropped.iter().for_each(|c| _ = self.deferred.remove(c));
            self.deferred.extend(held.built);
        }
    }

    /// Applies a page in the open transaction ([`ClientDb::begin`]); the caller rolls it back on error.
    fn apply(&mut self, scope: &str, page: &Page) -> Result<ApplyOutcome, StoreError> {
        let ClientDb { conn, path, prepared, deferred, held, shadowed, .. } = self;
        let held = held.as_mut().expect("apply runs in an open transaction");
        let prepared = prepared.as_ref().ok_or_else(|| unprepared(&page.collection))?;
        let (collection, sql) = prepared.collection(&page.collection)?;
        let path = path.as_path();
        // Captures references only, so it is `Copy` and formats nothing unless a statement fails.
        let fail =
            |e| StoreError::backend(format!("applying a page of `{}` in {}", page.collection, path.display()), e);

        let tx = &*conn;
        let cursor: i64 = tx
            .prepare_cached(sql::CURSOR)
            .and_then(|mut stmt| stmt.query_row(params![scope, page.collection], |row| row.get(0)).optional())
            .map_err(fail)?
            .unwrap_or(0);
        if page.since_seq > cursor {
            return Err(StoreError::CursorGap {
                collection: page.collection.clone(),
                cursor,
                since_seq: page.since_seq,
            });
        }
        let was_deferred = deferred.contains(&page.collection);
        // Whether dropping the indexes is safe is the store's own check (an empty table at cursor 0, whoever
        // calls); not for a last page: dropping and building again in one transaction would gain nothing.
        let defer_now = !was_deferred && cursor == 0 && page.has_more && is_empty(tx, sql).map_err(fail)?;
        if defer_now {
            defer_indexes(tx, sql, false).map_err(fail)?;
            tracing::debug!(collection = %page.collection, "initial sync into an empty table: indexes deferred");
        }
        let overlay =
            shadowed.as_ref().is_none_or(|pairs| pairs.contains(&(scope.to_owned(), page.collection.clone())));
        // With the triggers in place, the page's index entries are written in two statements around its rows.
        let paused = sql
            .fts
            .as_ref()
            .filter(|_| !was_deferred && !defer_now)
            .map(|fts| (fts, serde_json::json!(page.rows.iter().map(|r| &r.id).collect::<Vec<_>>()).to_string()));
        if let Some((fts, ids)) = &paused {
            fts.pause(tx, scope, ids).map_err(fail)?;
        }
        let outcome = write_rows(tx, scope, page, (collection, sql), cursor, path, overlay)?;
        if let Some((fts, ids)) = &paused {
            fts.resume(tx, scope, ids).map_err(fail)?;
        }
        if overlay {
            outbox::settle_by_cursor(tx, scope, (collection, sql), outcome.cursor).map_err(fail)?;
        }
        let build_now = (was_deferred || defer_now) && !page.has_more;
        if build_now {
            let started = std::time::Instant::now();
            // The sort of CREATE INDEX holds up to `cache_size` in memory on top of the cache: bound it.
            let cache = |kib: i64| tx.pragma_update(None, "cache_size", -kib);
            cache(INDEX_SORT_KIB).map_err(fail)?;
            let built = run_all(tx, &sql.create_indexes).and_then(|()| sql.fts.iter().try_for_each(|f| f.build(tx)));
            cache(connection::WRITER_CACHE_KIB).map_err(fail)?;
            built.map_err(fail)?;
            let ms = started.elapsed().as_secs_f64() * 1e3;
            tracing::debug!(collection = %page.collection, ms, "deferred indexes built");
        }
        tx.prepare_cached(sql::SAVE_CURSOR)
            .and_then(|mut stmt| stmt.execute(params![scope, page.collection, outcome.cursor, now_ms()]))
            .map_err(fail)?;
        // A rollback of the transaction undoes these two ([`ClientDb::rollback`]).
        if defer_now {
            deferred.insert(page.collection.clone());
            held.dropped.push(page.collection.clone());
        } else if build_now {
            deferred.remove(&page.collection);
            held.built.push(page.collection.clone());
        }
        Ok(outcome)
    }

    pub(super) fn reset(&mut self, scope: &str) -> Result<(), StoreError> {
        self.flush()?;
        let context = self.context(&format!("resetting scope {scope:?}"));
        let statements = self.prepared.iter().flat_map(|p| p.sql.values().map(|s| s.reset.as_str()));
        let run = || -> rusqlite::Result<()> {
            let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            // Subscribed values stay subscribed (archived ones too), from cursor 0.
            for statement in statements.chain([sql::DELETE_CURSORS, sql::DROP_ALL_VALUE_CURSORS]) {
                tx.prepare_cached(statement)?.execute([scope])?;
            }
            // Local writes survive a reset, shown on "no server version" until pages bring the rows again.
            if let Some(prepared) = &self.prepared {
                outbox::reset(&tx, scope, prepared)?;
            }
            tx.commit()
        };
        run().map_err(|e| StoreError::backend(context, e))
    }

    pub(super) fn read_rows(
        &mut self,
        scope: &str,
        collection: &str,
        after_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StoredRow>, StoreError> {
        let prepared = self.prepared.as_ref().ok_or_else(|| unprepared(collection))?;
        let (c, sql) = prepared.collection(collection)?;
        convert::read_rows(&self.conn, &sql.rows, &c.columns, scope, after_id, limit)
            .map_err(|e| StoreError::backend(format!("reading rows of `{collection}` in {}", self.path.display()), e))
    }

    /// The rows of `collection` held for `scope` (`COUNT(*)` over the primary key).
    pub(super) fn count_rows(&mut self, scope: &str, collection: &str) -> Result<u64, StoreError> {
        let prepared = self.prepared.as_ref().ok_or_else(|| unprepared(collection))?;
        let (_, sql) = prepared.collection(collection)?;
        let count: i64 = self
            .conn
            .prepare_cached(&sql.count_scope)
            .and_then(|mut stmt| stmt.query_row([scope], |row| row.get(0)))
            .map_err(|e| {
                StoreError::backend(format!("counting rows of `{collection}` in {}", self.path.display()), e)
            })?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Row counts per collection of the prepared schema (`COUNT(*)`: stats are not on the sync's hot path), and
    /// the size of the main file plus the WAL.
    pub(super) fn stats(&mut self) -> Result<StoreStats, StoreError> {
        let mut counts = BTreeMap::new();
        for (name, sql) in self.prepared.iter().flat_map(|p| p.sql.iter()) {
            let count: i64 = self
                .conn
                .prepare_cached(&sql.count)
                .and_then(|mut stmt| stmt.query_row([], |row| row.get(0)))
                .map_err(|e| StoreError::backend(format!("counting rows of `{name}` in {}", self.path.display()), e))?;
            counts.insert(name.clone(), u64::try_from(count).unwrap_or(0));
        }
        Ok(StoreStats { path: Some(self.path.display().to_string()), file_size_bytes: file_size(&self.path), counts })
    }
}

impl Drop for ClientDb {
    /// A held transaction holds whole pages: keep them (a sync whose future was dropped never called `flush`).
    fn drop(&mut self) {
        if let Err(e) = self.flush() {
            tracing::warn!(error = %e, "pages applied before the store closed were not committed; the next sync fetches them again");
        }
    }
}

/// Bytes of the database file and its WAL; a missing file counts as empty.
fn file_size(path: &Path) -> u64 {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    [path.to_path_buf(), PathBuf::from(wal)].iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum()
}

/// Writes a page's rows (skipping those at or below `cursor`) and returns the outcome with the new cursor.
fn write_rows(
    tx: &Connection,
    scope: &str,
    page: &Page,
    (collection, sql): (&Collection, &ClientSql),
    cursor: i64,
    path: &Path,
    overlay: bool,
) -> Result<ApplyOutcome, StoreError> {
    let fail = |e| StoreError::backend(format!("applying a page of `{}` in {}", page.collection, path.display()), e);
    let mut outcome = ApplyOutcome::default();
    let mut upsert = tx.prepare_cached(&sql.upsert).map_err(fail)?;
    let mut delete = tx.prepare_cached(&sql.delete).map_err(fail)?;
    for row in &page.rows {
        if row.seq <= cursor {
            outcome.skipped += 1;
            continue;
        }
        let diverted = overlay && outbox::apply_server_row(tx, scope, (collection, sql), row).map_err(fail)?;
        let result = match &row.change {
            _ if diverted => {
                let count = if row.is_delete() { &mut outcome.deleted } else { &mut outcome.upserted };
                *count += 1;
                Ok(0)
            }
            Change::Upsert(values) => {
                outcome.upserted += 1;
                upsert
                    .raw_bind_parameter(1, &row.id)
                    .and_then(|()| upsert.raw_bind_parameter(2, scope))
                    .and_then(|()| upsert.raw_bind_parameter(3, row.seq))
                    .and_then(|()| convert::bind_values(&mut upsert, 4, &collection.columns, values))
                    .and_then(|()| upsert.raw_execute())
            }
            Change::Delete => {
                outcome.deleted += 1;
                delete.execute(params![scope, row.id, row.seq])
            }
        };
        if let Err(e) = result {
            let what = format!("applying row {:?} (seq {}) of `{}`", row.id, row.seq, page.collection);
            return Err(StoreError::backend(format!("{what} in {}", path.display()), e));
        }
    }
    outcome.cursor = cursor.max(page.latest_seq);
    Ok(outcome)
}

/// Drops the table's secondary indexes (but, with `keep_filter`, the one that reads a filter value's rows) and
/// stops keeping its full-text index current, until `create_indexes` and `Fts::build` (or `repair`) run.
fn defer_indexes(conn: &Connection, sql: &ClientSql, keep_filter: bool) -> rusqlite::Result<()> {
    run_all(conn, if keep_filter { &sql.drop_indexes_but_filter } else { &sql.drop_indexes })?;
    sql.fts.iter().try_for_each(|fts| fts.drop_triggers(conn))
}

/// Whether the collection's table holds no row of any scope.
fn is_empty(conn: &Connection, sql: &ClientSql) -> rusqlite::Result<bool> {
    conn.prepare_cached(&sql.any)?.query_row([], |_| Ok(())).optional().map(|row| row.is_none())
}

fn run_all<'a>(conn: &Connection, statements: impl IntoIterator<Item = &'a String>) -> rusqlite::Result<()> {
    statements.into_iter().try_for_each(|statement| conn.execute_batch(statement))
}

/// Builds, in one transaction, every secondary index and full-text index of the prepared schema that is missing
/// or not current.
fn repair(conn: &mut Connection, prepared: &Prepared) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    run_all(&tx, prepared.sql.values().flat_map(|sql| &sql.create_indexes))?;
    for (name, fts) in prepared.sql.iter().filter_map(|(name, sql)| Some((name, sql.fts.as_ref()?))) {
        if fts.ensure(&tx)? {
            tracing::info!(collection = %name, "full-text index rebuilt");
        }
    }
    tx.commit()
}
