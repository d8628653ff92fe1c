//! JSON values of JavaScript to and from [`Value`]: rows as plain objects, filters and query parameters.

use serde_json::{Map, Number, Value as Json};
use sync_core::{Collection, ColumnType, StoredRow, Value};

use crate::error::Failure;

/// A value as JavaScript sees it: booleans as booleans, JSON columns as their text (as the seed stores them).
pub(crate) fn to_json(value: Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Integer(n) => Json::Number(n.into()),
        Value::Real(f) => Number::from_f64(f).map_or(Json::Null, Json::Number),
        Value::Text(t) | Value::Json(t) => Json::String(t),
        Value::Bool(b) => Json::Bool(b),
    }
}

/// A row as an object: `id`, `seq`, then the declared columns by name.
pub(crate) fn row_object(collection: &Collection, row: StoredRow) -> Json {
    let mut object = Map::with_capacity(row.values.len() + 2);
    object.insert("id".into(), Json::String(row.id));
    object.insert("seq".into(), Json::Number(row.seq.into()));
    for (column, value) in collection.columns.iter().zip(row.values) {
        object.insert(column.name.clone(), to_json(value));
    }
    Json::Object(object)
}

/// A query parameter by its JavaScript type.
pub(crate) fn param(json: Json) -> Result<Value, Failure> {
    Ok(match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            None => Value::Real(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::Text(s),
        other => {
            return Err(Failure::argument(format!(
                "a query parameter must be null, a boolean, a number or a string, not {other}"
            )));
        }
    })
}

/// A filter value for `column` of `collection` (or `id`, `seq`), typed by the column.
pub(crate) fn filter_value(collection: &Collection, column: &str, json: Json) -> Result<Value, Failure> {
    let ty = match column {
        "id" => ColumnType::Text,
        "seq" => ColumnType::Integer,
        name => match collection.columns.iter().find(|c| c.name == name) {
            Some(c) => c.ty,
            // The store names the columns it knows in its error.
            None => return param(json),
        },
    };
    let whole = |n: &Number| n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64));
    Ok(match (ty, json) {
        (_, Json::Null) => Value::Null,
        (ColumnType::Integer | ColumnType::Timestamp, Json::Number(n)) if let Some(i) = whole(&n) => Value::Integer(i),
        (ColumnType::Real, Json::Number(n)) => Value::Real(n.as_f64().unwrap_or(f64::NAN)),
        (ColumnType::Boolean, Json::Bool(b)) => Value::Bool(b),
        (ColumnType::Text, Json::String(s)) => Value::Text(s),
        (ColumnType::Json, Json::String(s)) => Value::Json(s),
        (ty, other) => {
            return Err(Failure::argument(format!("column `{column}` is {ty:?}; it cannot be compared with {other}")));
        }
    })
}
