//! A loopback server with media files, shared by the HTTP and OpenAPI tests.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use sync_core::memory::MemoryFeed;
use sync_core::{Collection, Column, ColumnType, Schema, ServerStore, Value, Write};
use sync_http::{Access, MediaDir, ServerConfig, router, serve};

fn files_schema() -> Schema {
    let columns = vec![
        Column::new("size_bytes", ColumnType::Integer),
        Column::new("sha256", ColumnType::Text),
        Column::new("mime_type", ColumnType::Text),
    ];
    Schema::new(vec![Collection::new("files", columns)]).expect("schema")
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// A server with media `a1` (300 KB) in alpha, `b1` in beta, `gone` (a row whose file is missing) and `liar`
/// (a row whose size is not the file's) in alpha.
pub(crate) async fn media_server(dir: &std::path::Path) -> (String, Vec<u8>, tokio::sync::oneshot::Sender<()>) {
    let feed = Arc::new(MemoryFeed::new(files_schema()));
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let hash = sha256_hex(&bytes);
    std::fs::write(dir.join(&hash), &bytes).expect("write the file");
    let row = |size: usize, sha: &str| vec![Value::Integer(size as i64), Value::from(sha), Value::from("image/jpeg")];
    let upsert = |id: &str, values| Write::Upsert { collection: "files".into(), id: id.into(), values };
    let writes = vec![
        upsert("a1", row(bytes.len(), &hash)),
        upsert("gone", row(10, &"0".repeat(64))),
        upsert("liar", row(bytes.len() + 1, &hash)),
    ];
    feed.write("alpha", writes).await.expect("alpha");
    feed.write("beta", vec![upsert("b1", row(bytes.len(), &hash))]).await.expect("beta");
    let mut config = ServerConfig::new(Access::new().grant("alpha-token", &["alpha"]).grant_all("admin"));
    config.media = Some(Arc::new(MediaDir::new(feed.clone(), dir, "files")));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(listener, router(feed, config), async move {
        let _ = stopped.await;
    }));
    (url, bytes, stop)
}
