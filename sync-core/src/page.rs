//! Pages, page requests, scope status and cursor state.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::value::{Row, Value};

/// A request for the rows of one collection with `seq > since_seq`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRequest {
    /// The scope (integration id).
    pub scope: String,
    /// The collection name.
    pub collection: String,
    /// The cursor: only rows with a greater seq are wanted.
    pub since_seq: i64,
    /// Maximum rows in the page.
    pub limit: usize,
    /// Whether this client's sync of the collection started from scratch (cursor 0) in this session (wire:
    /// `&fresh=1`); see [`ChangeFeed::page_fresh`](crate::ChangeFeed::page_fresh).
    pub fresh: bool,
    /// Selective sync (wire: `&filter=v` per value): only rows whose filter column holds one of these values, and
    /// tombstones of rows that left them; see [`ChangeFeed::page_filtered`](crate::ChangeFeed::page_filtered).
    /// `None`: every row (the seed's request).
    pub filter: Option<Vec<String>>,
}

/// A decoded and validated page, ready for a store to apply.
#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    /// The collection the rows belong to.
    pub collection: String,
    /// The `since_seq` the page was requested with.
    pub since_seq: i64,
    /// Rows in strictly increasing seq, all greater than `since_seq`.
    pub rows: Vec<Row>,
    /// The cursor after this page: the last row's seq, or `since_seq` when empty.
    pub latest_seq: i64,
    /// Whether more rows follow.
    pub has_more: bool,
    /// The server's count of live rows in the collection (see the protocol docs), if sent.
    pub total_count: Option<u64>,
    /// Size of the page's body on the wire (decompressed).
    pub bytes: usize,
}

/// What a server-side change feed returns for one page request.
#[derive(Clone, Debug, PartialEq)]
pub struct FeedPage {
    /// Rows in increasing seq, at most the limit.
    pub rows: Vec<Row>,
    /// The last row's seq, or the request's `since_seq` when there are none.
    pub latest_seq: i64,
    /// Whether rows with a greater seq exist.
    pub has_more: bool,
    /// Live (non-deleted) rows of the collection in the scope now; kept as a counter, never counted per page.
    pub total_count: u64,
}

/// The latest seq and row count of every collection of a scope (`GET /sync/status/{integration_id}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScopeStatus {
    /// The scope.
    pub integration_id: String,
    /// The greatest seq handed out in the scope.
    pub latest_seq: i64,
    /// Per collection.
    pub collections: BTreeMap<String, CollectionStatus>,
}

/// Status of one collection in a scope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CollectionStatus {
    /// The greatest seq of a row (or tombstone) in the collection; 0 when empty.
    pub latest_seq: i64,
    /// Live rows.
    pub count: u64,
}

/// A client's cursor for one collection (a row of the seed's `sync_state`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CursorState {
    /// The collection.
    pub collection: String,
    /// The highest seq applied.
    pub last_seq: i64,
    /// When the cursor last moved, Unix milliseconds.
    pub updated_at: i64,
}

/// What applying one page did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApplyOutcome {
    /// Rows inserted or updated.
    pub upserted: u64,
    /// Tombstones applied.
    pub deleted: u64,
    /// Rows skipped because the cursor was already past them (a page applied twice).
    pub skipped: u64,
    /// The cursor after the page.
    pub cursor: i64,
}

/// Database statistics, as the seed's `getStats()`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreStats {
    /// Path of the database file, if it has one.
    pub path: Option<String>,
    /// Size of the database on disk (main file plus WAL), bytes.
    pub file_size_bytes: u64,
    /// Rows per collection, all scopes.
    pub counts: BTreeMap<String, u64>,
}

/// A live row as a store holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredRow {
    /// Primary key within the scope.
    pub id: String,
    /// The seq of its last write.
    pub seq: i64,
    /// Values of the declared columns, in order.
    pub values: Vec<Value>,
}
