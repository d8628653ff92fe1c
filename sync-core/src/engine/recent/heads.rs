//! The heads of a recent-first sync: the newest rows of each conversation in every filtered collection, fetched
//! a batch of conversations per request, several requests ahead of the one being applied.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesOrdered;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{RecentEvent, RecentFirstOptions};
use crate::engine::SyncEngine;
use crate::error::PageError;
use crate::error::SyncError;
use crate::filter::{HeadRead, MAX_FILTER_VALUES};
use crate::page::{ApplyOutcome, Page, PageRequest};
use crate::progress::CollectionReport;
use crate::schema::{Collection, Schema};
use crate::value::{Change, Row, Value};
use crate::wire::decode_page;

/// Rows a head request asks for at most (values per request × rows per value), so a head page stays small.
const HEAD_REQUEST_ROWS: usize = 2_500;

/// Head (and older-rows) requests in flight, and answers waiting for the writer, at most. With one request in
/// flight and two answers queued the writer sat idle 4 s of a 14 s head phase at 1M messages: each once-a-second
/// commit let the queue fill and the fetcher stop, then drained it faster than one request at a time refilled it.
/// Four of half the size (2,500 rows instead of 5,000, the same memory) left it idle 0.4–0.6 s (BENCHMARKS.md).
pub(super) const PREFETCH: usize = 4;

/// How often heads applied held are committed and reported landed (the first batch, the newest conversations,
/// at once): each commit of the random-keyed tables rewrites the pages it touched, so one per batch would cost
/// more than the heads themselves.
const HEADS_LANDED_EVERY: Duration = Duration::from_secs(1);

