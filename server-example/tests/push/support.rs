//! The example server on either store, with `WhatsAppHook`, over loopback HTTP, and clients writing to it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::Value as Json;
use server_example::hook::WhatsAppHook;
use server_example::serve::{RunningServer, start};
use server_example::whatsapp;
use sync_cli::{Client, ClientOptions};
use sync_core::outbox::LocalWrite;
use sync_core::{MutationOp, ServerStore, SyncOptions, Value, Write};
use sync_http::{Access, ServerConfig};
use sync_postgres::testing::{TestDb, available};
use sync_sqlite::SqliteServerStore;
use tempfile::TempDir;

pub const SCOPE: &str = "wa-1";
pub const TOKEN: &str = "writer";

/// Which server store.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// A server store with `WhatsAppHook`, served on loopback, and a folder for clients' files.
pub struct Harness {
    pub store: Arc<dyn ServerStore>,
    pub server: Option<RunningServer>,
    pub dir: TempDir,
    /// The PostgreSQL schema (kept until the test ends).
    pub db: Option<TestDb>,
}

/// The store of `kind` with `WhatsAppHook`; `None` when PostgreSQL is unreachable (outside CI).
pub async fn store(kind: Kind, dir: &Path) -> Option<(Arc<dyn ServerStore>, Option<TestDb>)> {
    Some(match kind {
        Kind::Sqlite => {
            let store = SqliteServerStore::open(dir.join("server.db"), whatsapp::schema()).expect("open");
            (Arc::new(store.with_hook(Arc::new(WhatsAppHook))), None)
        }
        Kind::Postgres => {
            if !available().await {
                return None;
            }
            let db = TestDb::fresh(whatsapp::schema()).await;
            (db.store_with_hook(Arc::new(WhatsAppHook)).await, Some(db))
        }
    })
}

/// `TOKEN` reads and writes `SCOPE`.
pub fn config() -> ServerConfig {
    ServerConfig::new(Access::new().grant(TOKEN, &[SCOPE]))
}

impl Harness {
    /// The server on a fresh store of `kind`, holding conversation `c1`; `None` when PostgreSQL is unreachable.
    pub async fn new(kind: Kind) -> Option<Harness> {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, db) = store(kind, dir.path()).await?;
        store.write(SCOPE, vec![conversation_row("c1")]).await.expect("seed");
        let server = start(store.clone(), config(), "127.0.0.1:0").await.expect("start");
        Some(Harness { store, server: Some(server), dir, db })
    }

    pub fn url(&self) -> String {
        self.server.as_ref().expect("running").url()
    }

    /// A client of this server with its own SQLite file.
    pub fn client(&self, name: &str) -> Client {
        self.client_of(&self.url(), name)
    }

    /// A client of the server at `url` with its own SQLite file.
    pub fn client_of(&self, url: &str, name: &str) -> Client {
        let options = ClientOptions {
            db: self.dir.path().join(format!("{name}.db")),
            url: url.to_owned(),
            token: Some(TOKEN.into()),
            scope: SCOPE.into(),
            max_retries: Some(1),
            ..Default::default()
        };
        Client::open(options).expect("open client")
    }

    /// Stops the server (the client is offline).
    pub async fn stop(&mut self) -> std::net::SocketAddr {
        let server = self.server.take().expect("running");
        let addr = server.addr;
        server.stop().await.expect("stop");
        addr
    }

    /// Serves the same store again at `addr`.
    pub async fn restart(&mut self, addr: std::net::SocketAddr) {
        self.server = Some(start(self.store.clone(), config(), &addr.to_string()).await.expect("restart"));
    }

    /// Asserts that `client` holds exactly the server's rows and has no write left in its outbox.
    pub async fn assert_exact(&self, client: &Client) {
        let verification =
            sync_core::verify_scope(&whatsapp::schema(), SCOPE, client.store.as_ref(), self.store.as_ref())
                .await
                .expect("verify");
        assert!(verification.is_exact(), "{:?}", verification.differences);
        let pending = client.pending_writes().await.expect("pending");
        assert!(pending.is_empty(), "every write settled: {pending:?}");
    }

    pub async fn latest_seq(&self) -> i64 {
        self.store.status(SCOPE).await.expect("status").latest_seq
    }

    pub async fn row(&self, collection: &str, id: &str) -> Option<Vec<Value>> {
        self.store.get(SCOPE, collection, id).await.expect("get")
    }
}

pub async fn sync(client: &Client) {
    client.engine.sync(SCOPE, SyncOptions::default()).await.expect("sync");
}

fn conversation_row(id: &str) -> Write {
    let values = vec![
        Value::from(format!("{id}@g.us")),
        Value::Null,
        Value::Bool(true),
        Value::Bool(false),
        Value::Bool(false),
        Value::Null,
        Value::Integer(0),
        Value::Null,
        Value::Integer(1),
        Value::Integer(1),
    ];
    Write::Upsert { collection: "conversations".into(), id: id.into(), values }
}

pub fn write(collection: &str, id: &str, op: MutationOp, fields: Json) -> LocalWrite {
    let fields: BTreeMap<String, Json> = fields.as_object().cloned().unwrap_or_default().into_iter().collect();
    LocalWrite { collection: collection.into(), id: id.into(), op, fields }
}

/// An insert of a text message into `conversation`.
pub fn message(id: &str, conversation: &str, body: &str) -> LocalWrite {
    let fields = serde_json::json!({"conversation_id": conversation, "wa_message_id": id, "from_me": true,
        "body": body, "message_type": "text", "status": "pending", "sent_at": 5});
    write("messages", id, MutationOp::Insert, fields)
}

/// An insert of a conversation.
pub fn conversation(id: &str) -> LocalWrite {
    let fields = serde_json::json!({"jid": format!("{id}@g.us"), "is_group": true, "archived": false,
        "pinned": false, "unread_count": 0, "created_at": 1, "updated_at": 1});
    write("conversations", id, MutationOp::Insert, fields)
}
