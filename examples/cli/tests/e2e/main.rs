//! End-to-end tests: a real server (embedded SQLite store, axum on loopback) and real clients (the engine on an
//! SQLite file, the `sync-cli` binary, the seed-style Python client).

mod exact;
mod hostile;
mod replay;
mod seed_client;
mod support;
