//! What the triggers keep per transaction (migration 007: the counter and the live counts saved once at commit;
//! 009: the lock reserves the next seq, the save only when the transaction took another number; 010: the live
//! counts in the counter row, the first row's expected delta booked by the lock and consumed by its statement's
//! count) stays exact under the plain-SQL statements another program may run: rows of two integrations in one
//! statement, upserts, `ON CONFLICT DO NOTHING` skipping the row that first took an integration's seq, a
//! rolled-back savepoint, deletes, two collections in one transaction, a lock that writes nothing, writes under
//! `SET CONSTRAINTS ALL IMMEDIATE` (which fires deferred triggers early), and another program's trigger that
//! changes or skips a row after the seq trigger booked it; and across the upgrades from 009 and from 010. Since
//! 011 a transaction that writes one row of an integration runs no flush at commit; one that needs it does.

use sync_core::testing::test_schema;

use crate::support::{Db, available};

const THREAD: &str = "INSERT INTO threads (id, integration_id, title, archived, created_at) VALUES ";

/// Every integration's seqs are distinct across its collections, its counter is its greatest seq, and each
/// live count is the number of its rows not deleted.
async fn assert_exact(sql: &tokio_postgres::Client) {
    let rows = sql
        .query(
            "WITH r AS (SELECT integration_id, seq, deleted, 'threads' AS c FROM threads
                        UNION ALL SELECT integration_id, seq, deleted, 'posts' FROM posts)
             SELECT integration_id, count(*) - count(DISTINCT seq), max(seq),
                    (SELECT seq FROM sync_scopes s WHERE s.integration_id = r.integration_id)
             FROM r GROUP BY integration_id",
            &[],
        )
        .await
        .expect("seqs");
    assert!(!rows.is_empty());
    for row in rows {
        let (scope, repeated, max, counter): (String, i64, i64, i64) = (row.get(0), row.get(1), row.get(2), row.get(3));
        assert_eq!(repeated, 0, "{scope}: a seq taken twice");
        assert_eq!(max, counter, "{scope}: the counter is not the greatest seq");
    }
    assert_live_counts(sql).await;
}

/// Each live count is the number of its integration's rows not deleted in its collection.
async fn assert_live_counts(sql: &tokio_postgres::Client) {
    let wrong = sql
        .query(
            "WITH r AS (SELECT integration_id, 'threads' AS collection, count(*) FILTER (WHERE NOT deleted) AS live
                        FROM threads GROUP BY 1
                        UNION ALL SELECT integration_id, 'posts', count(*) FILTER (WHERE NOT deleted) FROM posts GROUP BY 1)
             SELECT integration_id, collection, COALESCE(r.live, 0), c.live FROM r
             FULL JOIN (SELECT integration_id, key AS collection, value::BIGINT AS live
                        FROM sync_scopes, jsonb_each_text(live)) c USING (integration_id, collection)
             WHERE COALESCE(r.live, 0) IS DISTINCT FROM COALESCE(c.live, 0)",
            &[],
        )
        .await
        .expect("counts");
    let wrong: Vec<(String, String, i64, Option<i64>)> =
        wrong.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect();
    assert!(wrong.is_empty(), "live counts differ from the rows (scope, collection, rows, count): {wrong:?}");
}

