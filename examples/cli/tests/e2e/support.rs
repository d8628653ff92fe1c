//! A seeded server on loopback and clients for it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use server_example::generate::{Sizes, generate};
use server_example::serve::{RunningServer, access, start};
use server_example::whatsapp;
use sync_cli::{Client, ClientOptions};
use sync_core::{ClientStore, ServerStore, Verification, verify_scope};
use sync_http::ServerConfig;
use sync_sqlite::SqliteServerStore;
use tempfile::TempDir;

pub const TOKEN_A: &str = "token-a";
pub const TOKEN_B: &str = "token-b";
pub const SCOPE_A: &str = "wa-a";
pub const SCOPE_B: &str = "wa-b";

pub struct Server {
    pub store: Arc<SqliteServerStore>,
    pub running: RunningServer,
    pub dir: TempDir,
}

/// A server with two integrations: A of `sizes`, B small; token A reads A only, token B reads B only.
pub async fn server(sizes: Sizes) -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let store =
        Arc::new(SqliteServerStore::open(dir.path().join("server.db"), whatsapp::schema()).expect("open server store"));
    generate(store.as_ref(), SCOPE_A, sizes, 7, |_| {}).await.expect("seed A");
    let small = Sizes { conversations: 5, messages: 50, contacts: 5 };
    generate(store.as_ref(), SCOPE_B, small, 8, |_| {}).await.expect("seed B");
    let tokens = [(TOKEN_A.to_owned(), vec![SCOPE_A.to_owned()]), (TOKEN_B.to_owned(), vec![SCOPE_B.to_owned()])];
    let running = start(store.clone(), ServerConfig::new(access(&tokens)), "127.0.0.1:0").await.expect("start");
    Server { store, running, dir }
}

impl Server {
    pub fn client(&self, db: &Path, token: &str) -> Client {
        // The tests sync the scopes they name through `client.engine`; the client's own scope is the first.
        let options = ClientOptions {
            scope: SCOPE_A.into(),
            db: db.to_path_buf(),
            url: self.running.url(),
            token: Some(token.to_owned()),
            page_sizes: vec![],
            ..Default::default()
        };
        Client::open(options).expect("open client")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

pub async fn verify(client: &dyn ClientStore, server: &dyn ServerStore, scope: &str) -> Verification {
    verify_scope(&whatsapp::schema(), scope, client, server).await.expect("verify")
}
