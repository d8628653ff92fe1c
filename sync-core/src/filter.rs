//! Selective sync on the server side, shared by every store: checking a filter and merging a filtered page's
//! rows with the tombstones of the rows that left its values (PROTOCOL.md, "Selective sync").

use std::collections::BTreeSet;

use crate::error::FeedError;
use crate::page::FeedPage;
use crate::schema::Schema;
use crate::value::{Change, Row};

/// Most filter values one request may name (the URL stays well under common limits with ids of ~40 bytes).
pub const MAX_FILTER_VALUES: usize = 1_000;

/// Rows per value of a head request that names no number (and of the recent-first initial sync by default).
pub const DEFAULT_HEAD_ROWS: usize = 50;

/// Most rows per value a head request may ask for.
pub const MAX_HEAD_PER_VALUE: usize = 1_000;

/// The filter column of `collection` and `values` without duplicates (in order), or why the request cannot be
/// served: an unknown collection, one without a filter column, no values, too many, or an empty one.
pub fn check_filter<'a>(
    schema: &'a Schema,
    collection: &str,
    values: &[String],
) -> Result<(&'a str, Vec<String>), FeedError> {
    let c = schema.collection(collection).ok_or_else(|| FeedError::UnknownCollection(collection.to_owned()))?;
    let Some(column) = c.filter.as_deref() else {
        return Err(FeedError::BadFilter(format!(
            "collection `{collection}` declares no filter column, so it is synced whole: drop `filter`"
        )));
    };
    if values.is_empty() || values.len() > MAX_FILTER_VALUES {
        return Err(FeedError::BadFilter(format!(
            "give 1 to {MAX_FILTER_VALUES} filter values (got {}); split a larger set into several requests",
            values.len()
        )));
    }
    if values.iter().any(String::is_empty) {
        return Err(FeedError::BadFilter("a filter value is empty".into()));
    }
    let mut seen = BTreeSet::new();
    let unique = values.iter().filter(|v| seen.insert(v.as_str())).cloned().collect();
    Ok((column, unique))
}

/// What a head request asks for (`GET /sync/{collection}/{scope}/head`): the newest `per_value` live rows of
/// each value whose seq is below the value's bound. The bound lets a client page a value's history backwards
/// from the oldest row it holds (a recent-first sync's backfill); `i64::MAX` means no bound (the newest rows).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeadRead {
    /// Each filter value with its bound: rows with `seq < bound`.
    pub values: Vec<(String, i64)>,
    /// Rows per value (1 to [`MAX_HEAD_PER_VALUE`]).
    pub per_value: usize,
}

impl HeadRead {
    /// The newest `per_value` rows of each of `values` (no bound).
    pub fn newest(values: &[String], per_value: usize) -> Self {
        HeadRead { values: values.iter().map(|v| (v.clone(), i64::MAX)).collect(), per_value }
    }

    /// The values alone, in order.
    pub fn names(&self) -> Vec<String> {
        self.values.iter().map(|(v, _)| v.clone()).collect()
    }
}

/// `read` checked as [`check_filter`] checks a filter, its values without duplicates (a repeated value keeps its
/// first bound), or why it cannot be served (a bound below 1 selects nothing and is refused too).
pub fn check_head(schema: &Schema, collection: &str, read: &HeadRead) -> Result<HeadRead, FeedError> {
    check_filter(schema, collection, &read.names())?;
    if let Some((value, bound)) = read.values.iter().find(|(_, bound)| *bound < 1) {
        return Err(FeedError::BadFilter(format!(
            "the bound {bound} of value {value:?} is below 1: give `before` >= 1"
        )));
    }
    let mut seen = BTreeSet::new();
    let values = read.values.iter().filter(|(v, _)| seen.insert(v.as_str())).cloned().collect();
    Ok(HeadRead { values, per_value: read.per_value })
}

