//! Resuming, pause / resume / cancel, priority, and media deleted or changed on the server.

use std::path::Path;
use std::sync::{Arc, Mutex};

use sync_core::{ServerStore, Value, Write};
use sync_media::{AutoDownload, ItemState, MediaDownloader, MediaEvent, MediaOptions};

use crate::support::{SCOPE_A, SCOPE_B, Server, TOKEN_A, TOKEN_ADMIN, assert_no_partials, assert_verified, server};

/// Media ids of `scope` in the replica `db`, largest first, with their sizes and hashes.
fn media_rows(db: &Path, scope: &str) -> Vec<(String, u64, String)> {
    let conn = rusqlite::Connection::open(db).expect("open replica");
    let mut statement = conn
        .prepare(
            "SELECT id, size_bytes, sha256 FROM message_media WHERE integration_id = ?1 ORDER BY size_bytes DESC, id",
        )
        .expect("prepare");
    statement
        .query_map([scope], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64, r.get(2)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

async fn manual(
    server: &Server,
    name: &str,
    concurrency: usize,
) -> (MediaDownloader, std::path::PathBuf, std::path::PathBuf) {
    let db = server.path(&format!("{name}.db"));
    server.sync(&db, TOKEN_A, SCOPE_A).await;
    let folder = server.path(&format!("{name}-downloads"));
    let mut options: MediaOptions = server.options(&db, &folder, &server.running.url(), TOKEN_A);
    options.auto = AutoDownload::off();
    options.concurrency = concurrency;
    (MediaDownloader::open(options).expect("open"), folder, db)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_file_resumes_from_its_offset_and_a_bad_one_restarts() {
    let server = server(400, 2).await;
    let (media, folder, db) = manual(&server, "resume", 2).await;
    let rows = media_rows(&db, SCOPE_A);
    let ((good, size, sha), (bad, bad_size, bad_sha)) = (rows[0].clone(), rows[1].clone());
    let bytes = std::fs::read(server.path("media").join(&sha)).expect("the server's file");
    let half = size / 2;
    std::fs::write(media.partial_path(SCOPE_A, &good), &bytes[..half as usize]).expect("partial");
    let mut wrong = std::fs::read(server.path("media").join(&bad_sha)).expect("file");
    wrong[10] ^= 0xff;
    std::fs::write(media.partial_path(SCOPE_A, &bad), &wrong[..(bad_size / 3) as usize]).expect("partial");
    media.download(SCOPE_A, &good, 0).await.expect("queue");
    media.download(SCOPE_A, &bad, 0).await.expect("queue");
    media.run_until_idle().await.expect("run");

    let item = media.item(SCOPE_A, &good).await.expect("item").expect("queued");
    assert_eq!((item.state, item.requested_bytes, item.attempts), (ItemState::Done, size - half, 0));
    let item = media.item(SCOPE_A, &bad).await.expect("item").expect("queued");
    assert_eq!(item.state, ItemState::Done);
    assert_eq!(item.attempts, 1, "the damaged partial file failed the hash once");
    assert_eq!(item.error_code, None);
    assert_eq!(item.requested_bytes, bad_size - bad_size / 3 + bad_size, "the resume, then from zero");
    assert_verified(&media.items().await.expect("items"), &folder);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn priority_pause_resume_and_cancel() {
    let server = server(400, 2).await;
    let (media, folder, db) = manual(&server, "control", 1).await;
    let rows = media_rows(&db, SCOPE_A);
    let ids: Vec<&str> = rows.iter().take(5).map(|r| r.0.as_str()).collect();
    let order = Arc::new(Mutex::new(Vec::new()));
    let seen = order.clone();
    media.set_listener(Arc::new(move |e: &MediaEvent| {
        if let MediaEvent::State { media_id, state: ItemState::Done, .. } = e {
            seen.lock().expect("lock").push(media_id.clone());
        }
    }));
    for (id, priority) in ids.iter().zip([1, 5, 3, 9, 9]) {
        media.download(SCOPE_A, id, priority).await.expect("queue");
    }
    media.pause(SCOPE_A, ids[3]).await.expect("pause");
    media.cancel(SCOPE_A, ids[4]).await.expect("cancel");
    media.run_until_idle().await.expect("run");
    assert_eq!(*order.lock().expect("lock"), vec![ids[1], ids[2], ids[0]], "higher priority first");
    let state = |id: &str| {
        let media = media.clone();
        let id = id.to_owned();
        async move { media.item(SCOPE_A, &id).await.expect("item").expect("there").state }
    };
    assert_eq!(state(ids[3]).await, ItemState::Paused);
    assert_eq!(state(ids[4]).await, ItemState::Cancelled);
    media.resume(SCOPE_A, ids[3]).await.expect("resume");
    media.run_until_idle().await.expect("run");
    assert_eq!(state(ids[3]).await, ItemState::Done);
    let done: Vec<_> = media.items().await.expect("items").into_iter().filter(|i| i.state == ItemState::Done).collect();
    assert_eq!(done.len(), 4);
    assert_verified(&done, &folder);
    assert!(media.download(SCOPE_A, "no-such-media", 0).await.is_err_and(|e| e.code() == "unknown_media"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_deleted_or_changed_on_the_server_cancels_or_fetches_again() {
    let server = server(400, 2).await;
    let (media, folder, db) = manual(&server, "changes", 2).await;
    let rows = media_rows(&db, SCOPE_A);
    let (changed, waiting, missing) = (&rows[0].0, &rows[1].0, &rows[2].0);
    media.download(SCOPE_A, changed, 0).await.expect("queue");
    media.run_until_idle().await.expect("run");
    media.download(SCOPE_A, waiting, 0).await.expect("queue");
    media.pause(SCOPE_A, waiting).await.expect("pause");

    // On the server: `waiting` and `missing` are deleted, `changed` points at another file.
    let mut values = server.store.get(SCOPE_A, "message_media", changed).await.expect("get").expect("row");
    let other = server.pool.files().iter().find(|f| Value::from(f.sha256.as_str()) != values[5]).expect("a file");
    (values[4], values[5]) = (Value::Integer(other.size as i64), Value::from(other.sha256.as_str()));
    let writes = vec![
        Write::Upsert { collection: "message_media".into(), id: changed.clone(), values },
        Write::Delete { collection: "message_media".into(), id: waiting.clone() },
        Write::Delete { collection: "message_media".into(), id: missing.clone() },
    ];
    // `missing` is queued before the sync that removes it: the server answers 404.
    media.download(SCOPE_A, missing, 0).await.expect("queue");
    server.store.write(SCOPE_A, writes).await.expect("write");
    media.run_until_idle().await.expect("run");
    let item = media.item(SCOPE_A, missing).await.expect("item").expect("there");
    assert_eq!((item.state, item.error_code.as_deref(), item.attempts), (ItemState::Failed, Some("not_found"), 1));

    server.sync(&db, TOKEN_A, SCOPE_A).await;
    let reconciled = media.reconcile(SCOPE_A).await.expect("reconcile");
    assert_eq!(reconciled.changed, vec![changed.clone()]);
    assert!(reconciled.gone.contains(waiting), "{reconciled:?}");
    media.run_until_idle().await.expect("run");
    let item = media.item(SCOPE_A, changed).await.expect("item").expect("there");
    assert_eq!((item.state, item.record.sha256.as_deref()), (ItemState::Done, Some(other.sha256.as_str())));
    assert_verified(&[item], &folder);
    assert_eq!(media.item(SCOPE_A, waiting).await.expect("item").expect("there").state, ItemState::Cancelled);
    assert_no_partials(&folder);
}

/// The replica holds B's media (synced with the admin token), the downloader has A's token: no byte of B's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_integrations_media_gets_no_bytes() {
    let server = server(100, 1).await;
    let (media, folder, db) = manual(&server, "tenant", 2).await;
    server.sync(&db, TOKEN_ADMIN, SCOPE_B).await;
    let theirs = media_rows(&db, SCOPE_B);
    assert!(!theirs.is_empty());
    for (id, _, _) in &theirs {
        media.download(SCOPE_B, id, 0).await.expect("queue");
    }
    media.run_until_idle().await.expect("run");
    for item in media.items().await.expect("items") {
        assert_eq!((item.state, item.error_code.as_deref()), (ItemState::Failed, Some("forbidden")), "{item:?}");
        assert!(item.last_error.as_deref().is_some_and(|m| m.contains("403") && m.contains("token")));
    }
    let files: Vec<_> =
        std::fs::read_dir(&folder).expect("folder").filter_map(Result::ok).map(|e| e.file_name()).collect();
    assert_eq!(files, vec![std::ffi::OsString::from(".seqsync-partial")], "nothing downloaded");
    assert_no_partials(&folder);
}
