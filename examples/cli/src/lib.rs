//! A command-line sync client (`sync-cli pull | stats | reset | media`) and the pieces the demo shares with it: the
//! engine opened on an SQLite file and an HTTP server, and terminal progress bars.
//!
//! # Layout
//! - `main.rs`: the command line (clap).
//! - `bars.rs`: [`Bars`]: one indicatif bar per collection, fed by the engine's progress events.
//! - `media.rs`: [`media::run`], `sync-cli media`: the media download queue with a progress bar.

mod bars;
pub mod media;

pub use bars::Bars;
/// The engine opened on an SQLite file and an HTTP server (crate `sync-client`), re-exported for the demo.
pub use sync_client::{Client, ClientOptions};
