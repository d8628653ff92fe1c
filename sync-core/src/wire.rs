//! The page codec of wire protocol v1, shared by every server and client so the two cannot drift.
//!
//! A page is `{"<collection>": [rows], "latest_seq": S, "has_more": bool, "total_count": T}`. A row is an object
//! with `id`, `integration_id`, `seq` and the declared columns; a tombstone is `{"id", "integration_id", "seq",
//! "deleted": true}`. Decoding validates everything a hostile or buggy server could get wrong (DESIGN.md
//! invariant 7), so a store only ever sees pages it can apply as a whole.

use std::io::Write as _;

use serde_json::Value as Json;

use crate::error::PageError;
use crate::page::{FeedPage, Page, PageRequest};
use crate::schema::{Collection, ColumnType};
use crate::value::{Change, Row, Value};

/// Encodes a feed page for `scope` as the JSON body of `GET /sync/{collection}/{scope}`.
pub fn encode_page(collection: &Collection, scope: &str, page: &FeedPage) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + page.rows.len() * 256);
    out.push(b'{');
    write_str(&mut out, &collection.name);
    out.extend_from_slice(b":[");
    for (i, row) in page.rows.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        encode_row(&mut out, collection, scope, row);
    }
    let _ = write!(
        out,
        "],\"latest_seq\":{},\"has_more\":{},\"total_count\":{}}}",
        page.latest_seq, page.has_more, page.total_count
    );
    out
}

fn encode_row(out: &mut Vec<u8>, collection: &Collection, scope: &str, row: &Row) {
    out.extend_from_slice(b"{\"id\":");
    write_str(out, &row.id);
    out.extend_from_slice(b",\"integration_id\":");
    write_str(out, scope);
    let _ = write!(out, ",\"seq\":{}", row.seq);
    match &row.change {
        Change::Delete => out.extend_from_slice(b",\"deleted\":true"),
        Change::Upsert(values) => {
            for (column, value) in collection.columns.iter().zip(values) {
                out.push(b',');
                write_str(out, &column.name);
                out.push(b':');
                write_value(out, value);
            }
        }
    }
    out.push(b'}');
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    // Writing a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Integer(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Real(f) if f.is_finite() => {
            let _ = serde_json::to_writer(&mut *out, f);
        }
        Value::Real(_) => out.extend_from_slice(b"null"),
        Value::Text(s) => write_str(out, s),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Json(text) => out.extend_from_slice(text.as_bytes()),
    }
}

/// Decodes and validates the body of a page answering `request`. Any error means nothing may be applied.
///
/// `max_bytes` bounds the body; rows beyond `request.limit` are rejected too.
pub fn decode_page(collection: &Collection, request: &PageRequest, body: &[u8], max_bytes: usize) -> Result<Page, PageError> {
    if body.len() > max_bytes {
        return Err(PageError::TooLarge(format!("{} bytes, the limit is {max_bytes}", body.len())));
    }
    let doc: Json = serde_json::from_slice(body).map_err(|e| PageError::Malformed(format!("not JSON: {e}")))?;
    let Json::Object(mut doc) = doc else {
        return Err(PageError::Malformed("the body is not a JSON object".into()));
    };
    let rows = match doc.remove(&collection.name) {
        Some(Json::Array(rows)) => rows,
        Some(_) => return Err(PageError::Malformed(format!("`{}` is not an array", collection.name))),
        None => return Err(PageError::Malformed(format!("no `{}` array in the page", collection.name))),
    };
    let latest_seq = doc
        .get("latest_seq")
        .and_then(Json::as_i64)
        .ok_or_else(|| PageError::Malformed("`latest_seq` is missing or not an integer".into()))?;
    let has_more = doc
        .get("has_more")
        .and_then(Json::as_bool)
        .ok_or_else(|| PageError::Malformed("`has_more` is missing or not a boolean".into()))?;
    let total_count = match doc.get("total_count") {
        None | Some(Json::Null) => None,
        Some(v) => Some(v.as_u64().ok_or_else(|| PageError::Malformed("`total_count` is not a non-negative integer".into()))?),
    };
    if rows.len() > request.limit {
        return Err(PageError::TooLarge(format!("{} rows, the request's limit was {}", rows.len(), request.limit)));
    }

    let mut decoded = Vec::with_capacity(rows.len());
    let mut previous = request.since_seq;
    for (i, row) in rows.into_iter().enumerate() {
        let row = decode_row(collection, &request.scope, i, row)?;
        if row.seq <= previous {
            return Err(PageError::SeqNotIncreasing { row: i, seq: row.seq, previous });
        }
        previous = row.seq;
        decoded.push(row);
    }
    if latest_seq != previous {
        return Err(PageError::LatestSeqMismatch { latest_seq, expected: previous });
    }
    if has_more && decoded.is_empty() {
        return Err(PageError::EmptyWithMore);
    }
    Ok(Page {
        collection: collection.name.clone(),
        since_seq: request.since_seq,
        rows: decoded,
        latest_seq,
        has_more,
        total_count,
        bytes: body.len(),
    })
}

