//! The client store: where the replica lives.

use async_trait::async_trait;

use crate::error::StoreError;
use crate::mutation::{Mutation, MutationResult};
use crate::outbox::{LocalWrite, PendingWrite, TouchedRow};
use crate::page::{ApplyOutcome, CursorState, Page, StoreStats, StoredRow};
use crate::schema::Schema;
use crate::subscription::{Subscription, SubscriptionChange};

/// A client-side replica: rows of every collection per scope, and one cursor per scope and collection.
///
/// All methods may be called concurrently from several tasks; implementations serialise writes.
#[async_trait]
pub trait ClientStore: Send + Sync {
    /// Creates what the schema needs (tables, indexes). Idempotent; must be called before
    /// [`ClientStore::apply_page`]. A schema that adds collections or nullable columns to an existing database is
    /// accepted; one that cannot fit the existing tables is an error and changes nothing.
    async fn prepare(&self, schema: &Schema) -> Result<(), StoreError>;

    /// The cursors of `scope`, one per collection that has one (a missing collection means cursor 0).
    async fn sync_state(&self, scope: &str) -> Result<Vec<CursorState>, StoreError>;

    /// Applies a validated page and advances the collection's cursor, atomically: after a crash at any instant
    /// either all of it is visible, cursor included, or none of it.
    ///
    /// - Rows with `seq` at or below the stored cursor are skipped, so applying a page twice changes nothing.
    /// - An upsert never replaces a row holding a greater `seq`; a tombstone deletes the row.
    /// - The cursor becomes `max(cursor, page.latest_seq)`: it never moves backwards.
    /// - A page whose `since_seq` is greater than the stored cursor is refused with
    ///   [`StoreError::CursorGap`], since applying it would skip rows.
    async fn apply_page(&self, scope: &str, page: Page) -> Result<ApplyOutcome, StoreError>;

    /// [`ClientStore::apply_page`] for a page of a sync from scratch: cursor 0 when the sync of the collection
    /// began, which the engine decides once per collection and passes down as this call. The store may leave the
    /// page's transaction open so that the next pages join it, and commit later, at a page boundary, when it
    /// chooses or at [`ClientStore::flush`]. Each page stays atomic; a crash loses the pages not yet
    /// committed whole, their cursor with them, and the next sync fetches them again.
    ///
    /// Why: a replica loaded in a few large transactions writes each B-tree page of its random-keyed primary index
    /// a few times, not once per commit (BENCHMARKS.md). Default: [`ClientStore::apply_page`].
    async fn apply_page_held(&self, scope: &str, page: Page) -> Result<ApplyOutcome, StoreError> {
        self.apply_page(scope, page).await
    }

    /// Commits what [`ClientStore::apply_page_held`] left open. The engine calls it when a collection's sync ends,
    /// whatever the outcome. Default: nothing to do.
    async fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Deletes every row and cursor of `scope` in one transaction, so the next sync starts from scratch and ends
    /// exact (rows deleted on the server meanwhile are gone too).
    async fn reset(&self, scope: &str) -> Result<(), StoreError>;

