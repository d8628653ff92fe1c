//! Live updates: a client follows a server without polling. Every wakeup here is a hint; rows come by cursor
//! (PROTOCOL.md invariant 8).
//!
//! - `hub.rs`: [`SeqWatch`], the in-process "integration X reached seq S" signal a server's
//!   [`crate::ChangeFeed::wait_for_seq`] waits on, with a periodic re-check of the store so a lost hint only
//!   delays.
//! - `follow.rs`: [`SyncEngine::follow`](crate::SyncEngine::follow), the client's live loop: sync, long-poll
//!   for a newer seq, sync again; reconnecting with backoff and resuming from the cursor after any outage.
//! - `changes.rs`: [`NotifyingStore`], a client store wrapper that tells subscribers which collections and
//!   keys changed, after each local transaction committed.

mod changes;
mod follow;
mod hub;

pub use changes::{ChangeEvent, NotifyingStore};
pub use follow::{FollowOptions, SyncedFn};
pub use hub::{DEFAULT_RECHECK, SeqWatch, latest_seq};

#[cfg(test)]
mod tests;
