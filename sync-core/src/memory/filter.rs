//! Selective sync reads of [`MemoryFeed`]: a scan of the collection's log (a test store: O(rows) is fine).

use crate::error::FeedError;
use crate::feed::FilteredRead;
use crate::filter::{HeadRead, check_filter, check_head, merge_filtered};
use crate::page::FeedPage;
use crate::value::{Change, Row};

use super::feed::{Log, MemoryFeed};

impl MemoryFeed {
    pub(super) async fn filtered(
        &self,
        scope: &str,
        collection: &str,
        read: &FilteredRead,
    ) -> Result<FeedPage, FeedError> {
        let (_, values) = check_filter(self.schema_ref(), collection, &read.values)?;
        let take = read.limit.saturating_add(1);
        self.with_log(scope, collection, |log| {
            let Some(log) = log else {
                return FeedPage { rows: vec![], latest_seq: read.since_seq, has_more: false, total_count: 0 };
            };
            let wanted = |id: &str| log.filter_of.get(id).is_some_and(|v| values.contains(v));
            let rows: Vec<Row> = log
                .by_seq
                .range(read.since_seq.saturating_add(1)..)
                .filter(|(_, id)| wanted(id))
                .take(take)
                .map(|(seq, id)| row(log, id, *seq))
                .collect();
            let moves: Vec<(String, i64)> = log
                .moves
                .iter()
                .filter(|(old, seq, _)| *seq > read.since_seq && values.contains(old))
                .take(take)
                .map(|(_, seq, id)| (id.clone(), *seq))
                .collect();
            let covered = log.by_seq.keys().next_back().copied().unwrap_or(0);
            let mut page = merge_filtered(rows, moves, read.since_seq, read.limit, covered);
            page.total_count = log.live;
            page
        })
        .await
    }

    pub(super) async fn newest(&self, scope: &str, collection: &str, read: &HeadRead) -> Result<FeedPage, FeedError> {
        let read = check_head(self.schema_ref(), collection, read)?;
        self.with_log(scope, collection, |log| {
            let Some(log) = log else {
                return FeedPage { rows: vec![], latest_seq: 0, has_more: false, total_count: 0 };
            };
            let mut rows = Vec::new();
            for (value, bound) in &read.values {
                let newest = log
                    .by_seq
                    .range(..*bound)
                    .rev()
                    .filter(|(_, id)| log.filter_of.get(*id) == Some(value) && log.by_id[*id].1.is_some());
                rows.extend(newest.take(read.per_value).map(|(seq, id)| row(log, id, *seq)));
            }
            rows.sort_by_key(|r| r.seq);
            let latest_seq = rows.last().map_or(0, |r| r.seq);
            FeedPage { rows, latest_seq, has_more: false, total_count: log.live }
        })
        .await
    }
}

fn row(log: &Log, id: &str, seq: i64) -> Row {
    let change = match &log.by_id[id].1 {
        Some(values) => Change::Upsert(values.clone()),
        None => Change::Delete,
    };
    Row { id: id.to_owned(), seq, change }
}
