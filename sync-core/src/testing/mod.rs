//! Test support shared by every crate: a small schema, page builders, a fault-injecting transport, and the
//! conformance suites that every [`ClientStore`](crate::ClientStore) and [`ServerStore`](crate::ServerStore)
//! implementation runs, one `#[test]` per contract through [`client_store_contracts!`](crate::client_store_contracts),
//! [`server_store_contracts!`](crate::server_store_contracts) and [`push_contracts!`](crate::push_contracts).

pub mod client_store;
pub mod client_writes;
mod contracts;
mod faulty;
pub mod push;
mod push_model;
pub mod server_store;
pub mod subscriptions;

pub use faulty::{Fault, FaultyTransport, PushFault};
pub use push_model::push_model_check;

use crate::page::Page;
use crate::schema::{Collection, Column, ColumnType, Schema};
use crate::value::{Row, Value};

/// A two-collection schema using every column type: `threads` (read-only to clients) and `posts` (which
/// reference threads; writable by clients' pushes).
pub fn test_schema() -> Schema {
    let threads = Collection::new(
        "threads",
        vec![
            Column::new("title", ColumnType::Text).required(),
            Column::new("archived", ColumnType::Boolean),
            Column::new("created_at", ColumnType::Timestamp),
        ],
    )
    .filter("id")
    .page_size(3);
    let posts = Collection::new(
        "posts",
        vec![
            Column::new("thread_id", ColumnType::Text).required().references("threads"),
            Column::new("body", ColumnType::Text),
            Column::new("score", ColumnType::Real),
            Column::new("likes", ColumnType::Integer),
            Column::new("meta", ColumnType::Json),
        ],
    )
    .index(&["thread_id", "likes"])
    .full_text(&["body"])
    .filter("thread_id")
    .page_size(4)
    .writable();
    Schema::new(vec![threads, posts]).expect("the test schema is valid")
}

/// Values of a `threads` row.
pub fn thread(title: &str) -> Vec<Value> {
    vec![Value::from(title), Value::Bool(false), Value::Integer(1_700_000_000_000)]
}

/// Values of a `posts` row.
pub fn post(thread_id: &str, body: &str) -> Vec<Value> {
    vec![
        Value::from(thread_id),
        Value::from(body),
        Value::Real(0.5),
        Value::Integer(3),
        Value::Json(r#"{"lang":"en","tags":["a"]}"#.into()),
    ]
}

/// A page as a decoder would produce it; `latest_seq` follows from the rows.
pub fn page(collection: &str, since_seq: i64, rows: Vec<Row>, has_more: bool) -> Page {
    let latest_seq = rows.iter().map(|r| r.seq).max().unwrap_or(since_seq).max(since_seq);
    Page { collection: collection.into(), since_seq, rows, latest_seq, has_more, total_count: None, bytes: 0 }
}