#[tokio::test]
async fn counters_and_live_counts_stay_exact_under_plain_sql() {
    if !available().await {
        return;
    }
    let db = Db::fresh(test_schema()).await;
    let sql = db.raw(true).await;
    sql.batch_execute(&format!(
        "{THREAD} ('t1', 'a', 'x', false, 0), ('t2', 'a', 'x', false, 0), ('t1', 'b', 'x', false, 0);
         BEGIN;
         {THREAD} ('t1', 'b', 'y', false, 0), ('t3', 'b', 'y', false, 0)
             ON CONFLICT (integration_id, id) DO UPDATE SET title = excluded.title;
         {THREAD} ('t2', 'a', 'z', false, 0) ON CONFLICT DO NOTHING;
         {THREAD} ('t4', 'a', 'z', false, 0);
         INSERT INTO posts (id, integration_id, thread_id, body) VALUES ('p1', 'a', 't4', 'hi'), ('p2', 'b', 't3', 'hi');
         SAVEPOINT s;
         {THREAD} ('t5', 'c', 'gone', false, 0), ('t5', 'a', 'gone', false, 0);
         ROLLBACK TO s;
         DELETE FROM threads WHERE id = 't1';
         UPDATE posts SET body = 'edited';
         COMMIT;"
    ))
    .await
    .expect("plain-SQL writes");
    assert_exact(&sql).await;
    // A transaction whose only row of an integration is skipped after taking a seq still saves the counter:
    // the next transaction's seq is above it.
    sql.batch_execute(&format!(
        "BEGIN; {THREAD} ('t2', 'a', 'skipped', false, 0) ON CONFLICT DO NOTHING; COMMIT;
         {THREAD} ('t6', 'a', 'after', false, 0);"
    ))
    .await
    .expect("a skipped row, then one more");
    assert_exact(&sql).await;
    // Under `SET CONSTRAINTS ALL IMMEDIATE`, set before the first write and again between two writes (which fires
    // the pending flush then): every seq is still saved and counted once.
    sql.batch_execute(&format!(
        "BEGIN; SET CONSTRAINTS ALL IMMEDIATE;
         {THREAD} ('i1', 'a', 'now', false, 0), ('i2', 'a', 'now', false, 0);
         SET CONSTRAINTS ALL IMMEDIATE;
         {THREAD} ('i3', 'a', 'now', false, 0);
         COMMIT;
         {THREAD} ('i4', 'a', 'after', false, 0);"
    ))
    .await
    .expect("writes under immediate constraints");
    assert_exact(&sql).await;
    let gone: i64 =
        sql.query_one("SELECT count(*) FROM sync_scopes WHERE integration_id = 'c'", &[]).await.expect("c").get(0);
    assert_eq!(gone, 0, "the rolled-back savepoint's integration left no counter");
}

/// The counter of integration `a`.
async fn counter(sql: &tokio_postgres::Client) -> i64 {
    sql.query_one("SELECT seq FROM sync_scopes WHERE integration_id = 'a'", &[]).await.expect("the counter").get(0)
}

#[tokio::test]
async fn the_seq_reserved_by_the_lock_is_saved_or_given_back() {
    if !available().await {
        return;
    }
    let db = Db::fresh(test_schema()).await;
    let sql = db.raw(true).await;
    sql.batch_execute(&format!("{THREAD} ('r1', 'a', 'one', false, 0)")).await.expect("a single-row write");
    assert_eq!(counter(&sql).await, 1);
    // A lock that writes nothing (a push whose mutations change nothing) gives the reserved seq back.
    sql.batch_execute("BEGIN; SELECT sync_lock_scope('a'); COMMIT;").await.expect("a lock alone");
    assert_eq!(counter(&sql).await, 1, "a transaction that took no seq moved the counter");
    sql.batch_execute(&format!(
        // The reservation rolled back with its savepoint, then taken again.
        "BEGIN; SAVEPOINT s; {THREAD} ('r2', 'a', 'gone', false, 0); ROLLBACK TO s;
         {THREAD} ('r3', 'a', 'kept', false, 0); COMMIT;
         BEGIN; {THREAD} ('r4', 'a', 'one', false, 0);
         SET CONSTRAINTS ALL IMMEDIATE;
         {THREAD} ('r5', 'a', 'then another', false, 0), ('r6', 'a', 'and another', false, 0);
         COMMIT;"
    ))
    .await
    .expect("a rolled-back reservation; a flush that fired after exactly the reserved seq");
    assert_exact(&sql).await;
    assert_eq!(counter(&sql).await, 5);
}

