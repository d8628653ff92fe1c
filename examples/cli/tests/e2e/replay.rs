//! PROTOCOL.md invariant 5 over real HTTP into a real SQLite file: a page applied twice changes nothing, and an
//! old page replayed after its rows changed (a stale cache, a lost cursor restored from a backup) never puts
//! older values over newer ones.

use sync_core::testing::post;
use sync_core::{ChangeFeed, ClientStore, ServerStore, SyncOptions, Value, Write, wire};

use crate::hostile::{client, seeded, spawn};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_and_stale_pages_never_overwrite_newer_rows() {
    let hostile = seeded().await;
    let url = spawn(hostile.clone()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("replay.db");
    let c = client(&db, &url);
    c.engine.sync("s", SyncOptions::default()).await.expect("first sync");

    // The first posts page as the server sent it then.
    let schema = hostile.feed.schema().clone();
    let stale_page = hostile.feed.page("s", "posts", 0, 4).await.expect("page");
    let stale = String::from_utf8(wire::encode_page(schema.collection("posts").expect("posts"), "s", &stale_page))
        .expect("utf8");

    // p00 is edited on the server and reaches the client.
    let edited = post("t0", "edited on the server");
    hostile
        .feed
        .write("s", vec![Write::Upsert { collection: "posts".into(), id: "p00".into(), values: edited.clone() }])
        .await
        .expect("edit");
    c.engine.sync("s", SyncOptions::default()).await.expect("second sync");
    let before = c.store.read_rows("s", "posts", None, 100).await.expect("rows");
    assert_eq!(before[0].values, edited);

    // The cursor is lost (as after restoring an old backup of sync_state) and the stale page comes back.
    {
        let conn = rusqlite::Connection::open(&db).expect("open");
        conn.execute("UPDATE sync_state SET last_seq = 0 WHERE collection = 'posts'", []).expect("rewind");
    }
    *hostile.script.lock().expect("lock") = Some((0, 0, stale));
    let c = client(&db, &url);
    let replay = c.engine.sync("s", SyncOptions::default()).await.expect("replayed sync");
    assert!(replay.collection("posts").expect("posts").pages >= 1, "the stale page was applied");
    let after = c.store.read_rows("s", "posts", None, 100).await.expect("rows");
    assert_eq!(after, before, "an older version never replaces a newer one, and unchanged rows stay as they were");
    assert!(matches!(&after[0].values[1], Value::Text(t) if t == "edited on the server"));

    // Honest again: the next sync brings the client back to exact.
    *hostile.script.lock().expect("lock") = None;
    c.engine.sync("s", SyncOptions::default()).await.expect("sync");
    let v = sync_core::verify_scope(&schema, "s", c.store.as_ref(), &hostile.feed).await.expect("verify");
    assert!(v.is_exact(), "{:?}", v.differences);
}
