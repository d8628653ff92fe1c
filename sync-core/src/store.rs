//! The client store: where the replica lives.

use async_trait::async_trait;

use crate::error::StoreError;
use crate::page::{ApplyOutcome, CursorState, Page, StoreStats, StoredRow};
use crate::schema::Schema;

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

    /// [`ClientStore::apply_page`] for a page of an initial sync (cursor 0 when the sync began): the store may
    /// leave the page's transaction open so that the next pages join it, and commit later, at a page boundary,
    /// when it chooses or at [`ClientStore::flush`]. Each page stays atomic; a crash loses the pages not yet
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
}
