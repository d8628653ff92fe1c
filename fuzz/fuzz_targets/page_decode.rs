//! Page decoding and validation against the WhatsApp schema: any body is rejected or yields a page that
//! satisfies the request (seq order, cursor, limit) and survives a round trip through the encoder.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use sync_core::{FeedPage, PageRequest, Schema, wire};

/// The schema `server-example` serves at `GET /schema` (a copy: the fuzz crate does not build the server).
const SCHEMA: &str = include_str!("../seeds/schema_parse/whatsapp.json");

// Parsed once: parsing it per input would take most of each run's time.
static PARSED: LazyLock<Schema> = LazyLock::new(|| Schema::from_json(SCHEMA).expect("the bundled schema parses"));

fuzz_target!(|data: &[u8]| {
    // The first bytes choose the request; the rest is the body. Seeds are real pages behind a 3-byte prefix.
    let [pick, limit, since, body @ ..] = data else { return };
    let collections = &PARSED.collections;
    let collection = &collections[usize::from(*pick) % collections.len()];
    let request = PageRequest {
        scope: "fuzz".into(),
        collection: collection.name.clone(),
        since_seq: i64::from(*since),
        limit: usize::from(*limit).max(1),
        fresh: false,
        filter: None,
    };
    let Ok(page) = wire::decode_page(collection, &request, body, 1 << 20) else { return };
    assert!(page.rows.len() <= request.limit, "more rows than the limit");
    let mut last = request.since_seq;
    for row in &page.rows {
        assert!(row.seq > last, "seqs not strictly increasing above the cursor");
        last = row.seq;
    }
    assert_eq!(page.latest_seq, last, "latest_seq is not the last row's seq");
    // What was accepted re-encodes to a body that decodes to the same page.
    let feed = FeedPage {
        rows: page.rows.clone(),
        latest_seq: page.latest_seq,
        has_more: page.has_more,
        total_count: page.total_count.unwrap_or(0),
    };
    let again = wire::encode_page(collection, &request.scope, &feed);
    let decoded = wire::decode_page(collection, &request, &again, usize::MAX).expect("a re-encoded page decodes");
    assert_eq!(decoded.rows, page.rows, "the round trip changed the rows");
});
