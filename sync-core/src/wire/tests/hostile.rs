//! One test per kind of hostile page, each expecting the `PageError` that says what is wrong.

use serde_json::{Value as Json, json};

use super::{MAX_BYTES, SCOPE, collection, decode, page_of, post_json, request, thread_json};
use crate::error::PageError;
use crate::wire::{decode_page, encode_page};

/// Decodes raw bytes as a `threads` page (since 0, limit 10) and expects `Malformed`; returns its message.
fn malformed_bytes(body: &[u8]) -> String {
    match decode_page(&collection("threads"), &request("threads", 0, 10), body, MAX_BYTES) {
        Err(PageError::Malformed(message)) => message,
        other => panic!("{:?}: expected Malformed, got {other:?}", String::from_utf8_lossy(body)),
    }
}

fn malformed(body: &Json) -> String {
    malformed_bytes(body.to_string().as_bytes())
}

/// A `threads` page whose second row is `row` (the first is valid); expects `BadRow` at index 1.
fn bad_row_at_1(row: Json) -> (Option<String>, String) {
    bad_row_in("threads", 1, vec![thread_json("ok", 1), row])
}

fn bad_row_in(name: &str, index: usize, rows: Vec<Json>) -> (Option<String>, String) {
    let mut body = page_of(name, rows);
    body["latest_seq"] = json!(100);
    match decode(name, 0, &body) {
        Err(PageError::BadRow { row, id, message }) => {
            assert_eq!(row, index, "the error names the position of the bad row ({message})");
            (id, message)
        }
        other => panic!("expected BadRow, got {other:?}"),
    }
}

/// A one-row page of `name` where `field` is set to `value` (or removed when `value` is None).
fn bad_field(name: &str, field: &str, value: Option<Json>) -> String {
    let mut row = if name == "threads" { thread_json("r1", 5) } else { post_json("r1", 5) };
    let object = row.as_object_mut().expect("an object");
    match value {
        Some(value) => object.insert(field.into(), value),
        None => object.remove(field),
    };
    let (id, message) = bad_row_in(name, 0, vec![row]);
    assert_eq!(id.as_deref(), Some("r1"), "the error names the row's id");
    message
}

fn assert_mentions(message: &str, what: &str) {
    assert!(message.contains(what), "{message:?} should mention {what}");
}

#[test]
fn not_json() {
    for body in [&b"<html>502 Bad Gateway</html>"[..], b"", b"{\"threads\": [", b"\xff\xfe", b"{} trailing"] {
        assert_mentions(&malformed_bytes(body), "not JSON");
    }
}

#[test]
fn json_but_not_an_object() {
    for body in [json!([]), json!([{"threads": []}]), json!("page"), json!(null), json!(42), json!(true)] {
        assert_mentions(&malformed(&body), "not a JSON object");
    }
}

#[test]
fn missing_rows_array() {
    assert_mentions(&malformed(&json!({"latest_seq": 0, "has_more": false})), "no `threads` array");
    // Rows under another collection's name are not this collection's rows.
    let other = json!({"posts": [], "latest_seq": 0, "has_more": false});
    assert_mentions(&malformed(&other), "no `threads` array");
}

#[test]
fn rows_not_an_array() {
    for rows in [json!({}), json!(null), json!("[]"), json!(3), json!({"0": thread_json("t1", 1)})] {
        let body = json!({"threads": rows, "latest_seq": 0, "has_more": false});
        assert_mentions(&malformed(&body), "`threads` is not an array");
    }
}

#[test]
fn missing_or_wrong_typed_latest_seq() {
    for latest in [None, Some(json!("0")), Some(json!(0.5)), Some(json!(null)), Some(json!(true)), Some(json!(1e30))] {
        let mut body = json!({"threads": [], "has_more": false});
        if let Some(latest) = latest {
            body["latest_seq"] = latest;
        }
        assert_mentions(&malformed(&body), "`latest_seq`");
    }
}

#[test]
fn missing_or_wrong_typed_has_more() {
    for more in [None, Some(json!("false")), Some(json!(0)), Some(json!(null)), Some(json!([]))] {
        let mut body = json!({"threads": [], "latest_seq": 0});
        if let Some(more) = more {
            body["has_more"] = more;
        }
        assert_mentions(&malformed(&body), "`has_more`");
    }
}

