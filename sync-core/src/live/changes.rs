//! [`NotifyingStore`]: a change stream for UIs, fed by the pages the engine applies.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::broadcast;

use crate::error::StoreError;
use crate::mutation::{Mutation, MutationOp, MutationResult};
use crate::outbox::{LocalWrite, PendingWrite, TouchedRow};
use crate::page::{ApplyOutcome, CursorState, Page, StoreStats, StoredRow};
use crate::schema::Schema;
use crate::store::ClientStore;
use crate::subscription::{Subscription, SubscriptionChange};
use crate::value::Change;

/// What one committed local transaction changed, as a UI needs it to refresh.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeEvent {
    /// The integration.
    pub scope: String,
    /// The collection whose rows changed; `None` when the whole scope was reset (a re-sync from scratch follows).
    pub collection: Option<String>,
    /// Keys inserted or updated (a row the store skipped as already applied may be listed too).
    pub upserted: Vec<String>,
    /// Keys deleted.
    pub deleted: Vec<String>,
    /// The collection's cursor after the transaction.
    pub cursor: i64,
}

/// A [`ClientStore`] that forwards every call to `inner` and, after each transaction that committed, sends a
/// [`ChangeEvent`] to its subscribers. Events are sent only after `inner` returned success, so a UI that reads
/// on an event sees the change. A subscriber that falls more than the channel's capacity behind gets
/// `RecvError::Lagged` and should re-read everything it shows.
pub struct NotifyingStore {
    inner: Arc<dyn ClientStore>,
    events: broadcast::Sender<ChangeEvent>,
}

impl NotifyingStore {
    /// Wraps `inner`; up to `capacity` events are kept for a slow subscriber.
    pub fn new(inner: Arc<dyn ClientStore>, capacity: usize) -> Self {
        NotifyingStore { inner, events: broadcast::channel(capacity.max(1)).0 }
    }

    /// A receiver of the events from now on (a `tokio` broadcast receiver: `recv().await` in a loop, or wrap it
    /// in a stream).
    pub fn subscribe(&self) -> broadcast::Receiver<ChangeEvent> {
        self.events.subscribe()
    }

    /// How many receivers are subscribed now: while there are any, every page commits on its own.
    pub fn listeners(&self) -> usize {
        self.events.receiver_count()
    }

    /// The wrapped store.
    pub fn inner(&self) -> &Arc<dyn ClientStore> {
        &self.inner
    }

    /// One event per collection for rows changed outside a page (local writes, rollbacks, settled writes).
    async fn send_touched(&self, scope: &str, touched: &[TouchedRow]) -> Result<(), StoreError> {
        let mut collections: Vec<&str> = touched.iter().map(|t| t.collection.as_str()).collect();
        collections.sort_unstable();
        collections.dedup();
        for collection in collections {
            let mut event =
                ChangeEvent { scope: scope.to_owned(), collection: Some(collection.to_owned()), ..Default::default() };
            for row in touched.iter().filter(|t| t.collection == collection) {
                let keys = if row.exists { &mut event.upserted } else { &mut event.deleted };
                keys.push(row.id.clone());
            }
            event.cursor = self.cursor(scope, collection).await?;
            let _ = self.events.send(event);
        }
        Ok(())
    }

    /// The event of a page about to be applied. Keys are taken only while someone listens: a sync from scratch
    /// applies millions of rows.
    fn event_of(&self, scope: &str, page: &Page) -> Option<ChangeEvent> {
        if self.events.receiver_count() == 0 {
            return None;
        }
        let mut event =
            ChangeEvent { scope: scope.to_owned(), collection: Some(page.collection.clone()), ..Default::default() };
        for row in &page.rows {
            match row.change {
                Change::Upsert(_) => event.upserted.push(row.id.clone()),
                Change::Delete => event.deleted.push(row.id.clone()),
            }
        }
        Some(event)
    }

    /// Sends `event` once its page committed, if it changed anything.
    fn send_applied(&self, event: Option<ChangeEvent>, outcome: ApplyOutcome) -> ApplyOutcome {
        if let Some(mut event) = event
            && (outcome.upserted > 0 || outcome.deleted > 0)
        {
            event.cursor = outcome.cursor;
            // No receiver left since: nothing to do.
            let _ = self.events.send(event);
        }
        outcome
    }

    async fn cursor(&self, scope: &str, collection: &str) -> Result<i64, StoreError> {
        let state = self.inner.sync_state(scope).await?;
        Ok(state.into_iter().find(|c| c.collection == collection).map_or(0, |c| c.last_seq))
    }
}

#[async_trait]
impl ClientStore for NotifyingStore {
    async fn prepare(&self, schema: &Schema) -> Result<(), StoreError> {
        self.inner.prepare(schema).await
    }

    async fn sync_state(&self, scope: &str) -> Result<Vec<CursorState>, StoreError> {
        self.inner.sync_state(scope).await
    }

