//! Subscription changes through the engine (`subscription.rs` has the model; the pull of a subscription is in
//! `engine.rs`, one filtered [`CollectionSync`](super::collection) per group of values sharing a cursor).

use tokio_util::sync::CancellationToken;

use super::SyncEngine;
use crate::error::SyncError;
use crate::subscription::{Subscription, SubscriptionChange};

impl SyncEngine {
    /// The subscription of `scope`: everything (the default) or its values, with their cursors.
    pub async fn subscription(&self, scope: &str) -> Result<Subscription, SyncError> {
        Ok(self.store.subscription(scope).await?)
    }

    /// Changes what `scope` replicates ([`SubscriptionChange`]), in one store transaction: rows of values
    /// removed are evicted at once; rows of values added come with the next sync, which fetches only them (from
    /// cursor 0) besides what the others need. The store is prepared first (it must know which collections are
    /// filtered), fetching the server's schema if none was configured. A running [`SyncEngine::follow`] syncs at
    /// once after a change, without waiting for a change on the server.
    pub async fn change_subscription(
        &self,
        scope: &str,
        change: SubscriptionChange,
        cancel: &CancellationToken,
    ) -> Result<Subscription, SyncError> {
        self.schema(cancel).await?;
        let subscription = self.store.change_subscription(scope, change).await?;
        self.subscriptions.send_modify(|n| *n += 1);
        Ok(subscription)
    }

    /// A receiver that changes after each subscription change (the live loop syncs on it).
    pub(crate) fn subscription_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.subscriptions.subscribe()
    }
}
