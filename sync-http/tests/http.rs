//! The protocol over real loopback HTTP, and the router's answers to every kind of bad request.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use sync_core::memory::{MemoryFeed, MemoryStore};
use sync_core::testing::{post, test_schema, thread};
use sync_core::{
    ErrorCode, PageRequest, ServerStore, SyncConfig, SyncEngine, Transport, TransportError, Write, verify_scope,
};
use sync_http::{Access, HttpTransport, ServerConfig, router, serve};
use tower::ServiceExt;

async fn feed() -> Arc<MemoryFeed> {
    let feed = Arc::new(MemoryFeed::new(test_schema()));
    let mut writes = vec![];
    for t in 0..3 {
        writes.push(Write::Upsert { collection: "threads".into(), id: format!("t{t}"), values: thread("hello") });
        for p in 0..5 {
            writes.push(Write::Upsert {
                collection: "posts".into(),
                id: format!("p{t}-{p}"),
                values: post(&format!("t{t}"), "body"),
            });
        }
    }
    feed.write("alpha", writes).await.expect("seed alpha");
    feed.write("beta", vec![Write::Upsert { collection: "threads".into(), id: "b".into(), values: thread("b") }])
        .await
        .expect("seed beta");
    feed
}

fn config() -> ServerConfig {
    let mut config = ServerConfig::new(Access::new().grant("alpha-token", &["alpha"]).grant_all("admin"));
    config.max_limit = 4;
    config
}

async fn get(uri: &str, token: Option<&str>) -> (StatusCode, serde_json::Value) {
    let app = router(feed().await, config());
    let mut request = Request::get(uri);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = app.oneshot(request.body(Body::empty()).expect("request")).await.expect("response");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.expect("body");
    (status, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
}

fn code(body: &serde_json::Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<no code>")
}

#[tokio::test]
async fn pages_follow_the_seed_shape_and_clamp_the_limit() {
    let (status, body) = get("/sync/threads/alpha?since_seq=0&limit=100", Some("alpha-token")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["threads"].as_array().map(Vec::len), Some(3));
    assert_eq!(body["has_more"], false);
    assert_eq!(body["total_count"], 3);
    assert_eq!(body["latest_seq"], body["threads"][2]["seq"]);
    let (_, posts) = get("/sync/posts/alpha?limit=100", Some("alpha-token")).await;
    assert_eq!(posts["posts"].as_array().map(Vec::len), Some(4), "limit is clamped to max_limit");
    assert_eq!(posts["has_more"], true);
    let (status, body) = get("/sync/status/alpha", Some("alpha-token")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["collections"]["posts"]["count"], 15);
}

#[tokio::test]
async fn bad_requests_get_json_errors_and_no_data() {
    let cases = [
        ("/sync/threads/alpha", None, StatusCode::UNAUTHORIZED, "unauthorized"),
        ("/sync/threads/alpha", Some("wrong"), StatusCode::UNAUTHORIZED, "unauthorized"),
        ("/sync/threads/beta", Some("alpha-token"), StatusCode::FORBIDDEN, "forbidden"),
        ("/sync/status/beta", Some("alpha-token"), StatusCode::FORBIDDEN, "forbidden"),
        ("/sync/threads/ghost", Some("admin"), StatusCode::NOT_FOUND, "not_found"),
        ("/sync/nope/alpha", Some("alpha-token"), StatusCode::NOT_FOUND, "unknown_collection"),
        ("/sync/threads/alpha?since_seq=-1", Some("alpha-token"), StatusCode::BAD_REQUEST, "bad_request"),
        ("/sync/threads/alpha?since_seq=x", Some("alpha-token"), StatusCode::BAD_REQUEST, "bad_request"),
        ("/sync/threads/alpha?limit=0", Some("alpha-token"), StatusCode::BAD_REQUEST, "bad_request"),
        (
            "/sync/threads/alpha?limit=99999999999999999999999",
            Some("alpha-token"),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        ("/nothing/here", Some("alpha-token"), StatusCode::NOT_FOUND, "not_found"),
    ];
    for (uri, token, want_status, want_code) in cases {
        let (status, body) = get(uri, token).await;
        assert_eq!((status, code(&body)), (want_status, want_code), "{uri} with {token:?}: {body}");
        assert!(body.get("threads").is_none(), "no data in an error: {body}");
    }
}

#[tokio::test]
async fn gzip_is_used_when_accepted() {
    let app = router(feed().await, config());
    let request = Request::get("/sync/posts/alpha?limit=4")
        .header("authorization", "Bearer alpha-token")
        .header("accept-encoding", "gzip")
        .body(Body::empty())
        .expect("request");
    let response = app.oneshot(request).await.expect("response");
    assert_eq!(response.headers().get("content-encoding").map(|v| v.to_str().ok()), Some(Some("gzip")));
}

async fn spawn_server(feed: Arc<dyn sync_core::ChangeFeed>) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(listener, router(feed, config()), async move {
        let _ = stopped.await;
    }));
    (url, stop)
}

