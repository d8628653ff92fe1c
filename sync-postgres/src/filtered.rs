//! Selective sync reads: a filtered page is one statement per source (the rows, and the rows that left a value),
//! each a `UNION ALL` of one range scan per value under `ORDER BY seq LIMIT`, which PostgreSQL runs as a Merge
//! Append: it reads O(limit + values) index entries whatever the cursor. Statements are cached per power-of-two
//! number of values, the unused arms bound to NULL (which matches nothing).

use sync_core::{Change, Collection, FeedError, FeedPage, FilteredRead, HeadRead, Row, merge_filtered};
use tokio_postgres::types::ToSql;

use super::convert::read_values;
use super::feed::snapshot;
use super::{PostgresStore, db, sql};

/// `SELECT <columns> FROM <table> WHERE integration_id = $1 AND <column> = $k AND seq > $2`, one arm per value
/// from `$first` on, ordered by seq, at most `$3` rows (`$2`, `$3` and `$first` shift by `shift`).
fn union(arms: usize, select: &str, column: &str, shift: usize) -> String {
    let first = 4 + shift;
    let parts: Vec<String> = (0..arms)
        .map(|i| format!("({select} AND \"{column}\" = ${} AND \"seq\" > ${})", first + i, 2 + shift))
        .collect();
    format!("{} ORDER BY \"seq\" LIMIT ${}", parts.join(" UNION ALL "), 3 + shift)
}

/// The rows statement of `c` for `arms` values: binds integration_id, since_seq, limit, the values.
pub(super) fn rows_sql(c: &Collection, filter: &str, arms: usize) -> String {
    let columns: String = c.columns.iter().map(|col| format!(", \"{}\"", col.name)).collect();
    let select =
        format!("SELECT \"id\", \"seq\", \"deleted\"{columns} FROM \"{}\" WHERE \"integration_id\" = $1", c.name);
    union(arms, &select, filter, 0)
}

/// The moves statement for `arms` values: binds integration_id, collection, since_seq, limit, the values.
pub(super) fn moves_sql(arms: usize) -> String {
    let select = "SELECT \"id\", \"seq\" FROM sync_moves WHERE \"integration_id\" = $1 AND \"collection\" = $2";
    union(arms, select, "old_value", 1)
}

/// The head of `c`: binds integration_id, an array of values, rows per value, an array of bounds (one per value).
pub(super) fn head_sql(c: &Collection, filter: &str) -> String {
    let columns: String = c.columns.iter().map(|col| format!(", r.\"{}\"", col.name)).collect();
    format!(
        "SELECT r.\"id\", r.\"seq\", r.\"deleted\"{columns} FROM unnest($2::text[], $4::bigint[]) AS v(value, bound) \
         CROSS JOIN LATERAL (SELECT * FROM \"{}\" t WHERE t.\"integration_id\" = $1 AND t.\"{filter}\" = v.value \
         AND t.\"seq\" < v.bound AND NOT t.\"deleted\" ORDER BY t.\"seq\" DESC LIMIT $3) r ORDER BY r.\"seq\"",
        c.name
    )
}

fn row_of(row: &tokio_postgres::Row, c: &Collection) -> Result<Row, tokio_postgres::Error> {
    let change = if row.get::<_, bool>(2) { Change::Delete } else { Change::Upsert(read_values(row, 3, &c.columns)?) };
    Ok(Row { id: row.get(0), seq: row.get(1), change })
}

