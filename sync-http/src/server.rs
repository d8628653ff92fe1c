//! The axum router serving a change feed.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sync_core::{ChangeFeed, FeedError, wire};
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;

use crate::error_body::ErrorBody;
use crate::live;

/// Which integrations each bearer token may read.
#[derive(Clone, Debug, Default)]
pub struct Access {
    tokens: HashMap<String, Grant>,
}

#[derive(Clone, Debug)]
enum Grant {
    All,
    Scopes(HashSet<String>),
}

impl Access {
    /// No token is valid yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// `token` may read `scopes`.
    pub fn grant(mut self, token: &str, scopes: &[&str]) -> Self {
        let entry = self.tokens.entry(token.to_owned()).or_insert_with(|| Grant::Scopes(HashSet::new()));
        if let Grant::Scopes(set) = entry {
            set.extend(scopes.iter().map(|s| (*s).to_owned()));
        }
        self
    }

    /// `token` may read every integration (an operator's token).
    pub fn grant_all(mut self, token: &str) -> Self {
        self.tokens.insert(token.to_owned(), Grant::All);
        self
    }

    fn check(&self, headers: &HeaderMap, scope: Option<&str>) -> Result<(), Denied> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let grant = match token {
            None => return Err(Denied::Unauthorized("missing `Authorization: Bearer <token>` header")),
            Some(t) => self.tokens.get(t).ok_or(Denied::Unauthorized("unknown token"))?,
        };
        match (grant, scope) {
            (Grant::Scopes(set), Some(scope)) if !set.contains(scope) => Err(Denied::Forbidden),
            _ => Ok(()),
        }
    }
}

/// Why a request was refused before it reached the feed.
enum Denied {
    Unauthorized(&'static str),
    Forbidden,
}

impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        match self {
            Denied::Unauthorized(why) => error(StatusCode::UNAUTHORIZED, "unauthorized", why),
            Denied::Forbidden => error(StatusCode::FORBIDDEN, "forbidden", "this token may not read that integration"),
        }
    }
}

/// Server settings.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Who may read what.
    pub access: Access,
    /// `limit` when the request has none. Default: 500.
    pub default_limit: usize,
    /// Greatest `limit` served; larger requests are clamped. Default: 10,000.
    pub max_limit: usize,
}

impl ServerConfig {
    /// Defaults with the given access rules.
    pub fn new(access: Access) -> Self {
        ServerConfig { access, default_limit: 500, max_limit: 10_000 }
    }
}

struct AppState {
    feed: Arc<dyn ChangeFeed>,
    config: ServerConfig,
}

/// The protocol's routes over `feed`, with auth and gzip.
pub fn router(feed: Arc<dyn ChangeFeed>, config: ServerConfig) -> Router {
    let state = Arc::new(AppState { feed, config });
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/schema", get(schema))
        .route("/sync/status/{integration_id}", get(status))
        .route("/sync/{collection}/{integration_id}", get(page))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "not_found", "no such endpoint; see GET /sync/{collection}/{integration_id}") })
        // The fastest gzip level: most of the size win at a fraction of the CPU (a 650 KB page: 20 ms at the
        // default level on these machines), and the server stays cheap per page.
        .layer(CompressionLayer::new().quality(tower_http::CompressionLevel::Fastest))
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

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (status, axum::Json(ErrorBody::new(code, message))).into_response()
}

fn feed_error(e: FeedError) -> Response {
    match e {
        FeedError::UnknownScope(_) => error(StatusCode::NOT_FOUND, "not_found", e.to_string()),
        FeedError::UnknownCollection(_) => error(StatusCode::NOT_FOUND, "unknown_collection", e.to_string()),
        FeedError::ResyncRequired { .. } => error(StatusCode::CONFLICT, "resync_required", e.to_string()),
        FeedError::InvalidWrite(_) => error(StatusCode::BAD_REQUEST, "bad_request", e.to_string()),
        other => {
            tracing::error!(error = %other, "feed failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error; the server log has the cause")
        }
    }
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

async fn schema(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Err(denied) = state.config.access.check(&headers, None) {
        return denied.into_response();
    }
    json(state.feed.schema().to_json().into_bytes())
}

async fn status(
    State(state): State<Arc<AppState>>,
    Path(scope): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Err(denied) = state.config.access.check(&headers, Some(&scope)) {
        return denied.into_response();
    }
    let status = match live::live_wait(&params) {
        Ok(None) => state.feed.status(&scope).await,
        Ok(Some(wait)) => match since_seq(&params) {
            Ok(after) => live::status(state.feed.as_ref(), &scope, after, wait).await,
            Err(why) => return error(StatusCode::BAD_REQUEST, "bad_request", why),
        },
        Err(why) => return error(StatusCode::BAD_REQUEST, "bad_request", why),
    };
    match status {
        Ok(status) => axum::Json(status).into_response(),
        Err(e) => feed_error(e),
    }
}

async fn page(
    State(state): State<Arc<AppState>>,
    Path((collection, scope)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Err(denied) = state.config.access.check(&headers, Some(&scope)) {
        return denied.into_response();
    }
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
    let page = if let Some(wait) = live {
        live::page(state.feed.as_ref(), (&scope, &collection), since_seq, limit, fresh, wait).await
    } else if fresh {
        state.feed.page_fresh(&scope, &collection, since_seq, limit).await
    } else {
        state.feed.page(&scope, &collection, since_seq, limit).await
    };
    match page {
        Ok(page) => json(wire::encode_page(schema, &scope, &page)),
        Err(e) => feed_error(e),
    }
}
