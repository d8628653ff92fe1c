//! The server store's reader threads: pages, status, rows and single rows, each in one read transaction.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, params};
use sync_core::{Change, CollectionStatus, FeedError, FeedPage, Row, ScopeStatus, StoredRow, Value};

use super::Shared;
use crate::convert;
use crate::error::Error;
use crate::{connection, sql};

/// Statements per collection a reader caches (page, two row reads, get), plus the fixed ones.
const STATEMENTS_PER_COLLECTION: usize = 4;
const FIXED_STATEMENTS: usize = 8;

pub(super) struct Reader {
    conn: Connection,
    path: PathBuf,
    shared: Arc<Shared>,
}

impl Reader {
    pub(super) fn open(path: PathBuf, shared: Arc<Shared>) -> Result<Self, Error> {
        let conn = connection::open_reader(&path)?;
        let mapped = conn.pragma_update(None, "mmap_size", connection::SERVER_READ_MMAP);
        mapped.map_err(|cause| Error::Open { path: path.clone(), cause })?;
        conn.set_prepared_statement_cache_capacity(shared.sql.len() * STATEMENTS_PER_COLLECTION + FIXED_STATEMENTS);
        Ok(Reader { conn, path, shared })
    }

    pub(super) fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }

    pub(super) fn conn(&mut self) -> &mut Connection {
        &mut self.conn
    }

    pub(super) fn backend(&self, what: impl std::fmt::Display, e: rusqlite::Error) -> FeedError {
        FeedError::backend(format!("{what} in {}", self.path.display()), e)
    }

    pub(super) fn page(
        &mut self,
        scope: &str,
        collection: &str,
        since_seq: i64,
        limit: usize,
    ) -> Result<FeedPage, FeedError> {
        let shared = self.shared.clone();
        let (c, sql) = shared.collection(collection)?;
        let mut read = || -> rusqlite::Result<Option<FeedPage>> {
            // One snapshot for the scope check, the rows and the count.
            let tx = self.conn.transaction()?;
            if tx.prepare_cached(sql::SCOPE_SEQ)?.query_row([scope], |_| Ok(())).optional()?.is_none() {
                return Ok(None);
            }
            let mut stmt = tx.prepare_cached(&sql.page)?;
            let rows = stmt.query_map(params![scope, since_seq, convert::to_i64(limit).saturating_add(1)], |row| {
                let change = if row.get::<_, bool>(2)? {
                    Change::Delete
                } else {
                    Change::Upsert(convert::read_values(row, 3, &c.columns)?)
                };
                Ok(Row { id: row.get(0)?, seq: row.get(1)?, change })
            })?;
            let mut rows = rows.collect::<rusqlite::Result<Vec<Row>>>()?;
            drop(stmt);
            let has_more = rows.len() > limit;
            rows.truncate(limit);
            let live: Option<i64> = tx
                .prepare_cached(sql::COLLECTION_COUNT)?
                .query_row([scope, collection], |row| row.get(0))
                .optional()?;
            tx.commit()?;
            let latest_seq = rows.last().map_or(since_seq, |r| r.seq);
            let total_count = u64::try_from(live.unwrap_or(0)).unwrap_or(0);
            Ok(Some(FeedPage { rows, latest_seq, has_more, total_count }))
        };
        let page = read().map_err(|e| self.backend(format_args!("reading a page of `{collection}`"), e))?;
        page.ok_or_else(|| FeedError::UnknownScope(scope.to_owned()))
    }

    pub(super) fn status(&mut self, scope: &str) -> Result<ScopeStatus, FeedError> {
        let shared = self.shared.clone();
        let mut read = || -> rusqlite::Result<Option<ScopeStatus>> {
            let tx = self.conn.transaction()?;
            let Some(latest_seq) =
                tx.prepare_cached(sql::SCOPE_SEQ)?.query_row([scope], |row| row.get(0)).optional()?
            else {
                return Ok(None);
            };
            let mut collections: BTreeMap<String, CollectionStatus> = shared
                .schema
                .collections
                .iter()
                .map(|c| (c.name.clone(), CollectionStatus { latest_seq: 0, count: 0 }))
                .collect();
            let mut stmt = tx.prepare_cached(sql::SCOPE_COUNTS)?;
            let mut rows = stmt.query([scope])?;
            while let Some(row) = rows.next()? {
                // Collections no longer in the schema keep their counters but are not reported.
                if let Some(status) = collections.get_mut(&row.get::<_, String>(0)?) {
                    status.count = u64::try_from(row.get::<_, i64>(1)?).unwrap_or(0);
                    status.latest_seq = row.get(2)?;
                }
            }
            drop(rows);
            drop(stmt);
            tx.commit()?;
            Ok(Some(ScopeStatus { integration_id: scope.to_owned(), latest_seq, collections }))
        };
        let status = read().map_err(|e| self.backend(format_args!("reading the status of scope {scope:?}"), e))?;
        status.ok_or_else(|| FeedError::UnknownScope(scope.to_owned()))
    }

    pub(super) fn read_rows(
        &mut self,
        scope: &str,
        collection: &str,
        after_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StoredRow>, FeedError> {
        let shared = self.shared.clone();
        let (c, sql) = shared.collection(collection)?;
        convert::read_rows(&self.conn, &sql.rows, &c.columns, scope, after_id, limit)
            .map_err(|e| self.backend(format_args!("reading rows of `{collection}`"), e))
    }

    pub(super) fn get(&mut self, scope: &str, collection: &str, id: &str) -> Result<Option<Vec<Value>>, FeedError> {
        let shared = self.shared.clone();
        let (c, sql) = shared.collection(collection)?;
        let read = || -> rusqlite::Result<Option<Vec<Value>>> {
            let mut stmt = self.conn.prepare_cached(&sql.get)?;
            stmt.query_row([scope, id], |row| convert::read_values(row, 0, &c.columns)).optional()
        };
        read().map_err(|e| self.backend(format_args!("reading row {id:?} of `{collection}`"), e))
    }
}

#[cfg(test)]
mod tests {
    use sync_core::testing::test_schema;

    use super::*;
    use crate::SqliteServerStore;

    /// A reader maps the file (`connection::SERVER_READ_MMAP`): SQLite answers 0 when mapping is off or refused.
    #[test]
    fn a_server_reader_maps_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteServerStore::open(dir.path().join("server.db"), test_schema()).expect("open");
        let mut reader = Reader::open(store.path().to_path_buf(), store.shared.clone()).expect("reader");
        let mapped: i64 = reader.conn().pragma_query_value(None, "mmap_size", |row| row.get(0)).expect("pragma");
        assert_eq!(mapped, connection::SERVER_READ_MMAP);
    }
}