/// A filtered page from its two seq-ordered sources, each read with at most `limit + 1` rows: the rows whose
/// filter value is one of the request's, and `moves`, the (id, seq) of rows that left one of them at that seq. A
/// move whose seq is also a row's (the row moved to another requested value) gives way to the row. A source that
/// came back full may have more beyond its last seq, so nothing after that seq is sent. `covered` is the
/// collection's greatest seq in the snapshot the sources were read from: the next cursor when nothing is left.
pub fn merge_filtered(
    rows: Vec<Row>,
    moves: Vec<(String, i64)>,
    since_seq: i64,
    limit: usize,
    covered: i64,
) -> FeedPage {
    let full_bound = |len: usize, last: Option<i64>| if len > limit { last } else { None };
    let bound =
        [full_bound(rows.len(), rows.last().map(|r| r.seq)), full_bound(moves.len(), moves.last().map(|m| m.1))]
            .into_iter()
            .flatten()
            .min();
    let mut out: Vec<Row> = Vec::with_capacity(rows.len() + moves.len());
    let mut moves = moves.into_iter().peekable();
    for row in rows {
        while let Some((id, seq)) = moves.next_if(|m| m.1 <= row.seq) {
            if seq < row.seq {
                out.push(Row { id, seq, change: Change::Delete });
            }
        }
        out.push(row);
    }
    out.extend(moves.map(|(id, seq)| Row { id, seq, change: Change::Delete }));
    if let Some(bound) = bound {
        out.retain(|r| r.seq <= bound);
    }
    let has_more = out.len() > limit || bound.is_some();
    out.truncate(limit);
    let last = out.last().map_or(since_seq, |r| r.seq);
    let latest_seq = if has_more { last } else { last.max(covered).max(since_seq) };
    FeedPage { rows: out, latest_seq, has_more, total_count: 0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    fn row(id: &str, seq: i64) -> Row {
        Row { id: id.into(), seq, change: Change::Upsert(vec![Value::Null]) }
    }

    fn seqs(page: &FeedPage) -> Vec<(String, i64, bool)> {
        page.rows.iter().map(|r| (r.id.clone(), r.seq, r.change == Change::Delete)).collect()
    }

    #[test]
    fn moves_become_tombstones_and_give_way_to_the_row() {
        let moves = vec![("a".into(), 2), ("b".into(), 5), ("c".into(), 9)];
        let page = merge_filtered(vec![row("x", 3), row("b", 5), row("y", 7)], moves, 0, 10, 20);
        let want = [("a", 2, true), ("x", 3, false), ("b", 5, false), ("y", 7, false), ("c", 9, true)];
        assert_eq!(seqs(&page), want.map(|(i, s, d)| (i.to_owned(), s, d)));
        assert!(!page.has_more);
        assert_eq!(page.latest_seq, 20, "nothing left: the page covers the collection's greatest seq");
    }

    #[test]
    fn a_full_page_says_has_more_and_ends_at_its_last_row() {
        let page = merge_filtered(vec![row("x", 3), row("y", 4), row("z", 6)], vec![("m".into(), 5)], 2, 3, 50);
        assert_eq!(page.rows.len(), 3);
        assert!(page.has_more);
        assert_eq!(page.latest_seq, 5);
        // Two moves read with limit + 1 = 2: a third may follow the second, so the rows after it wait.
        let moves = vec![("a".into(), 3), ("b".into(), 4)];
        let page = merge_filtered(vec![row("a", 3), row("x", 8)], moves, 0, 1, 50);
        assert_eq!(seqs(&page), [("a".to_owned(), 3, false)]);
        assert!(page.has_more);
        let empty = merge_filtered(vec![], vec![], 7, 3, 4);
        assert_eq!((empty.rows.len(), empty.has_more, empty.latest_seq), (0, false, 7));
    }

    #[test]
    fn filters_are_checked_and_deduplicated() {
        let schema = crate::testing::test_schema();
        let filtered = schema.collections.iter().find(|c| c.filter.is_some()).expect("a filtered collection");
        let (_, values) = check_filter(&schema, &filtered.name, &["b".into(), "a".into(), "b".into()]).expect("ok");
        assert_eq!(values, ["b", "a"]);
        assert!(check_filter(&schema, &filtered.name, &[]).is_err());
        assert!(check_filter(&schema, &filtered.name, &[String::new()]).is_err());
        assert!(check_filter(&schema, "nope", &["a".into()]).is_err());
    }
}
