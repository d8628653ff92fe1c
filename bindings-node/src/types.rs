//! The options and results JavaScript sees (`#[napi(object)]`: plain objects, typed in `index.d.ts`), and their
//! conversions from the core's types. Counts are JavaScript numbers (exact up to 2^53).

use std::collections::HashMap;

use napi_derive::napi;
use sync_core::{CollectionReport, CursorState, Progress, StoreStats, SyncReport};

/// How to open an engine.
#[napi(object)]
pub struct OpenOptions {
    /// The SQLite file of the replica (created if missing).
    pub db_path: String,
    /// The server's base URL, e.g. `https://sync.example.com`.
    pub server_url: String,
    /// The bearer token, if the server wants one.
    pub token: Option<String>,
    /// The scope to sync: the integration id.
    pub integration_id: String,
    /// The collection schema as JSON (an object or its text). Default: the schema the server publishes.
    pub schema: Option<serde_json::Value>,
    /// Rows per page by collection, e.g. `{ messages: 1500 }`. Default: the schema's page sizes.
    pub page_sizes: Option<HashMap<String, u32>>,
    /// Retries of a failed request (network errors, timeouts, 429, 5xx) before a sync fails. Default: 6.
    pub max_retries: Option<u32>,
    /// Timeout of each request, milliseconds. Default: 30,000.
    pub request_timeout_ms: Option<u32>,
    /// Least time between two progress events of one collection, milliseconds. Default: 100.
    pub progress_interval_ms: Option<u32>,
    /// During a first sync into empty tables, commit at least every this many rows (also every 2 s). Lower: other
    /// readers of the file (a UI) see rows sooner; higher: a faster load. Default: 400,000.
    pub commit_rows: Option<u32>,
}

/// A progress event of a sync.
#[napi(object)]
pub struct SyncProgress {
    /// The integration id.
    pub scope: String,
    /// `started`, `collection` (pages being applied), `collection_done` or `finished`.
    pub stage: String,
    /// The collection, for the collection stages.
    pub collection: Option<String>,
    /// Rows (and deletions) applied to this collection in this sync; for `finished`, over all collections.
    pub applied: f64,
    /// Rows expected for this collection: the server's count on a first sync, absent on an incremental one.
    pub total: Option<f64>,
    /// Pages applied to this collection in this sync.
    pub pages: f64,
    /// Bytes received for this collection in this sync.
    pub bytes: f64,
    /// The collection's cursor now.
    pub cursor: f64,
    /// The collection's latest seq on the server when the sync started.
    pub target_seq: f64,
    /// Rows per second applied to this collection so far.
    pub rows_per_sec: f64,
}

impl From<&Progress> for SyncProgress {
    fn from(p: &Progress) -> Self {
        SyncProgress {
            scope: p.scope.clone(),
            stage: p.stage.as_str().to_owned(),
            collection: p.collection.clone(),
            applied: p.applied as f64,
            total: p.total.map(|t| t as f64),
            pages: p.pages as f64,
            bytes: p.bytes as f64,
            cursor: p.cursor as f64,
            target_seq: p.target_seq as f64,
            rows_per_sec: p.rows_per_sec,
        }
    }
}

/// What a sync did to one collection.
#[napi(object)]
pub struct CollectionSyncReport {
    /// The collection.
    pub collection: String,
    /// Rows inserted or updated.
    pub upserted: f64,
    /// Rows deleted.
    pub deleted: f64,
    /// Rows skipped as already applied.
    pub skipped: f64,
    /// Pages fetched and applied.
    pub pages: f64,
    /// Bytes received.
    pub bytes: f64,
    /// Cursor before the sync.
    pub cursor_before: f64,
    /// Cursor after the sync.
    pub cursor_after: f64,
}

/// What a sync did.
#[napi(object)]
pub struct SyncResult {
    /// The integration id.
    pub scope: String,
    /// Rows applied (upserts and deletions) over all collections.
    pub rows: f64,
    /// Pages over all collections.
    pub pages: f64,
    /// Bytes received over all collections.
    pub bytes: f64,
    /// Wall time, milliseconds.
    pub elapsed_ms: f64,
    /// One entry per collection visited, in sync order.
    pub collections: Vec<CollectionSyncReport>,
}

impl From<SyncReport> for SyncResult {
    fn from(r: SyncReport) -> Self {
        let collection = |c: &CollectionReport| CollectionSyncReport {
            collection: c.collection.clone(),
            upserted: c.upserted as f64,
            deleted: c.deleted as f64,
            skipped: c.skipped as f64,
            pages: c.pages as f64,
            bytes: c.bytes as f64,
            cursor_before: c.cursor_before as f64,
            cursor_after: c.cursor_after as f64,
        };
        SyncResult {
            scope: r.scope.clone(),
            rows: r.rows() as f64,
            pages: r.pages() as f64,
            bytes: r.bytes() as f64,
            elapsed_ms: r.elapsed.as_secs_f64() * 1e3,
            collections: r.collections.iter().map(collection).collect(),
        }
    }
}