#[test]
fn negative_or_wrong_typed_total_count() {
    for total in [json!(-1), json!("5"), json!(1.5)] {
        let body = json!({"threads": [], "latest_seq": 0, "has_more": false, "total_count": total});
        assert_mentions(&malformed(&body), "`total_count`");
    }
}

#[test]
fn row_that_is_not_an_object() {
    for row in [json!(5), json!(null), json!("t1"), json!(["t1", 2])] {
        let (id, message) = bad_row_at_1(row);
        assert_eq!(id, None);
        assert_mentions(&message, "not a JSON object");
    }
}

#[test]
fn missing_id() {
    let mut row = thread_json("x", 2);
    row.as_object_mut().expect("object").remove("id");
    let (id, message) = bad_row_at_1(row);
    assert_eq!(id, None);
    assert_mentions(&message, "`id`");
}

#[test]
fn empty_or_non_string_id() {
    for value in [json!(""), json!(7), json!(null), json!(["t"])] {
        let mut row = thread_json("x", 2);
        row["id"] = value;
        let (id, message) = bad_row_at_1(row);
        assert_eq!(id, None);
        assert_mentions(&message, "`id`");
    }
}

#[test]
fn non_integer_seq() {
    for seq in [Some(json!(2.5)), Some(json!("2")), Some(json!(null)), Some(json!(true)), None, Some(json!(u64::MAX))] {
        assert_mentions(&bad_field("threads", "seq", seq), "`seq`");
    }
}

#[test]
fn zero_seq() {
    assert_mentions(&bad_field("threads", "seq", Some(json!(0))), "`seq`");
}

#[test]
fn negative_seq() {
    assert_mentions(&bad_field("threads", "seq", Some(json!(-3))), "`seq`");
}

#[test]
fn string_in_an_integer_column() {
    assert_mentions(&bad_field("posts", "likes", Some(json!("3"))), "`likes`");
    assert_mentions(&bad_field("threads", "created_at", Some(json!("2024-01-01T00:00:00Z"))), "`created_at`");
}

#[test]
fn float_in_an_integer_column() {
    assert_mentions(&bad_field("posts", "likes", Some(json!(3.5))), "`likes`");
    assert_mentions(&bad_field("posts", "likes", Some(json!(3.0))), "`likes`");
    assert_mentions(&bad_field("threads", "created_at", Some(json!(1.7e12))), "`created_at`");
}

#[test]
fn number_in_a_text_column() {
    assert_mentions(&bad_field("posts", "body", Some(json!(5))), "`body`");
    assert_mentions(&bad_field("threads", "title", Some(json!(1.5))), "`title`");
}

#[test]
fn object_in_a_boolean_column() {
    assert_mentions(&bad_field("threads", "archived", Some(json!({"value": true}))), "`archived`");
    for other in [json!("true"), json!(2), json!(-1), json!(0.5), json!([true])] {
        assert_mentions(&bad_field("threads", "archived", Some(other)), "`archived`");
    }
}

#[test]
fn other_wrong_types() {
    assert_mentions(&bad_field("posts", "score", Some(json!("0.5"))), "`score`");
    assert_mentions(&bad_field("posts", "score", Some(json!(true))), "`score`");
    assert_mentions(&bad_field("posts", "thread_id", Some(json!({"id": "t1"}))), "`thread_id`");
}

#[test]
fn missing_required_column() {
    assert_mentions(&bad_field("threads", "title", None), "`title` is required");
    assert_mentions(&bad_field("threads", "title", Some(json!(null))), "`title` is required");
    assert_mentions(&bad_field("posts", "thread_id", None), "`thread_id` is required");
}

#[test]
fn integration_id_of_another_scope() {
    for other in [json!("team-2"), json!(""), json!(1), json!(null), json!("TEAM-1")] {
        assert_mentions(&bad_field("threads", "integration_id", Some(other)), "`integration_id`");
    }
    // A tombstone of another scope is refused too.
    let (_, message) = bad_row_at_1(json!({"id": "t9", "integration_id": "team-2", "seq": 9, "deleted": true}));
    assert_mentions(&message, "`integration_id`");
}

#[test]
fn deleted_not_a_boolean() {
    for value in [json!("true"), json!(1), json!("yes"), json!({})] {
        assert_mentions(&bad_field("threads", "deleted", Some(value)), "`deleted`");
    }
}

