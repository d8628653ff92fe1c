//! A command-line sync client (`sync-cli pull | stats | reset`) and the pieces the demo shares with it: the
//! engine opened on an SQLite file and an HTTP server, and terminal progress bars.
//!
//! # Layout
//! - `main.rs`: the command line (clap).
//! - `client.rs`: [`Client`]: an engine over [`sync_sqlite::SqliteStore`] and [`sync_http::HttpTransport`].
//! - `bars.rs`: [`Bars`]: one indicatif bar per collection, fed by the engine's progress events.

mod bars;
mod client;

pub use bars::Bars;
pub use client::{Client, ClientOptions};
