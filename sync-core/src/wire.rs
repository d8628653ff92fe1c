//! The page codec of wire protocol v1, shared by every server and client so the two cannot drift.
//!
//! A page is `{"<collection>": [rows], "latest_seq": S, "has_more": bool, "total_count": T}`. A row is an object
//! with `id`, `integration_id`, `seq` and the declared columns; a tombstone is `{"id", "integration_id", "seq",
//! "deleted": true}`. Decoding validates everything a hostile or buggy server could get wrong (PROTOCOL.md
//! invariant 7), so a store only ever sees pages it can apply as a whole.

use std::io::Write as _;

use crate::page::FeedPage;
use crate::schema::Collection;
use crate::value::{Change, Row, Value};

mod decode;
mod row;

pub use decode::decode_page;
pub(crate) use row::typed_value;

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

#[cfg(test)]
mod tests;
