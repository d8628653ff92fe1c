//! The records and enums the foreign side sees, and their conversions from the core's types. Counts are `u64`,
//! seqs and times `i64` (Kotlin `ULong`/`Long`, Swift `UInt64`/`Int64`, Python `int`).

use std::collections::HashMap;

use sync_client::NamedRow;
use sync_core::{CollectionReport, CursorState, Progress, StoreStats, SyncReport, Value};

/// How to open an engine.
#[derive(uniffi::Record)]
pub struct OpenOptions {
    /// The SQLite file of the replica (created if missing).
    pub db_path: String,
    /// The server's base URL, e.g. `https://sync.example.com`.
    pub server_url: String,
    /// The bearer token, if the server wants one.
    #[uniffi(default = None)]
    pub token: Option<String>,
    /// The scope to sync: the integration id.
    pub integration_id: String,
    /// The collection schema as JSON text. Default: the schema the server publishes.
    #[uniffi(default = None)]
    pub schema_json: Option<String>,
    /// Rows per page by collection, e.g. `{"messages": 1500}`. Default: the schema's page sizes.
    #[uniffi(default = None)]
    pub page_sizes: Option<HashMap<String, u32>>,
    /// Retries of a failed request (network errors, timeouts, 429, 5xx) before a sync fails. Default: 6.
    #[uniffi(default = None)]
    pub max_retries: Option<u32>,
    /// Timeout of each request, milliseconds. Default: 30,000.
    #[uniffi(default = None)]
    pub request_timeout_ms: Option<u32>,
    /// Least time between two progress events of one collection, milliseconds. Default: 100.
    #[uniffi(default = None)]
    pub progress_interval_ms: Option<u32>,
    /// During a first sync into empty tables, commit at least every this many rows (also every 2 s). Lower: other
    /// readers of the file (a UI) see rows sooner; higher: a faster load. Default: 400,000.
    #[uniffi(default = None)]
    pub commit_rows: Option<u32>,
}

/// A value of a column or a query: SQLite's storage classes, plus booleans and JSON text for the typed columns.
#[derive(uniffi::Enum, Clone, Debug, PartialEq)]
pub enum SqlValue {
    /// NULL.
    Null,
    /// Integer and timestamp columns.
    Integer {
        /// The value.
        value: i64,
    },
    /// Real columns.
    Real {
        /// The value.
        value: f64,
    },
    /// Text columns.
    Text {
        /// The value.
        value: String,
    },
    /// Boolean columns.
    Bool {
        /// The value.
        value: bool,
    },
    /// JSON columns, as compact JSON text.
    Json {
        /// The JSON text.
        value: String,
    },
}

impl From<Value> for SqlValue {
    fn from(v: Value) -> Self {
        match v {
            Value::Null => SqlValue::Null,
            Value::Integer(value) => SqlValue::Integer { value },
            Value::Real(value) => SqlValue::Real { value },
            Value::Text(value) => SqlValue::Text { value },
            Value::Bool(value) => SqlValue::Bool { value },
            Value::Json(value) => SqlValue::Json { value },
        }
    }
}

impl From<SqlValue> for Value {
    fn from(v: SqlValue) -> Self {
        match v {
            SqlValue::Null => Value::Null,
            SqlValue::Integer { value } => Value::Integer(value),
            SqlValue::Real { value } => Value::Real(value),
            SqlValue::Text { value } => Value::Text(value),
            SqlValue::Bool { value } => Value::Bool(value),
            SqlValue::Json { value } => Value::Json(value),
        }
    }
}

/// A progress event of a sync.
#[derive(uniffi::Record, Clone, Debug)]
pub struct SyncProgress {
    /// The integration id.
    pub scope: String,
    /// `started`, `collection` (pages being applied), `collection_done` or `finished`.
    pub stage: String,
    /// The collection, for the collection stages.
    pub collection: Option<String>,
    /// Rows (and deletions) applied to this collection in this sync; for `finished`, over all collections.
    pub applied: u64,
    /// Rows expected for this collection: the server's count on a first sync, absent on an incremental one.
    pub total: Option<u64>,
    /// Pages applied to this collection in this sync.
    pub pages: u64,
    /// Bytes received for this collection in this sync.
    pub bytes: u64,
    /// The collection's cursor now.
    pub cursor: i64,
    /// The collection's latest seq on the server when the sync started.
    pub target_seq: i64,
    /// Rows per second applied to this collection so far.
    pub rows_per_sec: f64,
}

impl From<&Progress> for SyncProgress {
    fn from(p: &Progress) -> Self {
        SyncProgress {
            scope: p.scope.clone(),
            stage: p.stage.as_str().to_owned(),
            collection: p.collection.clone(),
            applied: p.applied,
            total: p.total,
            pages: p.pages,
            bytes: p.bytes,
            cursor: p.cursor,
            target_seq: p.target_seq,
            rows_per_sec: p.rows_per_sec,
        }
    }
}

