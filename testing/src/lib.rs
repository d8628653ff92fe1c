//! The reliability harness of seqsync: what it takes to show that a client loses nothing whatever happens to the
//! network, the processes or the load. `RELIABILITY.md` has the trials, their commands and their figures.
//!
//! # Layout
//! - `fault_proxy.rs`: [`FaultProxy`], an HTTP proxy on loopback that resets, delays, stalls, truncates and
//!   answers 5xx or 429 on a schedule or at random with a seed.
//! - `history.rs`: [`History`], every version of every row the server has served, to check that a client
//!   database is at a page boundary: its rows are exactly the server's rows up to its cursor.
//! - `bin/crash_trials.rs`: clients (`sync-cli`, the Node addon) and servers (embedded, PostgreSQL) killed

pub mod fault_proxy;
pub mod history;

pub use fault_proxy::{Fault, FaultProxy, Plan, Stats};
pub use history::History;
