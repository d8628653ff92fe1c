//! The client replica's reader thread: reads for an app's UI on a connection of their own, so they run while the
//! writer applies pages (WAL) and never wait behind it.
//!
//! [`ListRows`] pages through a collection with column names checked against the prepared schema; a
//! [`QueryResult`] comes from any parameterised read the app writes itself. The connection is `query_only` and each
//! statement must be read-only, so neither can change the replica behind the engine's back.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use rusqlite::limits::Limit;
use rusqlite::types::{ToSql, ToSqlOutput, ValueRef};
use rusqlite::{Connection, params_from_iter};
use sync_core::{Column, ColumnType, Schema, StoreError, StoredRow, Value};

use super::search::{SearchHit, SearchOptions};
use crate::convert::{self, Bind};
use crate::error::Error;
use crate::{connection, sql};

/// The schema last prepared by the writer, shared with the reader.
pub(super) type SharedSchema = Arc<RwLock<Option<Arc<Schema>>>>;

/// Which rows of a collection [`SqliteStore::list_rows`](super::SqliteStore::list_rows) returns.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListRows {
    /// Equality filters, all of which must hold: `(column, value)`; a `Value::Null` matches NULL. Columns are the
    /// collection's declared columns, `id` or `seq`.
    pub filter: Vec<(String, Value)>,
    /// Sort column and whether descending; rows of equal values are ordered by `id`. Default: by `id`.
    pub order_by: Option<(String, bool)>,
    /// At most this many rows.
    pub limit: usize,
    /// Rows skipped before the first returned.
    pub offset: usize,
}

/// The result of [`SqliteStore::query`](super::SqliteStore::query).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueryResult {
    /// Column names, in order.
    pub columns: Vec<String>,
    /// Rows, each with one value per column: NULL, integer, real or text (SQLite's storage classes; booleans read
    /// as 0/1 and JSON as text).
    pub rows: Vec<Vec<Value>>,
}

pub(super) struct ClientReader {
    conn: Connection,
    path: PathBuf,
    schema: SharedSchema,
}

/// Binds a query parameter as its natural SQLite form.
struct Param<'a>(&'a Value);

impl ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self.0 {
            Value::Null => ValueRef::Null,
            Value::Integer(n) => ValueRef::Integer(*n),
            Value::Real(f) => ValueRef::Real(*f),
            Value::Bool(b) => ValueRef::Integer(i64::from(*b)),
            Value::Text(t) | Value::Json(t) => ValueRef::Text(t.as_bytes()),
        }))
    }
}

impl ClientReader {
    pub(super) fn open(path: PathBuf, schema: SharedSchema) -> Result<Self, Error> {
        let conn = connection::open_reader(&path)?;
        // ATTACH counts as a read for SQLite (it changes no file), but it would let a query read any other file.
        conn.set_limit(Limit::SQLITE_LIMIT_ATTACHED, 0).map_err(|cause| Error::Open { path: path.clone(), cause })?;
        Ok(ClientReader { conn, path, schema })
    }

    fn backend(&self, what: impl std::fmt::Display, e: rusqlite::Error) -> StoreError {
        StoreError::backend(format!("{what} in {}", self.path.display()), e)
    }