fn decode_row(collection: &Collection, scope: &str, index: usize, row: Json) -> Result<Row, PageError> {
    let Json::Object(mut fields) = row else {
        return Err(PageError::BadRow { row: index, id: None, message: "not a JSON object".into() });
    };
    let id = match fields.remove("id") {
        Some(Json::String(id)) if !id.is_empty() => id,
        _ => return Err(PageError::BadRow { row: index, id: None, message: "`id` is missing or not a non-empty string".into() }),
    };
    let bad = |message: String| PageError::BadRow { row: index, id: Some(id.clone()), message };
    let seq = fields
        .get("seq")
        .and_then(Json::as_i64)
        .filter(|s| *s > 0)
        .ok_or_else(|| bad("`seq` is missing or not a positive integer".into()))?;
    match fields.get("integration_id") {
        None => {}
        Some(Json::String(s)) if s == scope => {}
        Some(other) => return Err(bad(format!("`integration_id` is {other}, not the requested `{scope}`"))),
    }
    let deleted = match fields.get("deleted") {
        None | Some(Json::Null) => false,
        Some(Json::Bool(b)) => *b,
        Some(_) => return Err(bad("`deleted` is not a boolean".into())),
    };
    if deleted {
        return Ok(Row { id, seq, change: Change::Delete });
    }
    let mut values = Vec::with_capacity(collection.columns.len());
    for column in &collection.columns {
        let field = fields.remove(&column.name).unwrap_or(Json::Null);
        let value = convert(column.ty, field).map_err(|got| bad(format!("`{}` should be {:?}, got {got}", column.name, column.ty)))?;
        if value == Value::Null && !column.nullable {
            return Err(bad(format!("`{}` is required but missing or null", column.name)));
        }
        values.push(value);
    }
    Ok(Row { id, seq, change: Change::Upsert(values) })
}

/// Converts a JSON field to a typed value; on a type mismatch returns a short description of what came.
fn convert(ty: ColumnType, field: Json) -> Result<Value, String> {
    let describe = |v: &Json| {
        let text = v.to_string();
        if text.chars().count() > 40 { format!("{}…", text.chars().take(40).collect::<String>()) } else { text }
    };
    Ok(match (ty, field) {
        (_, Json::Null) => Value::Null,
        (ColumnType::Json, v) => Value::Json(v.to_string()),
        (ColumnType::Text, Json::String(s)) => Value::Text(s),
        (ColumnType::Integer | ColumnType::Timestamp, Json::Number(n)) if n.is_i64() => Value::Integer(n.as_i64().unwrap_or_default()),
        (ColumnType::Real, Json::Number(n)) => Value::Real(n.as_f64().ok_or_else(|| n.to_string())?),
        (ColumnType::Boolean, Json::Bool(b)) => Value::Bool(b),
        (ColumnType::Boolean, Json::Number(n)) if n.as_i64() == Some(0) || n.as_i64() == Some(1) => Value::Bool(n.as_i64() == Some(1)),
        (_, other) => return Err(describe(&other)),
    })
}

#[cfg(test)]
mod tests;