    /// Live rows of `collection` in `scope` ordered by id, the first `limit` after `after_id` (for verification
    /// and exports; UIs read through their own queries).
    async fn read_rows(
        &self,
        scope: &str,
        collection: &str,
        after_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StoredRow>, StoreError>;

    /// Row counts per collection, file size and path.
    async fn stats(&self) -> Result<StoreStats, StoreError>;

    // Local writes (`outbox.rs` has the model). A store that keeps no outbox answers each with
    // [`StoreError::WritesUnsupported`], the default.

    /// The schema the store was last prepared with, if it keeps one (so a client offline after a restart can
    /// still write). Default: `None`.
    async fn saved_schema(&self) -> Result<Option<Schema>, StoreError> {
        Ok(None)
    }

    /// The client's stable id, stored in the replica (created with it): the `client_id` of every push.
    async fn client_id(&self) -> Result<String, StoreError> {
        Err(StoreError::WritesUnsupported)
    }

    /// Applies `write` to the visible row and records it in the outbox, in one transaction, with the next mutation
    /// id and the row's current seq as `base_seq`; keeps the row's server version aside if it had none kept.
    /// A write that does not fit the schema (unknown collection or column, wrong type, null in a required column)
    /// is [`StoreError::InvalidWrite`] and changes nothing. The caller checks writability and the policy's other
    /// rules first.
    async fn mutate(&self, scope: &str, write: LocalWrite) -> Result<Mutation, StoreError> {
        let _ = (scope, write);
        Err(StoreError::WritesUnsupported)
    }

    /// The first `limit` mutations of `scope` not acknowledged yet, in mutation id order: what to push next.
    async fn outbox(&self, scope: &str, limit: usize) -> Result<Vec<Mutation>, StoreError> {
        let _ = (scope, limit);
        Err(StoreError::WritesUnsupported)
    }

    /// Records a push's results, in one transaction: an applied mutation with a seq is kept (acknowledged) until
    /// the collection's cursor reaches that seq, or [`ClientStore::settle`] drops it; one without a seq leaves at
    /// once; a rejected one leaves and its row is computed again from the server version and the remaining
    /// mutations. Results for ids not in the outbox are ignored. Returns the rows whose visible state changed.
    async fn acknowledge(&self, scope: &str, results: &[MutationResult]) -> Result<Vec<TouchedRow>, StoreError> {
        let _ = (scope, results);
        Err(StoreError::WritesUnsupported)
    }

    /// Drops the acknowledged mutations of `scope` with ids up to `through`: called after a pull that started
    /// after they were acknowledged has completed every collection, so the server versions include them.
    /// Returns the rows whose visible state changed.
    async fn settle(&self, scope: &str, through: u64) -> Result<Vec<TouchedRow>, StoreError> {
        let _ = (scope, through);
        Err(StoreError::WritesUnsupported)
    }

    /// Every outbox entry of `scope` (pending and acknowledged), in mutation id order.
    async fn pending_writes(&self, scope: &str) -> Result<Vec<PendingWrite>, StoreError> {
        let _ = scope;
        Err(StoreError::WritesUnsupported)
    }

    // Subscriptions (selective sync, `subscription.rs`). A store that keeps none syncs everything: it answers
    // `subscription` with everything and the others with [`StoreError::SubscriptionsUnsupported`], the default.

    /// The subscription of `scope`, with the cursors of its values. Default: everything.
    async fn subscription(&self, scope: &str) -> Result<Subscription, StoreError> {
        let _ = scope;
        Ok(Subscription::default())
    }

    /// Applies `change` in one transaction (rows evicted, cursors kept or deleted as the change says) and
    /// returns the new subscription. A change that cannot apply ([`SubscriptionChange::check`]) is
    /// [`StoreError::InvalidSubscription`] and changes nothing.
    async fn change_subscription(&self, scope: &str, change: SubscriptionChange) -> Result<Subscription, StoreError> {
        let _ = (scope, change);
        Err(StoreError::SubscriptionsUnsupported)
    }

    /// [`ClientStore::apply_page`] for a filtered page (a request with `filter: values`): the cursors that move
    /// are the values' in the page's collection, each to `max(cursor, latest_seq)`. A page whose `since_seq` is
    /// above one of the values' cursors is [`StoreError::CursorGap`]. A tombstone deletes a row only if it holds
    /// a smaller seq and its filter value is one of `values` (a row that a tombstone says left the values and
    /// that is held under another value is that value's business: its own pull brings its changes).
    async fn apply_filtered_page(
        &self,
        scope: &str,
        values: &[String],
        page: Page,
    ) -> Result<ApplyOutcome, StoreError> {
        let _ = (scope, values, page);
        Err(StoreError::SubscriptionsUnsupported)
    }

    /// Applies rows that do not move a cursor (a head: the newest rows of some values), in one transaction, under
    /// the same per-row rule as a page: an upsert never replaces a row holding a greater or equal seq, a tombstone
    /// deletes only a row with a smaller seq. The pull that reaches these seqs later delivers them again as
    /// no-ops. The outcome's cursor is 0.
    async fn apply_rows(&self, scope: &str, page: Page) -> Result<ApplyOutcome, StoreError> {
        let _ = (scope, page);
        Err(StoreError::SubscriptionsUnsupported)
    }

    /// [`ClientStore::apply_rows`] for the heads of a recent-first sync of a scope that syncs everything, into
    /// collections at cursor 0: the caller promises that the ordinary pull of each collection from scratch follows
    /// ([`ClientStore::apply_page_held`]). The store may leave the transaction open so that the next heads and the
    /// pull's pages join it, and commit later, at a call boundary or at [`ClientStore::flush`] (which the caller
    /// calls before it reports heads as landed); it may defer the work the pull's last page does once (building
    /// indexes) as long as what the app reads while the history fills stays fast. Each call stays atomic; a crash
    /// loses the calls not yet committed, and the next sync fetches them again. Default: [`ClientStore::apply_rows`].
    async fn apply_rows_held(&self, scope: &str, page: Page) -> Result<ApplyOutcome, StoreError> {
        self.apply_rows(scope, page).await
    }

    /// How many rows of `collection` the store holds for `scope`, counted exactly, or `None` when it cannot say
    /// cheaply. A recent-first sync that fetched every row once, value by value, compares it with the server's
    /// count before it sets the cursor; without a count it pulls the collection from cursor 0 as a plain sync
    /// does. Default: `None`.
    async fn count_rows(&self, scope: &str, collection: &str) -> Result<Option<u64>, StoreError> {
        let _ = (scope, collection);
        Ok(None)
    }
}
