//! JSON values of JavaScript to and from [`Value`]: rows as plain objects, filter values and query parameters.

use serde_json::{Map, Number, Value as Json};
use sync_client::NamedRow;
use sync_core::Value;

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
pub(crate) fn row_object(row: NamedRow) -> Json {
    let mut object = Map::with_capacity(row.values.len() + 2);
    object.insert("id".into(), Json::String(row.id));
    object.insert("seq".into(), Json::Number(row.seq.into()));
    for (column, value) in row.values {
        object.insert(column, to_json(value));
    }
    Json::Object(object)
}

/// A query parameter or filter value by its JavaScript type (a filter value then takes its column's type in
/// `sync-client`).
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

/// `search`'s options as the shared client crate takes them; filter values by their JavaScript type (a column may
/// be in several of the searched collections).
pub(crate) fn search_request(options: crate::types::SearchOptions) -> Result<sync_client::SearchRequest, Failure> {
    let filter = options.filter.unwrap_or_default().into_iter().map(|(column, json)| Ok((column, param(json)?)));
    Ok(sync_client::SearchRequest {
        mode: options.mode.as_deref().map(sync_client::search_mode).transpose().map_err(sync_client::Error::from)?,
        order: options.order.as_deref().map(sync_client::search_order).transpose().map_err(sync_client::Error::from)?,
        collections: options.collections,
        filter: filter.collect::<Result<Vec<_>, Failure>>()?,
        limit: options.limit,
        offset: options.offset,
        highlight_open: options.highlight_open,
        highlight_close: options.highlight_close,
        ellipsis: options.ellipsis,
        escape_html: options.escape_html,
        snippet_tokens: options.snippet_tokens,
    })
}