impl PostgresStore {
    pub(super) async fn read_filtered(
        &self,
        scope: &str,
        collection: &str,
        read: &FilteredRead,
    ) -> Result<FeedPage, FeedError> {
        let (c, csql) = self.collection(collection)?;
        let filter =
            c.filter.as_deref().ok_or_else(|| FeedError::BadFilter(format!("`{collection}` has no filter")))?;
        let context = || format!("reading a filtered page of `{collection}` in integration {scope:?}");
        let arms = read.values.len().next_power_of_two();
        let values: Vec<Option<&str>> = (0..arms).map(|i| read.values.get(i).map(String::as_str)).collect();
        let fetch = i64::try_from(read.limit).unwrap_or(i64::MAX - 1).saturating_add(1);
        let mut client = self.client().await?;
        let tx = snapshot(&mut client).await.map_err(db(context()))?;
        let head = tx.prepare_cached(sql::SCOPE_AND_COUNT).await.map_err(db(context()))?;
        let Some(head) = tx.query_opt(&head, &[&scope, &collection]).await.map_err(db(context()))? else {
            return Err(FeedError::UnknownScope(scope.to_owned()));
        };
        let (horizon, live): (i64, i64) = (head.get(0), head.get(1));
        if !read.fresh && read.since_seq > 0 && read.since_seq < horizon {
            return Err(FeedError::ResyncRequired { since_seq: read.since_seq, horizon });
        }
        let latest = tx.prepare_cached(&csql.latest_seq).await.map_err(db(context()))?;
        let covered: i64 = tx.query_one(&latest, &[&scope]).await.map_err(db(context()))?.get(0);
        let stmt = tx.prepare_cached(&rows_sql(c, filter, arms)).await.map_err(db(context()))?;
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&scope, &read.since_seq, &fetch];
        params.extend(values.iter().map(|v| v as &(dyn ToSql + Sync)));
        let found = tx.query(&stmt, &params).await.map_err(db(context()))?;
        let stmt = tx.prepare_cached(&moves_sql(arms)).await.map_err(db(context()))?;
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&scope, &collection, &read.since_seq, &fetch];
        params.extend(values.iter().map(|v| v as &(dyn ToSql + Sync)));
        let moved = tx.query(&stmt, &params).await.map_err(db(context()))?;
        tx.commit().await.map_err(db(context()))?;
        let rows = found.iter().map(|row| row_of(row, c)).collect::<Result<Vec<_>, _>>().map_err(db(context()))?;
        let moves = moved.iter().map(|row| (row.get(0), row.get(1))).collect();
        let mut page = merge_filtered(rows, moves, read.since_seq, read.limit, covered);
        page.total_count = u64::try_from(live).unwrap_or(0);
        Ok(page)
    }

    pub(super) async fn read_head(
        &self,
        scope: &str,
        collection: &str,
        read: &HeadRead,
    ) -> Result<FeedPage, FeedError> {
        let (c, _) = self.collection(collection)?;
        let filter =
            c.filter.as_deref().ok_or_else(|| FeedError::BadFilter(format!("`{collection}` has no filter")))?;
        let context = || format!("reading the head of `{collection}` in integration {scope:?}");
        let per_value = i64::try_from(read.per_value).unwrap_or(i64::MAX);
        let (values, bounds): (Vec<String>, Vec<i64>) = read.values.iter().cloned().unzip();
        let mut client = self.client().await?;
        let tx = snapshot(&mut client).await.map_err(db(context()))?;
        let head = tx.prepare_cached(sql::SCOPE_AND_COUNT).await.map_err(db(context()))?;
        let Some(head) = tx.query_opt(&head, &[&scope, &collection]).await.map_err(db(context()))? else {
            return Err(FeedError::UnknownScope(scope.to_owned()));
        };
        let live: i64 = head.get(1);
        let stmt = tx.prepare_cached(&head_sql(c, filter)).await.map_err(db(context()))?;
        let found = tx.query(&stmt, &[&scope, &values, &per_value, &bounds]).await.map_err(db(context()))?;
        tx.commit().await.map_err(db(context()))?;
        let rows = found.iter().map(|row| row_of(row, c)).collect::<Result<Vec<_>, _>>().map_err(db(context()))?;
        let latest_seq = rows.last().map_or(0, |r| r.seq);
        Ok(FeedPage { rows, latest_seq, has_more: false, total_count: u64::try_from(live).unwrap_or(0) })
    }
}
