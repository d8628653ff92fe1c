//! Selective sync on the wire, over real loopback HTTP against the example server on both stores: filtered pages
//! hold exactly the rows of their values (moves out as tombstones, moves in as rows) and cover the collection's
//! greatest seq when nothing is left; heads hold the newest rows of each value; bad filters are refused with 400.

use std::collections::BTreeMap;
use std::sync::Arc;

use server_example::serve::{RunningServer, start};
use server_example::whatsapp;
use sync_core::{HeadRead, PageRequest, ServerStore, Transport, TransportError, Value, Write, wire};
use sync_http::HttpTransport;

use crate::support::{Kind, SCOPE, TOKEN, config, store};

/// A store of `kind` served on loopback (the push tests' harness seeds a conversation and a hook; these read only).
pub struct Served {
    pub store: Arc<dyn ServerStore>,
    pub server: RunningServer,
    /// The folder of the SQLite server file.
    pub dir: tempfile::TempDir,
    /// The PostgreSQL schema (kept until the test ends).
    pub db: Option<sync_postgres::testing::TestDb>,
}

impl Served {
    /// `None` when PostgreSQL is unreachable (outside CI).
    pub async fn new(kind: Kind) -> Option<Served> {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, db) = store(kind, dir.path()).await?;
        let server = start(store.clone(), config(), "127.0.0.1:0").await.expect("start");
        Some(Served { store, server, dir, db })
    }

    pub fn transport(&self) -> HttpTransport {
        HttpTransport::new(&self.server.url(), Some(TOKEN)).expect("transport")
    }

    pub async fn write(&self, writes: Vec<Write>) {
        self.store.write(SCOPE, writes).await.expect("write");
    }
}

/// Five conversations of 20 messages each, written interleaved so every page crosses values.
pub async fn seeded(kind: Kind) -> Option<Served> {
    let h = Served::new(kind).await?;
    h.write((1..=5).map(|c| conversation(&format!("c{c}"), c)).collect()).await;
    let mut writes = Vec::new();
    for i in 0..20 {
        for c in 1..=5 {
            writes.push(message(&format!("m{c}-{i}"), &format!("c{c}"), &format!("hello {i}")));
        }
    }
    h.write(writes).await;
    Some(h)
}

pub async fn filtered_pages_hold_exactly_their_values(kind: Kind) {
    let Some(h) = seeded(kind).await else { return };
    let transport = h.transport();
    let values = ["c1", "c3"];
    let mut messages = Replica::new();
    let (cursor, pages) = pull_filtered(&transport, "messages", &values, 0, 7, &mut messages).await;
    assert_eq!(pages, 6, "40 rows in pages of 7");
    assert_eq!(values_of(&messages), server_rows(h.store.as_ref(), "messages", &values).await);
    let latest = h.store.status(SCOPE).await.expect("status").collections["messages"].latest_seq;
    assert_eq!(cursor, latest, "nothing left: the last page covers the collection's greatest seq");
    let mut conversations = Replica::new();
    pull_filtered(&transport, "conversations", &values, 0, 1, &mut conversations).await;
    assert_eq!(conversations.keys().collect::<Vec<_>>(), ["c1", "c3"]);

    // A move out (c1 → c2), a move between two subscribed values (c3 → c1), a move in (c4 → c3), a move out and
    // back (c1 → c5 → c1), an edit, a delete, and a cascade: each reaches the subscriber by the next pull.
    h.write(vec![message("m1-0", "c2", "moved out")]).await;
    h.write(vec![message("m3-0", "c1", "moved across")]).await;
    h.write(vec![message("m4-0", "c3", "moved in")]).await;
    h.write(vec![message("m1-1", "c5", "away")]).await;
    h.write(vec![message("m1-1", "c1", "back")]).await;
    h.write(vec![message("m3-1", "c3", "edited"), delete("messages", "m3-2"), delete("conversations", "c1")]).await;
    h.write(vec![message("m2-0", "c2", "elsewhere")]).await;
    let (again, _) = pull_filtered(&transport, "messages", &values, cursor, 3, &mut messages).await;
    assert_eq!(values_of(&messages), server_rows(h.store.as_ref(), "messages", &values).await);
    assert!(messages.contains_key("m4-0") && !messages.contains_key("m1-0") && !messages.contains_key("m3-2"));
    assert!(messages.keys().all(|id| !id.starts_with("m1-")), "c1 was deleted: its messages cascaded");
    pull_filtered(&transport, "conversations", &values, 0, 10, &mut conversations).await;
    assert_eq!(conversations.keys().collect::<Vec<_>>(), ["c3"]);

    // Nothing new: an empty page at the cursor, and a write elsewhere moves no subscribed row but may move the
    // cursor past it.
    let (same, pages) = pull_filtered(&transport, "messages", &values, again, 3, &mut messages).await;
    assert_eq!((same, pages), (again, 1));
}

