//! Running the HTTP server over a store.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use sync_core::ChangeFeed;
use sync_http::{Access, ServerConfig, router, serve};
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

/// Access rules from parsed `--token` flags.
pub fn access(tokens: &[(String, Vec<String>)]) -> Access {
    tokens.iter().fold(Access::new(), |access, (token, scopes)| {
        if scopes.iter().any(|s| s == "*") {
            access.grant_all(token)
        } else {
            access.grant(token, &scopes.iter().map(String::as_str).collect::<Vec<_>>())
        }
    })
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

/// Binds `listen` and serves `feed` in a background task.
pub async fn start(feed: Arc<dyn ChangeFeed>, config: ServerConfig, listen: &str) -> anyhow::Result<RunningServer> {
    let listener = TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    let stop = CancellationToken::new();
    let stopped = stop.clone();
    let task = tokio::spawn(serve(listener, router(feed, config), async move { stopped.cancelled().await }));
    Ok(RunningServer { addr, stop, task })
}
