//! [`Value`] to and from SQLite, typed by the column so that every value round-trips exactly: booleans are
//! stored as 0/1 and read back as booleans, JSON as its text and read back as JSON.

use rusqlite::types::{ToSql, ToSqlOutput, Type, ValueRef};
use rusqlite::{Connection, params};
use sync_core::{Column, ColumnType, StoredRow, Value};

use crate::sql::RowsById;

/// A value that does not fit its column. The page codec and `check_write` refuse these before a store sees
/// them; the stores check again so that a bad value fails its transaction instead of being stored as something
/// it would not read back as.
#[derive(Debug, thiserror::Error)]
#[error("column `{column}` of type {ty:?} cannot hold {value}")]
pub(crate) struct BadValue {
    column: String,
    ty: ColumnType,
    value: String,
}

/// A row whose number of values differs from the number of declared columns.
#[derive(Debug, thiserror::Error)]
#[error("the row has {got} values for {want} declared columns")]
pub(crate) struct BadArity {
    got: usize,
    want: usize,
}

/// Binds `value` as the SQLite form of `column`'s type: NULL, INTEGER (also for booleans), REAL or TEXT.
pub(crate) struct Bind<'a> {
    pub(crate) column: &'a Column,
    pub(crate) value: &'a Value,
}

impl ToSql for Bind<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        use ColumnType as T;
        let raw = match (self.column.ty, self.value) {
            // NULL in a required column is left to the NOT NULL constraint, which fails the statement.
            (_, Value::Null) => ValueRef::Null,
            (T::Text, Value::Text(text)) | (T::Json, Value::Json(text)) => ValueRef::Text(text.as_bytes()),
            (T::Integer | T::Timestamp, Value::Integer(n)) => ValueRef::Integer(*n),
            (T::Boolean, Value::Bool(b)) => ValueRef::Integer(i64::from(*b)),
            // SQLite would store NaN as NULL and infinities as text-less REALs that JSON cannot carry.
            (T::Real, Value::Real(f)) if f.is_finite() => ValueRef::Real(*f),
            // Integers are valid reals on the wire (`check_write` accepts them); stored as REAL they read back
            // as `Value::Real`, the same as a REAL column would give them.
            (T::Real, Value::Integer(n)) => ValueRef::Real(*n as f64),
            (ty, value) => {
                let bad = BadValue { column: self.column.name.clone(), ty, value: format!("{value:?}") };
                return Err(rusqlite::Error::ToSqlConversionFailure(Box::new(bad)));
            }
        };
        Ok(ToSqlOutput::Borrowed(raw))
    }
}

/// Binds the declared values of a row at parameters `first..`, refusing a row of the wrong length.
pub(crate) fn bind_values(
    stmt: &mut rusqlite::Statement<'_>,
    first: usize,
    columns: &[Column],
    values: &[Value],
) -> rusqlite::Result<()> {
    if values.len() != columns.len() {
        let bad = BadArity { got: values.len(), want: columns.len() };
        return Err(rusqlite::Error::ToSqlConversionFailure(Box::new(bad)));
    }
    for (i, (column, value)) in columns.iter().zip(values).enumerate() {
        stmt.raw_bind_parameter(first + i, Bind { column, value })?;
    }
    Ok(())
}

/// Reads column `index` of `row` as a value of `column`'s type.
pub(crate) fn read_value(row: &rusqlite::Row<'_>, index: usize, column: &Column) -> rusqlite::Result<Value> {
    use ColumnType as T;
    let raw = row.get_ref(index)?;
    let text = |raw: ValueRef<'_>| {
        raw.as_str()
            .map(str::to_owned)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(index, Type::Text, Box::new(e)))
    };
    Ok(match (column.ty, raw) {
        (_, ValueRef::Null) => Value::Null,
        (T::Text, ValueRef::Text(_)) => Value::Text(text(raw)?),
        (T::Json, ValueRef::Text(_)) => Value::Json(text(raw)?),
        (T::Integer | T::Timestamp, ValueRef::Integer(n)) => Value::Integer(n),
        (T::Boolean, ValueRef::Integer(n)) => Value::Bool(n != 0),
        (T::Real, ValueRef::Real(f)) => Value::Real(f),
        (T::Real, ValueRef::Integer(n)) => Value::Real(n as f64),
        (ty, other) => {
            let bad = BadValue { column: column.name.clone(), ty, value: format!("{:?}", other.data_type()) };
            return Err(rusqlite::Error::FromSqlConversionFailure(index, other.data_type(), Box::new(bad)));
        }
    })
}

/// Reads the declared columns of `row`, starting at column `first`.
pub(crate) fn read_values(row: &rusqlite::Row<'_>, first: usize, columns: &[Column]) -> rusqlite::Result<Vec<Value>> {
    columns.iter().enumerate().map(|(i, column)| read_value(row, first + i, column)).collect()
}

/// A count or limit as SQLite's integer.
pub(crate) fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The first `limit` live rows of a scope in id order, after `after_id` when given.
pub(crate) fn read_rows(
    conn: &Connection,
    sql: &RowsById,
    columns: &[Column],
    scope: &str,
    after_id: Option<&str>,
    limit: usize,
) -> rusqlite::Result<Vec<StoredRow>> {
    let limit = to_i64(limit);
    let mut stmt = conn.prepare_cached(if after_id.is_some() { &sql.after } else { &sql.first })?;
    let map = |row: &rusqlite::Row<'_>| {
        Ok(StoredRow { id: row.get(0)?, seq: row.get(1)?, values: read_values(row, 2, columns)? })
    };
    let rows = match after_id {
        Some(after) => stmt.query_map(params![scope, after, limit], map)?,
        None => stmt.query_map(params![scope, limit], map)?,
    };
    rows.collect()
}
