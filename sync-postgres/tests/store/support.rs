//! The store served over HTTP on loopback (`sync_http::router`, one token reading everything) and clients
//! syncing from it into SQLite files.

use std::path::Path;
use std::sync::Arc;

use sync_client::Client;
use sync_http::{Access, ServerConfig, router};
use sync_postgres::PostgresStore;
use sync_postgres::testing::TOKEN;
pub use sync_postgres::testing::{TestDb as Db, available, tempdir, verify};
use tokio_util::sync::CancellationToken;

/// An HTTP server in a background task.
pub struct Server {
    url: String,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Stops accepting, finishes requests in flight, and waits.
    pub async fn stop(self) -> std::io::Result<()> {
        self.stop.cancel();
        self.task.await.expect("the server task")
    }
}

pub async fn serve(store: Arc<PostgresStore>) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let stop = CancellationToken::new();
    let stopped = stop.clone();
    let app = router(store, ServerConfig::new(Access::new().grant_all(TOKEN)));
    let task = tokio::spawn(sync_http::serve(listener, app, async move { stopped.cancelled().await }));
    Server { url, stop, task }
}

/// A client syncing the integration `name` from `server` ([`sync_postgres::testing::client`]).
pub fn client(server: &Server, dir: &Path, name: &str, page_sizes: Vec<(String, usize)>) -> Client {
    sync_postgres::testing::client(&server.url, dir, name, page_sizes)
}
