//! Subscriptions (selective sync): which conversations (filter values) this client replicates; and the
//! recent-first sync (the chat list first, then each conversation's newest messages, then the history).

use sync_core::{
    CancellationToken, ProgressFn, RecentFirstOptions, RecentFn, Subscription, SubscriptionChange, SyncOptions,
    SyncReport,
};

use crate::{Client, Error};

impl Client {
    /// What this client replicates: everything (the default) or its subscribed values, with their cursors.
    pub async fn subscription(&self) -> Result<Subscription, Error> {
        Ok(self.engine.subscription(&self.scope).await?)
    }

    /// Subscribes to `values` (conversation ids): the next [`Client::sync`] fetches only their rows, from
    /// scratch, and pulls the others from where they were. From "everything" (the default), the replica becomes
    /// these values: their rows stay (nothing is fetched again) and every other value's rows are evicted. An
    /// archived value is unarchived. An empty value is `invalid_argument`.
    pub async fn subscribe(&self, values: Vec<String>) -> Result<Subscription, Error> {
        self.change_subscription(SubscriptionChange::Subscribe(values)).await
    }

    /// Unsubscribes from `values`: their rows (in every collection filtered by them, children included) and
    /// cursors are deleted now. A value not subscribed is `invalid_argument` and nothing changes.
    pub async fn unsubscribe(&self, values: Vec<String>) -> Result<Subscription, Error> {
        self.change_subscription(SubscriptionChange::Unsubscribe(values)).await
    }

    /// Archives subscribed `values`: their rows stay (readable, searchable), frozen, and syncs skip them.
    pub async fn archive(&self, values: Vec<String>) -> Result<Subscription, Error> {
        self.change_subscription(SubscriptionChange::Archive(values)).await
    }

    /// Unarchives `values`: the next sync catches them up from where they stopped.
    pub async fn unarchive(&self, values: Vec<String>) -> Result<Subscription, Error> {
        self.change_subscription(SubscriptionChange::Unarchive(values)).await
    }

    /// Back to replicating everything: the filtered collections' rows are deleted now and the next sync pulls
    /// them whole.
    pub async fn subscribe_everything(&self) -> Result<Subscription, Error> {
        self.change_subscription(SubscriptionChange::Everything).await
    }

    /// Syncs recent first ([`SyncEngine::sync_recent_first`](sync_core::SyncEngine::sync_recent_first)): the
    /// conversations and contacts, then `events` gets `ChatListReady`; then the newest `per_value` (default 50)
    /// messages, media and participants of each conversation, newest first, each followed by `HeadLanded`; then the
    /// ordinary pull of everything, during which conversations passed to [`Client::prioritize`] are pulled whole
    /// first (`HistoryLanded`). Ends as exact as [`Client::sync`]; the report is the last pull's.
    pub async fn sync_recent_first(
        &self,
        per_value: Option<usize>,
        events: Option<RecentFn>,
        progress: Option<ProgressFn>,
        cancel: Option<CancellationToken>,
    ) -> Result<SyncReport, Error> {
        let options = RecentFirstOptions {
            sync: SyncOptions { progress, cancel: cancel.unwrap_or_else(|| self.cancel_token()), collections: None },
            per_value: per_value.unwrap_or(sync_core::DEFAULT_HEAD_ROWS),
            events,
            priorities: self.priorities.clone(),
        };
        Ok(self.engine.sync_recent_first(&self.scope, options).await?)
    }

    /// Moves `value`'s history (a conversation the user opened) to the front of the running (or next)
    /// recent-first sync's backfill.
    pub fn prioritize(&self, value: &str) {
        self.priorities.prioritize(value);
    }

    /// Applies one [`SubscriptionChange`] (what the methods above do), in one transaction.
    pub async fn change_subscription(&self, change: SubscriptionChange) -> Result<Subscription, Error> {
        Ok(self.engine.change_subscription(&self.scope, change, &self.cancel_token()).await?)
    }
}
