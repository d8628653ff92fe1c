//! Rows changed by plain SQL from another program (a connection with the default search_path, as `psql`
//! would open) take new seqs through the triggers and reach the client: updates, deletes (as tombstones) and
//! inserts.

use server_example::generate::{Sizes, generate};
use server_example::whatsapp;
use sync_core::{ChangeFeed, ClientStore, ServerStore, SyncOptions, Value};

use crate::support::{Db, available, client, serve, tempdir, verify};

const SCOPE: &str = "wa-sql";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_sql_updates_deletes_and_inserts_reach_the_client() {
    if !available().await {
        return;
    }
    let db = Db::fresh(whatsapp::schema()).await;
    generate(db.store.as_ref(), SCOPE, Sizes { conversations: 5, messages: 200, contacts: 5 }, 3, |_| {})
        .await
        .expect("seed");
    let server = serve(db.store.clone()).await;
    let dir = tempdir();
    let client = client(&server, dir.path(), "client", vec![]);
    client.engine.sync(SCOPE, SyncOptions::default()).await.expect("initial sync");

    let messages = db.store.read_rows(SCOPE, "messages", None, 3).await.expect("rows");
    let (edited, deleted) = (&messages[0].id, &messages[1].id);
    let psql = db.raw(false).await;
    let table = db.table("messages");
    let update = format!("UPDATE {table} SET body = 'edited by psql' WHERE integration_id = $1 AND id = $2");
    assert_eq!(psql.execute(&update, &[&SCOPE, edited]).await.expect("update"), 1);
    let delete = format!("DELETE FROM {table} WHERE integration_id = $1 AND id = $2");
    psql.execute(&delete, &[&SCOPE, deleted]).await.expect("delete");
    let contacts = db.table("contacts");
    let insert = format!(
        "INSERT INTO {contacts} (id, integration_id, jid, is_business, updated_at) VALUES ('c-psql', $1, 'x@s', false, 0)"
    );
    psql.execute(&insert, &[&SCOPE]).await.expect("insert");

    let report = client.engine.sync(SCOPE, SyncOptions::default()).await.expect("sync after psql");
    let messages_report = report.collection("messages").expect("messages");
    assert_eq!((messages_report.upserted, messages_report.deleted), (1, 1), "the edit and the tombstone");
    let local = client.store.read_rows(SCOPE, "messages", None, 1_000).await.expect("local rows");
    let body = &local.iter().find(|r| &r.id == edited).expect("edited row").values[4];
    assert_eq!(body, &Value::Text("edited by psql".into()));
    assert!(!local.iter().any(|r| &r.id == deleted), "the deleted row is gone from the client");
    let v = verify(&whatsapp::schema(), SCOPE, client.store.as_ref(), db.store.as_ref()).await;
    assert!(v.is_exact(), "{:?}", v.differences);

    // The counters followed: the status counts what is live.
    let status = db.store.status(SCOPE).await.expect("status");
    assert_eq!(status.collections["messages"].count, 199);
    assert_eq!(status.collections["contacts"].count, 6);
    // A TRUNCATE would delete without tombstones: refused.
    assert!(psql.batch_execute(&format!("TRUNCATE {table}")).await.is_err());
    server.stop().await.expect("stop");
}