/// What a sync did to one collection.
#[derive(uniffi::Record)]
pub struct CollectionSyncReport {
    /// The collection.
    pub collection: String,
    /// Rows inserted or updated.
    pub upserted: u64,
    /// Rows deleted.
    pub deleted: u64,
    /// Rows skipped as already applied.
    pub skipped: u64,
    /// Pages fetched and applied.
    pub pages: u64,
    /// Bytes received.
    pub bytes: u64,
    /// Cursor before the sync.
    pub cursor_before: i64,
    /// Cursor after the sync.
    pub cursor_after: i64,
}

/// What a sync did.
#[derive(uniffi::Record)]
pub struct SyncResult {
    /// The integration id.
    pub scope: String,
    /// Rows applied (upserts and deletions) over all collections.
    pub rows: u64,
    /// Pages over all collections.
    pub pages: u64,
    /// Bytes received over all collections.
    pub bytes: u64,
    /// Wall time, milliseconds.
    pub elapsed_ms: f64,
    /// One entry per collection visited, in sync order.
    pub collections: Vec<CollectionSyncReport>,
}

impl From<SyncReport> for SyncResult {
    fn from(r: SyncReport) -> Self {
        let collection = |c: &CollectionReport| CollectionSyncReport {
            collection: c.collection.clone(),
            upserted: c.upserted,
            deleted: c.deleted,
            skipped: c.skipped,
            pages: c.pages,
            bytes: c.bytes,
            cursor_before: c.cursor_before,
            cursor_after: c.cursor_after,
        };
        SyncResult {
            scope: r.scope.clone(),
            rows: r.rows(),
            pages: r.pages(),
            bytes: r.bytes(),
            elapsed_ms: r.elapsed.as_secs_f64() * 1e3,
            collections: r.collections.iter().map(collection).collect(),
        }
    }
}

/// Database statistics, as the seed's `getStats()`.
#[derive(uniffi::Record)]
pub struct DatabaseStats {
    /// The database file.
    pub path: Option<String>,
    /// Size of the file plus its WAL, bytes.
    pub file_size_bytes: u64,
    /// Rows per collection (all integrations in the file).
    pub counts: HashMap<String, u64>,
}

impl From<StoreStats> for DatabaseStats {
    fn from(s: StoreStats) -> Self {
        DatabaseStats { path: s.path, file_size_bytes: s.file_size_bytes, counts: s.counts.into_iter().collect() }
    }
}

/// A collection's cursor (a row of the seed's `sync_state`).
#[derive(uniffi::Record)]
pub struct CollectionState {
    /// The collection.
    pub collection: String,
    /// The highest seq applied.
    pub last_seq: i64,
    /// When it last moved, Unix milliseconds.
    pub updated_at: i64,
}

impl From<CursorState> for CollectionState {
    fn from(c: CursorState) -> Self {
        CollectionState { collection: c.collection, last_seq: c.last_seq, updated_at: c.updated_at }
    }
}

/// Which rows `list_rows` returns.
#[derive(uniffi::Record)]
pub struct ListRowsOptions {
    /// Equality filters: `{"conversation_id": Text("c1")}`; `Null` matches NULL.
    #[uniffi(default = None)]
    pub filter: Option<HashMap<String, SqlValue>>,
    /// Sort column (a declared column, `id` or `seq`). Default: `id`.
    #[uniffi(default = None)]
    pub order_by: Option<String>,
    /// Sort descending. Default: false.
    #[uniffi(default = false)]
    pub descending: bool,
    /// At most this many rows. Default: 100.
    #[uniffi(default = 100)]
    pub limit: u32,
    /// Rows skipped first. Default: 0.
    #[uniffi(default = 0)]
    pub offset: u32,
}

impl Default for ListRowsOptions {
    fn default() -> Self {
        ListRowsOptions { filter: None, order_by: None, descending: false, limit: 100, offset: 0 }
    }
}

/// A row of a collection: `id`, `seq` and the declared columns by name.
#[derive(uniffi::Record)]
pub struct Row {
    /// The row's id.
    pub id: String,
    /// The seq of its last change.
    pub seq: i64,
    /// The declared columns' values by column name.
    pub values: HashMap<String, SqlValue>,
}

impl From<NamedRow> for Row {
    fn from(row: NamedRow) -> Self {
        Row { id: row.id, seq: row.seq, values: row.values.into_iter().map(|(k, v)| (k, v.into())).collect() }
    }
}

