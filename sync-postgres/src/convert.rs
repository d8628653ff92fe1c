//! [`Value`] to and from PostgreSQL, typed by column: Text → TEXT, Integer and Timestamp (Unix ms) → BIGINT,
//! Real → DOUBLE PRECISION, Boolean → BOOLEAN, Json → JSONB.

use bytes::BytesMut;
use sync_core::{Column, ColumnType, Value};
use tokio_postgres::Row;
use tokio_postgres::types::{IsNull, Json, ToSql, Type, to_sql_checked};

/// One bound parameter. A `Value` alone cannot be bound: a typed NULL and JSON need the column's type.
#[derive(Debug)]
pub(super) enum Param {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Bool(bool),
    Json(serde_json::Value),
}

impl Param {
    /// The parameter for `value` in `column` (values were checked against the schema by `check_write`).
    pub(super) fn of(column: &Column, value: &Value) -> Param {
        match (column.ty, value) {
            (_, Value::Null) => Param::Null,
            (ColumnType::Real, Value::Integer(n)) => Param::Real(*n as f64),
            (_, Value::Integer(n)) => Param::Int(*n),
            (_, Value::Real(f)) => Param::Real(*f),
            (_, Value::Text(s)) => Param::Text(s.clone()),
            (_, Value::Bool(b)) => Param::Bool(*b),
            (_, Value::Json(text)) => Param::Json(serde_json::from_str(text).unwrap_or(serde_json::Value::Null)),
        }
    }
}

impl ToSql for Param {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Param::Null => Ok(IsNull::Yes),
            Param::Int(n) => n.to_sql(ty, out),
            Param::Real(f) => f.to_sql(ty, out),
            Param::Text(s) => s.to_sql(ty, out),
            Param::Bool(b) => b.to_sql(ty, out),
            Param::Json(v) => Json(v).to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        // Each variant's own `to_sql` checks the type it is given.
        true
    }

    to_sql_checked!();
}

/// Borrows parameters for a query.
pub(super) fn refs(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

/// Reads the declared columns of `row` starting at position `start`.
pub(super) fn read_values(row: &Row, start: usize, columns: &[Column]) -> Result<Vec<Value>, tokio_postgres::Error> {
    columns
        .iter()
        .enumerate()
        .map(|(i, column)| {
            let at = start + i;
            Ok(match column.ty {
                ColumnType::Text => row.try_get::<_, Option<String>>(at)?.map_or(Value::Null, Value::Text),
                ColumnType::Integer | ColumnType::Timestamp => {
                    row.try_get::<_, Option<i64>>(at)?.map_or(Value::Null, Value::Integer)
                }
                ColumnType::Real => row.try_get::<_, Option<f64>>(at)?.map_or(Value::Null, Value::Real),
                ColumnType::Boolean => row.try_get::<_, Option<bool>>(at)?.map_or(Value::Null, Value::Bool),
                ColumnType::Json => row
                    .try_get::<_, Option<Json<serde_json::Value>>>(at)?
                    .map_or(Value::Null, |Json(v)| Value::Json(v.to_string())),
            })
        })
        .collect()
}