pub async fn heads_hold_the_newest_rows(kind: Kind) {
    let Some(h) = seeded(kind).await else { return };
    h.write(vec![delete("messages", "m2-19")]).await;
    let schema = server_example::whatsapp::schema();
    let messages = schema.collection("messages").expect("messages");
    let values = vec!["c2".to_owned(), "c4".to_owned(), "nope".to_owned()];
    let body = h.transport().fetch_head(SCOPE, "messages", &HeadRead::newest(&values, 3)).await.expect("head");
    let request = sync_core::PageRequest {
        scope: SCOPE.into(),
        collection: "messages".into(),
        since_seq: 0,
        limit: 9,
        fresh: false,
        filter: None,
    };
    let page = wire::decode_page(messages, &request, &body, 1 << 20).expect("a head decodes as a page");
    let mut ids: Vec<&str> = page.rows.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["m2-16", "m2-17", "m2-18", "m4-17", "m4-18", "m4-19"], "live rows only, newest first");
    assert!(!page.has_more);

    // Paged backwards with `before`: the three rows below the oldest one c2 sent.
    let oldest = page.rows.iter().find(|r| r.id == "m2-16").expect("m2-16").seq;
    let read = HeadRead { values: vec![("c2".into(), oldest)], per_value: 3 };
    let body = h.transport().fetch_head(SCOPE, "messages", &read).await.expect("older rows");
    let older = wire::decode_page(messages, &request, &body, 1 << 20).expect("older rows decode as a page");
    let mut ids: Vec<&str> = older.rows.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["m2-13", "m2-14", "m2-15"], "the next three below the bound");
}

