//! Full-text search of the client replica: the FTS5 index follows every page (inserts, edits, tombstones), an
//! initial sync builds it after the load, a file without it (a crash, an older build) gets it when opened, and
//! any text a user types is a valid query.

use std::path::Path;

use sync_core::testing::{page, post, test_schema};
use sync_core::{ClientStore, Collection, Column, ColumnType, Row, Schema, StoreError, Value};
use sync_sqlite::{Highlight, SearchMode, SearchOptions, SearchOrder, SqliteStore};

use crate::{Dirs, raw};

async fn prepared(path: &Path) -> SqliteStore {
    let store = SqliteStore::open(path).expect("open");
    store.prepare(&test_schema()).await.expect("prepare");
    store
}

/// The ids a search finds, in its order.
async fn found(store: &SqliteStore, query: &str, options: SearchOptions) -> Vec<String> {
    let hits = store.search("s", query, options).await.expect("search");
    hits.into_iter().map(|h| h.id).collect()
}

async fn plain(store: &SqliteStore, query: &str) -> Vec<String> {
    let mut ids = found(store, query, SearchOptions::default()).await;
    ids.sort();
    ids
}

/// FTS5's own check of the index against the data table: fails if a row is missing from it, or it holds one the
/// table does not have, or a stale version.
pub fn assert_index_consistent(path: &Path, table: &str) {
    let fts = format!("{table}_fts");
    raw(path)
        .execute(&format!("INSERT INTO {fts}({fts}, rank) VALUES ('integrity-check', 1)"), [])
        .unwrap_or_else(|e| panic!("the full-text index of {table} disagrees with the table: {e}"));
}

fn posts(bodies: &[(&str, &str, i64)]) -> Vec<Row> {
    bodies.iter().map(|(id, body, seq)| Row::upsert(*id, *seq, post("t1", body))).collect()
}

#[tokio::test]
async fn pages_keep_the_index_current_and_search_ranks_snippets_and_filters() {
    let dirs = Dirs::default();
    let path = dirs.path("client.db");
    let store = prepared(&path).await;
    let rows = posts(&[
        ("p1", "Un café au lait, s'il vous plaît", 1),
        ("p2", "coffee: cafe or caffeine?", 2),
        ("p3", "<script>alert('x')</script> cafe", 3),
        ("p4", "nothing to see here", 4),
    ]);
    store.apply_page("s", page("posts", 0, rows, false)).await.expect("page");
    let other = post("t2", "cafe in another thread");
    store.apply_page("s", page("posts", 4, vec![Row::upsert("p5", 5, other)], false)).await.expect("t2");
    store.apply_page("x", page("posts", 0, posts(&[("q1", "cafe elsewhere", 1)]), false)).await.expect("scope x");

    assert_eq!(plain(&store, "CAFE").await, ["p1", "p2", "p3", "p5"], "diacritics and case fold; scope kept");
    assert_eq!(plain(&store, "café").await, ["p1", "p2", "p3", "p5"]);
    assert_eq!(plain(&store, "caf").await, Vec::<String>::new(), "plain words are whole words");
    let prefix = SearchOptions { mode: SearchMode::Prefix, ..Default::default() };
    let mut prefixed = found(&store, "caf", prefix).await;
    prefixed.sort();
    assert_eq!(prefixed, ["p1", "p2", "p3", "p5"], "caf* finds cafe, café and caffeine");
    assert_eq!(plain(&store, "s'il").await, ["p1"], "a word of two tokens is a phrase");

    let hits = store.search("s", "script", SearchOptions::default()).await.expect("search");
    assert_eq!(hits[0].snippet, "&lt;<mark>script</mark>&gt;alert(&#39;x&#39;)&lt;/<mark>script</mark>&gt; cafe");
    let custom = Highlight { open: "[".into(), close: "]".into(), escape_html: false, ..Default::default() };
    let hits = store.search("s", "au", SearchOptions { highlight: custom, ..Default::default() }).await.expect("au");
    assert_eq!(hits[0].snippet, "Un café [au] lait, s'il vous plaît");

    let in_t2 = SearchOptions { filter: vec![("thread_id".into(), Value::from("t2"))], ..Default::default() };
    assert_eq!(found(&store, "cafe", in_t2).await, ["p5"]);
    let first = found(&store, "cafe", SearchOptions { limit: 2, ..Default::default() }).await;
    let rest = found(&store, "cafe", SearchOptions { limit: 10, offset: 2, ..Default::default() }).await;
    let all = found(&store, "cafe", SearchOptions::default()).await;
    assert_eq!([first, rest].concat(), all, "pages of results follow the order");
    assert_eq!(all, ["p5", "p3", "p2", "p1"], "newest first by default");
    let by_rank = SearchOptions { order: SearchOrder::Relevance, ..Default::default() };
    let hits = store.search("s", "cafe", by_rank).await.expect("ranks");
    let ranks: Vec<f64> = hits.iter().map(|h| h.rank.expect("relevance computes the rank")).collect();
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{hits:?}");

    // An edit replaces the indexed text, a tombstone removes it, and an edit of an unindexed column keeps it.
    store.apply_page("s", page("posts", 5, posts(&[("p2", "tea only", 6)]), false)).await.expect("edit");
    store.apply_page("s", page("posts", 6, vec![Row::tombstone("p3", 7)], false)).await.expect("delete");
    let mut moved = post("t2", "nothing to see here");
    moved[3] = Value::Integer(99);
    store.apply_page("s", page("posts", 7, vec![Row::upsert("p4", 8, moved)], false)).await.expect("likes");
    assert_eq!(plain(&store, "cafe").await, ["p1", "p5"]);
    assert_eq!(plain(&store, "tea").await, ["p2"]);
    assert_eq!(plain(&store, "nothing see").await, ["p4"]);
    assert_index_consistent(&path, "posts");

    store.reset("x").await.expect("reset");
    assert_index_consistent(&path, "posts");
}