/// One step of the fetcher: a head to fetch, or the end of a batch of values.
enum Step<'a> {
    Head(&'a Collection, HeadRead),
    Batch(&'a [String]),
}

/// What the fetcher hands the writer: a head page, or the end of a batch of values (all its pages sent).
enum Fetched<'a> {
    Head(Page),
    Batch(&'a [String]),
}

impl SyncEngine {
    /// Fetches and applies the heads of `values` (newest first), batch by batch. A scope that syncs everything
    /// gets heads only for collections at cursor 0, which the backfill then pulls from scratch: they are applied
    /// held ([`ClientStore::apply_rows_held`](crate::ClientStore::apply_rows_held)), and committed
    /// ([`ClientStore::flush`](crate::ClientStore::flush)) after the first batch and then every
    /// [`HEADS_LANDED_EVERY`], before their [`RecentEvent::HeadLanded`]. Returns, for a scope that syncs
    /// everything, each collection given heads with the values whose head came back full (they may hold older
    /// rows), each with the oldest seq sent: where [`SyncEngine::older`] goes on; and what was applied, per
    /// collection.
    pub(super) async fn heads(
        &self,
        scope: &str,
        schema: &Schema,
        values: &[String],
        per_value: usize,
        options: &RecentFirstOptions,
    ) -> Result<(Backlog, Applied), SyncError> {
        let children: Vec<&Collection> =
            schema.collections.iter().filter(|c| c.filter.as_deref().is_some_and(|f| f != "id")).collect();
        let subscription = self.store.subscription(scope).await?;
        let cursors = self.store.sync_state(scope).await?;
        let synced = |c: &Collection, value: &str| match &subscription.values {
            None => cursors.iter().any(|s| s.collection == c.name && s.last_seq > 0),
            Some(_) => subscription.get(value).is_none_or(|v| v.archived || v.cursor(&c.name) > 0),
        };
        let batch = (HEAD_REQUEST_ROWS / per_value).clamp(1, MAX_FILTER_VALUES);
        let held = subscription.values.is_none();
        let (pages, received) = mpsc::channel::<Fetched<'_>>(PREFETCH);
        // Every request, in order, each followed by its batch's end, up to PREFETCH of them in flight at once.
        let mut steps = Vec::new();
        for chunk in values.chunks(batch) {
            for collection in &children {
                let wanted: Vec<String> = chunk.iter().filter(|v| !synced(collection, v)).cloned().collect();
                if !wanted.is_empty() {
                    steps.push(Step::Head(collection, HeadRead::newest(&wanted, per_value)));
                }
            }
            steps.push(Step::Batch(chunk));
        }
        let fetch = async move {
            let mut backlog = Backlog::new();
            let (mut steps, mut answers) = (steps.into_iter(), FuturesOrdered::new());
            loop {
                while answers.len() < PREFETCH
                    && let Some(step) = steps.next()
                {
                    answers.push_back(async move {
                        match step {
                            Step::Head(collection, read) => {
                                let (page, full) = self.head(scope, collection, &read, options).await?;
                                Ok::<_, SyncError>((Fetched::Head(page), Some((&collection.name, full))))
                            }
                            Step::Batch(chunk) => Ok((Fetched::Batch(chunk), None)),
                        }
                    });
                }
                let Some(answer) = answers.next().await else { break };
                let (fetched, full) = answer?;
                if let Some((name, full)) = full.filter(|_| held) {
                    backlog.entry(name.clone()).or_default().extend(full);
                }
                // A closed channel means the writer stopped on an error, which the caller reports.
                if pages.send(fetched).await.is_err() {
                    break;
                }
            }
            Ok::<Backlog, SyncError>(backlog)
        };
        let (fetched, written) = tokio::join!(fetch, self.apply_heads(scope, received, held, options));
        let applied = written?;
        Ok((fetched?, applied))
    }

    /// Applies the fetched heads in order and reports each batch landed once committed.
    async fn apply_heads(
        &self,
        scope: &str,
        mut received: mpsc::Receiver<Fetched<'_>>,
        held: bool,
        options: &RecentFirstOptions,
    ) -> Result<Applied, SyncError> {
        let mut applied = Applied::new();
        let mut landed: Vec<String> = Vec::new();
        let mut committed: Option<Instant> = None;
        while let Some(fetched) = received.recv().await {
            match fetched {
                Fetched::Head(page) => {
                    let (collection, bytes) = (page.collection.clone(), page.bytes);
                    let outcome = match held {
                        true => self.store.apply_rows_held(scope, page).await?,
                        false => self.store.apply_rows(scope, page).await?,
                    };
                    tally(&mut applied, &collection, &outcome, bytes);
                }
                Fetched::Batch(values) => {
                    landed.extend_from_slice(values);
                    if !held || committed.is_none_or(|t| t.elapsed() >= HEADS_LANDED_EVERY) {
                        self.land(&mut landed, &mut committed, options).await?;
                    }
                }
            }
        }
        self.land(&mut landed, &mut committed, options).await?;
        Ok(applied)
    }

    /// Commits what is held and reports `landed`.
    async fn land(
        &self,
        landed: &mut Vec<String>,
        committed: &mut Option<Instant>,
        options: &RecentFirstOptions,
    ) -> Result<(), SyncError> {
        if landed.is_empty() {
            return Ok(());
        }
        self.store.flush().await?;
        *committed = Some(Instant::now());
        landed.drain(..).for_each(|value| options.emit(RecentEvent::HeadLanded { value }));
        Ok(())
    }

    /// Fetches and checks one head (the newest rows of values below their bounds); returns it with the values it
    /// sent whole `per_value` rows of, which may have more below the oldest one ([`full_values`]).
    pub(super) async fn head(
        &self,
        scope: &str,
        collection: &Collection,
        read: &HeadRead,
        options: &RecentFirstOptions,
    ) -> Result<(Page, Vec<(String, i64)>), SyncError> {
        let name = &collection.name;
        let what = format!("GET /sync/{name}/{scope}/head ({} values)", read.values.len());
        let fetch = || self.transport.fetch_head(scope, name, read);
        let body = self.with_retry(&what, &options.sync.cancel, fetch).await?;
        let request = PageRequest {
            scope: scope.to_owned(),
            collection: name.clone(),
            since_seq: 0,
            limit: read.values.len() * read.per_value,
            fresh: false,
            filter: Some(read.names()),
        };
        let page = decode_page(collection, &request, &body, self.config.max_page_bytes);
        let page = page.and_then(|page| full_values(collection, read, &page).map(|full| (page, full)));
        page.map_err(|cause| SyncError::BadPage { collection: name.clone(), since_seq: 0, cause })
    }
}

/// Per collection given heads, the values that may hold older rows, each with the oldest seq it sent.
pub(super) type Backlog = BTreeMap<String, Vec<(String, i64)>>;

/// What the heads and the backfill applied, per collection.
pub(super) type Applied = BTreeMap<String, CollectionReport>;

/// The values of `read` that `page` (its answer) sent `per_value` rows of, so they may have more below the
/// oldest one, each with that oldest seq (a value sent fewer rows is whole as of the answer: nothing is older).
/// Refuses a head with a live row of a value not asked for, or not below its value's bound: applying such rows
/// would be wrong, and a bound that does not go down would page one history for ever.
fn full_values(collection: &Collection, read: &HeadRead, page: &Page) -> Result<Vec<(String, i64)>, PageError> {
    let Some(index) = collection.filter.as_deref().and_then(|f| collection.column_index(f)) else {
        return Ok(Vec::new());
    };
    // Per value asked for: its bound, then the rows sent and the oldest seq among them.
    let mut sent: HashMap<&str, (i64, usize, i64)> =
        read.values.iter().map(|(value, bound)| (value.as_str(), (*bound, 0, i64::MAX))).collect();
    for (position, row) in page.rows.iter().enumerate() {
        let Some(value) = value_of(row, index) else { continue };
        let bad = |message: String| PageError::BadRow { row: position, id: Some(row.id.clone()), message };
        let Some((bound, count, oldest)) = sent.get_mut(value.as_str()) else {
            return Err(bad(format!("its filter value {value:?} is not one of the request's")));
        };
        if row.seq >= *bound {
            return Err(bad(format!("its seq {} is not below the request's `before` {bound} for {value:?}", row.seq)));
        }
        *count += 1;
        *oldest = (*oldest).min(row.seq);
    }
    let full = |(value, _): &(String, i64)| {
        let (_, count, oldest) = sent[value.as_str()];
        (count >= read.per_value).then(|| (value.clone(), oldest))
    };
    Ok(read.values.iter().filter_map(full).collect())
}

/// Adds what one call applied to `collection`'s line of `applied`.
pub(super) fn tally(applied: &mut Applied, collection: &str, outcome: &ApplyOutcome, bytes: usize) {
    let report = line(applied, collection);
    report.upserted += outcome.upserted;
    report.deleted += outcome.deleted;
    report.skipped += outcome.skipped;
    report.pages += 1;
    report.bytes += bytes as u64;
}

/// `collection`'s line of `applied`, made on first use.
pub(super) fn line<'a>(applied: &'a mut Applied, collection: &str) -> &'a mut CollectionReport {
    applied
        .entry(collection.to_owned())
        .or_insert_with(|| CollectionReport { collection: collection.to_owned(), ..Default::default() })
}

/// The filter value (column `index`) of a live row, as a filter names it.
fn value_of(row: &Row, index: usize) -> Option<String> {
    let Change::Upsert(values) = &row.change else { return None };
    match values.get(index)? {
        Value::Text(text) => Some(text.clone()),
        Value::Integer(n) => Some(n.to_string()),
        _ => None,
    }
}
