//! Hostile file names land inside the folder under safe names; a server that lies about sizes, ranges or bytes
//! is refused and leaves nothing behind.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sync_core::{ServerStore, Value, Write};
use sync_media::{AutoDownload, ItemState, MediaDownloader};

use crate::support::{SCOPE_A, TOKEN_A, assert_verified, server};

const HOSTILE: [&str; 8] = [
    "../../escaped.jpg",
    "..\\..\\escaped.jpg",
    "/tmp/absolute.jpg",
    "CON",
    "nul.txt",
    "a\u{0}b\nc?.jpg",
    " . ",
    "same.jpg",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_names_stay_inside_the_folder() {
    let server = server(50, 1).await;
    let file = &server.pool.files()[0];
    let mut writes = Vec::new();
    for (i, name) in HOSTILE.iter().chain(["same.jpg"].iter()).enumerate() {
        let values = vec![
            Value::from("m"),
            Value::from("c"),
            Value::from("image/jpeg"),
            Value::from(*name),
            Value::Integer(file.size as i64),
            Value::from(file.sha256.as_str()),
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
        ];
        writes.push(Write::Upsert { collection: "message_media".into(), id: format!("hostile-{i}"), values });
    }
    server.store.write(SCOPE_A, writes).await.expect("write");
    let db = server.path("hostile.db");
    server.sync(&db, TOKEN_A, SCOPE_A).await;
    let sandbox = server.path("sandbox");
    let folder = sandbox.join("downloads");
    let mut options = server.options(&db, &folder, &server.running.url(), TOKEN_A);
    options.auto = AutoDownload::off();
    let media = MediaDownloader::open(options).expect("open");
    for i in 0..=HOSTILE.len() {
        media.download(SCOPE_A, &format!("hostile-{i}"), 0).await.expect("queue");
    }
    let totals = media.run_until_idle().await.expect("run");
    assert_eq!(totals.done as usize, HOSTILE.len() + 1);
    let items = media.items().await.expect("items");
    assert_verified(&items, &folder);
    let mut names: Vec<String> =
        items.iter().filter_map(|i| i.path.as_ref()?.file_name()?.to_str().map(str::to_owned)).collect();
    names.sort();
    let expected = [
        "_CON",
        "_nul.txt",
        "a_b_c_.jpg",
        "absolute.jpg",
        "escaped (1).jpg",
        "escaped.jpg",
        "hostile-6.jpg",
        "same (1).jpg",
        "same.jpg",
    ];
    assert_eq!(names, expected);
    let outside: Vec<_> =
        std::fs::read_dir(&sandbox).expect("sandbox").filter_map(Result::ok).map(|e| e.file_name()).collect();
    assert_eq!(outside, vec![std::ffi::OsString::from("downloads")], "nothing beside the folder");
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Lie {
    /// A `Content-Length` larger than the record's size.
    Longer,
    /// No `Content-Length`, and more bytes than the record's size.
    Endless,
    /// 206 to a request without `Range`, with a range that is not the one asked for.
    WrongRange,
    /// The right size, other bytes.
    OtherBytes,
}

/// Per media id: how the server lies about it, and the file's real bytes.
type Lies = HashMap<String, (Lie, Vec<u8>)>;

async fn liar(State(lies): State<Arc<Lies>>, UrlPath((_, id)): UrlPath<(String, String)>) -> Response {
    let Some((lie, bytes)) = lies.get(&id) else { return StatusCode::NOT_FOUND.into_response() };
    let mut bytes = bytes.clone();
    match lie {
        Lie::Longer => {
            bytes.extend_from_slice(&[0; 10]);
            bytes.into_response()
        }
        Lie::Endless => {
            let chunks = vec![Ok::<_, std::io::Error>(bytes.clone()), Ok(bytes)];
            Body::from_stream(futures::stream::iter(chunks)).into_response()
        }
        Lie::WrongRange => {
            let range = format!("bytes 5-{}/{}", bytes.len() - 1, bytes.len());
            (StatusCode::PARTIAL_CONTENT, [(header::CONTENT_RANGE, range)], bytes[5..].to_vec()).into_response()
        }
        Lie::OtherBytes => {
            bytes[0] ^= 1;
            bytes.into_response()
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lying_server_is_refused_and_leaves_nothing() {
    let server = server(400, 1).await;
    let db = server.path("liar.db");
    server.sync(&db, TOKEN_A, SCOPE_A).await;
    let conn = rusqlite::Connection::open(&db).expect("replica");
    let rows: Vec<(String, String)> = conn
        .prepare("SELECT id, sha256 FROM message_media ORDER BY id LIMIT 4")
        .expect("prepare")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    let lies: Lies = rows
        .iter()
        .zip([Lie::Longer, Lie::Endless, Lie::WrongRange, Lie::OtherBytes])
        .map(|((id, sha), lie)| (id.clone(), (lie, std::fs::read(server.path("media").join(sha)).expect("file"))))
        .collect();
    let app =
        axum::Router::new().route("/media/{scope}/{id}", axum::routing::get(liar)).with_state(Arc::new(lies.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let folder = server.path("liar-downloads");
    let mut options = server.options(&db, &folder, &url, TOKEN_A);
    options.auto = AutoDownload::off();
    let media = MediaDownloader::open(options).expect("open");
    for (id, _) in &rows {
        media.download(SCOPE_A, id, 0).await.expect("queue");
    }
    media.run_until_idle().await.expect("run");
    for item in media.items().await.expect("items") {
        let lie = lies[&item.media_id].0;
        let (code, attempts) = if lie == Lie::OtherBytes { ("hash_mismatch", 3) } else { ("server_mismatch", 1) };
        assert_eq!(
            (item.state, item.error_code.as_deref(), item.attempts),
            (ItemState::Failed, Some(code), attempts),
            "{lie:?}: {item:?}"
        );
        assert!(item.last_error.is_some_and(|m| !m.is_empty()));
    }
    let files: Vec<_> =
        std::fs::read_dir(&folder).expect("folder").filter_map(Result::ok).map(|e| e.file_name()).collect();
    assert_eq!(files, vec![std::ffi::OsString::from(".seqsync-partial")], "nothing kept");
    crate::support::assert_no_partials(&folder);
}