#[tokio::test]
async fn any_typed_text_is_a_valid_query_and_bad_advanced_syntax_is_a_clear_error() {
    let dirs = Dirs::default();
    let store = prepared(&dirs.path("client.db")).await;
    let rows = posts(&[("p1", "say \"hello\" (to) AND - the * world 🎉", 1), ("p2", "hello NEAR world", 2)]);
    store.apply_page("s", page("posts", 0, rows, false)).await.expect("page");
    let hostile = [
        "\"",
        "\"\"",
        "'",
        "(",
        ")",
        "((",
        "a)",
        "AND",
        "OR",
        "NOT",
        "hello AND",
        "NOT hello",
        "-hello",
        "hello*",
        "*",
        "^hello",
        "NEAR(hello world)",
        "body:hello",
        "body:",
        ":",
        "{body}: x",
        "+",
        "🎉",
        "hello 🎉",
        "\\",
        "%",
        "_",
        "\u{0}",
        "\u{FDD0}",
        "hello\"world",
        "'; DROP TABLE posts; --",
        "a b c d e f g h i j k l m n o p q r s t",
    ];
    for query in hostile {
        for mode in [SearchMode::Plain, SearchMode::Prefix] {
            let options = SearchOptions { mode, ..Default::default() };
            store.search("s", query, options).await.unwrap_or_else(|e| panic!("{query:?} in {mode:?}: {e}"));
        }
    }
    assert_eq!(plain(&store, "hello AND").await, ["p1"], "`AND` is a word to find");
    assert_eq!(plain(&store, "(to)").await, ["p1"]);
    assert_eq!(
        plain(&store, "NEAR(hello world)").await,
        Vec::<String>::new(),
        "no row has the token `near` next to `hello`"
    );

    let advanced = |mode| SearchOptions { mode, ..Default::default() };
    let hits = store.search("s", "hello NOT say", advanced(SearchMode::Advanced)).await.expect("advanced");
    assert_eq!(hits.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(), ["p2"]);
    for bad in ["hello AND", "(hello", "hello) OR (say", "\"hello", "nosuchcolumn: x", "*"] {
        match store.search("s", bad, advanced(SearchMode::Advanced)).await {
            Err(StoreError::InvalidQuery(message)) => assert!(message.contains("not a valid FTS5 query"), "{message}"),
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    let named = |name: &str| SearchOptions { collections: vec![name.into()], ..Default::default() };
    assert!(matches!(store.search("s", "x", named("threads")).await, Err(StoreError::InvalidQuery(_))));
    assert!(matches!(store.search("s", "x", named("nope")).await, Err(StoreError::UnknownCollection(_))));
    let by = |column: &str| SearchOptions { filter: vec![(column.into(), Value::from("t1"))], ..named("posts") };
    assert!(matches!(store.search("s", "x", by("nope")).await, Err(StoreError::InvalidQuery(_))));
    let tokens = SearchOptions { highlight: Highlight { tokens: 0, ..Default::default() }, ..Default::default() };
    assert!(matches!(store.search("s", "x", tokens).await, Err(StoreError::InvalidQuery(_))));
}

/// Whether the triggers that keep the index of `posts` current exist in the committed file.
fn triggers(path: &Path) -> i64 {
    let count = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'posts'";
    raw(path).query_row(count, [], |r| r.get(0)).expect("triggers")
}

fn numbered(from: i64, n: i64) -> Vec<Row> {
    (from..from + n).map(|i| Row::upsert(format!("p{i}"), i, post("t1", &format!("word{} common", i % 3)))).collect()
}

#[tokio::test]
async fn an_initial_sync_builds_the_index_after_the_load_and_a_crash_in_between_is_repaired_on_open() {
    let dirs = Dirs::default();
    let path = dirs.path("client.db");
    let store = prepared(&path).await;
    assert_eq!(triggers(&path), 3);
    store.apply_page("s", page("posts", 0, numbered(1, 4), true)).await.expect("first page");
    assert_eq!(triggers(&path), 0, "the load into an empty table does not maintain the index row by row");
    store.apply_page("s", page("posts", 4, numbered(5, 4), true)).await.expect("second page");
    drop(store); // stopped mid-sync, as a crash would

    let store = SqliteStore::open(&path).expect("reopen");
    assert_eq!(triggers(&path), 3, "opening rebuilt the index");
    assert_index_consistent(&path, "posts");
    assert_eq!(plain(&store, "common").await.len(), 8);
    store.prepare(&test_schema()).await.expect("prepare");
    store.apply_page("s", page("posts", 8, numbered(9, 4), false)).await.expect("last page");
    assert_eq!(plain(&store, "common").await.len(), 12);
    assert_eq!(plain(&store, "word0").await.len(), 4);

    // A full initial sync: the index is whole at the last page.
    let path = dirs.path("fresh.db");
    let store = prepared(&path).await;
    store.apply_page_held("s", page("posts", 0, numbered(1, 4), true)).await.expect("held first");
    store.apply_page_held("s", page("posts", 4, numbered(5, 4), false)).await.expect("held last");
    assert_eq!(triggers(&path), 3);
    assert_eq!(plain(&store, "common").await.len(), 8);
    assert_index_consistent(&path, "posts");
}

#[tokio::test]
async fn a_replica_without_the_index_gains_it_when_opened_and_a_new_full_text_column_is_indexed() {
    let dirs = Dirs::default();
    let path = dirs.path("client.db");
    let store = prepared(&path).await;
    store.apply_page("s", page("posts", 0, numbered(1, 5), false)).await.expect("page");
    drop(store);
    // What a build without full-text search left: the tables only.
    let conn = raw(&path);
    for name in ["posts_fts_insert", "posts_fts_delete", "posts_fts_update"] {
        conn.execute_batch(&format!("DROP TRIGGER {name}")).expect("drop trigger");
    }
    conn.execute_batch("DROP TABLE posts_fts").expect("drop index");
    drop(conn);

    let store = SqliteStore::open(&path).expect("reopen");
    assert_eq!(plain(&store, "common").await.len(), 5, "indexed on open, without a sync");
    assert_index_consistent(&path, "posts");

    // The schema now indexes thread titles too: prepare builds that index over the rows already there.
    let mut schema = test_schema();
    schema.collections[0].full_text = vec!["title".into()];
    let threads = vec![Row::upsert("t1", 1, sync_core::testing::thread("Holiday plans"))];
    store.apply_page("s", page("threads", 0, threads, false)).await.expect("threads");
    store.prepare(&schema).await.expect("prepare with a new full-text column");
    let hits = store.search("s", "holiday", SearchOptions::default()).await.expect("search");
    assert_eq!((hits[0].collection.as_str(), hits[0].id.as_str()), ("threads", "t1"));
    // And a schema that drops it drops the index.
    store.prepare(&test_schema()).await.expect("prepare without");
    assert!(store.search("s", "holiday", SearchOptions::default()).await.expect("search").is_empty());
}

#[tokio::test]
async fn a_schema_with_several_full_text_columns_searches_each() {
    let dirs = Dirs::default();
    let store = SqliteStore::open(dirs.path("client.db")).expect("open");
    let contacts = Collection::new(
        "contacts",
        vec![Column::new("name", ColumnType::Text), Column::new("company", ColumnType::Text)],
    )
    .full_text(&["name", "company"]);
    store.prepare(&Schema::new(vec![contacts]).expect("schema")).await.expect("prepare");
    let rows = vec![
        Row::upsert("c1", 1, vec![Value::from("Zoë Ångström"), Value::Null]),
        Row::upsert("c2", 2, vec![Value::from("Bob"), Value::from("Zoe Industries")]),
    ];
    store.apply_page("s", page("contacts", 0, rows, false)).await.expect("page");
    let hits = store.search("s", "zoe", SearchOptions::default()).await.expect("search");
    let mut snippets: Vec<&str> = hits.iter().map(|h| h.snippet.as_str()).collect();
    snippets.sort();
    assert_eq!(snippets, ["<mark>Zoe</mark> Industries", "<mark>Zoë</mark> Ångström"]);
}

#[tokio::test]
async fn recent_order_is_newest_first_an_edit_keeps_its_place_and_collections_interleave_by_seq() {
    let dirs = Dirs::default();
    let store = SqliteStore::open(dirs.path("client.db")).expect("open");
    let text = |name: &str, column: &str| {
        Collection::new(name, vec![Column::new(column, ColumnType::Text)]).full_text(&[column])
    };
    let schema = Schema::new(vec![text("notes", "body"), text("contacts", "name")]).expect("schema");
    store.prepare(&schema).await.expect("prepare");
    let zoe = |id: &str, seq: i64| Row::upsert(id, seq, vec![Value::from(format!("zoe {id}"))]);
    store.apply_page("s", page("notes", 0, vec![zoe("n1", 1), zoe("n2", 3), zoe("n3", 5)], false)).await.expect("n");
    store.apply_page("s", page("contacts", 0, vec![zoe("c1", 2), zoe("c2", 4)], false)).await.expect("c");
    let recent = |limit, offset| SearchOptions { limit, offset, ..Default::default() };
    let all = found(&store, "zoe", recent(50, 0)).await;
    assert_eq!(all, ["n3", "c2", "n2", "c1", "n1"], "newest first across collections");
    let paged = [found(&store, "zoe", recent(2, 0)).await, found(&store, "zoe", recent(9, 2)).await].concat();
    assert_eq!(paged, all, "offset pages follow the same order");
    let hits = store.search("s", "zoe", SearchOptions::default()).await.expect("search");
    assert!(hits.iter().all(|h| h.rank.is_none()), "recent order computes no rank: {hits:?}");

    // An edit keeps the row's place in its collection (a message does not jump to the top when edited); the
    // collections still interleave by the seq of each one's next hit.
    store.apply_page("s", page("notes", 5, vec![zoe("n1", 6)], false)).await.expect("edit");
    assert_eq!(found(&store, "zoe", recent(50, 0)).await, ["n3", "c2", "n2", "n1", "c1"]);
    let by_rank = SearchOptions { order: SearchOrder::Relevance, ..Default::default() };
    let mut ranked = found(&store, "zoe", by_rank).await;
    ranked.sort();
    assert_eq!(ranked, ["c1", "c2", "n1", "n2", "n3"]);
}

/// The layout of the index before it held the integration token and 3-letter prefixes: the FTS5 table read the
/// data table directly. A replica an older build indexed this way gains the current layout when opened, without
/// a sync, and a search of one integration then reads only its rows.
#[tokio::test]
async fn an_index_of_the_old_layout_is_made_again_on_open_and_each_integration_finds_only_its_rows() {
    let dirs = Dirs::default();
    let path = dirs.path("client.db");
    let store = prepared(&path).await;
    store.apply_page("s", page("posts", 0, posts(&[("p1", "coffee beans", 1)]), false)).await.expect("s");
    store.apply_page("other", page("posts", 0, posts(&[("q1", "coffee cups", 1)]), false)).await.expect("o");
    drop(store);
    let conn = raw(&path);
    conn.execute_batch(
        "DROP TABLE posts_fts; DROP VIEW posts_fts_content;
         CREATE VIRTUAL TABLE \"posts_fts\" USING fts5(\"body\", content=\"posts\", content_rowid='rowid', \
         tokenize='unicode61 remove_diacritics 2');
         INSERT INTO posts_fts(posts_fts) VALUES ('rebuild');",
    )
    .expect("the old layout");
    drop(conn);

    let store = SqliteStore::open(&path).expect("reopen");
    let layout: String =
        raw(&path).query_row("SELECT sql FROM sqlite_master WHERE name = 'posts_fts'", [], |r| r.get(0)).expect("sql");
    assert!(layout.contains("posts_fts_content") && layout.contains("prefix='3'"), "{layout}");
    assert_index_consistent(&path, "posts");
    assert_eq!(plain(&store, "coffee").await, ["p1"]);
    let prefix = SearchOptions { mode: SearchMode::Prefix, ..Default::default() };
    let hits = store.search("other", "cof", prefix.clone()).await.expect("prefix");
    assert_eq!(
        hits.iter().map(|h| (h.id.as_str(), h.snippet.as_str())).collect::<Vec<_>>(),
        [("q1", "<mark>coffee</mark> cups")]
    );
    // The integration token is not text a user can find: its hex spelling matches no message.
    let token = format!("i{}", "other".bytes().map(|b| format!("{b:02X}")).collect::<String>());
    assert!(store.search("other", &token, SearchOptions::default()).await.expect("token").is_empty());
    assert!(store.search("other", &token[..3], prefix).await.expect("token prefix").is_empty());
}

/// The segments of a full-text index (FTS5 keeps one row per segment and leaf range in `<fts>_idx`).
fn segments(path: &Path, table: &str) -> i64 {
    raw(path)
        .query_row(&format!("SELECT count(DISTINCT segid) FROM {table}_fts_idx"), [], |row| row.get(0))
        .expect("segments")
}

/// A page gives FTS5 its rows in two statements, not one per row: a statement per row made FTS5 flush each
/// row's terms into a segment of its own (at the statement's savepoint), 200 segments for 200 rows.
#[tokio::test]
async fn a_page_adds_its_rows_to_the_index_as_one_segment_edits_and_deletes_included() {
    let dirs = Dirs::default();
    let path = dirs.path("client.db");
    let store = prepared(&path).await;
    let first: Vec<Row> =
        (1..=200).map(|i| Row::upsert(format!("p{i}"), i, post("t1", &format!("first {i}")))).collect();
    store.apply_page("s", page("posts", 0, first, false)).await.expect("first page");
    // Nothing merges, so the segments a page writes stay countable.
    let merges = "INSERT INTO posts_fts(posts_fts, rank) VALUES ('automerge', 0), ('crisismerge', 1000)";
    raw(&path).execute(merges, []).expect("merge settings");
    let before = segments(&path, "posts");
    let mut second: Vec<Row> =
        (201..=400).map(|i| Row::upsert(format!("p{i}"), i, post("t1", &format!("second {i}")))).collect();
    second.push(Row::upsert("p1", 401, post("t1", "edited")));
    second.push(Row::tombstone("p2", 402));
    store.apply_page("s", page("posts", 200, second, false)).await.expect("second page");
    assert!(segments(&path, "posts") <= before + 2, "{before} → {}", segments(&path, "posts"));
    assert_index_consistent(&path, "posts");
    let all = || SearchOptions { limit: 1_000, ..Default::default() };
    assert_eq!(found(&store, "second", all()).await.len(), 200);
    assert_eq!(plain(&store, "edited").await, ["p1"]);
    assert_eq!(found(&store, "first", all()).await.len(), 198, "p1 edited, p2 deleted");
}
