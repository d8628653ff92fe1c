//! The axum router serving a change feed, and its OpenAPI description.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sync_core::{
    ChangeFeed, DEFAULT_HEAD_ROWS, FeedError, FilteredRead, HeadRead, MAX_HEAD_PER_VALUE, MAX_PUSH_BYTES, ScopeStatus,
    ServerStore, wire,
};
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, Predicate as _};
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::Access;
use crate::error_body::ErrorBody;
use crate::live;
use crate::media::{self, MediaSource};
use crate::openapi::{ApiDoc, FilterValue, Page};

/// Server settings.
#[derive(Clone)]
pub struct ServerConfig {
    /// Who may read what.
    pub access: Access,
    /// `limit` when the request has none. Default: 500.
    pub default_limit: usize,
    /// Greatest `limit` served; larger requests are clamped. Default: 10,000.
    pub max_limit: usize,
    /// Where `GET /media/{integration_id}/{media_id}` finds files. Default: none (every media request gets 404).
    pub media: Option<Arc<dyn MediaSource>>,
}

impl ServerConfig {
    /// Defaults with the given access rules.
    pub fn new(access: Access) -> Self {
        ServerConfig { access, default_limit: 500, max_limit: 10_000, media: None }
    }
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("access", &self.access)
            .field("default_limit", &self.default_limit)
            .field("max_limit", &self.max_limit)
            .field("media", &self.media.is_some())
            .finish()
    }
}

pub(crate) struct AppState {
    feed: Arc<dyn ChangeFeed>,
    /// The store pushes go to; `None` for a read-only server.
    pub(crate) store: Option<Arc<dyn ServerStore>>,
    pub(crate) config: ServerConfig,
    /// The served `/openapi.json`, rendered once.
    openapi: String,
    /// Status reads shared by woken long-polls.
    statuses: live::SharedStatus,
}

/// Every route, each registered from its handler's `#[utoipa::path]` so that it is described.
fn api() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health))
        .routes(routes!(openapi_json))
        .routes(routes!(schema))
        .routes(routes!(status))
        .routes(routes!(page))
        .routes(routes!(head))
        .routes(routes!(crate::push::push))
        .routes(routes!(media::media))
}

/// The OpenAPI document of [`router`], as served at `GET /openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().split_for_parts().1
}

/// The protocol's read routes over `feed`, with auth, gzip and `GET /openapi.json`; a push is answered 405
/// `read_only_server`. [`writable_router`] serves pushes too.
pub fn router(feed: Arc<dyn ChangeFeed>, config: ServerConfig) -> Router {
    build(feed, None, config)
}

/// [`router`] over a store that also takes client writes: `POST /sync/push/{integration_id}` goes to
/// [`ServerStore::push`].
pub fn writable_router(store: Arc<dyn ServerStore>, config: ServerConfig) -> Router {
    build(store.clone(), Some(store), config)
}

