//! `GET /openapi.json`: it describes every route the router has, and real answers of every documented status
//! validate against it (over real loopback HTTP).

use std::sync::Arc;

use serde_json::{Value as Json, json};
use sync_core::memory::MemoryFeed;
use sync_core::testing::{post, test_schema, thread};
use sync_core::{ServerStore, Write};
use sync_http::{Access, ServerConfig, serve, writable_router};

async fn spawn_server() -> (String, tokio::sync::oneshot::Sender<()>) {
    let feed = Arc::new(MemoryFeed::new(test_schema()));
    let writes = vec![
        Write::Upsert { collection: "threads".into(), id: "t1".into(), values: thread("hello") },
        Write::Upsert { collection: "threads".into(), id: "t2".into(), values: thread("bye") },
        Write::Upsert { collection: "posts".into(), id: "p1".into(), values: post("t1", "body") },
    ];
    feed.write("alpha", writes).await.expect("seed alpha");
    // A tombstone, so that the page schema is checked against one.
    feed.write("alpha", vec![Write::Delete { collection: "threads".into(), id: "t2".into() }]).await.expect("delete");
    feed.write("beta", vec![Write::Upsert { collection: "threads".into(), id: "b".into(), values: thread("b") }])
        .await
        .expect("seed beta");
    let access =
        Access::new().grant("alpha-token", &["alpha"]).grant_all("admin").grant_all("reader").read_only("reader");
    let config = ServerConfig::new(access);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(listener, writable_router(feed, config), async move {
        let _ = stopped.await;
    }));
    (url, stop)
}

async fn get(url: &str, token: Option<&str>) -> (u16, String, Json) {
    send(reqwest::Client::new().get(url), token).await
}

async fn send(mut request: reqwest::RequestBuilder, token: Option<&str>) -> (u16, String, Json) {
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("send");
    let status = response.status().as_u16();
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Json::String(text));
    (status, content_type, body)
}

/// Checks `body` against the schema the document gives for `path`'s GET answer with `status`.
fn assert_documented(doc: &Json, path: &str, status: u16, content_type: &str, body: &Json) {
    assert_documented_for(doc, ("get", path), status, content_type, body);
}

/// Checks `body` against the schema the document gives for `method` `path`'s answer with `status`.
fn assert_documented_for(doc: &Json, (method, path): (&str, &str), status: u16, content_type: &str, body: &Json) {
    let response = &doc["paths"][path][method]["responses"][status.to_string()];
    assert!(response.is_object(), "{path}: status {status} is not documented; body {body}");
    let content = response["content"].as_object().expect("documented content");
    let (documented_type, media) = content.iter().next().expect("a content type");
    assert!(content_type.starts_with(documented_type.as_str()), "{path} {status}: {content_type} vs {documented_type}");
    let Some(schema) = media.get("schema") else { return };
    // References point into the document's components: validate from a root that carries them.
    let root = json!({ "components": doc["components"], "allOf": [schema] });
    let validator = jsonschema::validator_for(&root).expect("a valid JSON Schema");
    let errors: Vec<String> = validator.iter_errors(body).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{path} {status}: the body does not match the document: {errors:?}\n{body}");
}