/// The result of `query`.
#[derive(uniffi::Record)]
pub struct QueryRows {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows, one value per column (SQLite's storage classes: booleans read as 0/1 and JSON as text).
    pub rows: Vec<Vec<SqlValue>>,
}

/// How `search` reads its query text.
#[derive(uniffi::Enum, Clone, Copy)]
pub enum SearchMode {
    /// Any text; every word must occur (case and diacritics ignored). The default.
    Plain,
    /// As `Plain`, and the last word also matches as a word's start: search as the user types.
    Prefix,
    /// FTS5 query syntax (`"a phrase"`, `AND`/`OR`/`NOT`, `pre*`); a bad query fails with `InvalidQuery`.
    Advanced,
}

impl From<SearchMode> for sync_client::SearchMode {
    fn from(m: SearchMode) -> Self {
        match m {
            SearchMode::Plain => sync_client::SearchMode::Plain,
            SearchMode::Prefix => sync_client::SearchMode::Prefix,
            SearchMode::Advanced => sync_client::SearchMode::Advanced,
        }
    }
}

/// The order of `search`'s hits.
#[derive(uniffi::Enum, Clone, Copy)]
pub enum SearchOrder {
    /// Newest first (within a collection by arrival in the replica, an edit keeping its place; collections
    /// interleaved by seq); stops after `offset + limit` hits, whatever the number of matches. The default.
    Recent,
    /// Best match first by bm25 (`SearchHit.rank`); scores every match first.
    Relevance,
}

impl From<SearchOrder> for sync_client::SearchOrder {
    fn from(o: SearchOrder) -> Self {
        match o {
            SearchOrder::Recent => sync_client::SearchOrder::Recent,
            SearchOrder::Relevance => sync_client::SearchOrder::Relevance,
        }
    }
}

/// What `search` looks for and how it marks matches; every field has its default.
#[derive(uniffi::Record, Default)]
pub struct SearchOptions {
    /// How the query is read. Default: `Plain`.
    #[uniffi(default = None)]
    pub mode: Option<SearchMode>,
    /// The collections to search. Default: every collection with full-text columns.
    #[uniffi(default = None)]
    pub collections: Option<Vec<String>>,
    /// Equality filters on declared columns: `{"conversation_id": Text("c1")}`; `Null` matches NULL.
    #[uniffi(default = None)]
    pub filter: Option<HashMap<String, SqlValue>>,
    /// At most this many hits. Default: 50.
    #[uniffi(default = None)]
    pub limit: Option<u32>,
    /// Hits skipped first. Default: 0.
    #[uniffi(default = None)]
    pub offset: Option<u32>,
    /// Put before each match in a snippet. Default: `<mark>`.
    #[uniffi(default = None)]
    pub highlight_open: Option<String>,
    /// Put after each match in a snippet. Default: `</mark>`.
    #[uniffi(default = None)]
    pub highlight_close: Option<String>,
    /// Put where a snippet cuts the text. Default: `…`.
    #[uniffi(default = None)]
    pub ellipsis: Option<String>,
    /// Escape the snippet's text for HTML (never the markers). Default: true.
    #[uniffi(default = None)]
    pub escape_html: Option<bool>,
    /// The most words of text in a snippet, 1 to 64. Default: 16.
    #[uniffi(default = None)]
    pub snippet_tokens: Option<u32>,
    /// The order of the hits. Default: `Recent`.
    #[uniffi(default = None)]
    pub order: Option<SearchOrder>,
}

impl From<SearchOptions> for sync_client::SearchRequest {
    fn from(o: SearchOptions) -> Self {
        sync_client::SearchRequest {
            mode: o.mode.map(Into::into),
            order: o.order.map(Into::into),
            collections: o.collections,
            filter: o.filter.unwrap_or_default().into_iter().map(|(k, v)| (k, v.into())).collect(),
            limit: o.limit,
            offset: o.offset,
            highlight_open: o.highlight_open,
            highlight_close: o.highlight_close,
            ellipsis: o.ellipsis,
            escape_html: o.escape_html,
            snippet_tokens: o.snippet_tokens,
        }
    }
}

/// A row that matches a search.
#[derive(uniffi::Record)]
pub struct SearchHit {
    /// The row's collection.
    pub collection: String,
    /// The row's key.
    pub id: String,
    /// The best part of the row's text, matches marked (escaped for HTML unless `escape_html` is false).
    pub snippet: String,
    /// bm25 rank (lower is a better match) with `Relevance`, whose hits come in this order; null with `Recent`.
    pub rank: Option<f64>,
}

impl From<sync_client::SearchHit> for SearchHit {
    fn from(h: sync_client::SearchHit) -> Self {
        SearchHit { collection: h.collection, id: h.id, snippet: h.snippet, rank: h.rank }
    }
}