#[tokio::test]
async fn live_counts_stay_exact_when_the_first_row_is_not_the_one_booked() {
    if !available().await {
        return;
    }
    let db = Db::fresh(test_schema()).await;
    let sql = db.raw(true).await;
    // Another program's trigger, after the seq trigger (triggers fire in name order): it turns a row into a
    // tombstone, or skips it, after the lock booked the row's delta.
    sql.batch_execute(
        "CREATE FUNCTION other_program() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             IF NEW.title = 'skip' THEN RETURN NULL; END IF;
             IF NEW.title = 'flip' THEN NEW.deleted := NOT NEW.deleted; END IF;
             RETURN NEW;
         END $$;
         CREATE TRIGGER zz_other_program BEFORE INSERT OR UPDATE ON threads FOR EACH ROW EXECUTE FUNCTION other_program();",
    )
    .await
    .expect("another program's trigger");
    // One transaction each: the lock books the delta of a transaction's first row of an integration.
    for write in [
        format!("{THREAD} ('t1', 'a', 'x', false, 0), ('t2', 'a', 'x', false, 0), ('t3', 'a', 'x', false, 0)"),
        "DELETE FROM threads WHERE id = 't1'".into(),
        "UPDATE threads SET deleted = false WHERE id = 't1'".into(),
        "INSERT INTO threads (id, integration_id, title, archived, created_at, deleted) VALUES ('t4', 'a', 'x', false, 0, true)".into(),
        format!("{THREAD} ('t5', 'a', 'skip', false, 0)"),
        format!("{THREAD} ('t6', 'a', 'flip', false, 0)"),
        "UPDATE threads SET title = 'flip' WHERE id = 't2'".into(),
        format!("{THREAD} ('t3', 'a', 'x', false, 0), ('t1', 'b', 'x', false, 0) ON CONFLICT DO NOTHING"),
        format!("{THREAD} ('t7', 'a', 'skip', false, 0), ('t2', 'b', 'x', false, 0), ('t3', 'b', 'flip', false, 0)"),
        format!("BEGIN; {THREAD} ('t8', 'a', 'skip', false, 0); {THREAD} ('t9', 'a', 'x', false, 0); COMMIT;"),
        format!("{THREAD} ('t10', 'c', 'skip', false, 0)"),
    ] {
        sql.batch_execute(&write).await.unwrap_or_else(|e| panic!("{write}: {e}"));
        // The counters may stand above the greatest seq here: a skipped row took its seq.
        assert_live_counts(&sql).await;
    }
    sql.batch_execute(&format!(
        "{THREAD} ('t11', 'a', 'x', false, 0), ('t11', 'b', 'x', false, 0), ('t11', 'c', 'x', false, 0)"
    ))
    .await
    .expect("one more row each");
    assert_exact(&sql).await;
}

#[tokio::test]
async fn live_counts_carry_over_the_upgrade_from_009() {
    if !available().await {
        return;
    }
    let db = Db::fresh(test_schema()).await;
    let sql = db.raw(true).await;
    let namespace = format!("\"{}\"", db.namespace);
    sql.batch_execute(&sync_postgres::before::downgrade_to_009(&namespace)).await.expect("back to 009");
    let writes = |scope: &str| {
        format!(
            "{THREAD} ('t1', '{scope}', 'x', false, 0), ('t2', '{scope}', 'x', false, 0), ('t3', '{scope}', 'x', false, 0);
             INSERT INTO posts (id, integration_id, thread_id, body) VALUES ('p1', '{scope}', 't1', 'hi'), ('p2', '{scope}', 't1', 'hi');
             DELETE FROM threads WHERE id = 't2' AND integration_id = '{scope}';"
        )
    };
    sql.batch_execute(&format!("{}{}", writes("a"), writes("b"))).await.expect("writes under 009");
    let under_009: i64 =
        sql.query_one("SELECT sum(live)::BIGINT FROM sync_counts", &[]).await.expect("009's counts").get(0);
    assert_eq!(under_009, 8, "009 counted 2 threads and 2 posts in each of a and b");
    let store = sync_postgres::PostgresStore::connect_in(&sync_postgres::testing::url(), &db.namespace, test_schema())
        .await
        .expect("the upgrade");
    assert_exact(&sql).await;
    let status = sync_core::ChangeFeed::status(&store, "a").await.expect("status");
    assert_eq!(status.collections["threads"].count, 2);
    assert_eq!(status.collections["posts"].count, 2);
    sql.batch_execute(&format!("{}DELETE FROM posts WHERE id = 'p1';", writes("c"))).await.expect("writes under 010");
    assert_exact(&sql).await;
}

/// The calls of `sync_flush_scope` by a transaction's `writes`, counted before it commits (the immediate
/// constraints fire any flush still queued). The function statistics of a session accumulate across its
/// transactions until it reports them: a difference within the transaction.
async fn flushes(sql: &tokio_postgres::Client, writes: &str) -> i64 {
    const CALLS: &str =
        "SELECT COALESCE(sum(calls), 0)::BIGINT FROM pg_stat_xact_user_functions WHERE funcname = 'sync_flush_scope'";
    sql.batch_execute("BEGIN; SET LOCAL track_functions = 'pl'").await.expect("begin");
    let before: i64 = sql.query_one(CALLS, &[]).await.expect("function statistics").get(0);
    sql.batch_execute(&format!("{writes}; SET CONSTRAINTS ALL IMMEDIATE"))
        .await
        .unwrap_or_else(|e| panic!("{writes}: {e}"));
    let after: i64 = sql.query_one(CALLS, &[]).await.expect("function statistics").get(0);
    sql.batch_execute("COMMIT").await.expect("commit");
    after - before
}

