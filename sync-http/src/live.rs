//! Live mode of the change endpoints: long-polls that answer as soon as the integration has a newer seq.
//!
//! Why long-poll rather than server-sent events: the answer is the page (or status) the client would fetch
//! next anyway, so a wakeup costs no extra round trip; it is plain HTTP/1.1 GET through any proxy, cache rule
//! and load balancer, with the same auth, gzip and errors as every other request; the client needs nothing
//! beyond its HTTP client; and a dropped connection is just a failed request the engine already retries. SSE
//! would add a second, stateful channel whose events are only hints, after which the client fetches by cursor
//! anyway.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sync_core::{ChangeFeed, FeedError, FeedPage, ScopeStatus};
use tokio::sync::OnceCell;
use tokio::time::Instant;

/// How long a long-poll waits when the request gives no `timeout`.
pub const DEFAULT_LIVE_WAIT: Duration = Duration::from_secs(25);
/// The longest wait served; a larger `timeout` is clamped to it.
pub const MAX_LIVE_WAIT: Duration = Duration::from_secs(60);

/// `Some(wait)` for a live request (`live=true`, `timeout` in seconds, decimals allowed), `None` otherwise.
pub(crate) fn live_wait(params: &HashMap<String, String>) -> Result<Option<Duration>, &'static str> {
    // `timeout` is checked even without `live`, so that a bad value is refused rather than ignored.
    let wait = match params.get("timeout").map(|v| v.parse::<f64>()) {
        None => DEFAULT_LIVE_WAIT,
        // Clamped before the conversion: `Duration::from_secs_f64` panics past u64 seconds (schemathesis sent 1.4e243).
        Some(Ok(s)) if s.is_finite() && s >= 0.0 => Duration::from_secs_f64(s.min(MAX_LIVE_WAIT.as_secs_f64())),
        Some(_) => return Err("`timeout` must be a number of seconds >= 0 (at most 60 are served)"),
    };
    Ok(params.get("live").is_some_and(|v| v == "true" || v == "1").then_some(wait))
}

/// The status of `scope` once its seq passed `after_seq`, or as it is after `wait`.
pub(crate) async fn status(
    feed: &dyn ChangeFeed,
    shared: &SharedStatus,
    scope: &str,
    after_seq: i64,
    wait: Duration,
) -> Result<ScopeStatus, FeedError> {
    let seq = feed.wait_for_seq(scope, after_seq, wait).await?;
    shared.read(feed, scope, seq).await
}

/// Status reads shared by the long-polls one wakeup releases together: a write fanned out to 1,000 waiting
/// clients costs one status read, not 1,000 (it was each woken request reading its own; BENCHMARKS.md).
///
/// Per scope, the last read and the seq its reader had seen before it started: that read reflects at least that
/// seq, so it serves any waiter woken at that seq or an older one. A waiter that saw a newer seq starts a new read.
#[derive(Default)]
pub(crate) struct SharedStatus {
    reads: Mutex<HashMap<String, (i64, StatusRead)>>,
}

/// One status read, shared by whoever awaits it.
type StatusRead = Arc<OnceCell<ScopeStatus>>;

impl SharedStatus {
    async fn read(&self, feed: &dyn ChangeFeed, scope: &str, seen: i64) -> Result<ScopeStatus, FeedError> {
        let read = {
            let mut reads = self.reads.lock().unwrap_or_else(|e| e.into_inner());
            match reads.get(scope) {
                Some((seq, read)) if *seq >= seen => read.clone(),
                _ => {
                    let read = Arc::new(OnceCell::new());
                    reads.insert(scope.to_owned(), (seen, read.clone()));
                    read
                }
            }
        };
        // A failed read is not kept: the next waiter tries again.
        read.get_or_try_init(|| feed.status(scope)).await.cloned()
    }
}

/// A page after `since_seq`, read by `read` (a plain or a filtered page): at once when it has rows, else once a
/// row arrives, else an empty page after `wait`. A wakeup for another collection (or value) of the integration
/// re-reads the page and waits again.
pub(crate) async fn page<F, Fut>(
    feed: &dyn ChangeFeed,
    scope: &str,
    since_seq: i64,
    wait: Duration,
    read: F,
) -> Result<FeedPage, FeedError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<FeedPage, FeedError>>,
{
    let deadline = Instant::now() + wait;
    let mut known = since_seq;
    loop {
        let page = read().await?;
        let left = deadline.saturating_duration_since(Instant::now());
        if !page.rows.is_empty() || left.is_zero() {
            return Ok(page);
        }
        known = known.max(feed.wait_for_seq(scope, known, left).await?);
    }
}
