//! PROTOCOL.md invariant 7 over real HTTP into a real SQLite file: every kind of hostile page is rejected with a
//! clear error and leaves rows and cursor exactly as they were, even when part of the page is valid.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use sync_core::memory::MemoryFeed;
use sync_core::testing::{post, test_schema, thread};
use sync_core::{ChangeFeed, ClientStore, ErrorCode, ServerStore, SyncOptions, Write, wire};
use sync_sqlite::SqliteStore;

/// A server that is honest except for pages of `posts` with `since_seq` in `from..=to`, answered with a scripted
/// body.
pub struct Hostile {
    pub feed: MemoryFeed,
    /// `(from, to, body)`.
    pub script: Mutex<Option<(i64, i64, String)>>,
}

type Shared = Arc<Hostile>;

async fn schema(State(h): State<Shared>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], h.feed.schema().to_json())
}

async fn status(State(h): State<Shared>, Path(scope): Path<String>) -> impl IntoResponse {
    axum::Json(h.feed.status(&scope).await.expect("status"))
}

async fn page(
    State(h): State<Shared>,
    Path((collection, scope)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> impl IntoResponse {
    let since: i64 = q["since_seq"].parse().expect("since_seq");
    let limit: usize = q["limit"].parse().expect("limit");
    let scripted = h
        .script
        .lock()
        .expect("lock")
        .clone()
        .filter(|(from, to, _)| collection == "posts" && (*from..=*to).contains(&since));
    let body = if let Some((_, _, body)) = scripted {
        body.into_bytes()
    } else {
        let page = h.feed.page(&scope, &collection, since, limit).await.expect("page");
        wire::encode_page(h.feed.schema().collection(&collection).expect("collection"), &scope, &page)
    };
    ([(header::CONTENT_TYPE, "application/json")], body)
}

fn row(id: &str, seq: i64, extra: &str) -> String {
    format!(r#"{{"id":"{id}","integration_id":"s","seq":{seq},"thread_id":"t0","body":"hostile"{extra}}}"#)
}

/// (name, body) for a second page whose request had `since_seq = s` and `limit = 4`.
fn cases(s: i64) -> Vec<(&'static str, String)> {
    let page = |rows: &str, latest: i64, more: bool| {
        format!(r#"{{"posts":[{rows}],"latest_seq":{latest},"has_more":{more}}}"#)
    };
    let ok = |i: i64| row(&format!("ok{i}"), s + i, "");
    vec![
        ("not JSON", format!(r#"{{"posts":[{}"#, ok(1))),
        ("not an object", "[1,2,3]".into()),
        ("rows missing", format!(r#"{{"latest_seq":{s},"has_more":false}}"#)),
        ("has_more missing", format!(r#"{{"posts":[{}],"latest_seq":{}}}"#, ok(1), s + 1)),
        (
            "text column holds a number",
            page(&format!(r#"{},{}"#, ok(1), row("h", s + 2, "").replace(r#""hostile""#, "5")), s + 2, false),
        ),
        ("integer column holds a string", page(&row("h", s + 1, r#","likes":"many""#), s + 1, false)),
        ("required column missing", page(&row("h", s + 1, "").replace(r#""thread_id":"t0","#, ""), s + 1, false)),
        (
            "seq is a string",
            page(&row("h", s + 1, "").replace(&format!(r#""seq":{}"#, s + 1), r#""seq":"9""#), s + 1, false),
        ),
        ("seq not increasing", page(&format!("{},{}", ok(2), ok(1)), s + 2, false)),
        ("seq equal to since_seq", page(&row("h", s, ""), s, false)),
        ("seq below since_seq", page(&row("h", s - 1, ""), s - 1, false)),
        ("has_more with no rows", page("", s, true)),
        ("latest_seq ahead of the rows", page(&ok(1), s + 50, false)),
        ("latest_seq behind the rows", page(&format!("{},{}", ok(1), ok(2)), s + 1, false)),
        (
            "row of another integration",
            page(&row("h", s + 1, "").replace(r#""integration_id":"s""#, r#""integration_id":"other""#), s + 1, false),
        ),
        ("more rows than the limit", page(&(1..=5).map(ok).collect::<Vec<_>>().join(","), s + 5, false)),
        ("deleted is not a boolean", page(&row("h", s + 1, r#","deleted":"yes""#), s + 1, false)),
    ]
}

/// Serves `hostile` on loopback; returns its URL.
pub async fn spawn(hostile: Shared) -> String {
    let app = axum::Router::new()
        .route("/schema", get(schema))
        .route("/sync/status/{id}", get(status))
        .route("/sync/{collection}/{id}", get(page))
        .with_state(hostile);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// Two threads and ten posts in scope `s`.
pub async fn seeded() -> Shared {
    let feed = MemoryFeed::new(test_schema());
    let mut writes: Vec<Write> = (0..2)
        .map(|t| Write::Upsert { collection: "threads".into(), id: format!("t{t}"), values: thread("t") })
        .collect();
    writes.extend((0..10).map(|p| Write::Upsert {
        collection: "posts".into(),
        id: format!("p{p:02}"),
        values: post("t0", "honest"),
    }));
    feed.write("s", writes).await.expect("seed");
    Arc::new(Hostile { feed, script: Mutex::new(None) })
}

pub fn client(db: &std::path::Path, url: &str) -> sync_cli::Client {
    let options = sync_cli::ClientOptions {
        scope: "s".into(),
        db: db.to_path_buf(),
        url: url.to_owned(),
        token: None,
        ..Default::default()
    };
    sync_cli::Client::open(options).expect("client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hostile_page_is_rejected_and_applies_nothing() {
    let hostile = seeded().await;
    let url = spawn(hostile.clone()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    // The first posts page (4 rows) is honest; its last seq is the since_seq of the hostile second page.
    let first_page = hostile.feed.page("s", "posts", 0, 4).await.expect("page");
    let s = first_page.latest_seq;
    for (n, (name, body)) in cases(s).into_iter().enumerate() {
        *hostile.script.lock().expect("lock") = Some((1, i64::MAX, body));
        let db = dir.path().join(format!("case{n}.db"));
        let client = client(&db, &url);
        let err = client.engine.sync("s", SyncOptions::default()).await.expect_err(name);
        assert_eq!(err.code(), ErrorCode::BadPage, "{name}: {err}");
        assert!(err.to_string().contains("nothing of it was applied"), "{name}: the message says what happened: {err}");

        let store = SqliteStore::open(&db).expect("reopen");
        store.prepare(&test_schema()).await.expect("prepare");
        let posts: Vec<String> =
            store.read_rows("s", "posts", None, 100).await.expect("rows").into_iter().map(|r| r.id).collect();
        assert_eq!(posts, vec!["p00", "p01", "p02", "p03"], "{name}: only the honest first page is stored");
        let cursor = store
            .sync_state("s")
            .await
            .expect("state")
            .into_iter()
            .find(|c| c.collection == "posts")
            .map(|c| c.last_seq);
        assert_eq!(cursor, Some(s), "{name}: the cursor stayed at the last good page");
        assert_eq!(
            store.read_rows("s", "threads", None, 100).await.expect("rows").len(),
            2,
            "{name}: threads were synced before"
        );
    }
}
