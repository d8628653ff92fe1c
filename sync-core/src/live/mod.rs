//! Live updates, the client's side: a client follows a server without polling. Every wakeup is a hint; rows come
//! by cursor (PROTOCOL.md invariant 8). The server's side, [`crate::watch::SeqWatch`], is in `watch.rs`.
//!
//! - `follow.rs`: [`SyncEngine::follow`](crate::SyncEngine::follow), the client's live loop: sync, long-poll
//!   for a newer seq, sync again; reconnecting with backoff and resuming from the cursor after any outage.
//! - `changes.rs`: [`NotifyingStore`], a client store wrapper that tells subscribers which collections and
//!   keys changed, after each local transaction committed.

mod changes;
mod follow;

pub use changes::{ChangeEvent, NotifyingStore};
pub use follow::{FollowOptions, SyncedFn};

#[cfg(test)]
mod tests;
