//! The reliability harness of seqsync: what it takes to show that a client loses nothing whatever happens to the
//! network, the processes or the load. `RELIABILITY.md` has the trials, their commands and their figures.
//!
//! # Layout
//! - `fault_proxy.rs`: [`FaultProxy`], an HTTP proxy on loopback that resets, delays, stalls, truncates, corrupts and
//!   answers 5xx or 429 on a schedule or at random with a seed.
//! - `history.rs`: [`History`], every version of every row the server has served, to check that a client
//!   database is at a page boundary: its rows are exactly the server's rows up to its cursor.
//! - `procs.rs`: the programs the trials start and kill (`sync-cli`, a Node script over the addon,
//!   `server-example serve`) and a fresh PostgreSQL database.
//! - `crash.rs`: [`crash::client_kills`] and [`crash::server_kills`], the crash trials.
//! - `search_oracle.rs`: [`search_oracle::Oracle`], what a full-text search of a replica must find, computed
//!   without SQLite, and generated queries (hostile ones included) to compare it with the store's search on.
//! - `write_crash.rs`: [`write_crash::write_kills`], crash trials of client writes (none lost, none applied
//!   twice).
//! - `selective_crash.rs`: [`selective_crash::recent_kills`] and [`selective_crash::subscription_kills`],
//!   `sync-cli pull --recent-first` and `--subscribe` killed mid-sync (heads only ahead of a cursor; a
//!   subscription before or after its change); exact at the end (`verify_subset`).
//! - `subscription_crash.rs`: [`subscription_crash::change_kills`], `sync-cli pull --unsubscribe`, `--archive`
//!   and `--unarchive` killed mid-change (eviction whole or not at all, archived rows frozen, catch-up exact).
//! - `media_crash.rs`: [`media_crash::media_kills`], `sync-cli media` killed mid-file, resumed, verified.
//! - `load.rs`: [`load::run`], concurrent full syncs and a mixed load of writers and pullers on PostgreSQL.
//! - `bin/crash_trials.rs`: the `crash-trials` command; `bin/load.rs`: the `load` command.

pub mod crash;
pub mod fault_proxy;
pub mod history;
pub mod load;
pub mod media_crash;
pub mod procs;
pub mod search_oracle;
pub mod selective_crash;
pub mod subscription_crash;
pub mod write_crash;

pub use fault_proxy::{Fault, FaultProxy, Plan, Stats};
pub use history::History;
