//! Subscriptions (`subscribe`, `unsubscribe`, `archive`, `unarchive`, `subscribeEverything`, `subscription`) and
//! the recent-first sync (`syncRecentFirst` with its readiness events, `prioritize`).

use std::collections::HashMap;
use std::sync::Arc;

use napi::bindgen_prelude::PromiseRaw;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Status};
use napi_derive::napi;
use sync_client::{RecentEvent, Subscription, SubscriptionChange};

use crate::cancel::CancelToken;
use crate::engine::NativeEngine;
use crate::types::SyncResult;

/// One subscribed conversation (filter value).
#[napi(object)]
pub struct SubscribedValue {
    /// The filter value (a conversation id).
    pub value: String,
    /// Archived: its rows stay, frozen, and syncs skip it.
    pub archived: bool,
    /// Its cursor per filtered collection.
    pub cursors: HashMap<String, i64>,
}

/// What the engine replicates of its integration.
#[napi(object)]
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

/// A readiness event of `syncRecentFirst`.
#[napi(object)]
pub struct RecentFirstEvent {
    /// `chat_list_ready`, `head_landed` or `history_landed`.
    pub kind: String,
    /// The conversation, for `head_landed` and `history_landed`.
    pub value: Option<String>,
    /// The conversations in the replica, for `chat_list_ready`.
    pub values: Option<u32>,
}

impl From<&RecentEvent> for RecentFirstEvent {
    fn from(e: &RecentEvent) -> Self {
        let (kind, value, values) = match e {
            RecentEvent::ChatListReady { values } => ("chat_list_ready", None, Some(*values as u32)),
            RecentEvent::HeadLanded { value } => ("head_landed", Some(value.clone()), None),
            RecentEvent::HistoryLanded { value } => ("history_landed", Some(value.clone()), None),
        };
        RecentFirstEvent { kind: kind.to_owned(), value, values }
    }
}

/// The readiness callback: called with one event, its result ignored.
type RecentCallback = ThreadsafeFunction<RecentFirstEvent, (), RecentFirstEvent, Status, false>;

impl NativeEngine {
    fn change<'env>(
        &self,
        env: &'env Env,
        change: SubscriptionChange,
    ) -> napi::Result<PromiseRaw<'env, SubscriptionInfo>> {
        self.run(
            env,
            |client| async move { Ok(client.change_subscription(change).await?) },
            |s| Ok(SubscriptionInfo::from(s)),
        )
    }
}

#[napi]
impl NativeEngine {
    /// What the engine replicates: everything (the default) or its subscribed conversations.
    #[napi(ts_return_type = "Promise<SubscriptionInfo>")]
    pub fn subscription<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, SubscriptionInfo>> {
        self.run(env, |client| async move { Ok(client.subscription().await?) }, |s| Ok(SubscriptionInfo::from(s)))
    }

    /// Subscribes to conversations; the next sync fetches only theirs. From everything, the others are evicted.
    #[napi(ts_return_type = "Promise<SubscriptionInfo>")]
    pub fn subscribe<'env>(
        &self,
        env: &'env Env,
        values: Vec<String>,
    ) -> napi::Result<PromiseRaw<'env, SubscriptionInfo>> {
        self.change(env, SubscriptionChange::Subscribe(values))
    }

    /// Unsubscribes: the conversations' rows are evicted now. Unknown ones reject with `invalid_argument`.
    #[napi(ts_return_type = "Promise<SubscriptionInfo>")]
    pub fn unsubscribe<'env>(
        &self,
        env: &'env Env,
        values: Vec<String>,
    ) -> napi::Result<PromiseRaw<'env, SubscriptionInfo>> {
        self.change(env, SubscriptionChange::Unsubscribe(values))
    }

    /// Archives subscribed conversations: kept, readable, searchable, not synced.
    #[napi(ts_return_type = "Promise<SubscriptionInfo>")]
    pub fn archive<'env>(
        &self,
        env: &'env Env,
        values: Vec<String>,
    ) -> napi::Result<PromiseRaw<'env, SubscriptionInfo>> {
        self.change(env, SubscriptionChange::Archive(values))
    }

    /// Unarchives conversations: the next sync catches them up.
    #[napi(ts_return_type = "Promise<SubscriptionInfo>")]
    pub fn unarchive<'env>(
        &self,
        env: &'env Env,
        values: Vec<String>,
    ) -> napi::Result<PromiseRaw<'env, SubscriptionInfo>> {
        self.change(env, SubscriptionChange::Unarchive(values))
    }

    /// Back to every conversation: the filtered rows are deleted now and the next sync pulls them whole.
    #[napi(ts_return_type = "Promise<SubscriptionInfo>")]
    pub fn subscribe_everything<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, SubscriptionInfo>> {
        self.change(env, SubscriptionChange::Everything)
    }

    /// Syncs recent first: the chat list (`chat_list_ready`), the newest `perValue` (default 50) messages of each
    /// conversation (`head_landed`, newest conversation first), then everything; prioritized conversations
    /// land whole ahead of the backfill (`history_landed`).
    #[napi(ts_return_type = "Promise<SyncResult>")]
    pub fn sync_recent_first<'env>(
        &self,
        env: &'env Env,
        per_value: Option<u32>,
        #[napi(ts_arg_type = "((event: RecentFirstEvent) => void) | undefined | null")] on_event: Option<
            RecentCallback,
        >,
        cancel: Option<&CancelToken>,
    ) -> napi::Result<PromiseRaw<'env, SyncResult>> {
        let cancel = cancel.map(|c| c.inner.clone());
        let events = on_event.map(|callback| {
            Arc::new(move |e: &RecentEvent| {
                callback.call(RecentFirstEvent::from(e), ThreadsafeFunctionCallMode::NonBlocking);
            }) as sync_client::RecentFn
        });
        self.run(
            env,
            move |client| async move {
                let per_value = per_value.map(|n| n as usize);
                Ok(client.sync_recent_first(per_value, events, None, cancel).await?)
            },
            |report| Ok(SyncResult::from(report)),
        )
    }

    /// Moves a conversation's history to the front of the running (or next) recent-first backfill. A closed
    /// engine ignores it.
    #[napi]
    pub fn prioritize(&self, value: String) {
        if let Some(client) = self.client() {
            client.prioritize(&value);
        }
    }
}