pub async fn bad_filters_are_refused(kind: Kind) {
    let Some(h) = seeded(kind).await else { return };
    let client = reqwest::Client::new();
    let url = h.server.url();
    let too_many: String = (0..1_001).map(|i| format!("&filter=c{i}")).collect();
    for query in [
        format!("sync/contacts/{SCOPE}?filter=c1"),
        format!("sync/messages/{SCOPE}?filter="),
        format!("sync/messages/{SCOPE}?since_seq=0{too_many}"),
        format!("sync/messages/{SCOPE}/head?filter=c1&per_value=0"),
        format!("sync/messages/{SCOPE}/head?filter=c1&per_value=1001"),
        format!("sync/messages/{SCOPE}/head"),
        format!("sync/messages/{SCOPE}/head?filter=c1&filter=c2&before=9"),
        format!("sync/messages/{SCOPE}/head?filter=c1&before=0"),
        format!("sync/messages/{SCOPE}/head?filter=c1&before=ten"),
    ] {
        let response = client.get(format!("{url}/{query}")).bearer_auth(TOKEN).send().await.expect("request");
        assert_eq!(response.status(), 400, "{query}");
        let body: serde_json::Value =
            serde_json::from_slice(&response.bytes().await.expect("body")).expect("a JSON error");
        assert_eq!(body["error"]["code"], "bad_request", "{query}");
    }
    // A seed-style request (no filter) is served as before.
    let response = client
        .get(format!("{url}/sync/messages/{SCOPE}?since_seq=0&limit=5"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("request");
    let body: serde_json::Value = serde_json::from_slice(&response.bytes().await.expect("body")).expect("a page");
    assert_eq!(body["messages"].as_array().map(Vec::len), Some(5));
    let unknown = h.transport().fetch_head("nobody", "messages", &HeadRead::newest(&["c1".into()], 1)).await;
    assert!(matches!(unknown, Err(TransportError::Status { status: 403, .. })), "{unknown:?}");
}

pub fn conversation(id: &str, at: i64) -> Write {
    let values = vec![
        Value::from(format!("{id}@g.us")),
        Value::from(format!("chat {id}")),
        Value::Bool(true),
        Value::Bool(false),
        Value::Bool(false),
        Value::Null,
        Value::Integer(0),
        Value::Integer(at),
        Value::Integer(1),
        Value::Integer(at),
    ];
    Write::Upsert { collection: "conversations".into(), id: id.into(), values }
}

pub fn message(id: &str, conversation: &str, body: &str) -> Write {
    let values = vec![
        Value::from(conversation),
        Value::from(id),
        Value::Null,
        Value::Bool(false),
        Value::from(body),
        Value::from("text"),
        Value::from("read"),
        Value::Null,
        Value::Integer(1_700_000_000_000),
        Value::Null,
        Value::Null,
    ];
    Write::Upsert { collection: "messages".into(), id: id.into(), values }
}

pub fn delete(collection: &str, id: &str) -> Write {
    Write::Delete { collection: collection.into(), id: id.into() }
}

/// A replica of one collection built from pages alone: id → (seq, values), tombstones applied.
pub type Replica = BTreeMap<String, (i64, Vec<Value>)>;

/// Pulls `collection` for `values` from `since_seq` with pages of `limit`, applying each to `replica`; returns
/// the cursor the last page gave and the number of pages.
pub async fn pull_filtered(
    transport: &HttpTransport,
    collection: &str,
    values: &[&str],
    since_seq: i64,
    limit: usize,
    replica: &mut Replica,
) -> (i64, usize) {
    let schema = whatsapp::schema();
    let c = schema.collection(collection).expect("collection");
    let (mut since_seq, mut pages) = (since_seq, 0);
    loop {
        let request = PageRequest {
            scope: SCOPE.into(),
            collection: collection.into(),
            since_seq,
            limit,
            fresh: false,
            filter: Some(values.iter().map(|v| (*v).to_owned()).collect()),
        };
        let body = transport.fetch_page(&request).await.expect("page");
        let page = wire::decode_page(c, &request, &body, 1 << 24).expect("a valid page");
        pages += 1;
        for row in page.rows {
            match row.change {
                sync_core::Change::Upsert(values) => replica.insert(row.id, (row.seq, values)),
                sync_core::Change::Delete => replica.remove(&row.id),
            };
        }
        since_seq = page.latest_seq;
        if !page.has_more {
            return (since_seq, pages);
        }
    }
}

/// The server's live rows of `collection` whose filter value is one of `values`.
pub async fn server_rows(store: &dyn ServerStore, collection: &str, values: &[&str]) -> BTreeMap<String, Vec<Value>> {
    let schema = whatsapp::schema();
    let c = schema.collection(collection).expect("collection");
    let filter = c.filter.as_deref().expect("a filtered collection");
    let rows = store.read_rows(SCOPE, collection, None, 1_000_000).await.expect("rows");
    rows.into_iter()
        .filter(|row| {
            let value = match filter {
                "id" => Some(row.id.as_str()),
                column => match &row.values[c.column_index(column).expect("column")] {
                    Value::Text(text) => Some(text.as_str()),
                    _ => None,
                },
            };
            value.is_some_and(|v| values.contains(&v))
        })
        .map(|row| (row.id, row.values))
        .collect()
}

pub fn values_of(replica: &Replica) -> BTreeMap<String, Vec<Value>> {
    replica.iter().map(|(id, (_, values))| (id.clone(), values.clone())).collect()
}