#[tokio::test]
async fn every_route_is_documented_and_answers_match_the_document() {
    let (url, _stop) = spawn_server().await;
    let (status, _, doc) = get(&format!("{url}/openapi.json"), None).await;
    assert_eq!(status, 200);
    assert_eq!(doc, serde_json::to_value(sync_http::openapi()).expect("document"), "served = generated");
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")));
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    assert_eq!(doc["security"][0]["bearer"], json!([]));

    let paths: Vec<&str> = doc["paths"].as_object().expect("paths").keys().map(String::as_str).collect();
    let mut expected = vec![
        "/health",
        "/media/{integration_id}/{media_id}",
        "/openapi.json",
        "/schema",
        "/sync/push/{integration_id}",
        "/sync/status/{integration_id}",
        "/sync/{collection}/{integration_id}",
        "/sync/{collection}/{integration_id}/head",
    ];
    expected.sort_unstable();
    assert_eq!(paths, expected);

    // Each documented status, provoked for real (409 and 500 need a failing store; the PostgreSQL tests and
    // schemathesis cover the first, nothing should provoke the second).
    let page = "/sync/{collection}/{integration_id}";
    let status_path = "/sync/status/{integration_id}";
    let head = "/sync/{collection}/{integration_id}/head";
    let cases: Vec<(&str, String, Option<&str>, u16)> = vec![
        ("/health", "/health".into(), None, 200),
        ("/openapi.json", "/openapi.json".into(), None, 200),
        ("/schema", "/schema".into(), Some("alpha-token"), 200),
        ("/schema", "/schema".into(), None, 401),
        (status_path, "/sync/status/alpha".into(), Some("alpha-token"), 200),
        (status_path, "/sync/status/alpha".into(), Some("wrong"), 401),
        (status_path, "/sync/status/beta".into(), Some("alpha-token"), 403),
        (status_path, "/sync/status/nobody".into(), Some("admin"), 404),
        (status_path, "/sync/status/%FF".into(), Some("admin"), 400),
        (page, "/sync/threads/alpha?since_seq=0&limit=10".into(), Some("alpha-token"), 200),
        (page, "/sync/posts/alpha?limit=1&fresh=1".into(), Some("alpha-token"), 200),
        (page, "/sync/threads/alpha?since_seq=-1".into(), Some("alpha-token"), 400),
        (page, "/sync/threads/alpha?limit=0".into(), Some("alpha-token"), 400),
        (page, "/sync/threads/%FF%FE".into(), Some("alpha-token"), 400),
        (page, "/sync/threads/alpha".into(), None, 401),
        (page, "/sync/threads/beta".into(), Some("alpha-token"), 403),
        (page, "/sync/nope/alpha".into(), Some("alpha-token"), 404),
        (page, "/sync/threads/nobody".into(), Some("admin"), 404),
        (page, "/sync/posts/alpha?filter=t1&filter=t2&limit=2".into(), Some("alpha-token"), 200),
        (page, "/sync/posts/alpha?filter=".into(), Some("alpha-token"), 400),
        (head, "/sync/posts/alpha/head?filter=t1&per_value=2".into(), Some("alpha-token"), 200),
        (head, "/sync/posts/alpha/head?filter=t1&per_value=0".into(), Some("alpha-token"), 400),
        (head, "/sync/posts/alpha/head?filter=t1".into(), None, 401),
        (head, "/sync/posts/beta/head?filter=t1".into(), Some("alpha-token"), 403),
        (head, "/sync/nope/alpha/head?filter=t1".into(), Some("alpha-token"), 404),
    ];
    for (path, uri, token, expected) in cases {
        let (status, content_type, body) = get(&format!("{url}{uri}"), token).await;
        assert_eq!(status, expected, "{uri}: {body}");
        assert_documented(&doc, path, status, &content_type, &body);
    }
    let push = "/sync/push/{integration_id}";
    let good = json!({"client_id": "c", "mutations": [
        {"mutation_id": 1, "collection": "posts", "id": "p2", "op": "insert", "fields": {"thread_id": "t1"}},
        {"mutation_id": 2, "collection": "posts", "id": "gone", "op": "update", "fields": {"body": "x"}},
        {"mutation_id": 3, "collection": "posts", "id": "p2", "op": "update", "fields": {"thread_id": "t1"}}]});
    let retry =
        json!({"client_id": "c", "mutations": [{"mutation_id": 1, "collection": "posts", "id": "p2", "op": "delete"}]});
    let pushes: Vec<(String, Json, Option<&str>, u16)> = vec![
        ("/sync/push/alpha".into(), good, Some("alpha-token"), 200),
        ("/sync/push/alpha".into(), retry, Some("alpha-token"), 200),
        (
            "/sync/push/alpha".into(),
            json!({"client_id": "c", "mutations": [{"mutation_id": 0}]}),
            Some("alpha-token"),
            400,
        ),
        ("/sync/push/alpha".into(), json!({"client_id": "", "mutations": []}), Some("alpha-token"), 400),
        ("/sync/push/alpha".into(), json!({"client_id": "c", "mutations": []}), None, 401),
        ("/sync/push/beta".into(), json!({"client_id": "c", "mutations": []}), Some("alpha-token"), 403),
        ("/sync/push/alpha".into(), json!({"client_id": "c", "mutations": []}), Some("reader"), 403),
        ("/sync/push/%FF".into(), json!({"client_id": "c", "mutations": []}), Some("admin"), 400),
    ];
    for (uri, body, token, expected) in pushes {
        let request = reqwest::Client::new().post(format!("{url}{uri}")).body(body.to_string());
        let (status, content_type, answer) = send(request, token).await;
        assert_eq!(status, expected, "{uri} {body}: {answer}");
        assert_documented_for(&doc, ("post", push), status, &content_type, &answer);
    }
    // The page with the tombstone really carries one, so the row schema met both kinds.
    let (_, _, threads) = get(&format!("{url}/sync/threads/alpha"), Some("admin")).await;
    assert_eq!(threads["threads"][1]["deleted"], true, "{threads}");
}