    async fn apply_page(&self, scope: &str, page: Page) -> Result<ApplyOutcome, StoreError> {
        let event = self.event_of(scope, &page);
        let outcome = self.inner.apply_page(scope, page).await?;
        Ok(self.send_applied(event, outcome))
    }

    /// Held (uncommitted) pages would break the promise that an event follows a commit: while anyone listens,
    /// every page is committed on its own.
    async fn apply_page_held(&self, scope: &str, page: Page) -> Result<ApplyOutcome, StoreError> {
        if self.events.receiver_count() > 0 {
            self.apply_page(scope, page).await
        } else {
            self.inner.apply_page_held(scope, page).await
        }
    }

    async fn flush(&self) -> Result<(), StoreError> {
        self.inner.flush().await
    }

    async fn reset(&self, scope: &str) -> Result<(), StoreError> {
        self.inner.reset(scope).await?;
        let _ = self.events.send(ChangeEvent { scope: scope.to_owned(), ..Default::default() });
        Ok(())
    }

    async fn read_rows(
        &self,
        scope: &str,
        collection: &str,
        after_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StoredRow>, StoreError> {
        self.inner.read_rows(scope, collection, after_id, limit).await
    }

    async fn stats(&self) -> Result<StoreStats, StoreError> {
        self.inner.stats().await
    }

    async fn saved_schema(&self) -> Result<Option<Schema>, StoreError> {
        self.inner.saved_schema().await
    }

    async fn client_id(&self) -> Result<String, StoreError> {
        self.inner.client_id().await
    }

    async fn mutate(&self, scope: &str, write: LocalWrite) -> Result<Mutation, StoreError> {
        let mutation = self.inner.mutate(scope, write).await?;
        if self.events.receiver_count() > 0 {
            let exists = mutation.op != MutationOp::Delete;
            let row = TouchedRow { collection: mutation.collection.clone(), id: mutation.id.clone(), exists };
            self.send_touched(scope, &[row]).await?;
        }
        Ok(mutation)
    }

    async fn outbox(&self, scope: &str, limit: usize) -> Result<Vec<Mutation>, StoreError> {
        self.inner.outbox(scope, limit).await
    }

    async fn acknowledge(&self, scope: &str, results: &[MutationResult]) -> Result<Vec<TouchedRow>, StoreError> {
        let touched = self.inner.acknowledge(scope, results).await?;
        if self.events.receiver_count() > 0 {
            self.send_touched(scope, &touched).await?;
        }
        Ok(touched)
    }

    async fn settle(&self, scope: &str, through: u64) -> Result<Vec<TouchedRow>, StoreError> {
        let touched = self.inner.settle(scope, through).await?;
        if self.events.receiver_count() > 0 {
            self.send_touched(scope, &touched).await?;
        }
        Ok(touched)
    }

    async fn pending_writes(&self, scope: &str) -> Result<Vec<PendingWrite>, StoreError> {
        self.inner.pending_writes(scope).await
    }

    async fn subscription(&self, scope: &str) -> Result<Subscription, StoreError> {
        self.inner.subscription(scope).await
    }

    /// Rows evicted by a change are announced as a scope-wide event (`collection: None`): re-read what is shown.
    async fn change_subscription(&self, scope: &str, change: SubscriptionChange) -> Result<Subscription, StoreError> {
        let evicts = matches!(change, SubscriptionChange::Unsubscribe(_) | SubscriptionChange::Everything)
            || matches!(&change, SubscriptionChange::Subscribe(_))
                && self.inner.subscription(scope).await?.is_everything();
        let subscription = self.inner.change_subscription(scope, change).await?;
        if evicts {
            let _ = self.events.send(ChangeEvent { scope: scope.to_owned(), ..Default::default() });
        }
        Ok(subscription)
    }

    async fn apply_filtered_page(
        &self,
        scope: &str,
        values: &[String],
        page: Page,
    ) -> Result<ApplyOutcome, StoreError> {
        let event = self.event_of(scope, &page);
        let outcome = self.inner.apply_filtered_page(scope, values, page).await?;
        Ok(self.send_applied(event, outcome))
    }

    async fn apply_rows(&self, scope: &str, page: Page) -> Result<ApplyOutcome, StoreError> {
        let event = self.event_of(scope, &page);
        let outcome = self.inner.apply_rows(scope, page).await?;
        Ok(self.send_applied(event, outcome))
    }

    /// As `apply_page_held`: committed on its own while anyone listens.
    async fn apply_rows_held(&self, scope: &str, page: Page) -> Result<ApplyOutcome, StoreError> {
        if self.events.receiver_count() > 0 {
            self.apply_rows(scope, page).await
        } else {
            self.inner.apply_rows_held(scope, page).await
        }
    }

    async fn count_rows(&self, scope: &str, collection: &str) -> Result<Option<u64>, StoreError> {
        self.inner.count_rows(scope, collection).await
    }
}
