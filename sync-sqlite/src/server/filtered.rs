//! Selective sync reads of the server store: filtered pages as a lazy merge of one range scan per filter value
//! (so a page costs O(limit + values) whatever its cursor), and heads (the newest rows of each value).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rusqlite::{OptionalExtension, Transaction, params};
use sync_core::{Change, Collection, FeedError, FeedPage, FilteredRead, HeadRead, Row, merge_filtered};

use super::read::Reader;
use crate::convert;
use crate::sql::{self, FilterSql};

impl Reader {
    pub(super) fn page_filtered(
        &mut self,
        scope: &str,
        collection: &str,
        read: &FilteredRead,
    ) -> Result<FeedPage, FeedError> {
        let shared = self.shared();
        let (c, sql) = shared.collection(collection)?;
        let filter =
            sql.filter.as_ref().ok_or_else(|| FeedError::BadFilter(format!("`{collection}` has no filter")))?;
        let take = read.limit.saturating_add(1);
        let page = self.in_snapshot(scope, collection, |tx, (live, covered)| {
            let rows = merge_scans(tx, &filter.rows, (scope, None), read, take, |row| row_of(row, c))?;
            let moves = merge_scans(tx, sql::MOVES, (scope, Some(collection)), read, take, |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
            })?;
            let mut page = merge_filtered(rows, moves, read.since_seq, read.limit, covered);
            page.total_count = live;
            Ok(page)
        });
        page.map_err(|e| self.backend(format_args!("reading a filtered page of `{collection}`"), e))?
            .ok_or_else(|| FeedError::UnknownScope(scope.to_owned()))
    }

    pub(super) fn head(&mut self, scope: &str, collection: &str, read: &HeadRead) -> Result<FeedPage, FeedError> {
        let shared = self.shared();
        let (c, sql) = shared.collection(collection)?;
        let filter: &FilterSql =
            sql.filter.as_ref().ok_or_else(|| FeedError::BadFilter(format!("`{collection}` has no filter")))?;
        let page = self.in_snapshot(scope, collection, |tx, (live, _)| {
            let mut stmt = tx.prepare_cached(&filter.head)?;
            let mut rows = Vec::new();
            let per_value = convert::to_i64(read.per_value);
            for (value, bound) in &read.values {
                let newest = stmt.query_map(params![scope, value, bound, per_value], |row| row_of(row, c))?;
                rows.extend(newest.collect::<rusqlite::Result<Vec<Row>>>()?);
            }
            rows.sort_by_key(|r| r.seq);
            let latest_seq = rows.last().map_or(0, |r| r.seq);
            Ok(FeedPage { rows, latest_seq, has_more: false, total_count: live })
        });
        page.map_err(|e| self.backend(format_args!("reading the head of `{collection}`"), e))?
            .ok_or_else(|| FeedError::UnknownScope(scope.to_owned()))
    }

    /// Runs `read` in one read transaction with the collection's live count and greatest seq; `None` for an
    /// unknown scope.
    fn in_snapshot<T>(
        &mut self,
        scope: &str,
        collection: &str,
        read: impl FnOnce(&Transaction<'_>, (u64, i64)) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<Option<T>> {
        let tx = self.conn().transaction()?;
        if tx.prepare_cached(sql::SCOPE_SEQ)?.query_row([scope], |_| Ok(())).optional()?.is_none() {
            return Ok(None);
        }
        let head: Option<(i64, i64)> = tx
            .prepare_cached(sql::COLLECTION_HEAD)?
            .query_row([scope, collection], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        let (live, covered) = head.unwrap_or((0, 0));
        let out = read(&tx, (u64::try_from(live).unwrap_or(0), covered))?;
        tx.commit()?;
        Ok(Some(out))
    }
}

fn row_of(row: &rusqlite::Row<'_>, c: &Collection) -> rusqlite::Result<Row> {
    let change =
        if row.get::<_, bool>(2)? { Change::Delete } else { Change::Upsert(convert::read_values(row, 3, &c.columns)?) };
    Ok(Row { id: row.get(0)?, seq: row.get(1)?, change })
}

/// The first `take` rows, in seq order, of one statement per filter value, each stepped only as far as the merge
/// needs. `sql` binds (integration_id, value, since_seq), or with a collection (integration_id, collection,
/// value, since_seq) as [`sql::MOVES`]; its second column is the seq.
fn merge_scans<T>(
    tx: &Transaction<'_>,
    sql: &str,
    (scope, collection): (&str, Option<&str>),
    read: &FilteredRead,
    take: usize,
    decode: impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let mut statements = read.values.iter().map(|_| tx.prepare(sql)).collect::<rusqlite::Result<Vec<_>>>()?;
    let mut scans = Vec::with_capacity(statements.len());
    for (stmt, value) in statements.iter_mut().zip(&read.values) {
        scans.push(match collection {
            Some(collection) => stmt.query(params![scope, collection, value, read.since_seq])?,
            None => stmt.query(params![scope, value, read.since_seq])?,
        });
    }
    let mut heads: Vec<Option<T>> = Vec::with_capacity(scans.len());
    let mut queue = BinaryHeap::new();
    for (i, scan) in scans.iter_mut().enumerate() {
        heads.push(match scan.next()? {
            Some(row) => {
                queue.push(Reverse((row.get::<_, i64>(1)?, i)));
                Some(decode(row)?)
            }
            None => None,
        });
    }
    let mut out = Vec::with_capacity(take.min(1024));
    while out.len() < take {
        let Some(Reverse((_, i))) = queue.pop() else { break };
        out.extend(heads[i].take());
        if let Some(row) = scans[i].next()? {
            queue.push(Reverse((row.get::<_, i64>(1)?, i)));
            heads[i] = Some(decode(row)?);
        }
    }
    Ok(out)
}
