//! The page codec: what the encoder writes decodes to the same page, and every kind of hostile page is refused
//! with the error that names what is wrong (PROTOCOL.md invariant 7).

use serde_json::{Value as Json, json};

use super::{decode_page, encode_page};
use crate::error::PageError;
use crate::page::{FeedPage, Page, PageRequest};
use crate::schema::Collection;
use crate::testing::{post, test_schema, thread};
use crate::value::{Row, Value};

mod hostile;

const SCOPE: &str = "team-1";
const MAX_BYTES: usize = 1 << 20;

fn collection(name: &str) -> Collection {
    test_schema().collection(name).expect("a collection of the test schema").clone()
}

fn request(collection: &str, since_seq: i64, limit: usize) -> PageRequest {
    PageRequest { scope: SCOPE.into(), collection: collection.into(), since_seq, limit, fresh: false, filter: None }
}

/// Decodes `body` as a page of `name` requested with `since_seq` and a limit of 10.
fn decode(name: &str, since_seq: i64, body: &Json) -> Result<Page, PageError> {
    decode_page(&collection(name), &request(name, since_seq, 10), body.to_string().as_bytes(), MAX_BYTES)
}

/// A well-formed `threads` row as a server sends it.
fn thread_json(id: &str, seq: i64) -> Json {
    json!({"id": id, "integration_id": SCOPE, "seq": seq, "title": "a title", "archived": false,
           "created_at": 1_700_000_000_000_i64})
}

/// A well-formed `posts` row as a server sends it.
fn post_json(id: &str, seq: i64) -> Json {
    json!({"id": id, "integration_id": SCOPE, "seq": seq, "thread_id": "t1", "body": "hello", "score": 0.5,
           "likes": 3, "meta": {"lang": "en"}})
}

/// A page body holding `rows`, with `latest_seq` taken from the last row (0 when it has no integer seq).
fn page_of(name: &str, rows: Vec<Json>) -> Json {
    let latest = rows.last().and_then(|r| r.get("seq")).and_then(Json::as_i64).unwrap_or(0);
    let mut body = json!({"latest_seq": latest, "has_more": false, "total_count": rows.len()});
    body[name] = Json::Array(rows);
    body
}

/// Decodes a one-row page of `name` and expects it to be accepted.
fn accept_row(name: &str, row: Json) -> Row {
    let page = decode(name, 0, &page_of(name, vec![row])).expect("the row is valid");
    assert_eq!(page.rows.len(), 1);
    page.rows.into_iter().next().expect("one row")
}

/// The values of an upsert row.
fn values(row: &Row) -> &[Value] {
    match &row.change {
        crate::value::Change::Upsert(values) => values,
        crate::value::Change::Delete => panic!("{row:?} is a tombstone"),
    }
}

fn sample_feed_page() -> FeedPage {
    let json_values = [
        r#"{"a":[1,2.5,null,true,false],"b":{"c":"ü 🚀","d":[]},"e":-7}"#,
        "[]",
        r#""just a string""#,
        "42",
        "-0.125",
        "true",
    ];
    let texts = [
        "naïve café 🚀 日本語 Ελληνικά",
        "\"quoted\" \\back\\slash\nnew line\ttab\r",
        "\u{0}nul and \u{1f} control \u{2028} separators \u{7f}",
        "",
        "</script><!-- not markup -->",
        "a 'single' quote",
    ];
    let reals = [0.1 + 0.2, -1.25e-3, 1e300, 3.0, f64::MIN_POSITIVE, -123_456.789];
    let integers = [i64::MAX, i64::MIN, 0, -1, 1, 9_007_199_254_740_993];
    let mut rows = Vec::new();
    let mut seq = 10;
    for i in 0..texts.len() {
        seq += 1 + i as i64;
        let values = vec![
            Value::from(format!("thread-{i}")),
            Value::from(texts[i]),
            Value::Real(reals[i]),
            Value::Integer(integers[i]),
            Value::Json(json_values[i].into()),
        ];
        rows.push(Row::upsert(format!("p{i}"), seq, values));
        if i % 2 == 1 {
            seq += 1;
            rows.push(Row::tombstone(format!("gone-{i}"), seq));
        }
    }
    // Every nullable column null at once, and the plain helper row.
    let nulls = vec![Value::from("t"), Value::Null, Value::Null, Value::Null, Value::Null];
    rows.push(Row::upsert("all-null", seq + 1, nulls));
    rows.push(Row::upsert("ünïcödé id 🚀", seq + 2, post("t1", "plain")));
    FeedPage { latest_seq: seq + 2, rows, has_more: true, total_count: 1234 }
}

#[test]
fn round_trip_keeps_every_row_and_value() {
    let posts = collection("posts");
    let feed = sample_feed_page();
    let body = encode_page(&posts, SCOPE, &feed);
    let limit = feed.rows.len();
    let page = decode_page(&posts, &request("posts", 10, limit), &body, MAX_BYTES).expect("decodes");
    assert_eq!(page.rows, feed.rows, "rows, values and tombstones survive the trip exactly");
    assert_eq!(page.collection, "posts");
    assert_eq!((page.since_seq, page.latest_seq, page.has_more), (10, feed.latest_seq, true));
    assert_eq!(page.total_count, Some(1234));
    assert_eq!(page.bytes, body.len());
    assert!(page.rows.iter().any(Row::is_delete) && page.rows.iter().any(|r| !r.is_delete()));
}