    pub(super) fn list_rows(
        &mut self,
        scope: &str,
        collection: &str,
        query: &ListRows,
    ) -> Result<Vec<StoredRow>, StoreError> {
        let schema = self.schema.read().unwrap_or_else(|e| e.into_inner()).clone();
        let c = schema
            .as_deref()
            .and_then(|s| s.collection(collection))
            .ok_or_else(|| StoreError::UnknownCollection(collection.to_owned()))?;
        let implicit = [Column::new("id", ColumnType::Text), Column::new("seq", ColumnType::Integer)];
        let column = |name: &str| {
            implicit.iter().chain(&c.columns).find(|column| column.name == name).ok_or_else(|| {
                StoreError::InvalidQuery(format!(
                    "collection `{collection}` has no column `{name}` (columns: id, seq, {})",
                    c.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
                ))
            })
        };
        let mut filter = Vec::with_capacity(query.filter.len());
        let mut binds = Vec::with_capacity(query.filter.len());
        for (name, value) in &query.filter {
            let column = column(name)?;
            filter.push((column.name.as_str(), *value == Value::Null));
            if *value != Value::Null {
                binds.push(Bind { column, value });
            }
        }
        let order_by = match &query.order_by {
            Some((name, descending)) => Some((column(name)?.name.as_str(), *descending)),
            None => None,
        };
        let text = sql::list_rows(c, &filter, order_by);
        let read = || -> rusqlite::Result<Vec<StoredRow>> {
            let mut stmt = self.conn.prepare_cached(&text)?;
            let mut i = 1;
            stmt.raw_bind_parameter(i, scope)?;
            for bind in &binds {
                i += 1;
                stmt.raw_bind_parameter(i, bind)?;
            }
            stmt.raw_bind_parameter(i + 1, convert::to_i64(query.limit))?;
            stmt.raw_bind_parameter(i + 2, convert::to_i64(query.offset))?;
            let mut rows = stmt.raw_query();
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                out.push(StoredRow {
                    id: row.get(0)?,
                    seq: row.get(1)?,
                    values: convert::read_values(row, 2, &c.columns)?,
                });
            }
            Ok(out)
        };
        read().map_err(|e| self.backend(format_args!("listing rows of `{collection}`"), e))
    }

    pub(super) fn search(
        &mut self,
        scope: &str,
        text: &str,
        options: &SearchOptions,
    ) -> Result<Vec<SearchHit>, StoreError> {
        let schema = self.schema.read().unwrap_or_else(|e| e.into_inner()).clone();
        let Some(schema) = schema else { return Ok(Vec::new()) };
        super::search::search(&self.conn, &self.path, &schema, (scope, text), options)
    }

    pub(super) fn query(&mut self, text: &str, params: &[Value]) -> Result<QueryResult, StoreError> {
        let result = self.query_inner(text, params);
        // BEGIN is read-only for SQLite too, but a transaction left open would pin an old snapshot for every
        // later read (and keep the WAL from being checkpointed).
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
            return Err(StoreError::InvalidQuery(format!("transactions cannot be opened on the reader: {text:?}")));
        }
        result
    }

    fn query_inner(&mut self, text: &str, params: &[Value]) -> Result<QueryResult, StoreError> {
        let mut stmt = match self.conn.prepare_cached(text) {
            Ok(stmt) => stmt,
            // A statement that does not compile is the caller's mistake, not a failing database.
            Err(e) => return Err(StoreError::InvalidQuery(format!("{e} (in {text:?})"))),
        };
        if !stmt.readonly() {
            return Err(StoreError::InvalidQuery(format!("only reads are allowed on the reader connection: {text:?}")));
        }
        if stmt.parameter_count() != params.len() {
            return Err(StoreError::InvalidQuery(format!(
                "the query has {} parameters but {} values were given",
                stmt.parameter_count(),
                params.len()
            )));
        }
        let columns: Vec<String> = stmt.column_names().into_iter().map(str::to_owned).collect();
        let mut rows = stmt.query(params_from_iter(params.iter().map(Param))).map_err(|e| fail(&self.path, e))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(|e| fail(&self.path, e))? {
            let mut values = Vec::with_capacity(columns.len());
            for (i, name) in columns.iter().enumerate() {
                values.push(match row.get_ref(i).map_err(|e| fail(&self.path, e))? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(n) => Value::Integer(n),
                    ValueRef::Real(f) => Value::Real(f),
                    ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(_) => {
                        return Err(StoreError::InvalidQuery(format!(
                            "column `{name}` is a BLOB, which the reader does not return (select hex(…) instead)"
                        )));
                    }
                });
            }
            out.push(values);
        }
        Ok(QueryResult { columns, rows: out })
    }
}

fn fail(path: &std::path::Path, e: rusqlite::Error) -> StoreError {
    StoreError::backend(format!("running a query in {}", path.display()), e)
}
