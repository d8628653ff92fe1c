//! `GET /media/{integration_id}/{media_id}` over loopback: whole files, ranges, `If-Range`, and access rules.

#[path = "../common/media_server.rs"]
mod media_server;

use media_server::{media_server, sha256_hex};

async fn fetch(url: &str, token: Option<&str>, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(url).header("accept-encoding", "gzip");
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("send")
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("<none>").to_owned()
}

#[tokio::test]
async fn a_file_is_served_whole_or_by_range_never_compressed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, bytes, _stop) = media_server(dir.path()).await;
    let etag = format!("\"{}\"", sha256_hex(&bytes));

    let whole = fetch(&format!("{url}/media/alpha/a1"), Some("alpha-token"), &[]).await;
    assert_eq!(whole.status(), 200);
    assert_eq!(header(&whole, "etag"), etag);
    assert_eq!(header(&whole, "accept-ranges"), "bytes");
    assert_eq!(header(&whole, "content-type"), "image/jpeg");
    assert_eq!(header(&whole, "content-length"), bytes.len().to_string());
    assert_eq!(header(&whole, "content-encoding"), "<none>", "media is not gzipped: ranges count file bytes");
    assert_eq!(whole.bytes().await.expect("body").as_ref(), bytes.as_slice());

    let part = fetch(&format!("{url}/media/alpha/a1"), Some("alpha-token"), &[("range", "bytes=123456-")]).await;
    assert_eq!(part.status(), 206);
    assert_eq!(header(&part, "content-range"), format!("bytes 123456-{}/{}", bytes.len() - 1, bytes.len()));
    assert_eq!(header(&part, "content-length"), (bytes.len() - 123_456).to_string());
    assert_eq!(part.bytes().await.expect("body").as_ref(), &bytes[123_456..]);

    let same = [("range", "bytes=10-19"), ("if-range", etag.as_str())];
    let part = fetch(&format!("{url}/media/alpha/a1"), Some("alpha-token"), &same).await;
    assert_eq!((part.status().as_u16(), part.bytes().await.expect("body").as_ref()), (206, &bytes[10..20]));
    let stale = [("range", "bytes=10-19"), ("if-range", "\"another-file\"")];
    let whole = fetch(&format!("{url}/media/alpha/a1"), Some("alpha-token"), &stale).await;
    assert_eq!(whole.status(), 200, "a partial copy of another version gets the whole file");

    let past = format!("bytes={}-", bytes.len());
    let refused = fetch(&format!("{url}/media/alpha/a1"), Some("alpha-token"), &[("range", &past)]).await;
    assert_eq!(refused.status(), 416);
    assert_eq!(header(&refused, "content-range"), format!("bytes */{}", bytes.len()));
}

#[tokio::test]
async fn another_integrations_media_gets_no_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, bytes, _stop) = media_server(dir.path()).await;
    let cases = [
        ("/media/beta/b1", Some("alpha-token"), 403, "forbidden"),
        ("/media/alpha/b1", Some("alpha-token"), 404, "not_found"),
        ("/media/alpha/a1", None, 401, "unauthorized"),
        ("/media/alpha/a1", Some("wrong"), 401, "unauthorized"),
        ("/media/alpha/nope", Some("alpha-token"), 404, "not_found"),
        ("/media/alpha/..%2F..%2Fetc%2Fpasswd", Some("alpha-token"), 404, "not_found"),
        ("/media/alpha/gone", Some("alpha-token"), 500, "internal"),
        ("/media/alpha/liar", Some("alpha-token"), 500, "internal"),
    ];
    for (path, token, status, code) in cases {
        let response = fetch(&format!("{url}{path}"), token, &[("range", "bytes=0-")]).await;
        assert_eq!(response.status().as_u16(), status, "{path}");
        let body = response.bytes().await.expect("body");
        assert!(body.len() < 1000 && !bytes.windows(64).any(|w| body.windows(64).any(|b| b == w)), "{path}");
        let json: serde_json::Value = serde_json::from_slice(&body).expect("a JSON error");
        assert_eq!(json["error"]["code"], code, "{path}: {json}");
    }
    // The operator's token reads beta's file.
    let admin = fetch(&format!("{url}/media/beta/b1"), Some("admin"), &[]).await;
    assert_eq!(admin.bytes().await.expect("body").as_ref(), bytes.as_slice());
}
