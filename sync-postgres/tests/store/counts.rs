//! What the triggers keep per transaction (migration 007: the counter and the live counts saved once at commit,
//! the counts taken per statement; 009: the lock reserves the next seq, the save only when the transaction took
//! another number) stays exact under the plain-SQL statements another program may run: rows of two integrations
//! in one statement, upserts, `ON CONFLICT DO NOTHING` skipping the row that first took an integration's seq, a
//! rolled-back savepoint, deletes, two collections in one transaction, a lock that writes nothing, and writes
//! under `SET CONSTRAINTS ALL IMMEDIATE` (which fires deferred triggers early).

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
    let wrong = sql
        .query(
            "WITH r AS (SELECT integration_id, 'threads' AS collection, count(*) FILTER (WHERE NOT deleted) AS live
                        FROM threads GROUP BY 1
                        UNION ALL SELECT integration_id, 'posts', count(*) FILTER (WHERE NOT deleted) FROM posts GROUP BY 1)
             SELECT r.integration_id, r.collection, r.live, c.live FROM r
             LEFT JOIN sync_counts c USING (integration_id, collection) WHERE r.live IS DISTINCT FROM COALESCE(c.live, 0)",
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
