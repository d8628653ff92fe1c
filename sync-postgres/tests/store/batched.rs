//! Upserts go to PostgreSQL many rows per `INSERT … ON CONFLICT` statement: a batch mixing new rows, existing
//! rows, tombstones and the same id twice still gives each write one seq, in write order, with no gap, and
//! keeps the live count and the counter exact.

use sync_core::testing::{post, test_schema, thread};
use sync_core::{ChangeFeed, ServerStore, Write};

use crate::support::{Db, available};

const SCOPE: &str = "wa-batched";

fn up(collection: &str, id: &str, values: Vec<sync_core::Value>) -> Write {
    Write::Upsert { collection: collection.into(), id: id.into(), values }
}

#[tokio::test]
async fn a_mixed_batch_takes_one_seq_per_write_in_write_order() {
    if !available().await {
        return;
    }
    let db = Db::fresh(test_schema()).await;
    let first = vec![up("threads", "a", thread("a")), up("threads", "b", thread("b")), up("threads", "c", thread("c"))];
    assert_eq!(db.store.write(SCOPE, first).await.expect("first batch").last_seq, 3);
    let gone = vec![Write::Delete { collection: "threads".into(), id: "c".into() }];
    assert_eq!(db.store.write(SCOPE, gone).await.expect("delete").last_seq, 4);

    // New row, existing row, the same id again (a second statement), a post between, a revived tombstone.
    let batch = vec![
        up("threads", "d", thread("d")),
        up("threads", "a", thread("a2")),
        up("threads", "d", thread("d2")),
        up("posts", "p", post("a", "hi")),
        up("threads", "c", thread("c2")),
        up("threads", "b", thread("b2")),
    ];
    let receipt = db.store.write(SCOPE, batch).await.expect("mixed batch");
    assert_eq!((receipt.upserted, receipt.last_seq), (6, 10));

    let page = db.store.page(SCOPE, "threads", 0, 10).await.expect("page");
    let got: Vec<(&str, i64, bool)> = page.rows.iter().map(|r| (r.id.as_str(), r.seq, r.is_delete())).collect();
    // d took 5 then 7, p took 8: each write one seq, in the order written.
    assert_eq!(got, vec![("a", 6, false), ("d", 7, false), ("c", 9, false), ("b", 10, false)]);
    assert_eq!(page.total_count, 4, "live count: c revived, d counted once");
    assert_eq!(db.store.get(SCOPE, "threads", "d").await.expect("get"), Some(thread("d2")));
    assert_eq!(db.store.get(SCOPE, "threads", "c").await.expect("get"), Some(thread("c2")));
    let posts = db.store.page(SCOPE, "posts", 0, 10).await.expect("posts");
    assert_eq!(posts.rows.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![8]);
    assert_eq!(db.store.status(SCOPE).await.expect("status").latest_seq, 10);
}
