//! Cross-tenant probes: one server (the embedded SQLite store) holds two integrations, and a token for `wa-a`
//! tries every endpoint with every parameter trick to read `wa-b`. Requests are written byte for byte on a raw
//! TCP socket so that no client library normalises them (`..`, `//`, encoded slashes reach the server as sent).
//! The probes pass if not one byte identifying `wa-b`'s rows comes back and nothing answers 5xx.

use std::collections::BTreeSet;
use std::sync::Arc;

use server_example::generate::{Sizes, generate};
use server_example::{serve, whatsapp};
use sync_core::{ChangeFeed, ServerStore, Value, Write};
use sync_http::ServerConfig;
use sync_sqlite::SqliteServerStore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const MARKER: &str = "tenant-b-secret";

/// Sends `target` exactly as given; returns the status and the (de-chunked) body.
async fn raw_get(addr: std::net::SocketAddr, target: &str, authorization: &str) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: localhost\r\nAuthorization: {authorization}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("read");
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete HTTP answer");
    let head = String::from_utf8_lossy(&answer[..split]).to_ascii_lowercase();
    let status = head.get(9..12).and_then(|s| s.parse().ok()).expect("a status line");
    let body = answer[split + 4..].to_vec();
    let body = if head.contains("transfer-encoding: chunked") { dechunk(&body) } else { body };
    (status, body)
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&data[..end]).trim(), 16).expect("a chunk size");
        if size == 0 {
            break;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[end + 4 + size..];
    }
    out
}

