//! A sync server embedded in a service: a store, the tokens, the router, served until Ctrl-C.
//!
//! ```sh
//! cargo run -p server-example --example embed -- server.db 127.0.0.1:8080
//! cargo run -p sync-cli -- pull --url http://127.0.0.1:8080 --token secret --integration wa-1 --db client.db
//! ```
//! On PostgreSQL, the store is `sync_postgres::PostgresStore::connect(url, schema)` instead, and
//! `store.start_live(nats_url, cancel)` wakes the live clients of every instance.

use std::sync::Arc;

use sync_http::{Access, ServerConfig, serve, writable_router};
use sync_sqlite::SqliteServerStore;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (db, listen) = (args.next().unwrap_or("server.db".into()), args.next().unwrap_or("127.0.0.1:8080".into()));
    let store = Arc::new(SqliteServerStore::open(&db, server_example::whatsapp::schema())?);
    // `secret` reads and writes the integration `wa-1`; `Access::read_only` would make it read only.
    let access = Access::new().grant("secret", &["wa-1"]);
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("serving {db} on http://{}", listener.local_addr()?);
    let stop = async { _ = tokio::signal::ctrl_c().await };
    serve(listener, writable_router(store, ServerConfig::new(access)), stop).await?;
    Ok(())
}
