//! The example on a real PostgreSQL (`sync-postgres`; its own tests hold the store conformance suite and commit
//! order under concurrent writers): plain SQL writes reaching clients, the resync-required path over HTTP, and
//! live updates across two instances through NATS.

mod live;
mod media;
mod plain_sql;
mod resync;
mod support;
