//! Subscriptions (`subscribe`, `unsubscribe`, `archive`, `unarchive`, `subscribe_everything`, `subscription`) and
//! the recent-first sync (`sync_recent_first` with a [`RecentFirstListener`], `prioritize`).

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use sync_client::{RecentEvent, Subscription, SubscriptionChange};

use crate::engine::{CancelHandle, SyncEngine};
use crate::error::SeqsyncError;
use crate::on_runtime;
use crate::types::SyncResult;

/// One subscribed conversation (filter value).
#[derive(uniffi::Record)]
pub struct SubscribedValue {
    /// The filter value (a conversation id).
    pub value: String,
    /// Archived: its rows stay, frozen, and syncs skip it.
    pub archived: bool,
    /// Its cursor per filtered collection.
    pub cursors: HashMap<String, i64>,
}

/// What the engine replicates of its integration.
#[derive(uniffi::Record)]
pub struct SubscriptionInfo {
    /// Every row (the default); `values` is then empty.
    pub everything: bool,
    /// The subscribed values, by value.
    pub values: Vec<SubscribedValue>,
}

impl From<Subscription> for SubscriptionInfo {
    fn from(s: Subscription) -> Self {
        let everything = s.is_everything();
        let values = s.values.into_iter().flatten();
        let values = values
            .map(|v| SubscribedValue { value: v.value, archived: v.archived, cursors: v.cursors.into_iter().collect() })
            .collect();
        SubscriptionInfo { everything, values }
    }
}

/// A readiness event of `sync_recent_first`.
#[derive(uniffi::Enum)]
pub enum RecentFirstEvent {
    /// Conversations and contacts are current: show the chat list. `values`: the conversations held.
    ChatListReady {
        /// The conversations in the replica.
        values: u32,
    },
    /// The newest messages (and media, participants) of `value` have landed.
    HeadLanded {
        /// The conversation.
        value: String,
    },
    /// The whole history of a prioritized conversation has landed.
    HistoryLanded {
        /// The conversation.
        value: String,
    },
}

impl From<&RecentEvent> for RecentFirstEvent {
    fn from(e: &RecentEvent) -> Self {
        match e {
            RecentEvent::ChatListReady { values } => {
                RecentFirstEvent::ChatListReady { values: u32::try_from(*values).unwrap_or(u32::MAX) }
            }
            RecentEvent::HeadLanded { value } => RecentFirstEvent::HeadLanded { value: value.clone() },
            RecentEvent::HistoryLanded { value } => RecentFirstEvent::HistoryLanded { value: value.clone() },
        }
    }
}

/// Hears the readiness events of a recent-first sync, on one of the binding's threads (not the caller's); one
/// that throws is called again on the next event.
#[uniffi::export(foreign)]
pub trait RecentFirstListener: Send + Sync {
    /// One event.
    fn on_event(&self, event: RecentFirstEvent);
}

impl SyncEngine {
    async fn change(&self, change: SubscriptionChange) -> Result<SubscriptionInfo, SeqsyncError> {
        let client = self.client()?;
        on_runtime(async move { Ok(SubscriptionInfo::from(client.change_subscription(change).await?)) }).await
    }
}

#[uniffi::export]
impl SyncEngine {
    /// What the engine replicates: everything (the default) or its subscribed conversations.
    pub async fn subscription(&self) -> Result<SubscriptionInfo, SeqsyncError> {
        let client = self.client()?;
        on_runtime(async move { Ok(SubscriptionInfo::from(client.subscription().await?)) }).await
    }

    /// Subscribes to conversations; the next sync fetches only theirs. From everything, the others are evicted.
    pub async fn subscribe(&self, values: Vec<String>) -> Result<SubscriptionInfo, SeqsyncError> {
        self.change(SubscriptionChange::Subscribe(values)).await
    }

    /// Unsubscribes: the conversations' rows are evicted now. Unknown ones fail with `InvalidArgument`.
    pub async fn unsubscribe(&self, values: Vec<String>) -> Result<SubscriptionInfo, SeqsyncError> {
        self.change(SubscriptionChange::Unsubscribe(values)).await
    }

    /// Archives subscribed conversations: kept, readable, searchable, not synced.
    pub async fn archive(&self, values: Vec<String>) -> Result<SubscriptionInfo, SeqsyncError> {
        self.change(SubscriptionChange::Archive(values)).await
    }

    /// Unarchives conversations: the next sync catches them up.
    pub async fn unarchive(&self, values: Vec<String>) -> Result<SubscriptionInfo, SeqsyncError> {
        self.change(SubscriptionChange::Unarchive(values)).await
    }

    /// Back to every conversation: the filtered rows are deleted now and the next sync pulls them whole.
    pub async fn subscribe_everything(&self) -> Result<SubscriptionInfo, SeqsyncError> {
        self.change(SubscriptionChange::Everything).await
    }

    /// Syncs recent first: the chat list (`ChatListReady`), the newest `per_value` (default 50) messages of each
    /// conversation (`HeadLanded`, newest conversation first), then everything; prioritized conversations land
    /// whole ahead of the backfill (`HistoryLanded`).
    #[uniffi::method(default(per_value = None, listener = None, cancel = None))]
    pub async fn sync_recent_first(
        &self,
        per_value: Option<u32>,
        listener: Option<Arc<dyn RecentFirstListener>>,
        cancel: Option<Arc<CancelHandle>>,
    ) -> Result<SyncResult, SeqsyncError> {
        let client = self.client()?;
        let cancel = cancel.map(|c| c.token.clone());
        // A listener that throws (a panic here) is caught; the sync goes on.
        let events = listener.map(|listener| {
            Arc::new(move |e: &RecentEvent| {
                let _ = catch_unwind(AssertUnwindSafe(|| listener.on_event(RecentFirstEvent::from(e))));
            }) as sync_client::RecentFn
        });
        on_runtime(async move {
            let per_value = per_value.map(|n| n as usize);
            Ok(SyncResult::from(client.sync_recent_first(per_value, events, None, cancel).await?))
        })
        .await
    }

    /// Moves a conversation's history to the front of the running (or next) recent-first backfill. A closed
    /// engine ignores it.
    pub fn prioritize(&self, value: String) {
        if let Ok(client) = self.client() {
            client.prioritize(&value);
        }
    }
}