/// Ways to name `wa-b` (or a neighbour of it) in a path segment, as a token for `wa-a` might try.
fn scope_tricks() -> Vec<String> {
    let long = "b".repeat(10_000);
    let mut tricks: Vec<String> = [
        "wa-b",
        "WA-B",
        "Wa-B",
        "wa-B",
        "%77a-b",
        "%77%61%2d%62",
        "wa-b%00",
        "wa-b%20",
        "%20wa-b",
        "wa-b%0a",
        "wa-a%2F..%2Fwa-b",
        "wa-a%2f..%2fwa-b",
        "..%2Fwa-b",
        "%2E%2E%2Fwa-b",
        "wa-a%5C..%5Cwa-b",
        "wa-a,wa-b",
        "wa-a;wa-b",
        "wa-a%2Cwa-b",
        "*",
        "%2A",
        "wa-a%2Fwa-b",
        "wa-b%23",
        "wa-b%3F",
        "wa-b%FF",
        "%C0%AE%C0%AEwa-b",
        // Unicode look-alikes: U+2010 hyphen, U+2011 non-breaking hyphen, fullwidth letters, Cyrillic a.
        "wa%E2%80%90b",
        "wa%E2%80%91b",
        "%EF%BD%97%EF%BD%81-%EF%BD%82",
        "w%D0%B0-b",
        "wa-b%E2%80%8B",
        "wa-%CA%99",
        "WA%E2%80%90B",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    tricks.push(format!("wa-{long}"));
    tricks.push(format!("wa-b{long}"));
    tricks.push("wa-a".to_owned());
    tricks
}

/// Whole request targets built from a scope trick: both endpoints, path tricks around the segment, and the
/// integration in the query.
fn targets(scope: &str, collections: &[String]) -> Vec<String> {
    let queries = [
        "",
        "?since_seq=0",
        "?since_seq=-1",
        "?since_seq=-9223372036854775808",
        "?since_seq=9223372036854775807",
        "?since_seq=99999999999999999999",
        "?limit=-5",
        "?limit=0",
        "?limit=18446744073709551616",
        "?limit=1&limit=100000",
        "?since_seq=0&since_seq=-1",
        "?integration_id=wa-b",
        "?scope=wa-b&integration=wa-b",
        "?fresh=1&since_seq=0",
        "?since_seq=1e3&limit=0x10",
        "?live=1&timeout=0",
        "?live=true&timeout=0.01&since_seq=-1",
    ];
    let mut out = vec![];
    for query in queries {
        out.push(format!("/sync/status/{scope}{query}"));
        for collection in collections {
            out.push(format!("/sync/{collection}/{scope}{query}"));
        }
    }
    for collection in ["messages", "MESSAGES", "status", "messages%2F..", "..", "%2e%2e"] {
        out.extend([
            format!("/sync/{collection}/wa-a/../{scope}"),
            format!("/sync/{collection}/wa-a/%2e%2e/{scope}"),
            format!("/sync/{collection}/./{scope}"),
            format!("/sync//{collection}/{scope}"),
            format!("//sync/{collection}/{scope}"),
            format!("/sync/{collection}/{scope}/"),
            format!("/SYNC/{collection}/{scope}"),
            format!("/sync/{collection}/wa-a?integration_id={scope}"),
            format!("/sync/status/wa-a/../../sync/{collection}/{scope}"),
            format!("/sync/{collection}%2F{scope}"),
            format!("http://localhost/sync/{collection}/{scope}"),
        ]);
    }
    out
}

async fn server() -> (serve::RunningServer, BTreeSet<String>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteServerStore::open(dir.path().join("server.db"), whatsapp::schema()).expect("open store");
    let sizes = Sizes { conversations: 12, messages: 150, contacts: 15 };
    generate(&store, "wa-a", sizes, 1, |_| {}).await.expect("seed wa-a");
    generate(&store, "wa-b", sizes, 2, |_| {}).await.expect("seed wa-b");
    // Rows whose ids and text exist only in wa-b, whatever ids the generator chose.
    let contact = store.read_rows("wa-b", "contacts", None, 1).await.expect("a wa-b contact").remove(0);
    let mut values = contact.values;
    values[0] = Value::from(format!("{MARKER}@s.whatsapp.net"));
    let marker = Write::Upsert { collection: "contacts".into(), id: format!("{MARKER}-contact"), values };
    store.write("wa-b", vec![marker]).await.expect("marker row");

    // Ids of wa-b that wa-a does not also have (the generator may reuse ids across integrations).
    let mut secret = BTreeSet::new();
    for collection in &store.schema().collections {
        let ids = |scope| {
            let store = &store;
            async move {
                let rows = store.read_rows(scope, &collection.name, None, 100_000).await.expect("read rows");
                rows.into_iter().map(|r| r.id).collect::<BTreeSet<_>>()
            }
        };
        let a = ids("wa-a").await;
        secret.extend(ids("wa-b").await.into_iter().filter(|id| !a.contains(id)));
    }
    secret.insert(MARKER.to_owned());
    let access = serve::access(&[("token-a".into(), vec!["wa-a".into()]), ("token-b".into(), vec!["wa-b".into()])]);
    let feed: Arc<dyn ServerStore> = Arc::new(store);
    let running = serve::start(feed, ServerConfig::new(access), "127.0.0.1:0").await.expect("start server");
    (running, secret, dir)
}

fn leaked<'a>(body: &[u8], secret: &'a BTreeSet<String>) -> Option<&'a String> {
    let text = String::from_utf8_lossy(body);
    secret.iter().find(|id| text.contains(id.as_str()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_for_one_integration_reads_nothing_of_another() {
    let (server, secret, _dir) = server().await;
    let collections: Vec<String> = whatsapp::schema().collections.iter().map(|c| c.name.clone()).collect();
    assert!(secret.len() > 100, "wa-b has rows of its own to look for: {}", secret.len());

    // Control: the detector sees wa-b's rows when its own token reads them, so silence below means something.
    let (status, body) = raw_get(server.addr, "/sync/contacts/wa-b?limit=10000", "Bearer token-b").await;
    assert_eq!(status, 200);
    assert!(leaked(&body, &secret).is_some(), "the control read must show wa-b's ids");

    // Header tricks on the plain name of wa-b; every URL trick with token A's plain header.
    let header_tricks = ["Bearer  token-a ", "bearer token-a", "Bearer token-a, Bearer token-b", "Bearer token-a\tx"];
    let mut requests = vec![];
    for scope in scope_tricks() {
        requests.extend(targets(&scope, &collections).into_iter().map(|t| (t, "Bearer token-a")));
    }
    for authorization in header_tricks {
        requests.extend(targets("wa-b", &collections).into_iter().map(|t| (t, authorization)));
    }
    let mut probes = 0usize;
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for (target, authorization) in requests {
        let (status, body) = raw_get(server.addr, &target, authorization).await;
        probes += 1;
        *statuses.entry(status).or_default() += 1;
        assert!(status < 500, "{target} with {authorization:?} answered {status}");
        if let Some(id) = leaked(&body, &secret) {
            panic!("{target} with {authorization:?} leaked wa-b's {id:?}: {}", String::from_utf8_lossy(&body));
        }
        // Only wa-a itself may answer with data.
        if status == 200 && body.starts_with(b"{") {
            let text = String::from_utf8_lossy(&body);
            assert!(!text.contains("\"wa-b"), "{target}: {text}");
        }
    }
    println!("cross-tenant probes: {probes}, by status: {statuses:?}, wa-b-only ids looked for: {}", secret.len());
    assert!(probes > 5_000, "every trick was tried: {probes}");
    assert!(statuses.get(&200).is_some_and(|&n| n > 0), "wa-a's own reads succeed: {statuses:?}");
    server.stop().await.expect("stop");
}
