//! Criterion benchmarks: decode a 1,500-message page; apply it to an SQLite file (inserts, then updates).
#![allow(missing_docs)] // criterion_group! generates undocumented functions.

use std::sync::Arc;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use server_example::whatsapp;
use sync_core::wire::{decode_page, encode_page};
use sync_core::{ClientStore, PageRequest};
use sync_sqlite::SqliteStore;

const ROWS: usize = 1_500;

fn decode(c: &mut Criterion) {
    let schema = whatsapp::schema();
    let messages = schema.collection("messages").expect("messages");
    let (_, page) = sync_benches::message_page(ROWS);
    let body = encode_page(messages, "bench", &page);
    let request = PageRequest {
        scope: "bench".into(),
        collection: "messages".into(),
        since_seq: 0,
        limit: ROWS,
        fresh: true,
        filter: None,
    };
    let mut group = c.benchmark_group("page");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.bench_function("decode 1500 messages", |b| {
        b.iter(|| decode_page(messages, &request, &body, usize::MAX).expect("decode"))
    });
    group.bench_function("encode 1500 messages", |b| b.iter(|| encode_page(messages, "bench", &page)));
    group.finish();
}

fn apply(c: &mut Criterion) {
    let schema = whatsapp::schema();
    let messages = schema.collection("messages").expect("messages");
    let (_, feed_page) = sync_benches::message_page(ROWS);
    let body = encode_page(messages, "bench", &feed_page);
    let request = PageRequest {
        scope: "bench".into(),
        collection: "messages".into(),
        since_seq: 0,
        limit: ROWS,
        fresh: true,
        filter: None,
    };
    let page = decode_page(messages, &request, &body, usize::MAX).expect("decode");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SqliteStore::open(dir.path().join("bench.db")).expect("open"));
    runtime.block_on(store.prepare(&schema)).expect("prepare");

    let mut group = c.benchmark_group("apply");
    group.throughput(Throughput::Elements(ROWS as u64));
    let mut round = 0i64;
    // Every round is a fresh scope: pure inserts into tables that keep growing, as in an initial sync.
    group.bench_function("insert 1500 messages", |b| {
        b.iter_batched(
            || {
                round += 1;
                (format!("scope-{round}"), page.clone())
            },
            |(scope, page)| runtime.block_on(store.apply_page(&scope, page)).expect("apply"),
            BatchSize::SmallInput,
        )
    });
    // The same rows again with greater seqs: every row is an update guarded by seq.
    let mut offset = 0i64;
    runtime.block_on(store.apply_page("updates", page.clone())).expect("apply");
    group.bench_function("update 1500 messages", |b| {
        b.iter_batched(
            || {
                let mut next = page.clone();
                offset += 1_000_000;
                next.since_seq = page.latest_seq + offset - 1_000_000;
                for row in &mut next.rows {
                    row.seq += offset;
                }
                next.latest_seq += offset;
                next
            },
            |next| runtime.block_on(store.apply_page("updates", next)).expect("apply"),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, decode, apply);
criterion_main!(benches);