/// Database statistics, as the seed's `getStats()`.
#[napi(object)]
pub struct DatabaseStats {
    /// The database file.
    pub path: Option<String>,
    /// Size of the file plus its WAL, bytes.
    pub file_size_bytes: f64,
    /// Rows per collection (all integrations in the file).
    pub counts: HashMap<String, f64>,
}

impl From<StoreStats> for DatabaseStats {
    fn from(s: StoreStats) -> Self {
        DatabaseStats {
            path: s.path,
            file_size_bytes: s.file_size_bytes as f64,
            counts: s.counts.into_iter().map(|(k, v)| (k, v as f64)).collect(),
        }
    }
}

/// A collection's cursor (a row of the seed's `sync_state`).
#[napi(object)]
pub struct CollectionState {
    /// The collection.
    pub collection: String,
    /// The highest seq applied.
    pub last_seq: f64,
    /// When it last moved, Unix milliseconds.
    pub updated_at: f64,
}

impl From<CursorState> for CollectionState {
    fn from(c: CursorState) -> Self {
        CollectionState { collection: c.collection, last_seq: c.last_seq as f64, updated_at: c.updated_at as f64 }
    }
}

/// Which rows `listRows` returns.
#[napi(object)]
#[derive(Default)]
pub struct ListRowsOptions {
    /// Equality filters: `{ conversation_id: 'c1' }`; `null` matches NULL.
    #[napi(js_name = "where")]
    pub filter: Option<HashMap<String, serde_json::Value>>,
    /// Sort column (a declared column, `id` or `seq`). Default: `id`.
    pub order_by: Option<String>,
    /// Sort descending. Default: false.
    pub descending: Option<bool>,
    /// At most this many rows. Default: 100.
    pub limit: Option<u32>,
    /// Rows skipped first. Default: 0.
    pub offset: Option<u32>,
}

/// The result of `query`.
#[napi(object)]
pub struct QueryRows {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows, one value per column (null, number, string).
    pub rows: Vec<Vec<serde_json::Value>>,
}

/// How `search` reads its query and what it returns.
#[napi(object)]
pub struct SearchOptions {
    /// `plain` (the default: any text, every word must occur), `prefix` (the last word also as a word's start, for
    /// search as you type) or `advanced` (FTS5 syntax; a bad query rejects with `invalid_query`).
    #[napi(ts_type = "'plain' | 'prefix' | 'advanced'")]
    pub mode: Option<String>,
    /// `recent` (the default: newest first, and only the first `offset + limit` matches are read) or `relevance`
    /// (best first by bm25, `rank` set; every match is scored first).
    #[napi(ts_type = "'recent' | 'relevance'")]
    pub order: Option<String>,
    /// The collections to search. Default: every collection with full-text columns.
    pub collections: Option<Vec<String>>,
    /// Equality filters on declared columns: `{ conversation_id: 'c1' }` (one conversation); `null` matches NULL.
    #[napi(js_name = "where")]
    pub filter: Option<HashMap<String, serde_json::Value>>,
    /// At most this many hits. Default: 50.
    pub limit: Option<u32>,
    /// Hits skipped first (the next page of results). Default: 0.
    pub offset: Option<u32>,
    /// Put before each match in a snippet. Default: `<mark>`.
    pub highlight_open: Option<String>,
    /// Put after each match in a snippet. Default: `</mark>`.
    pub highlight_close: Option<String>,
    /// Put where a snippet cuts the text. Default: `…`.
    pub ellipsis: Option<String>,
    /// Escape the snippet's text for HTML (`&`, `<`, `>`, quotes; never the markers). Default: true.
    pub escape_html: Option<bool>,
    /// The most words of text in a snippet, 1 to 64. Default: 16.
    pub snippet_tokens: Option<u32>,
}

/// A row that matches a search.
#[napi(object)]
pub struct SearchHit {
    /// The row's collection.
    pub collection: String,
    /// The row's key.
    pub id: String,
    /// The best part of the row's text, matches marked (escaped for HTML unless `escapeHtml: false`).
    pub snippet: String,
    /// bm25 rank (lower is a better match) with `order: 'relevance'`, whose hits come in this order; absent with
    /// `recent`.
    pub rank: Option<f64>,
}

impl From<sync_client::SearchHit> for SearchHit {
    fn from(h: sync_client::SearchHit) -> Self {
        SearchHit { collection: h.collection, id: h.id, snippet: h.snippet, rank: h.rank }
    }
}