#[tokio::test]
async fn only_a_transaction_that_needs_it_runs_the_flush() {
    if !available().await {
        return;
    }
    let db = Db::fresh(test_schema()).await;
    let sql = db.raw(true).await;
    sql.batch_execute(&format!("{THREAD} ('t0', 'a', 'x', false, 0), ('t0', 'b', 'x', false, 0)")).await.expect("rows");
    for (writes, expected) in [
        (format!("{THREAD} ('t1', 'a', 'x', false, 0)"), 0),
        ("UPDATE threads SET deleted = true WHERE id = 't1'".to_owned(), 0),
        // One integration per transaction goes without: the second's reservation queues its flush.
        (format!("{THREAD} ('t2', 'a', 'x', false, 0); {THREAD} ('t1', 'b', 'x', false, 0)"), 1),
        // A second seq, a skipped row, a live row updated (nothing to count), an upsert's update, the store's lock.
        (format!("{THREAD} ('t3', 'a', 'x', false, 0), ('t4', 'a', 'x', false, 0)"), 1),
        (format!("{THREAD} ('t3', 'a', 'x', false, 0) ON CONFLICT DO NOTHING"), 1),
        ("UPDATE threads SET title = 'y' WHERE id = 't3'".to_owned(), 1),
        (format!("{THREAD} ('t3', 'a', 'z', false, 0) ON CONFLICT (integration_id, id) DO UPDATE SET title = 'z'"), 1),
        ("SELECT sync_lock_scope('a')".to_owned(), 1),
    ] {
        assert_eq!(flushes(&sql, &writes).await, expected, "{writes}");
        assert_live_counts(&sql).await;
    }
    assert_exact(&sql).await;
}

#[tokio::test]
async fn a_lock_after_an_early_flush_takes_no_seq_twice() {
    if !available().await {
        return;
    }
    let db = Db::fresh(test_schema()).await;
    let sql = db.raw(true).await;
    // `a` locked, parked by `b`, locked again; the flushes fired by the immediate constraints forget both lock
    // states, so the last row locks `a` anew instead of taking a seq from the counter parked before.
    sql.batch_execute(&format!(
        "BEGIN;
         {THREAD} ('t1', 'a', 'x', false, 0), ('t2', 'a', 'x', false, 0);
         {THREAD} ('t1', 'b', 'x', false, 0), ('t2', 'b', 'x', false, 0);
         {THREAD} ('t3', 'a', 'x', false, 0);
         SET CONSTRAINTS ALL IMMEDIATE;
         {THREAD} ('t4', 'a', 'x', false, 0);
         COMMIT;
         {THREAD} ('t5', 'a', 'x', false, 0);"
    ))
    .await
    .expect("writes");
    assert_exact(&sql).await;
}

#[tokio::test]
async fn live_counts_carry_over_the_downgrade_to_010() {
    if !available().await {
        return;
    }
    let db = Db::fresh(test_schema()).await;
    let sql = db.raw(true).await;
    let namespace = format!("\"{}\"", db.namespace);
    sql.batch_execute(&format!("{THREAD} ('t1', 'a', 'x', false, 0)")).await.expect("a row under 011");
    sql.batch_execute(&sync_postgres::before::downgrade_to_010(&namespace)).await.expect("back to 010");
    sql.batch_execute(&format!("{THREAD} ('t2', 'a', 'x', false, 0), ('t3', 'a', 'x', false, 0)"))
        .await
        .expect("rows under 010");
    assert_exact(&sql).await;
    sync_postgres::PostgresStore::connect_in(&sync_postgres::testing::url(), &db.namespace, test_schema())
        .await
        .expect("the upgrade to 011");
    sql.batch_execute(&format!("{THREAD} ('t4', 'a', 'x', false, 0)")).await.expect("a row under 011 again");
    assert_exact(&sql).await;
}
