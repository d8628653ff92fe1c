//! The PostgreSQL server store against a real PostgreSQL (`sync_postgres::testing`: where, and what happens when
//! it is unreachable): the store conformance suite, batched upserts, and commit order under concurrent writers
//! (ours and the seed's naive sequence) with clients syncing over HTTP, and live hints from polling the heads.

mod batched;
mod counts;
mod heads;
mod push;
mod seq_order;
mod suite;
mod support;