#[test]
fn round_trip_of_every_column_type_of_threads() {
    let threads = collection("threads");
    let mut archived = thread("archived ✓");
    archived[1] = Value::Bool(true);
    archived[2] = Value::Integer(-86_400_000);
    let mut unknown = thread("nulls");
    unknown[1] = Value::Null;
    unknown[2] = Value::Null;
    let rows = vec![
        Row::upsert("t1", 1, thread("plain")),
        Row::upsert("t2", 2, archived),
        Row::tombstone("t3", 3),
        Row::upsert("t4", 4, unknown),
    ];
    let feed = FeedPage { rows, latest_seq: 4, has_more: false, total_count: 3 };
    let body = encode_page(&threads, SCOPE, &feed);
    let page = decode_page(&threads, &request("threads", 0, 4), &body, MAX_BYTES).expect("decodes");
    assert_eq!(page.rows, feed.rows);
    assert_eq!((page.latest_seq, page.has_more, page.total_count), (4, false, Some(3)));
}

#[test]
fn encoded_page_has_the_seed_shape() {
    let feed = sample_feed_page();
    let body: Json = serde_json::from_slice(&encode_page(&collection("posts"), SCOPE, &feed)).expect("JSON");
    let rows = body["posts"].as_array().expect("rows under the collection's name");
    assert_eq!(rows.len(), feed.rows.len());
    assert_eq!(body["latest_seq"], json!(feed.latest_seq));
    assert_eq!((body["has_more"].clone(), body["total_count"].clone()), (json!(true), json!(1234)));
    for (row, sent) in rows.iter().zip(&feed.rows) {
        assert_eq!((row["id"].as_str(), row["seq"].as_i64()), (Some(sent.id.as_str()), Some(sent.seq)));
        assert_eq!(row["integration_id"], json!(SCOPE), "every row carries its scope");
        assert_eq!(row.get("deleted").is_some(), sent.is_delete(), "tombstones and only they say deleted");
    }
    // JSON columns travel as JSON, not as strings holding JSON.
    assert_eq!(rows[0]["meta"]["b"]["c"], json!("ü 🚀"));
}

#[test]
fn empty_page_round_trips() {
    let feed = FeedPage { rows: vec![], latest_seq: 77, has_more: false, total_count: 0 };
    let body = encode_page(&collection("threads"), SCOPE, &feed);
    let page = decode_page(&collection("threads"), &request("threads", 77, 3), &body, MAX_BYTES).expect("decodes");
    assert_eq!((page.rows.len(), page.latest_seq, page.has_more, page.total_count), (0, 77, false, Some(0)));
}

#[test]
fn json_columns_decode_to_the_same_json_value() {
    // Whitespace and key order are not part of a JSON value; what the client stores must parse to the same value.
    let mut row = post_json("p1", 1);
    row["meta"] = serde_json::from_str(r#"{ "z": [1, {"y": null}], "a": "é" }"#).expect("JSON");
    let decoded = accept_row("posts", row.clone());
    let Value::Json(text) = &values(&decoded)[4] else { panic!("meta is a JSON value: {decoded:?}") };
    assert_eq!(serde_json::from_str::<Json>(text).expect("stored JSON parses"), row["meta"]);
}

#[test]
fn unknown_fields_are_ignored() {
    let mut row = thread_json("t1", 5);
    row["added_in_v2"] = json!({"nested": [1, 2]});
    row["another"] = json!("x");
    let tombstone = json!({"id": "t0", "integration_id": SCOPE, "seq": 6, "deleted": true, "deleted_by": "u1"});
    let mut body = page_of("threads", vec![row.clone(), tombstone]);
    body["server_time"] = json!(1_700_000_000_000_i64);
    body["next"] = json!({"hint": "later"});
    body["posts"] = json!("another collection's key is not ours to read");
    let page = decode("threads", 0, &body).expect("forward compatible");
    let plain = decode("threads", 0, &page_of("threads", vec![thread_json("t1", 5)])).expect("plain");
    assert_eq!(page.rows[0], plain.rows[0], "extra fields change nothing");
    assert_eq!(page.rows[1], Row::tombstone("t0", 6));
}

#[test]
fn boolean_column_accepts_zero_and_one() {
    let cases = [(json!(1), Value::Bool(true)), (json!(0), Value::Bool(false)), (json!(true), Value::Bool(true))];
    for (wire, expected) in cases {
        let mut row = thread_json("t1", 1);
        row["archived"] = wire;
        assert_eq!(values(&accept_row("threads", row))[1], expected);
    }
}

#[test]
fn absent_nullable_columns_decode_as_null() {
    let row = json!({"id": "t1", "integration_id": SCOPE, "seq": 1, "title": "only the title"});
    assert_eq!(values(&accept_row("threads", row)), [Value::from("only the title"), Value::Null, Value::Null]);
    let row = json!({"id": "p1", "seq": 2, "thread_id": "t1", "body": null});
    let expected = [Value::from("t1"), Value::Null, Value::Null, Value::Null, Value::Null];
    assert_eq!(values(&accept_row("posts", row)), expected);
}

#[test]
fn tombstones_need_no_columns_and_deleted_false_is_an_upsert() {
    let row = accept_row("threads", json!({"id": "t1", "seq": 4, "deleted": true}));
    assert_eq!(row, Row::tombstone("t1", 4));
    let mut row = thread_json("t2", 5);
    row["deleted"] = json!(false);
    assert!(!accept_row("threads", row).is_delete());
}

#[test]
fn integer_valued_reals_and_integers_in_real_columns_are_reals() {
    let mut row = post_json("p1", 1);
    row["score"] = json!(7);
    assert_eq!(values(&accept_row("posts", row))[2], Value::Real(7.0));
}
