//! Every error variant as a user reads it: its `Display` (what the bindings show) and its chain of sources (what
//! `{:#}` prints) name each cause once, in plain words, never in Rust's debug notation.

use std::error::Error;
use std::time::Duration;

use super::*;

/// What `anyhow`'s `{:#}` prints: each error of the chain, joined by ": ".
pub(crate) fn chain(e: &dyn Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    parts.join(": ")
}

/// Checks one error's text: no cause twice, no debug notation, and the words `expect` says it must have.
pub(crate) fn check(e: &dyn Error, expect: &str) {
    let full = chain(e);
    assert!(full.contains(expect), "{full:?} lacks {expect:?}");
    let mut source = e.source();
    while let Some(s) = source {
        let cause = s.to_string();
        assert_eq!(full.matches(&cause).count(), 1, "the cause {cause:?} is printed more than once: {full:?}");
        source = s.source();
    }
    for debug in ["Some(", "None", "\\\"", "Error {", "Error(", "{ "] {
        assert!(!full.contains(debug), "{full:?} shows Rust's debug notation {debug:?}");
    }
}

#[derive(Debug)]
struct Io;

impl std::fmt::Display for Io {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("disk I/O error")
    }
}

impl Error for Io {}

fn page_errors() -> Vec<PageError> {
    vec![
        PageError::Malformed("expected `,` at line 1 column 9".into()),
        PageError::BadRow { row: 2, id: Some("m-7".into()), message: "`sent_at` must be an integer".into() },
        PageError::BadRow { row: 2, id: None, message: "the row has no `id`".into() },
        PageError::SeqNotIncreasing { row: 1, seq: 4, previous: 5 },
        PageError::LatestSeqMismatch { latest_seq: 1807, expected: 1808 },
        PageError::EmptyWithMore,
        PageError::TooLarge("3 rows for a limit of 2".into()),
    ]
}

fn transport_errors() -> Vec<TransportError> {
    vec![
        TransportError::Network("connection refused".into()),
        TransportError::Timeout(Duration::from_secs(30)),
        TransportError::Status {
            status: 401,
            code: Some("unauthorized".into()),
            message: "bad token".into(),
            retry_after: None,
        },
        TransportError::Status { status: 503, code: None, message: "Service Unavailable".into(), retry_after: None },
        TransportError::TooLarge { limit: 1024 },
        TransportError::Protocol("the status body is not JSON".into()),
    ]
}

/// A compile-time list: a new variant fails to build here until it is added to the checks below.
fn covered(page: &PageError, transport: &TransportError, store: &StoreError, feed: &FeedError, sync: &SyncError) {
    match page {
        PageError::Malformed(_)
        | PageError::BadRow { .. }
        | PageError::SeqNotIncreasing { .. }
        | PageError::LatestSeqMismatch { .. }
        | PageError::EmptyWithMore
        | PageError::TooLarge(_) => {}
    }
    match transport {
        TransportError::Network(_)
        | TransportError::Timeout(_)
        | TransportError::Status { .. }
        | TransportError::TooLarge { .. }
        | TransportError::Protocol(_) => {}
    }
    match store {
        StoreError::CursorGap { .. }
        | StoreError::UnknownCollection(_)
        | StoreError::Schema(_)
        | StoreError::Closed
        | StoreError::InvalidQuery(_)
        | StoreError::InvalidWrite(_)
        | StoreError::WritesUnsupported
        | StoreError::InvalidSubscription(_)
        | StoreError::SubscriptionsUnsupported
        | StoreError::Backend { .. } => {}
    }
    match feed {
        FeedError::UnknownScope(_)
        | FeedError::UnknownCollection(_)
        | FeedError::InvalidWrite(_)
        | FeedError::BadFilter(_)
        | FeedError::InvalidPush { .. }
        | FeedError::ResyncRequired { .. }
        | FeedError::Backend { .. } => {}
    }
    match sync {
        SyncError::Transport { .. }
        | SyncError::BadPage { .. }
        | SyncError::Store(_)
        | SyncError::Schema(_)
        | SyncError::UnknownCollection(_)
        | SyncError::Cancelled => {}
    }
}

#[test]
fn every_error_names_each_cause_once_in_plain_words() {
    for e in [SchemaError::Json("expected value at line 1".into()), SchemaError::Invalid("no collections".into())] {
        check(&e, "schema");
    }
    for e in page_errors() {
        check(&e, "");
    }
    check(&PageError::BadRow { row: 2, id: Some("m-7".into()), message: "x".into() }, "row 2 (id m-7): x");
    check(&PageError::BadRow { row: 2, id: None, message: "x".into() }, "row 2: x");
    for e in transport_errors() {
        check(&e, "");
    }
    let stores = [
        StoreError::CursorGap { collection: "messages".into(), cursor: 3, since_seq: 9 },
        StoreError::UnknownCollection("notes".into()),
        StoreError::Schema("column `body` is missing".into()),
        StoreError::Closed,
        StoreError::InvalidQuery("only SELECT".into()),
        StoreError::InvalidWrite("`posts` is not writable".into()),
        StoreError::WritesUnsupported,
        StoreError::backend("committing a page", Io),
        StoreError::InvalidSubscription("cannot archive \"c9\": it is not subscribed".into()),
        StoreError::SubscriptionsUnsupported,
    ];
    for e in &stores {
        check(e, "");
    }
    check(&stores[7], "committing a page: disk I/O error");
    let feeds = [
        FeedError::UnknownScope("wa-1".into()),
        FeedError::UnknownCollection("notes".into()),
        FeedError::InvalidWrite("`messages` row m1 has 3 values for 11 columns".into()),
        FeedError::InvalidPush { mutation_id: Some(3), message: "`posts` is not writable".into() },
        FeedError::InvalidPush { mutation_id: None, message: "no mutations".into() },
        FeedError::ResyncRequired { since_seq: 4, horizon: 90 },
        FeedError::backend("reading row m1 of `messages`", Io),
    ];
    for e in &feeds {
        check(e, "");
    }
    check(&feeds[6], "reading row m1 of `messages`: disk I/O error");
    let syncs = [
        SyncError::Transport {
            what: "GET /sync/messages/wa-1".into(),
            cause: TransportError::Timeout(Duration::from_secs(30)),
        },
        SyncError::BadPage {
            collection: "messages".into(),
            since_seq: 1807,
            cause: PageError::LatestSeqMismatch { latest_seq: 1807, expected: 1808 },
        },
        SyncError::Store(StoreError::backend("committing a page", Io)),
        SyncError::Schema(SchemaError::Invalid("no collections".into())),
        SyncError::UnknownCollection("notes".into()),
        SyncError::Cancelled,
    ];
    for e in &syncs {
        check(e, "");
    }
    // The example: once, not `…: latest_seq 1807 … (expected 1808): latest_seq 1807 … (expected 1808)`.
    check(&syncs[1], "nothing of it was applied: latest_seq 1807 disagrees with the rows (expected 1808)");
    check(&syncs[2], "local database error: committing a page: disk I/O error");
    covered(&page_errors()[0], &transport_errors()[0], &stores[0], &feeds[0], &syncs[0]);
}