#[test]
fn seq_not_increasing_within_the_page() {
    let rows = vec![thread_json("a", 5), thread_json("b", 5)];
    let err = decode("threads", 0, &page_of("threads", rows)).expect_err("a repeated seq");
    assert_eq!(err, PageError::SeqNotIncreasing { row: 1, seq: 5, previous: 5 });
    let rows = vec![thread_json("a", 2), thread_json("b", 6), thread_json("c", 4)];
    let err = decode("threads", 0, &page_of("threads", rows)).expect_err("a seq going backwards");
    assert_eq!(err, PageError::SeqNotIncreasing { row: 2, seq: 4, previous: 6 });
}

#[test]
fn seq_at_or_below_since_seq() {
    let err = decode("threads", 10, &page_of("threads", vec![thread_json("a", 10)])).expect_err("seq == since_seq");
    assert_eq!(err, PageError::SeqNotIncreasing { row: 0, seq: 10, previous: 10 });
    let err = decode("threads", 10, &page_of("threads", vec![thread_json("a", 3)])).expect_err("seq < since_seq");
    assert_eq!(err, PageError::SeqNotIncreasing { row: 0, seq: 3, previous: 10 });
}

#[test]
fn has_more_with_no_rows() {
    let body = json!({"threads": [], "latest_seq": 4, "has_more": true, "total_count": 9});
    assert_eq!(decode("threads", 4, &body).expect_err("would loop forever"), PageError::EmptyWithMore);
}

/// The error of a page of `threads` requested since `since_seq` with rows of seqs `seqs` and `latest_seq`.
fn latest_seq_error(since_seq: i64, seqs: &[i64], latest_seq: i64) -> PageError {
    let mut body = page_of("threads", seqs.iter().map(|s| thread_json(&format!("t{s}"), *s)).collect());
    body["latest_seq"] = json!(latest_seq);
    decode("threads", since_seq, &body).expect_err("latest_seq disagrees with the rows")
}

#[test]
fn latest_seq_greater_than_the_rows() {
    // Rows up to 2 but a cursor of 5 would skip 3..=5.
    assert_eq!(latest_seq_error(0, &[1, 2], 5), PageError::LatestSeqMismatch { latest_seq: 5, expected: 2 });
    // An empty page cannot move the cursor.
    assert_eq!(latest_seq_error(4, &[], 9), PageError::LatestSeqMismatch { latest_seq: 9, expected: 4 });
}

#[test]
fn latest_seq_smaller_than_the_rows() {
    assert_eq!(latest_seq_error(0, &[1, 2], 1), PageError::LatestSeqMismatch { latest_seq: 1, expected: 2 });
    // Nor move it backwards.
    assert_eq!(latest_seq_error(4, &[], 0), PageError::LatestSeqMismatch { latest_seq: 0, expected: 4 });
}

#[test]
fn more_rows_than_the_limit() {
    let threads = collection("threads");
    let body = page_of("threads", vec![thread_json("a", 1), thread_json("b", 2), thread_json("c", 3)]).to_string();
    let err = decode_page(&threads, &request("threads", 0, 2), body.as_bytes(), MAX_BYTES).expect_err("3 rows > 2");
    assert!(matches!(&err, PageError::TooLarge(m) if m.contains("3 rows")), "{err:?}");
    decode_page(&threads, &request("threads", 0, 3), body.as_bytes(), MAX_BYTES).expect("exactly the limit is fine");
}

#[test]
fn body_over_max_bytes() {
    let threads = collection("threads");
    let feed = crate::page::FeedPage {
        rows: vec![crate::value::Row::upsert("a", 1, crate::testing::thread("x"))],
        latest_seq: 1,
        has_more: false,
        total_count: 1,
    };
    let body = encode_page(&threads, SCOPE, &feed);
    let err = decode_page(&threads, &request("threads", 0, 3), &body, body.len() - 1).expect_err("one byte too many");
    assert!(matches!(&err, PageError::TooLarge(m) if m.contains(&body.len().to_string())), "{err:?}");
    decode_page(&threads, &request("threads", 0, 3), &body, body.len()).expect("exactly the limit is fine");
    // The size is checked before parsing: an oversized body of garbage is TooLarge, not Malformed.
    let garbage = vec![b'x'; 64];
    let err = decode_page(&threads, &request("threads", 0, 3), &garbage, 63).expect_err("too large");
    assert!(matches!(err, PageError::TooLarge(_)), "{err:?}");
}
