//! Running the HTTP server over a store.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use sync_core::ServerStore;
use sync_http::{Access, ServerConfig, serve, writable_router};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Parses `TOKEN=integration1,integration2` or `TOKEN=*` (every integration).
pub fn parse_token(spec: &str) -> Result<(String, Vec<String>), String> {
    let (token, scopes) = spec.split_once('=').ok_or("expected TOKEN=integration[,integration…] or TOKEN=*")?;
    if token.is_empty() || scopes.is_empty() {
        return Err("both the token and its integrations are needed".into());
    }
    Ok((token.to_owned(), scopes.split(',').map(str::to_owned).collect()))
}

/// Access rules from parsed `--token` flags: each token may read its integrations and push writes to them.
pub fn access(tokens: &[(String, Vec<String>)]) -> Access {
    tokens.iter().fold(Access::new(), grant)
}

/// `access` with the read-only tokens of parsed `--read-token` flags added (their pushes get 403).
pub fn with_read_tokens(access: Access, read_tokens: &[(String, Vec<String>)]) -> Access {
    read_tokens.iter().fold(access, |access, spec| grant(access, spec).read_only(&spec.0))
}

fn grant(access: Access, (token, scopes): &(String, Vec<String>)) -> Access {
    if scopes.iter().any(|s| s == "*") {
        access.grant_all(token)
    } else {
        access.grant(token, &scopes.iter().map(String::as_str).collect::<Vec<_>>())
    }
}

/// A server running in the background of this process.
pub struct RunningServer {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// `http://addr`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, finishes requests in flight, and waits.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.stop.cancel();
        self.task.await.context("the server task panicked")?.context("the server failed")
    }
}

/// Binds `listen` and serves `store` (reads and client pushes) in a background task.
pub async fn start(store: Arc<dyn ServerStore>, config: ServerConfig, listen: &str) -> anyhow::Result<RunningServer> {
    let listener = TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    let stop = CancellationToken::new();
    let stopped = stop.clone();
    let task = tokio::spawn(serve(listener, writable_router(store, config), async move { stopped.cancelled().await }));
    Ok(RunningServer { addr, stop, task })
}
