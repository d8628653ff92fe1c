//! The PostgreSQL server store against a real PostgreSQL (see `support.rs` for where, and what happens when it
//! is unreachable): the store conformance suite, commit order under concurrent writers (ours and the seed's
//! naive sequence), plain SQL writes reaching clients, and the resync-required path over HTTP.

mod batched;
mod live;
mod plain_sql;
mod resync;
mod seq_order;
mod suite;
mod support;