fn build(feed: Arc<dyn ChangeFeed>, store: Option<Arc<dyn ServerStore>>, config: ServerConfig) -> Router {
    let (routes, doc) = api().split_for_parts();
    // Rendering a document of plain data cannot fail; an empty body would show up in the tests.
    let openapi = doc.to_pretty_json().unwrap_or_default();
    let state = Arc::new(AppState { feed, store, config, openapi, statuses: live::SharedStatus::default() });
    routes
        // A push body over the limit is refused by the handler with the protocol's 400 (axum's own limit, 2 MB,
        // would answer 413 first); one byte more lets the handler tell "over" from "at" the limit.
        .layer(DefaultBodyLimit::max(MAX_PUSH_BYTES + 1))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "not_found", "no such endpoint; see GET /openapi.json") })
        // The fastest gzip level: most of the size win at a fraction of the CPU (a 650 KB page: 20 ms at the
        // default level on these machines), and the server stays cheap per page. Media files (the answers with
        // `Accept-Ranges`) are sent as they are: ranges and `Content-Length` count the file's own bytes.
        .layer(
            CompressionLayer::new().quality(tower_http::CompressionLevel::Fastest).compress_when(
                DefaultPredicate::new()
                    .and(|_, _, headers: &HeaderMap, _: &_| !headers.contains_key(header::ACCEPT_RANGES)),
            ),
        )
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown` completes, then finishes the requests in flight.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}

pub(crate) fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (status, axum::Json(ErrorBody::new(code, message))).into_response()
}

pub(crate) fn feed_error(e: FeedError) -> Response {
    match e {
        FeedError::UnknownScope(_) => error(StatusCode::NOT_FOUND, "not_found", e.to_string()),
        FeedError::UnknownCollection(_) => error(StatusCode::NOT_FOUND, "unknown_collection", e.to_string()),
        FeedError::ResyncRequired { .. } => error(StatusCode::CONFLICT, "resync_required", e.to_string()),
        FeedError::InvalidWrite(_) | FeedError::BadFilter(_) => {
            error(StatusCode::BAD_REQUEST, "bad_request", e.to_string())
        }
        other => {
            tracing::error!(error = %other, "feed failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error; the server log has the cause")
        }
    }
}

/// A path or query axum could not decode (e.g. `%FF` in a segment) gets the JSON error body too.
pub(crate) fn bad_request(why: impl std::fmt::Display) -> Response {
    error(StatusCode::BAD_REQUEST, "bad_request", format!("{why}; check the URL's encoding"))
}

fn since_seq(params: &HashMap<String, String>) -> Result<i64, &'static str> {
    match params.get("since_seq").map(|v| v.parse::<i64>()) {
        None => Ok(0),
        Some(Ok(n)) if n >= 0 => Ok(n),
        Some(_) => Err("`since_seq` must be an integer >= 0"),
    }
}

fn json(body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Liveness.
#[utoipa::path(get, path = "/health", security(()), responses((status = 200, description = "the server runs", body = String, content_type = "text/plain")))]
async fn health() -> &'static str {
    "ok"
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", security(()), responses((status = 200, description = "the OpenAPI 3.1 description of this server", content_type = "application/json")))]
async fn openapi_json(State(state): State<Arc<AppState>>) -> Response {
    json(state.openapi.clone().into_bytes())
}

/// The collections the server syncs, their columns and page sizes.
#[utoipa::path(get, path = "/schema", responses(
    (status = 200, description = "the schema", body = sync_core::Schema),
    (status = 401, description = "missing or unknown token", body = ErrorBody),
))]
async fn schema(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Err(denied) = state.config.access.check(&headers, None) {
        return denied.into_response();
    }
    json(state.feed.schema().to_json().into_bytes())
}

/// The latest seq and live row count per collection of an integration.
#[utoipa::path(get, path = "/sync/status/{integration_id}",
    params(
        ("integration_id" = String, Path, description = "the integration (scope)"),
        ("since_seq" = Option<i64>, Query, minimum = 0, description = "with `live`: answer once `latest_seq` passes it; default 0"),
        ("live" = Option<String>, Query, description = "`true` or `1`: long-poll, answer as soon as there is something newer than `since_seq` (or after `timeout`)"),
        ("timeout" = Option<f64>, Query, minimum = 0, description = "with `live`: seconds to wait, default 25, at most 60"),
    ),
    responses(
        (status = 200, description = "the status (with `live`: once `latest_seq` passed `since_seq`, or as it is after the timeout)", body = ScopeStatus),
        (status = 400, description = "undecodable path, or a bad `since_seq` or `timeout`", body = ErrorBody),
        (status = 401, description = "missing or unknown token", body = ErrorBody),
        (status = 403, description = "the token may not read this integration", body = ErrorBody),
        (status = 404, description = "no such integration", body = ErrorBody),
        (status = 500, description = "the store failed", body = ErrorBody),
    ))]
async fn status(
    State(state): State<Arc<AppState>>,
    scope: Result<Path<String>, PathRejection>,
    params: Result<Query<HashMap<String, String>>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let (Path(scope), Query(params)) = match (scope, params) {
        (Ok(scope), Ok(params)) => (scope, params),
        (Err(e), _) => return bad_request(e),
        (_, Err(e)) => return bad_request(e),
    };
    if let Err(denied) = state.config.access.check(&headers, Some(&scope)) {
        return denied.into_response();
    }
    // Both parameters are checked even when not live: a documented parameter with a bad value is refused, never
    // silently ignored (schemathesis found `?since_seq=-1&timeout=x` answered 200).
    let (after, live) = match (since_seq(&params), live::live_wait(&params)) {
        (Ok(after), Ok(live)) => (after, live),
        (Err(why), _) | (_, Err(why)) => return error(StatusCode::BAD_REQUEST, "bad_request", why),
    };
    let status = match live {
        None => state.feed.status(&scope).await,
        Some(wait) => live::status(state.feed.as_ref(), &state.statuses, &scope, after, wait).await,
    };
    match status {
        Ok(status) => axum::Json(status).into_response(),
        Err(e) => feed_error(e),
    }
}

/// A page of the rows of one collection with `seq > since_seq`, in `seq` order.
#[utoipa::path(get, path = "/sync/{collection}/{integration_id}",
    params(
        ("collection" = String, Path, description = "a collection of `GET /schema`"),
        ("integration_id" = String, Path, description = "the integration (scope)"),
        ("since_seq" = Option<i64>, Query, minimum = 0, description = "the client's cursor; default 0"),
        ("limit" = Option<i64>, Query, minimum = 1, description = "rows per page; default and maximum set by the server (larger values are clamped)"),
        ("fresh" = Option<String>, Query, description = "`1` or `true` when the client syncs this collection from cursor 0 in this session: served below the tombstone horizon"),
        ("filter" = Option<Vec<FilterValue>>, Query, explode = true, max_items = 1000, description = "selective sync, repeated once per value (1 to 1,000): only the rows whose filter column (the collection's `filter` in `GET /schema`) holds one of these values, and tombstones of rows that left them; when `has_more` is false, `latest_seq` may be past the last row (the collection's greatest seq the answer covers: the values' next cursor)"),
        ("live" = Option<String>, Query, description = "`true` or `1`: long-poll, answer as soon as there is something newer than `since_seq` (or after `timeout`)"),
        ("timeout" = Option<f64>, Query, minimum = 0, description = "with `live`: seconds to wait, default 25, at most 60"),
    ),
    responses(
        (status = 200, description = "the page (with `live`: once it has a row, or empty after the timeout)", body = Page),
        (status = 400, description = "a bad `since_seq`, `limit`, `timeout` or `filter` (a collection without a filter column, no value, an empty one, more than 1,000), or an undecodable URL", body = ErrorBody),
        (status = 401, description = "missing or unknown token", body = ErrorBody),
        (status = 403, description = "the token may not read this integration", body = ErrorBody),
        (status = 404, description = "no such integration (`not_found`) or collection (`unknown_collection`)", body = ErrorBody),
        (status = 409, description = "`resync_required`: the cursor is below the tombstone horizon", body = ErrorBody),
        (status = 500, description = "the store failed", body = ErrorBody),
    ))]
async fn page(
    State(state): State<Arc<AppState>>,
    path: Result<Path<(String, String)>, PathRejection>,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let (collection, scope, params, Repeated { filter, .. }) = match collection_request(&state, path, params, &headers)
    {
        Ok(request) => request,
        Err(refused) => return *refused,
    };
    let since_seq = match since_seq(&params) {
        Ok(n) => n,
        Err(why) => return error(StatusCode::BAD_REQUEST, "bad_request", why),
    };
    let live = match live::live_wait(&params) {
        Ok(live) => live,
        Err(why) => return error(StatusCode::BAD_REQUEST, "bad_request", why),
    };
    let limit = match params.get("limit").map(|v| v.parse::<usize>()) {
        None => state.config.default_limit,
        Some(Ok(n)) if n >= 1 => n.min(state.config.max_limit),
        Some(_) => return error(StatusCode::BAD_REQUEST, "bad_request", "`limit` must be an integer >= 1"),
    };
    let Some(schema) = state.feed.schema().collection(&collection) else {
        return feed_error(FeedError::UnknownCollection(collection));
    };
    let fresh = params.get("fresh").is_some_and(|v| v == "1" || v == "true");
    let feed = state.feed.as_ref();
    let read = || async {
        match &filter {
            Some(values) => {
                let read = FilteredRead { values: values.clone(), since_seq, limit, fresh };
                feed.page_filtered(&scope, &collection, &read).await
            }
            None if fresh => feed.page_fresh(&scope, &collection, since_seq, limit).await,
            None => feed.page(&scope, &collection, since_seq, limit).await,
        }
    };
    let page = match live {
        Some(wait) => live::page(feed, &scope, since_seq, wait, read).await,
        None => read().await,
    };
    match page {
        Ok(page) => json(wire::encode_page(schema, &scope, &page)),
        Err(e) => feed_error(e),
    }
}

/// A collection route's request: (collection, integration, the query's parameters by name, the repeated ones),
/// or the answer refusing an undecodable URL or a token without access.
type CollectionRequest = (String, String, HashMap<String, String>, Repeated);

/// The parameters a request may repeat: `filter` (`None` without any) and `before` (heads only).
struct Repeated {
    filter: Option<Vec<String>>,
    before: Vec<String>,
}

fn collection_request(
    state: &AppState,
    path: Result<Path<(String, String)>, PathRejection>,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
    headers: &HeaderMap,
) -> Result<CollectionRequest, Box<Response>> {
    let (Path((collection, scope)), Query(pairs)) = match (path, params) {
        (Ok(path), Ok(params)) => (path, params),
        (Err(e), _) => return Err(Box::new(bad_request(e))),
        (_, Err(e)) => return Err(Box::new(bad_request(e))),
    };
    state.config.access.check(headers, Some(&scope)).map_err(|denied| Box::new(denied.into_response()))?;
    let (params, repeated) = split_repeated(pairs);
    Ok((collection, scope, params, repeated))
}

/// The query's parameters by name, and the repeated ones apart.
fn split_repeated(pairs: Vec<(String, String)>) -> (HashMap<String, String>, Repeated) {
    let mut repeated = Repeated { filter: None, before: Vec::new() };
    let mut params = HashMap::new();
    for (name, value) in pairs {
        match name.as_str() {
            "filter" => repeated.filter.get_or_insert_with(Vec::new).push(value),
            "before" => repeated.before.push(value),
            _ => _ = params.insert(name, value),
        }
    }
    (params, repeated)
}

/// A head request's values with their bounds: `before`, when given, once per `filter` value and paired with it
/// by position, each an integer from 1 (rows with a smaller seq); without it, no bound.
fn head_read(repeated: Repeated, per_value: usize) -> Result<HeadRead, String> {
    let values = repeated.filter.unwrap_or_default();
    if repeated.before.is_empty() {
        return Ok(HeadRead::newest(&values, per_value));
    }
    if repeated.before.len() != values.len() {
        return Err(format!(
            "give `before` once per `filter` value, in the same order (got {} `before` for {} values), or not at all",
            repeated.before.len(),
            values.len()
        ));
    }
    let bound = |b: &String| b.parse::<i64>().ok().filter(|b| *b >= 1);
    let bounds =
        repeated.before.iter().map(|b| bound(b).ok_or_else(|| format!("`before` must be an integer >= 1 (got {b:?})")));
    let bounds = bounds.collect::<Result<Vec<i64>, String>>()?;
    Ok(HeadRead { values: values.into_iter().zip(bounds).collect(), per_value })
}

/// The newest rows of each filter value (recent-first initial sync). Not a cursor: `latest_seq` is the last row's.
#[utoipa::path(get, path = "/sync/{collection}/{integration_id}/head",
    params(
        ("collection" = String, Path, description = "a collection of `GET /schema` that declares a `filter` column"),
        ("integration_id" = String, Path, description = "the integration (scope)"),
        ("filter" = Vec<FilterValue>, Query, explode = true, min_items = 1, max_items = 1000, description = "the values, repeated once per value (1 to 1,000)"),
        ("per_value" = Option<i64>, Query, minimum = 1, maximum = 1000, description = "live rows per value, newest first; default 50"),
        ("before" = Option<Vec<i64>>, Query, explode = true, minimum = 1, description = "optional, once per `filter` value and paired with it by position: only rows with a smaller seq (to page a value's history backwards from the oldest row held)"),
    ),
    responses(
        (status = 200, description = "a page in seq order with `has_more` false: the newest `per_value` live rows of each value (below its `before`)", body = Page),
        (status = 400, description = "a bad `filter`, `per_value` or `before`, or an undecodable URL", body = ErrorBody),
        (status = 401, description = "missing or unknown token", body = ErrorBody),
        (status = 403, description = "the token may not read this integration", body = ErrorBody),
        (status = 404, description = "no such integration (`not_found`) or collection (`unknown_collection`)", body = ErrorBody),
        (status = 500, description = "the store failed", body = ErrorBody),
    ))]
async fn head(
    State(state): State<Arc<AppState>>,
    path: Result<Path<(String, String)>, PathRejection>,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let (collection, scope, params, repeated) = match collection_request(&state, path, params, &headers) {
        Ok(request) => request,
        Err(refused) => return *refused,
    };
    let per_value = match params.get("per_value").map(|v| v.parse::<usize>()) {
        None => DEFAULT_HEAD_ROWS,
        Some(Ok(n)) if (1..=MAX_HEAD_PER_VALUE).contains(&n) => n,
        Some(_) => {
            let why = format!("`per_value` must be an integer from 1 to {MAX_HEAD_PER_VALUE}");
            return error(StatusCode::BAD_REQUEST, "bad_request", why);
        }
    };
    let Some(schema) = state.feed.schema().collection(&collection) else {
        return feed_error(FeedError::UnknownCollection(collection));
    };
    let read = match head_read(repeated, per_value) {
        Ok(read) => read,
        Err(why) => return error(StatusCode::BAD_REQUEST, "bad_request", why),
    };
    match state.feed.head(&scope, &collection, &read).await {
        Ok(page) => json(wire::encode_page(schema, &scope, &page)),
        Err(e) => feed_error(e),
    }
}