#[tokio::test]
async fn engine_syncs_exactly_over_loopback_http() {
    let feed = feed().await;
    let (url, _stop) = spawn_server(feed.clone()).await;
    let client = Arc::new(MemoryStore::new());
    let transport = Arc::new(HttpTransport::new(&url, Some("alpha-token")).expect("transport"));
    let engine = SyncEngine::new(client.clone(), transport, SyncConfig::default());
    let report = engine.sync("alpha", Default::default()).await.expect("sync");
    assert_eq!(report.rows(), 18);
    assert_eq!(report.collection("posts").map(|c| c.pages), Some(4), "15 posts at the clamped limit 4");
    let verification = verify_scope(&test_schema(), "alpha", client.as_ref(), feed.as_ref()).await.expect("verify");
    assert!(verification.is_exact(), "{:?}", verification.differences);
    assert_eq!(verification.rows(), 18);

    let denied = engine.sync("beta", Default::default()).await.expect_err("alpha's token cannot read beta");
    assert_eq!(denied.code(), ErrorCode::Forbidden);
    assert!(client.read_rows_is_empty("beta"), "nothing of beta reached the client");
}

trait Empty {
    fn read_rows_is_empty(&self, scope: &str) -> bool;
}

impl Empty for MemoryStore {
    fn read_rows_is_empty(&self, scope: &str) -> bool {
        self.rows(scope, "threads").is_empty() && self.rows(scope, "posts").is_empty()
    }
}

#[tokio::test]
async fn transport_errors_are_classified() {
    let feed = feed().await;
    let (url, _stop) = spawn_server(feed).await;
    let request = PageRequest {
        scope: "alpha".into(),
        collection: "threads".into(),
        since_seq: 0,
        limit: 10,
        fresh: true,
        filter: None,
    };

    let anonymous = HttpTransport::new(&url, None).expect("transport");
    let err = anonymous.fetch_page(&request).await.expect_err("no token");
    assert_eq!((err.code(), err.is_retryable()), (ErrorCode::Unauthorized, false));
    assert!(err.to_string().contains("Authorization"), "{err}");

    let tiny = HttpTransport::new(&url, Some("alpha-token")).expect("transport").with_max_body_bytes(100);
    assert!(matches!(tiny.fetch_page(&request).await, Err(TransportError::TooLarge { limit: 100 })));

    // A port nobody listens on: bind, learn the port, close.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind").local_addr().expect("addr");
    let refused = HttpTransport::new(&format!("http://{closed}"), Some("t")).expect("transport");
    let err = refused.fetch_page(&request).await.expect_err("nobody listens");
    assert_eq!((err.code(), err.is_retryable()), (ErrorCode::Network, true));

    assert!(HttpTransport::new("not a url", None).is_err());
    assert!(HttpTransport::new("ftp://example.org", None).is_err());
}

#[tokio::test]
async fn retry_after_is_read_from_429() {
    use axum::routing::get;
    let app = axum::Router::new().route(
        "/sync/status/{id}",
        get(|| async {
            let body = axum::Json(sync_http::ErrorBody::new("rate_limited", "slow down"));
            (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "7")], body)
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let err = HttpTransport::new(&url, None).expect("t").fetch_status("x").await.expect_err("429");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    assert_eq!((err.code(), err.is_retryable()), (ErrorCode::RateLimited, true));
    assert!(err.to_string().contains("slow down"), "{err}");
}

/// A server on this machine is not asked for gzip (compressing on loopback costs CPU and saves nothing); it still
/// gets the token. The server answers 400 with the request's `Accept-Encoding` as its message.
#[tokio::test]
async fn a_loopback_server_is_not_asked_for_gzip() {
    use axum::http::HeaderMap;
    let app = axum::Router::new().fallback(|headers: HeaderMap| async move {
        let seen = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("none").to_owned();
        let message = format!("accept-encoding={} authorization={}", seen("accept-encoding"), seen("authorization"));
        (StatusCode::BAD_REQUEST, axum::Json(serde_json::json!({"error": {"code": "echo", "message": message}})))
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let request = PageRequest {
        scope: "alpha".into(),
        collection: "posts".into(),
        since_seq: 0,
        limit: 4,
        fresh: true,
        filter: None,
    };
    for base in [format!("http://127.0.0.1:{port}"), format!("http://localhost:{port}")] {
        let transport = HttpTransport::new(&base, Some("t0ken")).expect("transport");
        let error = transport.fetch_page(&request).await.expect_err("the echo server answers 400");
        let TransportError::Status { status: 400, message, .. } = error else { panic!("{base}: {error:?}") };
        assert!(message.contains("authorization=Bearer t0ken"), "{base}: {message}");
        assert!(!message.contains("gzip"), "{base}: gzip asked of a loopback server: {message}");
    }
}

#[path = "http/live.rs"]
mod live;

#[path = "http/media.rs"]
mod media;
