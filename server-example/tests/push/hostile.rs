//! Hostile pushes over real loopback HTTP against any server store serving the WhatsApp schema with
//! `WhatsAppHook`: each is refused with the documented status and JSON error, and nothing of it is written.

use std::sync::Arc;

use serde_json::{Value as Json, json};
use server_example::serve::start;
use sync_core::{MAX_PUSH_BYTES, MAX_PUSH_MUTATIONS, ServerStore, Value};
use sync_http::{Access, ServerConfig};

fn conversation(mutation_id: u64, id: &str) -> Json {
    json!({"mutation_id": mutation_id, "collection": "conversations", "id": id, "op": "insert", "fields": {
        "jid": format!("{id}@g.us"), "is_group": true, "archived": false, "pinned": false, "unread_count": 0,
        "created_at": 1, "updated_at": 1}})
}

fn message(mutation_id: u64, id: &str, conversation: &str, body: &str) -> Json {
    json!({"mutation_id": mutation_id, "collection": "messages", "id": id, "op": "insert", "fields": {
        "conversation_id": conversation, "wa_message_id": id, "from_me": true, "body": body,
        "message_type": "text", "status": "pending", "sent_at": 5}})
}

fn update(mutation_id: u64, collection: &str, id: &str, fields: Json) -> Json {
    json!({"mutation_id": mutation_id, "collection": collection, "id": id, "op": "update", "fields": fields})
}

async fn post(url: &str, scope: &str, token: Option<&str>, body: Vec<u8>) -> (u16, Json) {
    let mut request = reqwest::Client::new().post(format!("{url}/sync/push/{scope}")).body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("send");
    let status = response.status().as_u16();
    let text = response.text().await.expect("a body");
    (status, serde_json::from_str(&text).expect("a JSON body"))
}

fn body(mutations: Vec<Json>) -> Vec<u8> {
    json!({"client_id": "phone", "mutations": mutations}).to_string().into_bytes()
}

/// Every hostile push of the issue, each after a valid mutation that must not land either.
fn hostile_bodies() -> Vec<(&'static str, Vec<u8>, Option<u64>)> {
    let archive = || update(2, "conversations", "c1", json!({"archived": true}));
    let with = |bad: Json| body(vec![archive(), bad]);
    let many = (2..=MAX_PUSH_MUTATIONS as u64 + 2).map(|i| update(i, "conversations", "c1", json!({}))).collect();
    vec![
        ("not JSON", b"{\"client_id\": ".to_vec(), None),
        ("not a push", b"[1, 2]".to_vec(), None),
        ("an unknown key", br#"{"client_id": "phone", "mutations": [], "admin": true}"#.to_vec(), None),
        ("unknown collection", with(update(3, "stickers", "s", json!({}))), Some(3)),
        ("read-only collection", with(update(3, "contacts", "k", json!({"phone": "1"}))), Some(3)),
        ("unknown field", with(update(3, "messages", "m1", json!({"colour": "red"}))), Some(3)),
        ("reserved field", with(update(3, "messages", "m1", json!({"seq": 1}))), Some(3)),
        ("wrong type", with(update(3, "messages", "m1", json!({"sent_at": "yesterday"}))), Some(3)),
        ("null for a required column", with(update(3, "messages", "m1", json!({"status": null}))), Some(3)),
        (
            "required column missing on insert",
            with(json!({"mutation_id": 3, "collection": "messages", "id": "m2",
            "op": "insert", "fields": {"conversation_id": "c1"}})),
            Some(3),
        ),
        (
            "fields on a delete",
            with(json!({"mutation_id": 3, "collection": "messages", "id": "m1", "op": "delete",
            "fields": {"body": "x"}})),
            Some(3),
        ),
        ("an empty id", with(update(3, "messages", "", json!({}))), Some(3)),
        (
            "an id going backwards",
            body(vec![update(5, "conversations", "c1", json!({"archived": true})), archive()]),
            Some(2),
        ),
        ("too many mutations", body(many), None),
        ("too many bytes", with(message(3, "m3", "c1", &"x".repeat(MAX_PUSH_BYTES))), None),
    ]
}

/// Serves `store` over loopback HTTP and pushes at it what a hostile or broken client would.
pub async fn hostile_pushes_change_nothing(store: Arc<dyn ServerStore>) {
    let access = Access::new()
        .grant("token-a", &["wa-a"])
        .grant("token-b", &["wa-b"])
        .grant("reader", &["wa-a"])
        .read_only("reader");
    let server = start(store.clone(), ServerConfig::new(access), "127.0.0.1:0").await.expect("start");
    let url = server.url();
    let (status, answer) = post(&url, "wa-a", Some("token-a"), body(vec![conversation(1, "c1")])).await;
    assert_eq!((status, &answer["results"][0]["status"]), (200, &json!("applied")), "{answer}");
    let before = store.status("wa-a").await.expect("status").latest_seq;

    let archive = body(vec![update(2, "conversations", "c1", json!({"archived": true}))]);
    for (token, status, what) in [
        (Some("token-b"), 403, "another integration's token"),
        (Some("reader"), 403, "a read-only token"),
        (None, 401, "no token"),
        (Some("nobody"), 401, "an unknown token"),
    ] {
        let (got, answer) = post(&url, "wa-a", token, archive.clone()).await;
        assert_eq!(got, status, "{what}: {answer}");
        assert!(answer["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: {answer}");
    }
    for (what, bad, mutation_id) in hostile_bodies() {
        let (got, answer) = post(&url, "wa-a", Some("token-a"), bad).await;
        assert_eq!((got, &answer["error"]["code"]), (400, &json!("invalid_push")), "{what}: {answer}");
        assert_eq!(answer["error"]["mutation_id"].as_u64(), mutation_id, "{what} names the mutation: {answer}");
    }
    assert_eq!(store.status("wa-a").await.expect("status").latest_seq, before, "nothing of a refused push landed");
    assert_eq!(store.get("wa-a", "conversations", "c1").await.expect("get").expect("live")[3], Value::Bool(false));
    assert!(store.status("wa-b").await.is_err(), "nothing reached wa-b either");

    // The refused pushes did not advance the client's last id: mutation 2 is new, 1 is a retry.
    let good = body(vec![
        conversation(1, "c1"),
        update(2, "conversations", "c1", json!({"archived": true})),
        message(3, "m1", "c1", "hello"),
        message(4, "m2", "ghost", "into the void"),
    ]);
    let (status, answer) = post(&url, "wa-a", Some("token-a"), good).await;
    assert_eq!(status, 200, "{answer}");
    let statuses: Vec<&str> =
        answer["results"].as_array().expect("results").iter().map(|r| r["status"].as_str().unwrap_or("?")).collect();
    assert_eq!(statuses, ["already_applied", "applied", "applied", "rejected"], "{answer}");
    assert_eq!(answer["results"][3]["code"], "conversation_missing", "the hook refused it: {answer}");
    assert_eq!(answer["last_mutation_id"], 4);
    assert_eq!(store.get("wa-a", "messages", "m2").await.expect("get"), None);
    server.stop().await.expect("stop");
}
