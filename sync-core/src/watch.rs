//! The server's side of live updates: [`SeqWatch`], the in-process "integration X reached seq S" signal a
//! server's [`crate::ChangeFeed::wait_for_seq`] waits on, with a periodic re-check of the store so that a lost
//! hint only delays (PROTOCOL.md invariant 8). The client's side is `live/`.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::error::FeedError;
use crate::feed::ChangeFeed;

/// How often a waiter re-reads the store when no hint came: the bound on the delay a lost hint causes.
pub const DEFAULT_RECHECK: Duration = Duration::from_millis(500);

/// The latest seq of `scope` in `feed` (0 for a scope with no write yet).
pub async fn latest_seq<F: ChangeFeed + ?Sized>(feed: &F, scope: &str) -> Result<i64, FeedError> {
    match feed.status(scope).await {
        Ok(status) => Ok(status.latest_seq),
        Err(FeedError::UnknownScope(_)) => Ok(0),
        Err(e) => Err(e),
    }
}

/// "Integration X reached seq S" signals, one watch channel per integration that has waiters.
///
/// A server store publishes after each commit (or when a `LISTEN/NOTIFY` or NATS hint arrives); an HTTP
/// long-poll waits. Only integrations with waiters hold an entry: the store, not this hub, is the truth, and a
/// waiter reads it first.
#[derive(Debug, Default)]
pub struct SeqWatch {
    scopes: Mutex<HashMap<String, watch::Sender<i64>>>,
}

impl SeqWatch {
    /// A hub with no waiters.
    pub fn new() -> Self {
        Self::default()
    }

    /// `scope` reached `seq`: wakes its waiters. A seq at or below the one already known is ignored (hints
    /// from several sources arrive out of order).
    pub fn publish(&self, scope: &str, seq: i64) {
        let scopes = self.scopes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = scopes.get(scope) {
            tx.send_if_modified(|known| {
                let newer = seq > *known;
                if newer {
                    *known = seq;
                }
                newer
            });
        }
    }

    /// Wakes every waiter of every integration to re-read the store (after a hint source reconnected: hints
    /// may have been lost while it was away).
    pub fn publish_all(&self) {
        let scopes = self.scopes.lock().unwrap_or_else(|e| e.into_inner());
        for tx in scopes.values() {
            tx.send_modify(|_| {});
        }
    }

    /// Integrations that have waiters now.
    pub fn waited_scopes(&self) -> Vec<String> {
        self.scopes.lock().unwrap_or_else(|e| e.into_inner()).keys().cloned().collect()
    }

    /// Waits until `scope` passes `after_seq` (see [`ChangeFeed::wait_for_seq`] for the contract). `current`
    /// reads the store's seq: once after subscribing (so a commit that came before the wait is seen), on each
    /// wakeup that does not carry a newer seq, and every `recheck` (so a lost hint only delays).
    pub async fn wait<F, Fut>(
        &self,
        scope: &str,
        after_seq: i64,
        timeout: Duration,
        recheck: Duration,
        current: F,
    ) -> Result<i64, FeedError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<i64, FeedError>>,
    {
        let deadline = Instant::now() + timeout;
        let mut guard = Subscription::new(self, scope);
        let rx = &mut guard.rx;
        let mut seq = current().await?;
        loop {
            if seq > after_seq {
                return Ok(seq);
            }
            let next_check = (Instant::now() + recheck).min(deadline);
            tokio::select! {
                changed = rx.changed() => {
                    let hinted = *rx.borrow_and_update();
                    // A wakeup without a newer seq (publish_all, or a closed hub) means "re-read the store".
                    seq = if hinted > after_seq { hinted } else if changed.is_ok() { current().await? } else { seq };
                    if changed.is_err() {
                        tokio::time::sleep_until(next_check).await;
                    }
                }
                _ = tokio::time::sleep_until(next_check) => {
                    if Instant::now() >= deadline {
                        return Ok(seq);
                    }
                    seq = current().await?;
                }
            }
        }
    }
}

/// A waiter's receiver; the last one out removes its integration's entry.
struct Subscription<'a> {
    hub: &'a SeqWatch,
    scope: String,
    rx: watch::Receiver<i64>,
}

impl<'a> Subscription<'a> {
    fn new(hub: &'a SeqWatch, scope: &str) -> Self {
        let mut scopes = hub.scopes.lock().unwrap_or_else(|e| e.into_inner());
        let rx = scopes.entry(scope.to_owned()).or_insert_with(|| watch::channel(0).0).subscribe();
        Subscription { hub, scope: scope.to_owned(), rx }
    }
}

impl Drop for Subscription<'_> {
    fn drop(&mut self) {
        let mut scopes = self.hub.scopes.lock().unwrap_or_else(|e| e.into_inner());
        // Our receiver is dropped right after this: the entry goes if it was the last.
        if scopes.get(&self.scope).is_some_and(|tx| tx.receiver_count() <= 1) {
            scopes.remove(&self.scope);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, Ordering};

    /// Reads the seq a test "store" holds.
    fn reader(store: &Arc<AtomicI64>) -> impl Fn() -> std::future::Ready<Result<i64, FeedError>> + use<> {
        let store = store.clone();
        move || std::future::ready(Ok(store.load(Ordering::SeqCst)))
    }

    #[tokio::test(start_paused = true)]
    async fn a_publish_wakes_a_waiter_and_the_timeout_returns_the_known_seq() {
        let hub = Arc::new(SeqWatch::new());
        let store = Arc::new(AtomicI64::new(3));
        // Nothing newer: the timeout answers with what the store holds.
        let waited = hub.wait("s", 3, Duration::from_secs(2), Duration::from_secs(60), reader(&store)).await;
        assert_eq!(waited.ok(), Some(3));
        assert!(hub.waited_scopes().is_empty(), "the last waiter removes its entry");

        let waiter = {
            let (hub, read) = (hub.clone(), reader(&store));
            tokio::spawn(async move { hub.wait("s", 3, Duration::from_secs(30), Duration::from_secs(60), read).await })
        };
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(1)).await;
        hub.publish("other", 9);
        hub.publish("s", 2); // older than what the waiter needs: it keeps waiting
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert!(!waiter.is_finished());
        hub.publish("s", 7);
        let woke = waiter.await.ok().and_then(Result::ok);
        assert_eq!(woke, Some(7));
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_hint_the_recheck_finds_the_commit() {
        let hub = SeqWatch::new();
        let store = Arc::new(AtomicI64::new(0));
        let writer = {
            let store = store.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(1)).await;
                store.store(5, Ordering::SeqCst); // a commit whose hint was lost
            })
        };
        let started = Instant::now();
        let seq = hub.wait("s", 0, Duration::from_secs(30), DEFAULT_RECHECK, reader(&store)).await.ok();
        assert_eq!(seq, Some(5));
        assert!(started.elapsed() <= Duration::from_secs(1) + DEFAULT_RECHECK, "{:?}", started.elapsed());
        writer.await.ok();
    }
}
