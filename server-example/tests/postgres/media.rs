//! `GET /media/{integration_id}/{media_id}` served from a PostgreSQL store: `MediaDir` finds the file through
//! the store's `message_media` rows, as on the embedded store (`sync-http/tests/http/media.rs` has the ranges and
//! access rules in detail).

use std::sync::Arc;

use server_example::generate::{Sizes, generate_with_media};
use server_example::media::{MediaPool, MediaProfile};
use server_example::serve::{access, start};
use server_example::whatsapp;
use sha2::{Digest, Sha256};
use sync_core::{ServerStore, Value};
use sync_http::{MediaDir, ServerConfig};

use crate::support::{Db, TOKEN, available, tempdir};

const SCOPE: &str = "wa-media";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_files_are_served_from_a_postgres_store_whole_and_by_range() {
    if !available().await {
        return;
    }
    let db = Db::fresh(whatsapp::schema()).await;
    let dir = tempdir();
    let pool = MediaPool::new(9, MediaProfile::Small, 1);
    pool.write(dir.path()).expect("write the media files");
    let sizes = Sizes { conversations: 3, messages: 200, contacts: 4 };
    generate_with_media(db.store.as_ref(), SCOPE, sizes, 9, &pool, |_| {}).await.expect("seed");
    let mut config = ServerConfig::new(access(&[(TOKEN.into(), vec![SCOPE.into()])]));
    let store: Arc<dyn ServerStore> = db.store.clone();
    config.media = Some(Arc::new(MediaDir::new(store, dir.path(), "message_media")));
    let server = start(db.store.clone(), config, "127.0.0.1:0").await.expect("start");

    let row = db.store.read_rows(SCOPE, "message_media", None, 1).await.expect("a media row").remove(0);
    // The row's SHA-256: its one 64-hex-digit text value.
    let sha = row.values.iter().find_map(|v| match v {
        Value::Text(t) if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) => Some(t.clone()),
        _ => None,
    });
    let sha = sha.unwrap_or_else(|| panic!("a sha256 in {row:?}"));
    let url = format!("{}/media/{SCOPE}/{}", server.url(), row.id);
    let http = reqwest::Client::new();
    let whole = http.get(&url).bearer_auth(TOKEN).send().await.expect("get");
    assert_eq!(whole.status(), 200);
    let bytes = whole.bytes().await.expect("body");
    let hex: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, sha, "the bytes are the file the row describes");
    let part = http.get(&url).bearer_auth(TOKEN).header("range", "bytes=100-").send().await.expect("get");
    assert_eq!(part.status(), 206);
    assert_eq!(part.bytes().await.expect("body").as_ref(), &bytes[100..]);
    let other = format!("{}/media/wa-other/{}", server.url(), row.id);
    assert_eq!(http.get(&other).bearer_auth(TOKEN).send().await.expect("get").status(), 403);
}
