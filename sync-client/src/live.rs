//! [`Client::follow`]: the engine's live loop, with each committed change handed to an optional listener.

use std::time::Duration;

use sync_core::CancellationToken;
use sync_core::live::{ChangeEvent, FollowOptions};

use crate::forward::{Forwarder, Listener};
use crate::{Client, Error};

/// Called with what each committed local transaction changed, in commit order, on a blocking thread (never one
/// of the runtime's workers: a slow listener does not hold up the sync). A listener that panics is called
/// again on the next change: the stream lasts as long as the app, and one bad event must not silence its UI.
pub type ChangeListener = Listener<ChangeEvent>;

impl Client {
    /// Keeps the database following the server until `cancel` (default: until [`Client::close`]): syncs,
    /// long-polls for changes (each long-poll waits at most `wait`, default 25 s), syncs again, reconnecting
    /// with backoff. Returns `Ok` when cancelled, and an error for what retrying cannot fix
    /// ([`sync_core::ErrorCode::is_fatal`]).
    ///
    /// Without a listener nothing subscribes to the change events: the store then collects no changed keys and
    /// keeps holding the pages of an initial sync in one transaction.
    pub async fn follow(
        &self,
        listener: Option<ChangeListener>,
        cancel: Option<CancellationToken>,
        wait: Option<Duration>,
    ) -> Result<(), Error> {
        let forwarder = listener.map(|listener| Forwarder::start(self.changes.subscribe(), listener));
        let mut options = FollowOptions { cancel: self.cancel_or_close(cancel), ..Default::default() };
        if let Some(wait) = wait {
            options.wait = wait;
        }
        let result = self.engine.follow(&self.scope, options).await;
        if let Some(forwarder) = forwarder {
            // Wait for it to end, so the subscription (and its slower page commits) ends with the call.
            forwarder.finish().await;
        }
        Ok(result?)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::ClientOptions;

    /// Subscribed receivers make every page commit on its own (see `NotifyingStore`), so `follow` subscribes only
    /// for a listener.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn follow_subscribes_to_change_events_only_for_a_listener() {
        let dir = tempfile::tempdir().expect("dir");
        // Nothing listens on port 9: the loop keeps retrying the status call until cancelled.
        let options = ClientOptions {
            scope: "s".into(),
            db: dir.path().join("c.db"),
            url: "http://127.0.0.1:9".into(),
            ..Default::default()
        };
        let client = Client::open(options).expect("open");
        let noop: ChangeListener = Arc::new(|_| {});
        for (listener, expected) in [(None, 0), (Some(noop), 1)] {
            let cancel = client.cancel_token();
            let follow = client.follow(listener, Some(cancel.clone()), None);
            tokio::pin!(follow);
            tokio::select! {
                r = &mut follow => panic!("follow ended before it was cancelled: {r:?}"),
                _ = tokio::time::sleep(Duration::from_millis(50)) => {}
            }
            assert_eq!(client.changes.listeners(), expected);
            cancel.cancel();
            follow.await.expect("a cancelled follow returns Ok");
            assert_eq!(client.changes.listeners(), 0, "the subscription ends with the loop");
        }
    }
}
