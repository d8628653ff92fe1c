//! [`SyncEngine::follow`]: the client's live loop.

use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use tokio_util::sync::CancellationToken;

use crate::engine::{SyncEngine, SyncOptions};
use crate::error::{SyncError, TransportError};
use crate::progress::SyncReport;

/// Called after each sync of [`SyncEngine::follow`].
pub type SyncedFn = Arc<dyn Fn(&SyncReport) + Send + Sync>;

/// Options of [`SyncEngine::follow`].
#[derive(Clone)]
pub struct FollowOptions {
    /// Stops the loop (a page being written completes: it is atomic).
    pub cancel: CancellationToken,
    /// How long one long-poll waits for a change before asking again. Default: 25 s, below the 30–60 s idle
    /// timeouts of common proxies and load balancers.
    pub wait: Duration,
    /// Called after each sync (the first, then each one a change woke).
    pub on_sync: Option<SyncedFn>,
}

impl Default for FollowOptions {
    fn default() -> Self {
        FollowOptions { cancel: CancellationToken::new(), wait: Duration::from_secs(25), on_sync: None }
    }
}

/// Where the loop is.
enum Step {
    /// Learn the server's seq (first step, and after the integration was unknown).
    Status,
    /// Sync; everything up to this seq was committed before the sync started.
    Sync(i64),
    /// Synced past this seq: long-poll for a newer one.
    Wait(i64),
}

impl SyncEngine {
    /// Keeps `scope` following the server until `options.cancel` is cancelled: syncs (pushing local writes
    /// first), long-polls ([`crate::Transport::wait_for_change`]) for a seq newer than the one the sync started
    /// from, syncs again. A local write ([`SyncEngine::mutate`]) during the long-poll is pushed within a few ms;
    /// its change then comes back through the pull like any other. A subscription change
    /// ([`SyncEngine::change_subscription`]) wakes the long-poll too: the loop syncs at once, so a conversation
    /// subscribed or unarchived is pulled without waiting for the server to change.
    ///
    /// The long-poll is only a wakeup: rows always come by cursor, so a lost hint delays and never loses a
    /// change. Every failure a retry can fix (network, timeout, HTTP 5xx, a server restarting, an integration
    /// with no write yet) is retried with exponential backoff and jitter (the configured initial and maximum
    /// backoff), forever; each sync resumes from the stored cursors. Returns `Ok` when cancelled, and an error
    /// for what retrying cannot fix: a rejected token, a local store failure, a page that breaks the protocol.
    pub async fn follow(&self, scope: &str, options: FollowOptions) -> Result<(), SyncError> {
        let (transport, config) = self.parts();
        let new_backoff = || {
            ExponentialBuilder::default()
                .with_min_delay(config.initial_backoff)
                .with_max_delay(config.max_backoff)
                .without_max_times()
                .with_jitter()
                .build()
        };
        let mut backoff = new_backoff();
        let sync_options = SyncOptions { cancel: options.cancel.clone(), ..Default::default() };
        let mut step = Step::Status;
        let mut local_writes = self.local_writes();
        let mut subscriptions = self.subscription_changes();
        loop {
            if options.cancel.is_cancelled() {
                return Ok(());
            }
            let failed = match step {
                Step::Status => {
                    let call = transport.fetch_status(scope);
                    let Ok(answer) = bounded(&options.cancel, config.request_timeout, call).await else {
                        return Ok(());
                    };
                    match answer {
                        Ok(status) => {
                            step = Step::Sync(status.latest_seq);
                            None
                        }
                        Err(e) => Some(e),
                    }
                }
                Step::Sync(seen) => match self.sync(scope, sync_options.clone()).await {
                    Ok(report) => {
                        if let Some(on_sync) = &options.on_sync {
                            on_sync(&report);
                        }
                        step = Step::Wait(seen);
                        None
                    }
                    Err(SyncError::Cancelled) => return Ok(()),
                    Err(SyncError::Transport { cause, .. }) => Some(cause),
                    Err(fatal) => return Err(fatal),
                },
                Step::Wait(seen) => {
                    let call = transport.wait_for_change(scope, seen, options.wait);
                    let limit = options.wait + config.request_timeout;
                    let answer = tokio::select! {
                        answer = bounded(&options.cancel, limit, call) => answer,
                        Ok(()) = local_writes.changed() => {
                            // Let a burst of writes gather into one push, then push and wait again.
                            tokio::time::sleep(PUSH_DELAY).await;
                            match self.push(scope, &options.cancel).await {
                                Ok(_) => Ok(Ok(status_seen(scope, seen))),
                                Err(SyncError::Cancelled) => return Ok(()),
                                Err(SyncError::Transport { cause, .. }) => Ok(Err(cause)),
                                Err(fatal) => return Err(fatal),
                            }
                        }
                        Ok(()) = subscriptions.changed() => {
                            // Values subscribed or unarchived: pull their rows now, not at the server's next
                            // change. (A change made during a sync is seen here at the next wait.)
                            step = Step::Sync(seen);
                            continue;
                        }
                    };
                    let Ok(answer) = answer else { return Ok(()) };
                    match answer {
                        Ok(status) if status.latest_seq > seen => {
                            step = Step::Sync(status.latest_seq);
                            None
                        }
                        Ok(_) => None,
                        Err(e) => Some(e),
                    }
                }
            };
            let Some(error) = failed else {
                backoff = new_backoff();
                continue;
            };
            if error.code().is_fatal() {
                return Err(SyncError::Transport { what: format!("following {scope}"), cause: error });
            }
            let delay = backoff.next().unwrap_or(config.max_backoff);
            tracing::warn!(scope, %error, ?delay, "live: the server is unreachable or failing; retrying");
            tokio::select! {
                biased;
                _ = options.cancel.cancelled() => return Ok(()),
                _ = tokio::time::sleep(delay) => {}
            }
        }
    }
}

/// How long the live loop lets local writes gather before it pushes them.
const PUSH_DELAY: Duration = Duration::from_millis(5);

/// A status that says nothing new: the loop keeps waiting for `seen`.
fn status_seen(scope: &str, seen: i64) -> crate::page::ScopeStatus {
    crate::page::ScopeStatus { integration_id: scope.to_owned(), latest_seq: seen, collections: Default::default() }
}

/// `call` under `limit`, a timeout as [`TransportError::Timeout`]; `Err(())` when cancelled first.
async fn bounded<T>(
    cancel: &CancellationToken,
    limit: Duration,
    call: impl Future<Output = Result<T, TransportError>>,
) -> Result<Result<T, TransportError>, ()> {
    tokio::select! {
        biased;
        _ = cancel.cancelled() => Err(()),
        r = tokio::time::timeout(limit, call) => Ok(r.unwrap_or(Err(TransportError::Timeout(limit)))),
    }
}
