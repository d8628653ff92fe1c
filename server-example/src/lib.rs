//! The example backend of the sync engine: the seed's WhatsApp schema served over wire protocol v1 from an
//! embedded SQLite store, a deterministic data generator, and an end-to-end demo.
//!
//! # Layout
//! - `main.rs`: the `server-example` command (`serve`, `seed`, `demo`).
//! - `whatsapp.rs`: [`whatsapp::schema`], the five collections.
//! - `generate.rs`: [`generate::generate`], a realistic data set from a seed; `text.rs`: bodies, names, ids.
//! - `changes.rs`: [`changes::apply_changes`], new, edited and deleted messages and a deleted conversation.
//! - `postgres/`: [`postgres::PostgresStore`], the server store on PostgreSQL (seqs by triggers, prune).
//! - `serve.rs`: [`serve::start`], the HTTP server in a background task; token flag parsing.
//! - `demo.rs`: [`demo::run`], server, seed, sync with progress, changes, incremental sync, verification.

pub mod changes;
pub mod demo;
pub mod generate;
pub mod postgres;
pub mod serve;
mod text;
pub mod whatsapp;