/// Found by schemathesis: without `live`, the status endpoint answered 200 to `since_seq=-169267431755861&timeout=ü`
/// (and a page to a bad `timeout`); a documented parameter with a bad value must be refused, never ignored.
#[tokio::test]
async fn bad_values_of_documented_parameters_are_refused_even_when_not_live() {
    let (url, _stop) = spawn_server().await;
    for uri in [
        "/sync/status/alpha?since_seq=-169267431755861&timeout=%C3%BC",
        "/sync/status/alpha?since_seq=-1",
        "/sync/status/alpha?timeout=x",
        "/sync/threads/alpha?timeout=-1",
    ] {
        let (status, _, body) = get(&format!("{url}{uri}"), Some("alpha-token")).await;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("bad_request")), "{uri}: {body}");
    }
}

/// Found by schemathesis: `timeout=1.3943269095133548e+243` made the handler panic (the connection closed with no
/// answer); a huge timeout is clamped to the longest wait served.
#[tokio::test]
async fn a_huge_timeout_is_clamped_not_a_panic() {
    let (url, _stop) = spawn_server().await;
    for uri in ["/sync/status/alpha?timeout=1.3943269095133548e%2B243", "/sync/status/alpha?live=1&timeout=1e300"] {
        let (status, _, body) = get(&format!("{url}{uri}"), Some("alpha-token")).await;
        assert_eq!(status, 200, "{uri}: {body}");
    }
}

/// Routes are only ever added through `utoipa_axum::routes!`, which documents them: a plain axum `.route(...)`
/// in the router's source would add an undocumented one, and fails here.
#[test]
fn the_router_has_no_undocumented_route() {
    let source = include_str!("../src/server.rs");
    let plain_routes = source.matches(".route(").count();
    assert_eq!(
        plain_routes, 0,
        "server.rs adds a route without its OpenAPI description; use .routes(routes!(handler))"
    );
    let documented = source.matches(".routes(routes!(").count();
    let operations: usize = serde_json::to_value(sync_http::openapi()).expect("document")["paths"]
        .as_object()
        .expect("paths")
        .values()
        .map(|item| item.as_object().map_or(0, |methods| methods.len()))
        .sum();
    assert_eq!(documented, operations, "each registered handler is one documented operation");
}

#[path = "common/media_server.rs"]
mod media_server;

/// Each documented status of the media route, provoked for real, matches the document.
#[tokio::test]
async fn media_answers_match_the_document() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, _bytes, _stop) = media_server::media_server(dir.path()).await;
    let doc = serde_json::to_value(sync_http::openapi()).expect("document");
    let path = "/media/{integration_id}/{media_id}";
    let cases = [
        ("/media/alpha/a1", Some("alpha-token"), None, 200),
        ("/media/alpha/a1", Some("alpha-token"), Some("bytes=5-"), 206),
        ("/media/alpha/a1", Some("alpha-token"), Some("bytes=999999999-"), 416),
        ("/media/alpha/%FF", Some("alpha-token"), None, 400),
        ("/media/alpha/a1", None, None, 401),
        ("/media/beta/b1", Some("alpha-token"), None, 403),
        ("/media/alpha/b1", Some("alpha-token"), None, 404),
        ("/media/alpha/liar", Some("alpha-token"), None, 500),
    ];
    for (uri, token, range, expected) in cases {
        let mut request = reqwest::Client::new().get(format!("{url}{uri}"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(range) = range {
            request = request.header("range", range);
        }
        let response = request.send().await.expect("send");
        let status = response.status().as_u16();
        let content_type =
            response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let body = response.bytes().await.expect("body");
        let body = serde_json::from_slice(&body).unwrap_or(Json::Null);
        assert_eq!(status, expected, "{uri}: {body}");
        if expected >= 400 {
            assert_documented(&doc, path, status, &content_type, &body);
        } else {
            assert!(doc["paths"][path]["get"]["responses"][status.to_string()].is_object(), "{uri}");
        }
    }
}
